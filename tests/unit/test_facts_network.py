from facts.network import InterfaceAddresses

IP_OUTPUT = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth0@if12: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 02:42:ac:11:00:03 brd ff:ff:ff:ff:ff:ff link-netnsid 0
3: eth1@if14: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 02:42:0a:d5:07:04 brd ff:ff:ff:ff:ff:ff link-netnsid 0
4: cni0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1450 qdisc noqueue state DOWN mode DEFAULT group default qlen 1000\\    link/ether 9a:aa:00:00:00:01 brd ff:ff:ff:ff:ff:ff
--
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 172.17.0.3/16 brd 172.17.255.255 scope global eth0\\       valid_lft forever preferred_lft forever
3: eth1    inet 10.213.7.4/24 brd 10.213.7.255 scope global eth1\\       valid_lft forever preferred_lft forever
3: eth1    inet 10.213.7.40/24 scope global secondary eth1\\       valid_lft forever preferred_lft forever
""".splitlines()


def test_interfaces_with_their_ipv4_addresses():
    assert InterfaceAddresses().process(IP_OUTPUT) == {
        "lo": ["127.0.0.1/8"],
        "eth0": ["172.17.0.3/16"],
        "eth1": ["10.213.7.4/24", "10.213.7.40/24"],
        "cni0": [],
    }


def test_missing_and_addressless_interfaces_differ():
    fact = InterfaceAddresses().process(IP_OUTPUT)
    assert fact.get("eth9") is None
    assert fact.get("cni0") == []
