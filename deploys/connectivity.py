"""Connectivity check: every node answers over SSH, sudo works, and the
private interface (`my_iface`) has an IPv4 address. Changes nothing."""

from typing import NoReturn

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.server import Command

from convecthub.inventory.variables import INI_SPELLING, as_written
from convecthub.problems import Problem, Refused
from facts.network import InterfaceAddresses


@deploy("Check connectivity")
def check_connectivity():
    # Facts run through sudo like operations (config.SUDO): this is root's
    # uid, or nothing when sudo refused (pyinfra printed sudo's words above).
    uid = host.get_fact(Command, "id -u")
    password = as_written(host.data.get(INI_SPELLING), "_sudo_password")
    if uid is None:
        refuse(
            "sudo",
            f"failed for SSH user {host.data.get('ssh_user')!r} (see sudo's message above)",
            f"give the right sudo password ({password} in the inventory, or CONVECTHUB_SUDO_PASSWORD), "
            "or let the user sudo without one (NOPASSWD)",
        )
    if uid != "0":
        refuse("sudo", f"gives uid {uid}, not root", "fix the sudoers entry of the SSH user")

    iface = host.data.get("my_iface")
    interfaces = host.get_fact(InterfaceAddresses)
    addresses = interfaces.get(iface)
    if not addresses:
        state = "does not exist" if addresses is None else "has no IPv4 address"
        refuse(
            "my_iface",
            f"{iface} {state} on this host; its interfaces are {_describe(interfaces)}",
            "set my_iface to the interface on the private network",
        )
    logger.info(f"{host.name}: SSH and sudo work; {iface} {', '.join(addresses)}")


def refuse(variable: str, message: str, fix: str) -> NoReturn:
    raise Refused([Problem(host.name, variable, message, fix)])


def _describe(interfaces: dict) -> str:
    return ", ".join(f"{name} ({', '.join(addrs) or 'no IPv4'})" for name, addrs in sorted(interfaces.items()))
