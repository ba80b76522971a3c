"""Read-only facts about a node's network."""

from pyinfra.api import FactBase


class InterfaceAddresses(FactBase[dict[str, list[str]]]):
    """
    Every network interface of the node with its IPv4 addresses, in one round trip:

    .. code:: python

        {"lo": ["127.0.0.1/8"], "eth0": ["172.17.0.3/16"], "eth1": ["10.213.7.4/24"], "cni0": []}

    An interface that is up or down but has no IPv4 address maps to ``[]``, so
    "missing" and "no address" can be told apart.
    """

    def requires_command(self) -> str:
        return "ip"

    def command(self) -> str:
        return "ip -o link show && echo -- && ip -o -4 addr show"

    default = dict

    def process(self, output):
        interfaces: dict = {}
        lines = iter(output)
        # `2: eth1@if9: <BROADCAST,...> mtu 1500 ...`: the name is the second
        # field, without the peer suffix veths and containers show.
        for line in lines:
            if line == "--":
                break
            name = line.split(":", 2)[1].strip().split("@", 1)[0]
            interfaces[name] = []
        # `3: eth1    inet 10.213.7.4/24 brd 10.213.7.255 scope global eth1\ ...`
        for line in lines:
            fields = line.split()
            if len(fields) >= 4 and fields[2] == "inet":
                interfaces.setdefault(fields[1], []).append(fields[3])
        return interfaces
