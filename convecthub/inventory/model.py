"""
The plain model the validator works on: each host's name, groups and final data.

It is built either from a live pyinfra inventory (at deploy time) or from an
inventory module's own namespace plus group_data files (while pyinfra is still
loading the inventory, before it connects to anything). The second mirrors
pyinfra 3.10's ``make_inventory_from_files``: host data over group data over
``all`` data, where group_data/<group>.py overrides what the inventory file
gives a group (so group_data/all.py overrides an inventory's ``all`` data).
"""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType, ModuleType

from convecthub.problems import Problem


@dataclass(frozen=True)
class HostEntry:
    name: str
    groups: tuple[str, ...]
    data: Mapping


def entries_from_pyinfra(inventory) -> list[HostEntry]:
    """Hosts of a pyinfra Inventory, with their data as pyinfra resolves it."""

    return [HostEntry(host.name, tuple(host.groups), host.data.dict()) for host in inventory]


def group_data_folders(inventory_file: str | Path, cwd: str | Path) -> list[Path]:
    """Where the pyinfra CLI looks for group_data: the cwd, then the inventory's folder."""

    folders = [Path(cwd) / "group_data"]
    inventory_dir = Path(inventory_file).parent.resolve()
    if inventory_dir != Path(cwd).resolve():
        folders.append(inventory_dir / "group_data")
    return folders


def load_group_data(folders: list[Path]) -> dict[str, dict]:
    """group name -> data, from every ``<group>.py`` in the folders (later folders win)."""

    group_data: dict[str, dict] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for file in sorted(folder.glob("*.py")):
            group_data.setdefault(file.stem, {}).update(_data_names(runpy.run_path(str(file))))
    return group_data


def _data_names(namespace: Mapping) -> dict:
    # pyinfra drops names bound by imports; dropping modules, functions and
    # classes (and private names) is the same in practice.
    return {
        key: value
        for key, value in namespace.items()
        if not key.startswith("_") and not isinstance(value, (ModuleType, FunctionType, type))
    }


def _is_group(key: str, value) -> bool:
    # pyinfra's rule for inventory files: a public list of hosts, or (hosts, data)
    if key.startswith("_"):
        return False
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
        value = value[0]
    if not isinstance(value, list):
        return False
    return all(isinstance(item, (str, tuple)) for item in value)


def _split_group(value) -> tuple[list, dict]:
    if isinstance(value, tuple):
        return list(value[0]), dict(value[1])
    return list(value), {}


def _split_host(item) -> tuple[str, dict]:
    if isinstance(item, tuple):
        return item[0], dict(item[1])
    return item, {}


def entries_from_namespace(
    namespace: Mapping,
    group_data: Mapping[str, dict],
) -> tuple[list[HostEntry], list[Problem]]:
    """
    Hosts of an inventory module (its module-level groups) merged with group
    data, as pyinfra will merge them; plus a problem for any host name given
    different values in two places (two machines under one name).
    """

    groups = {key: _split_group(value) for key, value in namespace.items() if _is_group(key, value)}
    all_hosts, all_data = groups.pop("all", ([], {}))
    all_data = {**all_data, **group_data.get("all", {})}
    group_values = {name: {**data, **group_data.get(name, {})} for name, (_, data) in groups.items()}

    host_data: dict[str, dict] = {}
    host_groups: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for group, (hosts, _) in groups.items():
        for item in hosts:
            name, data = _split_host(item)
            problems.extend(_conflicts(name, host_data.get(name, {}), data))
            host_data.setdefault(name, {}).update(data)
            memberships = host_groups.setdefault(name, [])
            if group not in memberships:
                memberships.append(group)
    for item in all_hosts:
        name, data = _split_host(item)
        host_data.setdefault(name, {}).update(data)
        host_groups.setdefault(name, [])

    entries = []
    for name, data in host_data.items():
        merged = dict(all_data)
        for group in host_groups[name]:
            merged.update(group_values[group])
        merged.update(data)
        entries.append(HostEntry(name, tuple(host_groups[name]), merged))
    return entries, problems


def _conflicts(name: str, earlier: dict, later: dict) -> list[Problem]:
    return [
        Problem(
            name,
            key,
            "is given different values in two places for the same host name",
            "give each machine its own host name: a name is one machine",
        )
        for key, value in later.items()
        if key in earlier and earlier[key] != value
    ]
