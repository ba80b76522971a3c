"""
Check an inventory and change nothing:

    pyinfra inventories/prod.py check.py --dry
    CONVECTHUB_ANSIBLE_INVENTORY=inv.toml pyinfra inventories/ansible.py check.py --dry

A wrong inventory is reported by the inventory module itself, before pyinfra
connects to any host. A right one gets this far: pyinfra has then logged in to
every host (as `ansible all -m ping` did), and this file checks the inventory
once more as pyinfra resolved it (with any --data overrides). It adds no
operation.
"""

from convecthub.cluster.check import require_valid_inventory

require_valid_inventory()
