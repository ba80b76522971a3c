"""
Read an Ansible INI inventory (the manual's ``inv.toml``) into pyinfra hosts and
groups, without Ansible.

What Ansible does, and so what we do:

+ hosts before any section are "ungrouped"; ``[group]`` lists hosts, each
  optionally followed by ``key=value`` pairs (shell-like quoting, ``#`` starts a
  comment); ``name:port`` sets the SSH port;
+ ``[group:vars]`` and ``[all:vars]`` hold one ``key=value`` per line;
+ ``[group:children]`` makes another group's hosts members of this one;
+ a host's value comes from, lowest first: ``[all:vars]``, its groups' vars
  (parents before children, then by group name), its own host lines.

What we do differently, on purpose:

+ values are all resolved into each host's own data, so they take precedence
  over group_data/all.py in pyinfra (pyinfra would let group_data/all.py
  override an inventory's ``all`` data);
+ Ansible connection variables become pyinfra ones (see ANSIBLE_TO_PYINFRA);
+ ``true``/``false`` (any case) become booleans, and digits become ints for port
  variables only; everything else stays a string (Ansible would run
  ``ast.literal_eval``). Secrets are never converted;
+ ``~`` in ``ansible_ssh_private_key_file`` is expanded, and relative local files
  (``jhub_config_path``...) are made absolute against the INI file's directory,
  where the old playbook kept them;
+ mistakes are collected as problems, all of them, instead of stopping at the
  first; host ranges (``web[01:50]``) are reported as unsupported.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from convecthub.inventory.variables import (
    ANSIBLE_TO_PYINFRA,
    INI_SPELLING,
    LOCAL_FILE_VARIABLES,
    PORT_VARIABLES,
    SECRET_VARIABLES,
)
from convecthub.problems import InventoryError, Problem

ENV_VAR = "CONVECTHUB_ANSIBLE_INVENTORY"

SECTION_HEADER = re.compile(r"^\[([^:\]\s]+)(?::([^\]\s]*))?\]\s*(?:[#;].*)?$")
INLINE_COMMENT = re.compile(r"\s+[#;].*$")

ALL = "all"
UNGROUPED = "ungrouped"


@dataclass
class IniInventory:
    hosts: dict[str, dict]  # host name -> resolved pyinfra host data
    groups: dict[str, list[str]]  # group name -> host names, children included
    problems: list[Problem]
    # host name -> {pyinfra's name: the Ansible name the file used}
    spelling: dict[str, dict[str, str]] = field(default_factory=dict)

    def pyinfra_groups(self) -> dict[str, list[tuple[str, dict]]]:
        """Module-level groups for a pyinfra inventory file: lists of (name,
        data), the data carrying how the file spelled its variables."""

        return {
            group: [(name, self.host_data(name)) for name in names] for group, names in self.groups.items() if names
        }

    def host_data(self, name: str) -> dict:
        spelling = self.spelling.get(name)
        return {**self.hosts[name], INI_SPELLING: spelling} if spelling else self.hosts[name]


@dataclass
class _Setting:
    key: str  # the name as written in the file
    value: str  # as written, quotes and comment removed
    line: int


@dataclass
class _RawInventory:
    """The file as written: nothing inherited or converted yet."""

    source: str
    host_order: list[str] = field(default_factory=list)
    host_settings: dict[str, list[_Setting]] = field(default_factory=dict)
    group_hosts: dict[str, list[str]] = field(default_factory=dict)
    group_children: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    group_vars: dict[str, list[_Setting]] = field(default_factory=dict)
    vars_sections: dict[str, int] = field(default_factory=dict)  # group -> first line
    problems: list[Problem] = field(default_factory=list)

    def where(self, line: int) -> str:
        return f"{self.source} line {line}"

    def declare_group(self, group: str) -> None:
        self.group_hosts.setdefault(group, [])
        self.group_children.setdefault(group, [])

    def add_host(self, group: str, name: str, settings: list[_Setting]) -> None:
        if name not in self.host_settings:
            self.host_order.append(name)
            self.host_settings[name] = []
        self.host_settings[name].extend(settings)
        if name not in self.group_hosts[group]:
            self.group_hosts[group].append(name)


# Parsing: lines -> _RawInventory
#


def parse_ini(text: str, source: str = "inventory", base_dir: Path | None = None) -> IniInventory:
    """
    Parse INI inventory text. ``source`` names the file in problems; ``base_dir``
    is where relative local file paths are resolved (None: left as written).
    """

    raw = _RawInventory(source=source)
    raw.declare_group(UNGROUPED)
    group, kind = UNGROUPED, "hosts"

    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            group, kind = _parse_section_header(raw, line, number, group, kind)
        elif kind == "hosts":
            _parse_host_line(raw, group, line, number)
        elif kind == "vars":
            _parse_vars_line(raw, group, line, number)
        elif kind == "children":
            _parse_child_line(raw, group, line, number)
        # kind None: the header was invalid and already reported; skip its lines

    _check_group_references(raw)
    return _resolve(raw, base_dir)


def _parse_section_header(raw: _RawInventory, line: str, number: int, group: str, kind):
    match = SECTION_HEADER.match(line)
    if not match:
        raw.problems.append(
            Problem(
                raw.where(number),
                "section header",
                "is not a valid [group] header",
                "write [group], [group:vars] or [group:children], with no spaces inside the brackets",
            ),
        )
        return group, None

    group, kind = match.group(1), match.group(2) or "hosts"
    if kind not in ("hosts", "vars", "children"):
        raw.problems.append(
            Problem(
                raw.where(number),
                f"[{group}:{kind}]",
                f"has an unknown section kind ':{kind}'",
                f"write [{group}:vars] for variables or [{group}:children] for child groups",
            ),
        )
        return group, None

    if kind == "vars":
        raw.vars_sections.setdefault(group, number)
        raw.group_vars.setdefault(group, [])
    elif group == ALL:
        raw.group_children.setdefault(ALL, [])  # every group is already in "all"
    else:
        raw.declare_group(group)
    return group, kind


def _parse_host_line(raw: _RawInventory, group: str, line: str, number: int) -> None:
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        raw.problems.append(
            Problem(
                raw.where(number),
                "host line",
                "has a quote that is never closed",
                "close the quote, e.g. ansible_ssh_private_key_file='~/.ssh/id_rsa'",
            ),
        )
        return
    if not words:
        return

    name, port = _split_host_port(words[0])
    if "[" in name or "]" in name:
        raw.problems.append(
            Problem(
                raw.where(number),
                name,
                "is an Ansible host range, which this loader does not expand",
                "list each host on its own line",
            ),
        )
        return

    settings = [] if port is None else [_Setting("ansible_port", port, number)]
    for position, word in enumerate(words[1:], start=2):
        key, equals, value = word.partition("=")
        if not equals or not key:
            # The word is not shown: it may be a password typed with spaces.
            raw.problems.append(
                Problem(
                    raw.where(number),
                    name,
                    f"has word {position} that is not a key=value pair",
                    "write each host variable as key=value, with no spaces around '='",
                ),
            )
            continue
        settings.append(_Setting(key, value, number))

    raw.add_host(group if group != ALL else UNGROUPED, name, settings)


def _split_host_port(word: str) -> tuple[str, str | None]:
    # "beta:2345" is Ansible's host:port shorthand; an IPv6 address has several ':'
    name, colon, port = word.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name, port
    return word, None


def _parse_vars_line(raw: _RawInventory, group: str, line: str, number: int) -> None:
    key, equals, value = (part.strip() for part in line.partition("="))
    if not equals or not key:
        raw.problems.append(
            Problem(
                raw.where(number),
                f"[{group}:vars]",
                "has a line that is not key=value",
                "write one key=value per line",
            ),
        )
        return

    try:
        value = _unquote_vars_value(value)
    except ValueError:
        raw.problems.append(
            Problem(
                raw.where(number),
                key,
                "has a quote that is never closed",
                f"close the quote: {key}='...'",
            ),
        )
        return
    raw.group_vars[group].append(_Setting(key, value, number))


def _unquote_vars_value(value: str) -> str:
    # Everything after '=' is the value (spaces included), but a quoted value
    # is unquoted and a trailing " # comment" is dropped.
    if value[:1] in ("'", '"'):
        words = shlex.split(value, comments=True)
        if len(words) == 1:
            return words[0]
    return INLINE_COMMENT.sub("", value)


def _parse_child_line(raw: _RawInventory, group: str, line: str, number: int) -> None:
    child = INLINE_COMMENT.sub("", line).strip()
    raw.group_children[group].append((child, number))


def _check_group_references(raw: _RawInventory) -> None:
    declared = set(raw.group_hosts) | {ALL}

    for group, line in raw.vars_sections.items():
        if group not in declared:
            raw.problems.append(
                Problem(
                    raw.where(line),
                    f"[{group}:vars]",
                    f"sets variables for group {group}, which no [{group}] or [{group}:children] section declares",
                    f"declare [{group}] with its hosts, or correct the group name",
                ),
            )

    for group, children in raw.group_children.items():
        for child, line in children:
            if child in declared:
                continue
            if child in raw.host_settings:
                message = f"lists {child}, which is a host, not a group"
                fix = f"list hosts under [{group}] and groups under [{group}:children]"
            else:
                message = f"lists {child}, which no section of the file declares as a group"
                fix = f"declare [{child}] with its hosts, or correct the group name"
            raw.problems.append(Problem(raw.where(line), f"[{group}:children]", message, fix))


# Resolving: _RawInventory -> hosts with their final data
#


def _resolve(raw: _RawInventory, base_dir: Path | None) -> IniInventory:
    children = _valid_children(raw)
    depths = _group_depths(raw, children)
    members = {group: _members(raw, children, group) for group in raw.group_hosts}

    in_a_group = {name for group, names in members.items() if group != UNGROUPED for name in names}
    members[UNGROUPED] = [name for name in raw.host_order if name not in in_a_group]

    group_values = {
        group: _to_pyinfra(raw, f"[{group}:vars]", settings, base_dir) for group, settings in raw.group_vars.items()
    }

    hosts: dict[str, dict] = {}
    spelling: dict[str, dict[str, str]] = {}
    for name in raw.host_order:
        host_groups = sorted(
            (group for group, names in members.items() if name in names),
            key=lambda group: (depths.get(group, 1), group),
        )
        layers = [group_values.get(ALL, {}), *(group_values.get(group, {}) for group in host_groups)]
        hosts[name] = _layered([*layers, _host_values(raw, name, base_dir)])
        if INI_SPELLING in hosts[name]:
            spelling[name] = hosts[name].pop(INI_SPELLING)

    return IniInventory(hosts=hosts, groups=members, problems=raw.problems, spelling=spelling)


def _valid_children(raw: _RawInventory) -> dict[str, list[str]]:
    """Child groups that exist, dropping (and reporting) any that close a cycle."""

    children: dict[str, list[str]] = {group: [] for group in raw.group_hosts}
    for group, entries in raw.group_children.items():
        if group == ALL:
            continue
        for child, line in entries:
            if child not in raw.group_hosts:
                continue  # already reported by _check_group_references
            path = _path_between(children, child, group)
            if path is not None:
                loop = " -> ".join([group, *path])
                raw.problems.append(
                    Problem(
                        raw.where(line),
                        f"[{group}:children]",
                        f"makes group {group} contain itself ({loop})",
                        f"remove {child} from [{group}:children]",
                    ),
                )
                continue
            children[group].append(child)
    return children


def _path_between(children: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    if start == goal:
        return [start]
    for child in children.get(start, []):
        rest = _path_between(children, child, goal)
        if rest is not None:
            return [start, *rest]
    return None


def _group_depths(raw: _RawInventory, children: dict[str, list[str]]) -> dict[str, int]:
    # Ansible applies parent group vars before child group vars: depth orders them.
    depths = {ALL: 0}

    def visit(group: str, depth: int) -> None:
        if depths.get(group, 0) >= depth:
            return
        depths[group] = depth
        for child in children.get(group, []):
            visit(child, depth + 1)

    for group in raw.group_hosts:
        visit(group, 1)
    return depths


def _members(raw: _RawInventory, children: dict[str, list[str]], group: str) -> list[str]:
    names = list(raw.group_hosts.get(group, []))
    for child in children.get(group, []):
        names.extend(name for name in _members(raw, children, child) if name not in names)
    return names


def _host_values(raw: _RawInventory, name: str, base_dir: Path | None) -> dict:
    """A host's own values, merged over all its lines; a conflict is a duplicate host."""

    settings = raw.host_settings[name]
    first_seen: dict[str, _Setting] = {}
    for setting in settings:
        earlier = first_seen.setdefault(setting.key, setting)
        if earlier.value != setting.value:
            raw.problems.append(
                Problem(
                    name,
                    setting.key,
                    f"is set to different values on lines {earlier.line} and {setting.line}",
                    "give each machine its own host name: a name is one machine",
                ),
            )
    latest = {setting.key: setting for setting in settings}
    return _to_pyinfra(raw, name, list(latest.values()), base_dir)


def _to_pyinfra(raw: _RawInventory, where: str, settings: list[_Setting], base_dir) -> dict:
    """Rename Ansible connection variables and convert value types."""

    values: dict = {}
    spelled_as: dict[str, _Setting] = {}
    for setting in settings:
        key = ANSIBLE_TO_PYINFRA.get(setting.key, setting.key)
        earlier = spelled_as.get(key)
        if earlier and earlier.key != setting.key and earlier.value != setting.value:
            raw.problems.append(
                Problem(
                    where,
                    key,
                    f"is given twice with different values, as {earlier.key} and {setting.key}",
                    f"keep only one of {earlier.key} and {setting.key}",
                ),
            )
        spelled_as[key] = setting
        values[key] = convert_value(key, setting.value, base_dir)
    renamed = {key: setting.key for key, setting in spelled_as.items() if key != setting.key}
    if renamed:
        values[INI_SPELLING] = renamed
    return values


def _layered(layers: list[dict]) -> dict:
    """Later layers win (all, groups by depth, the host); each variable keeps
    the spelling of the layer its value came from."""
    data: dict = {}
    spelling: dict[str, str] = {}
    for layer in layers:
        written = layer.get(INI_SPELLING, {})
        for key, value in layer.items():
            if key == INI_SPELLING:
                continue
            data[key] = value
            if key in written:
                spelling[key] = written[key]
            else:
                spelling.pop(key, None)
    if spelling:
        data[INI_SPELLING] = spelling
    return data


def convert_value(key: str, value: str, base_dir: Path | None = None):
    """The typed value of a pyinfra variable written as text in an INI file."""

    if key in SECRET_VARIABLES:
        return value
    if key in PORT_VARIABLES and value.isdigit():
        return int(value)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if key == "ssh_key":
        return os.path.expanduser(value)
    if key in LOCAL_FILE_VARIABLES and value:
        path = Path(value).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        return str(path)
    return value


# Files
#


def load_ini(path: str | os.PathLike) -> IniInventory:
    """Read an INI inventory file; relative local paths are relative to its directory."""

    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InventoryError(
            [
                Problem(
                    str(path),
                    ENV_VAR,
                    f"points at a file that cannot be read ({reason})",
                    "point it at your Ansible INI inventory, e.g. inv.toml",
                ),
            ],
        ) from None
    return parse_ini(text, source=path.name, base_dir=path.absolute().parent)


def load_ini_from_env(environ=os.environ) -> IniInventory:
    """Read the INI inventory named by $CONVECTHUB_ANSIBLE_INVENTORY."""

    path = environ.get(ENV_VAR, "").strip()
    if not path:
        raise InventoryError(
            [
                Problem(
                    "environment",
                    ENV_VAR,
                    "is not set",
                    f"name the Ansible INI inventory to read: {ENV_VAR}=inv.toml "
                    "pyinfra inventories/ansible.py deploy.py",
                ),
            ],
        )
    return load_ini(path)
