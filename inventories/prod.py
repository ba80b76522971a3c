"""
The manual's example inventory, as a pyinfra inventory. Copy this file, then
change the addresses, ports, user, key and interfaces to your servers':

    pyinfra inventories/prod.py check.py --dry   # check the inventory, then SSH to each host
    pyinfra inventories/prod.py deploy.py

How pyinfra reads this file: every public module-level list is a group of
hosts, each host a ``(name, data)`` tuple. A host listed in several groups has
several roles (here master is driver and registry). Names starting with ``_``
are not groups: use them for anything else. docs/inventory.md lists every
variable.
"""

from os.path import expanduser as _expanduser

from convecthub.cluster.check import check_before_connect as _check_before_connect

# The manual's [all:vars]. Given to each host rather than as the `all` group's
# data, because pyinfra lets group_data/all.py override an inventory's `all`
# data, while host data overrides group_data (Ansible's order).
# No convect_token: a strong one is generated on the first run and kept in
# .convecthub/state.json (the manual's `k3s_hub_token` is rejected).
_all_vars = {
    "convect_workdir": "/tmp/convecthub",
    "has_gpu": False,
    # A relative path is relative to the directory pyinfra runs in.
    "jhub_config_path": "thu-vars/jupyterhub.yaml",
}

# How to log in (the manual's ansible_ssh_user / ansible_ssh_private_key_file),
# and the interface on the private network. ssh_port must be an int.
_login = {
    "ssh_user": "vagrant",
    "ssh_key": _expanduser("~/.ssh/id_rsa"),
    "my_iface": "eth1",
}

_master = ("master", {**_all_vars, **_login, "ssh_hostname": "127.0.0.1", "ssh_port": 2222})
_worker1 = ("worker1", {**_all_vars, **_login, "ssh_hostname": "127.0.0.1", "ssh_port": 2200})
_worker2 = (
    "worker2",
    {**_all_vars, **_login, "ssh_hostname": "127.0.0.1", "ssh_port": 2201, "has_gpu": True},
)

# K3s servers: one, or an odd number for HA.
driver = [_master]

# K3s agents, where notebooks run.
worker = [_worker1, _worker2]

# The one host running the private image registry.
registry = [_master]

# Stop here, before pyinfra connects to anything, if the inventory is wrong.
_check_before_connect(globals())
