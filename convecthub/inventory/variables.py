"""
The inventory variables ConvectHub reads, by kind.

Default values live in ``group_data/all.py`` (that is where pyinfra picks them
up); this module only says what each name *is*, so the INI loader knows what to
convert and the validator knows what to check. A unit test keeps the two lists
in step.
"""

from collections.abc import Mapping
from functools import cache

# What pyinfra itself reads of host data (metadata, not run state).
from pyinfra.api.arguments import all_argument_meta
from pyinfra.connectors.ssh import connector_data_meta

# The groups of the manual: K3s servers, K3s agents, and the one host that runs
# the private image registry.
ROLE_GROUPS = ("driver", "worker", "registry")

# Every variable of group_data/all.py, in its order.
CONVECTHUB_VARIABLES = (
    "convect_workdir",
    "convect_token",
    "has_gpu",
    "jhub_config_path",
    "http_port",
    "https_port",
    "install_nvidia_driver",
    "nvidia_driver_version",
    "nvidia_reboot",
    "install_docker",
    "docker_repo",
    "my_iface",
    "preflight_min_cpus",
    "preflight_min_memory_gb",
    "preflight_min_disk_gb",
    "registry_port",
    "registry_tls_cert_file",
    "registry_tls_key_file",
    "registry_tls_ca_file",
    "keep_registry_data",
    "reset_remove_packages",
    "bundle_dir",
    "bundle_peer_port",
    "convecthub_state_dir",
)

# pyinfra's own variables that group_data/all.py gives other defaults, after ours.
PYINFRA_DEFAULTS = ("ssh_strict_host_key_checking",)

BOOLEAN_VARIABLES = (
    "has_gpu",
    "install_nvidia_driver",
    "nvidia_reboot",
    "install_docker",
    "keep_registry_data",
    "reset_remove_packages",
)

# ssh_port is pyinfra's; the others are ours. All must be ints in 1..65535.
PORT_VARIABLES = ("ssh_port", "http_port", "https_port", "registry_port", "bundle_peer_port")

# Files on the provisioner (not on the nodes). Relative paths are resolved
# against the directory pyinfra runs in (the INI loader first makes them
# absolute against the INI file's directory, where the old playbook lived).
LOCAL_FILE_VARIABLES = (
    "jhub_config_path",
    "registry_tls_cert_file",
    "registry_tls_key_file",
    "registry_tls_ca_file",
)

# One value for the whole cluster: a per-host difference is a mistake.
CLUSTER_WIDE_VARIABLES = ("convect_token", "http_port", "https_port", "registry_port")

# Values that must never be printed, logged or converted.
SECRET_VARIABLES = (
    "convect_token",
    "ssh_password",
    "ssh_key_password",
    "_sudo_password",
    "_su_password",
)

# Ansible connection variables -> pyinfra 3.10 host data. Both spellings of
# each (the manual uses the old ansible_ssh_* ones).
ANSIBLE_TO_PYINFRA = {
    "ansible_host": "ssh_hostname",
    "ansible_ssh_host": "ssh_hostname",
    "ansible_port": "ssh_port",
    "ansible_ssh_port": "ssh_port",
    "ansible_user": "ssh_user",
    "ansible_ssh_user": "ssh_user",
    "ansible_ssh_private_key_file": "ssh_key",
    "ansible_private_key_file": "ssh_key",
    "ansible_password": "ssh_password",
    "ansible_ssh_pass": "ssh_password",
    "ansible_sudo_pass": "_sudo_password",
    "ansible_become_pass": "_sudo_password",
    "ansible_become_password": "_sudo_password",
    "ansible_become": "_sudo",
    "ansible_sudo": "_sudo",
    "ansible_become_user": "_sudo_user",
    "ansible_sudo_user": "_sudo_user",
}


# Host data of an INI inventory's host: pyinfra's name -> the Ansible name the
# file used (``{"ssh_port": "ansible_ssh_port"}``), so that every message names
# a variable as the operator wrote it.
INI_SPELLING = "convecthub_ini_spelling"


def as_written(spelling: Mapping | None, variable: str, default: str | None = None) -> str:
    """The name the operator wrote for ``variable``: its Ansible spelling in
    an INI inventory, else ``default`` (else the name itself)."""
    return (spelling or {}).get(variable) or default or variable


def pyinfra_variables() -> frozenset[str]:
    """
    Host data names pyinfra itself reads: SSH connector data and the global
    operation arguments (``_sudo``, ``_sudo_password``...), taken from pyinfra
    so they follow its version.
    """

    return frozenset(connector_data_meta) | frozenset(all_argument_meta)


@cache
def known_variables() -> frozenset[str]:
    """Every name a typo check should compare against."""

    return frozenset(CONVECTHUB_VARIABLES) | pyinfra_variables() | frozenset(ANSIBLE_TO_PYINFRA) | {INI_SPELLING}
