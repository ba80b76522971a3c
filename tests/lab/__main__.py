"""`python -m tests.lab up|down|status`: the lab of Debian systemd nodes.

With no options `up` starts the manual's example topology (master = driver +
registry on 127.0.0.1:2222, worker1 on :2200, worker2 on :2201 with a stand-in
GPU, user vagrant) and writes inventories/lab.py.
"""

import argparse
import logging
import sys
import time
from pathlib import Path

from .lab import Lab, LabSpec, topology

REPO = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="convecthub-lab", help="lab name (Docker label value)")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the nodes and write the inventory")
    up.add_argument("--drivers", type=int, default=1, help="K3s server nodes (default 1)")
    up.add_argument("--workers", type=int, default=2, help="K3s agent nodes (default 2)")
    up.add_argument(
        "--sudo-password",
        action="append",
        default=[],
        metavar="NODE",
        help="make NODE's sudo ask for a password (kept 0600 in the lab's state dir)",
    )
    up.add_argument("--subnet", default="10.213.7.0/24", help="private network on eth1")
    up.add_argument("--inventory", type=Path, default=REPO / "inventories" / "lab.py")

    commands.add_parser("down", help="remove every container, network and volume of the lab")
    commands.add_parser("status", help="list what of the lab is in Docker")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="lab: %(message)s")

    if args.command == "up":
        nodes = topology(args.drivers, args.workers, sudo_password_nodes=tuple(args.sudo_password))
        lab = Lab(LabSpec(name=args.name, nodes=nodes, subnet=args.subnet))
        started = time.monotonic()
        for node in lab.up(inventory_path=args.inventory):
            print(
                f"{node.spec.name:10} ssh 127.0.0.1:{node.spec.ssh_port}  eth1 {node.private_ip}  "
                f"groups {','.join(node.spec.groups)}"
            )
        print(f"lab {args.name!r} up in {time.monotonic() - started:.1f}s; inventory: {args.inventory}")
        return 0

    lab = Lab(LabSpec(name=args.name))
    if args.command == "down":
        removed = lab.down()
        print(
            f"lab {args.name!r} removed: "
            + "; ".join(f"{kind}: {', '.join(names) or 'none'}" for kind, names in removed.items())
        )
        return 0
    for kind, names in lab.leftovers().items():
        print(f"{kind}: {', '.join(names) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
