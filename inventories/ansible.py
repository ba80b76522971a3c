"""
An Ansible INI inventory (the manual's ``inv.toml``), used as it is:

    CONVECTHUB_ANSIBLE_INVENTORY=inv.toml pyinfra inventories/ansible.py deploy.py

Its groups become pyinfra groups and each host gets its values resolved as
Ansible would (host line over [group:vars] over [all:vars]), with the Ansible
connection variables renamed for pyinfra. See convecthub/inventory/ansible_ini.py and
docs/inventory.md.
"""

from convecthub.cluster.check import check_before_connect as _check_before_connect
from convecthub.inventory.ansible_ini import load_ini_from_env as _load_ini_from_env

_inventory = _load_ini_from_env()

globals().update(_inventory.pyinfra_groups())

# Stop here, before pyinfra connects to anything, if the inventory is wrong.
_check_before_connect(globals(), load_problems=_inventory.problems)
