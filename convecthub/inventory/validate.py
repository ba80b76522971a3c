"""
Inventory validation: every problem at once, before anything runs.

``find_problems`` is a pure function of the hosts (name, groups, final data):
no pyinfra state, no SSH. It reads only local files the inventory names
(the JupyterHub values file, TLS files, the SSH key) to check they are there.
Messages never contain secret values (see SECRET_VARIABLES).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from convecthub import footprint
from convecthub.inventory.model import HostEntry
from convecthub.inventory.variables import (
    BOOLEAN_VARIABLES,
    CLUSTER_WIDE_VARIABLES,
    INI_SPELLING,
    LOCAL_FILE_VARIABLES,
    PORT_VARIABLES,
    ROLE_GROUPS,
    SECRET_VARIABLES,
    as_written,
    known_variables,
)
from convecthub.problems import Problem, merge_same_problems

PLACEHOLDER_TOKEN = "k3s_hub_token"  # the manual's example value
MIN_TOKEN_LENGTH = 32

# Ports every node already uses: serving JupyterHub on one breaks the cluster.
K3S_PORTS = footprint.K3S_PORTS

# Linux interface names: at most 15 characters, no spaces or slashes.
INTERFACE_NAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")

TOKEN_FIX = (
    "delete convect_token to have a strong one generated and kept in .convecthub/state.json, "
    f"or set one of at least {MIN_TOKEN_LENGTH} random characters (e.g. `openssl rand -hex 32`)"
)


def find_problems(hosts: Sequence[HostEntry], base_dir: str | Path | None = None) -> list[Problem]:
    """
    All problems of an inventory. ``base_dir`` resolves relative local file
    paths (default: the current directory, as pyinfra does).
    """

    base = Path(base_dir) if base_dir is not None else Path.cwd()
    problems = list(_group_problems(hosts))
    for host in hosts:
        spelling = host.data.get(INI_SPELLING)
        problems.extend(_as_written(problem, spelling) for problem in _host_problems(host, base))
    problems.extend(_duplicate_address_problems(hosts))
    problems.extend(_cluster_wide_problems(hosts))
    return merge_same_problems(problems)


def _as_written(problem: Problem, spelling: Mapping | None) -> Problem:
    """The problem naming its variable as the INI file did (ansible_ssh_port,
    not ssh_port), in its fix too unless the fix names both already."""
    written = as_written(spelling, problem.variable)
    if written == problem.variable:
        return problem
    fix = problem.fix
    if written not in fix:
        fix = re.sub(rf"(?<!\w){re.escape(problem.variable)}(?!\w)", written, fix)
    return dataclasses.replace(problem, variable=written, fix=fix)


# The groups
#


def _group_problems(hosts: Sequence[HostEntry]):
    drivers = [host.name for host in hosts if "driver" in host.groups]
    registries = [host.name for host in hosts if "registry" in host.groups]

    if not drivers:
        yield Problem(
            "inventory",
            "driver",
            "group has no host",
            "put the K3s server host(s) in the driver group: [driver] in an INI "
            "inventory, driver = [...] in a pyinfra inventory",
        )
    elif len(drivers) % 2 == 0:
        yield Problem(
            ", ".join(drivers),
            "driver",
            f"group has {len(drivers)} hosts, but a K3s HA control plane needs an odd number to keep etcd quorum",
            "use 1, 3 or 5 driver hosts",
        )

    # The registry host is a K3s node too (every pull goes through the
    # cluster's CA and private network to it); a host outside the cluster is
    # not a role the deploy has. (Without drivers, that problem comes first.)
    registry_only = [host.name for host in hosts if set(host.groups) & set(ROLE_GROUPS) == {"registry"}]
    if drivers and registry_only:
        yield Problem(
            ", ".join(registry_only),
            "registry",
            "is this host's only group, but the registry host must also be a K3s node",
            "add the host to the worker (or driver) group too, or put the registry on a driver, as the manual does",
        )

    if len(registries) > 1:
        yield Problem(
            ", ".join(registries),
            "registry",
            f"group has {len(registries)} hosts, but ConvectHub runs one private registry",
            "keep exactly one host in the registry group",
        )


# One host
#


def _host_problems(host: HostEntry, base: Path):
    yield from _role_problems(host)
    yield from _interface_problems(host)
    yield from _boolean_problems(host)
    yield from _port_problems(host)
    yield from _path_problems(host, base)
    yield from _token_problems(host)
    yield from _secret_type_problems(host)
    yield from _typo_problems(host)


def _role_problems(host: HostEntry):
    if not set(host.groups) & set(ROLE_GROUPS):
        yield Problem(
            host.name,
            "role",
            "is missing: the host is in none of the groups driver, worker, registry",
            "add the host to one of these groups, or remove it from the inventory",
        )


def _interface_problems(host: HostEntry):
    value = host.data.get("my_iface")
    if value is None or value == "":
        yield Problem(
            host.name,
            "my_iface",
            "is not set",
            "set my_iface to the host's interface on the private network "
            "(see `ip -br addr` on the host), e.g. my_iface=eth1",
        )
    elif not isinstance(value, str) or not INTERFACE_NAME.match(value):
        yield Problem(
            host.name,
            "my_iface",
            f"is {_describe(value)}, not a network interface name",
            "use the name `ip -br addr` shows on the host, e.g. eth1 or ens18",
        )


def _boolean_problems(host: HostEntry):
    for variable in (*BOOLEAN_VARIABLES, "_sudo"):
        if variable not in host.data or isinstance(host.data[variable], bool):
            continue
        yield Problem(
            host.name,
            variable,
            f"is {_describe(host.data[variable])}, not a boolean",
            f"write {variable}=true or {variable}=false in an INI inventory, True or False in a pyinfra inventory",
        )


def _port_problems(host: HostEntry):
    ports = {}
    for variable in PORT_VARIABLES:
        value = host.data.get(variable)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            message = f"is {_describe(value)}, not a whole number"
        elif not 1 <= value <= 65535:
            message = f"is {value}, outside 1..65535"
        else:
            ports[variable] = value
            continue
        fix = f"set {variable} to a whole number from 1 to 65535"
        yield Problem(host.name, variable, message, fix)

    http, https = ports.get("http_port"), ports.get("https_port")
    if http is not None and http == https:
        yield Problem(
            host.name,
            "https_port",
            f"is the same port as http_port ({http})",
            "give HTTP and HTTPS different ports, e.g. http_port=80 and https_port=443",
        )

    for variable in ("http_port", "https_port"):
        if ports.get(variable) in K3S_PORTS:
            yield Problem(
                host.name,
                variable,
                f"is {ports[variable]}, which K3s uses for {K3S_PORTS[ports[variable]]}",
                "choose another port",
            )

    registry = ports.get("registry_port")
    if "registry" in host.groups and registry is not None:
        for variable in ("http_port", "https_port"):
            if ports.get(variable) == registry:
                yield Problem(
                    host.name,
                    "registry_port",
                    f"is the same port as {variable} ({registry}), which every node serves JupyterHub on",
                    "choose a registry_port different from http_port and https_port",
                )


def _path_problems(host: HostEntry, base: Path):
    workdir = host.data.get("convect_workdir")
    if workdir is not None and not (isinstance(workdir, str) and workdir.startswith("/")):
        yield Problem(
            host.name,
            "convect_workdir",
            f"is {_describe(workdir)}, not an absolute path",
            f"use an absolute directory on the nodes, e.g. {footprint.DEFAULT_WORKDIR}",
        )

    repo = host.data.get("docker_repo")
    if repo is not None and not (isinstance(repo, str) and re.match(r"^https?://\S+$", repo)):
        yield Problem(
            host.name,
            "docker_repo",
            f"is {_describe(repo)}, not an http(s) URL",
            "use the APT repository URL, e.g. https://download.docker.com/linux/ubuntu or your mirror's",
        )

    jhub = host.data.get("jhub_config_path")
    if jhub is None or jhub == "":
        yield Problem(
            host.name,
            "jhub_config_path",
            "is not set",
            "set jhub_config_path to your Zero to JupyterHub values file, e.g. thu-vars/jupyterhub.yaml",
        )
    else:
        message = _values_file_problem(jhub, base)
        if message:
            yield Problem(
                host.name,
                "jhub_config_path",
                message,
                "point it at your Zero to JupyterHub values file (a YAML mapping); a relative "
                "path is relative to the INI file's directory (INI inventories) or to the "
                "directory pyinfra runs in (pyinfra inventories)",
            )

    for variable in LOCAL_FILE_VARIABLES:
        value = host.data.get(variable)
        if variable != "jhub_config_path" and value is not None:
            message = _file_problem(value, base)
            if message:
                fix = f"point {variable} at a file on this machine"
                yield Problem(host.name, variable, message, fix)

    has_cert = bool(host.data.get("registry_tls_cert_file"))
    if has_cert != bool(host.data.get("registry_tls_key_file")):
        yield Problem(
            host.name,
            "registry_tls_key_file",
            "and registry_tls_cert_file must be set together",
            "set both for a TLS registry, or neither for plain HTTP on the private network",
        )

    key = host.data.get("ssh_key")
    if key is not None:
        message = _file_problem(key, base, expand_user=True)
        if message:
            yield Problem(
                host.name,
                "ssh_key",
                message,
                "create the key (ssh-keygen) or correct ssh_key (ansible_ssh_private_key_file in an INI inventory)",
            )


def _resolve(value: str, base: Path, expand_user: bool = False) -> Path:
    path = Path(value).expanduser() if expand_user else Path(value)
    return path if path.is_absolute() else base / path


def _file_problem(value, base: Path, expand_user: bool = False) -> str | None:
    if not isinstance(value, str) or not value:
        return f"is {_describe(value)}, not a file path"
    path = _resolve(value, base, expand_user)
    if not path.exists():
        return f"points at {path}, which does not exist"
    if not path.is_file():
        return f"points at {path}, which is not a file"
    return None


def _values_file_problem(value, base: Path) -> str | None:
    message = _file_problem(value, base, expand_user=True)
    if message:
        return message
    path = _resolve(value, base, expand_user=True)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        return f"points at {path}, which cannot be read ({error.strerror})"
    except UnicodeDecodeError:
        return f"points at {path}, which is not UTF-8 text"
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        return f"points at {path}, which is not valid YAML{where}"
    if not isinstance(content, dict):
        what = "empty" if content is None else f"a YAML {_yaml_kind(content)}"
        return f"points at {path}, which is {what}, not a mapping of chart values"
    return None


def _yaml_kind(content) -> str:
    if isinstance(content, list):
        return "list"
    if isinstance(content, str):
        return "string"
    return "scalar"


# docs/contracts.md 1.4: K3s parses any token starting with this as a full one.
K3S_FULL_TOKEN_PREFIX = "K10"


def _token_problems(host: HostEntry):
    token = host.data.get("convect_token")
    if token is None:
        return  # generated and kept in the state file at deploy time
    if not isinstance(token, str):
        message = "is not a string"
    elif token == PLACEHOLDER_TOKEN:
        message = "is the manual's example value, which anyone can read"
    elif len(token) < MIN_TOKEN_LENGTH:
        message = f"is shorter than {MIN_TOKEN_LENGTH} characters"
    elif token.startswith(K3S_FULL_TOKEN_PREFIX):
        # K3s: a token starting with K10 is a full token,
        # K10<CA sha256>::<user>:<password>; any other is refused.
        message = (
            f"starts with {K3S_FULL_TOKEN_PREFIX}, which K3s reads as a full token "
            "(K10<CA hash>::server:<secret>) and refuses as 'invalid token format'"
        )
    else:
        return
    yield Problem(host.name, "convect_token", message, TOKEN_FIX)


def _secret_type_problems(host: HostEntry):
    for variable in SECRET_VARIABLES:
        value = host.data.get(variable)
        if variable != "convect_token" and value is not None and not isinstance(value, str):
            yield Problem(host.name, variable, "is not a string", f"quote the value of {variable}")


def _typo_problems(host: HostEntry):
    known = known_variables()
    for variable in host.data:
        if variable in known:
            continue
        match = _likely_meant(variable, known)
        if match:
            yield Problem(
                host.name,
                variable,
                f"is not a variable ConvectHub or pyinfra reads, and looks like a misspelling of {match}",
                f"rename it to {match}",
            )


def _likely_meant(variable: str, known: frozenset[str]) -> str | None:
    normalised = variable.lower().replace("-", "_")
    if normalised in known:
        return normalised
    matches = difflib.get_close_matches(normalised, sorted(known), n=1, cutoff=0.85)
    return matches[0] if matches else None


# Across hosts
#


def _duplicate_address_problems(hosts: Sequence[HostEntry]):
    by_address: dict[tuple[str, object], list[str]] = {}
    for host in hosts:
        hostname = host.data.get("ssh_hostname") or host.name
        port = host.data.get("ssh_port") or 22
        by_address.setdefault((str(hostname).lower(), port), []).append(host.name)

    for (hostname, port), names in by_address.items():
        if len(names) > 1:
            yield Problem(
                ", ".join(names),
                "ssh_hostname and ssh_port",
                f"are {hostname}:{port} for each of these hosts, so they are one machine",
                "give each machine one host name and list that name in several groups "
                "for several roles; or correct the address or port",
            )


def _cluster_wide_problems(hosts: Sequence[HostEntry]):
    for variable in CLUSTER_WIDE_VARIABLES:
        holders: dict[object, list[str]] = {}
        for host in hosts:
            if host.data.get(variable) is not None:
                holders.setdefault(_hashable(host.data[variable]), []).append(host.name)
        if len(holders) < 2:
            continue
        if variable in SECRET_VARIABLES:
            detail = " vs ".join(", ".join(names) for names in holders.values())
        else:
            detail = "; ".join(f"{value!r} on {', '.join(names)}" for value, names in holders.items())
        yield Problem(
            ", ".join(name for names in holders.values() for name in names),
            variable,
            f"differs between hosts ({detail})",
            "set it once for every host ([all:vars] in an INI inventory)",
        )


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _describe(value) -> str:
    """A non-secret value as the operator wrote it, for a message."""

    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None:
        return "empty"
    return repr(value)
