"""The lab's pure parts: topology, inventory rendering, image recipe, secret files."""

import stat

from pyinfra.api import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory_from_files

from tests.lab.image import ImageRecipe
from tests.lab.inventory import render_inventory
from tests.lab.keys import ensure_ssh_key, write_secret
from tests.lab.lab import LabSpec, Node, manual_topology, topology


def test_default_topology_is_the_manuals_example():
    nodes = {node.name: node for node in manual_topology()}
    assert {name: node.ssh_port for name, node in nodes.items()} == {"master": 2222, "worker1": 2200, "worker2": 2201}
    assert nodes["master"].groups == ("driver", "registry")
    assert nodes["worker1"].groups == nodes["worker2"].groups == ("worker",)
    assert nodes["worker2"].data == {"has_gpu": True} and nodes["worker2"].standin_gpu
    assert nodes["worker1"].data == {} and not nodes["worker1"].standin_gpu


def test_topology_scales_and_shifts_ports():
    nodes = topology(drivers=3, workers=2, port_offset=100)
    assert [(n.name, n.ssh_port) for n in nodes] == [
        ("master", 2322),
        ("master2", 2323),
        ("master3", 2324),
        ("worker1", 2300),
        ("worker2", 2301),
    ]
    assert [n.name for n in nodes if "registry" in n.groups] == ["master"]


def test_rendered_inventory_loads_in_pyinfra_with_groups_and_data(tmp_path):
    spec = LabSpec(name="unit", nodes=topology(sudo_password_nodes=("worker1",)))
    key = ensure_ssh_key(tmp_path / "id_ed25519")
    nodes = [Node(n, f"unit-{n.name}") for n in spec.nodes]
    password_file = tmp_path / "sudo-password-worker1"
    write_secret(password_file, "s3cret-for-test")
    nodes[1].sudo_password_file = password_file
    inventory_file = tmp_path / "lab_inventory.py"
    inventory_file.write_text(
        render_inventory(spec, nodes, key, tmp_path / "known_hosts", tmp_path / "bundle", tmp_path / "state")
    )

    with ctx_state.use(State()):  # pyinfra's CLI loads inventories inside a state
        inventory = make_inventory_from_files(str(inventory_file))

    assert sorted(h.name for h in inventory.get_group("driver")) == ["master"]
    assert sorted(h.name for h in inventory.get_group("registry")) == ["master"]
    assert sorted(h.name for h in inventory.get_group("worker")) == ["worker1", "worker2"]
    master = inventory.get_host("master").data
    assert (master.ssh_hostname, master.ssh_port, master.ssh_user, master.my_iface) == (
        "127.0.0.1",
        2222,
        "vagrant",
        "eth1",
    )
    assert master.ssh_strict_host_key_checking == "yes"
    assert inventory.get_host("worker2").data.has_gpu is True
    assert master.bundle_dir == str(tmp_path / "bundle") and master.convecthub_state_dir == str(tmp_path / "state")
    assert inventory.get_host("worker1").data._sudo_password == "s3cret-for-test"
    # The password is read from its file at load time, never written into the inventory.
    assert "s3cret-for-test" not in inventory_file.read_text()


def test_image_recipe_hash_is_stable_and_follows_the_recipe():
    assert ImageRecipe().tag == ImageRecipe().tag
    assert ImageRecipe().tag.startswith("convecthub-lab-node:")
    assert ImageRecipe(suite="trixie").tag != ImageRecipe().tag
    assert ImageRecipe(packages=ImageRecipe().packages + ("jq",)).tag != ImageRecipe().tag


def test_secrets_and_keys_are_written_owner_only(tmp_path):
    write_secret(tmp_path / "secret", "x")
    key = ensure_ssh_key(tmp_path / "id_ed25519")
    for path in (tmp_path / "secret", key.private_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert key.public_line.startswith("ssh-ed25519 ")
    assert ensure_ssh_key(tmp_path / "id_ed25519") == key  # reused, not remade
