"""The bundle reaches every node once, through the first driver, in the lab:
1 driver (also the registry) and 3 workers."""

import shutil

import pytest

from convecthub.bundle.manifest import load_manifest
from tests.lab.lab import topology
from tests.standins.bundle import build_standin_bundle

from .conftest import deploy_totals, exec_on, run_pyinfra

pytestmark = pytest.mark.e2e

DEPLOY = "tests/e2e/deploys/bundle_only.py"
BUNDLE_ROOT = "/var/lib/convecthub/bundle"
# Big enough that what SSH adds is a small share of what it carries.
SIZES = {
    "k3s-amd64": 20_000_000,
    "k3s-airgap-images-amd64": 30_000_000,
    "jupyterhub-chart": 200_000,
    "jupyterhub-hub": 8_000_000,
    "jupyterhub-singleuser": 8_000_000,
}


@pytest.fixture(scope="module")
def bundle(docker_client, tmp_path_factory):
    directory = tmp_path_factory.mktemp("bundle")
    build_standin_bundle(directory, docker_client=docker_client, sizes=SIZES)
    return directory


@pytest.fixture(scope="module")
def lab(lab_factory):
    nodes = topology(drivers=1, workers=3, gpu_workers=(), port_offset=500)
    return lab_factory("convecthub-e2e-bundle", nodes, "10.213.50.0/24")


def received_on_eth0(lab) -> int:
    """Bytes the nodes received on eth0, their side of the provisioner's SSH
    (the peers fetch from each other on eth1, the private network)."""
    total = 0
    for node in lab.nodes:
        code, output = exec_on(lab, node.spec.name, ["cat", "/sys/class/net/eth0/statistics/rx_bytes"])
        assert code == 0
        total += int(output)
    return total


def files_on(lab, node_name) -> dict:
    """Every file under the node's bundle directory but the deploy's own
    bookkeeping (stamps, incoming area), with its sha256."""
    listing = (
        f"cd {BUNDLE_ROOT} && find . -type f -not -path './.verified/*' -not -path './.incoming/*' "
        "-exec sha256sum {} +"
    )
    code, output = exec_on(lab, node_name, ["sh", "-c", listing])
    assert code == 0, output
    return {path.removeprefix("./"): digest for digest, path in (line.split() for line in output.splitlines())}


def deploy(lab, bundle_dir, *arguments):
    return deploy_totals(lab.inventory, DEPLOY, "--data", f"bundle_dir={bundle_dir}", *arguments)


def test_provisioner_sends_the_bundle_once_and_each_node_holds_what_its_roles_need(lab, bundle):
    manifest = load_manifest(bundle)
    before = received_on_eth0(lab)

    totals = deploy(lab, bundle)

    sent = received_on_eth0(lab) - before
    assert totals["error"] == 0
    # Once, not once per node: four nodes would make this about 2.3x.
    assert manifest.total_size <= sent <= manifest.total_size * 1.05, (sent, manifest.total_size)
    for node in lab.nodes:
        expected = {entry.path: entry.sha256 for entry in manifest.for_host(node.spec.groups, "amd64")}
        assert files_on(lab, node.spec.name) == expected, node.spec.name
    worker = files_on(lab, "worker1")
    assert not any(path.startswith("images/") for path in worker), "workers got registry images"


def test_second_run_moves_only_kilobytes_and_changes_nothing(lab, bundle):
    deploy(lab, bundle)
    before = received_on_eth0(lab)

    totals = deploy(lab, bundle)

    assert totals["success"] == 0 and totals["error"] == 0, totals
    assert received_on_eth0(lab) - before < 64 * 1024


def test_a_file_changed_on_a_node_is_replaced_from_the_seed(lab, bundle):
    exec_on(lab, "worker2", ["sh", "-c", f"echo corrupted >> {BUNDLE_ROOT}/files/k3s"])
    manifest = load_manifest(bundle)

    totals = deploy(lab, bundle)

    assert totals["error"] == 0 and totals["success"] >= 1
    assert files_on(lab, "worker2")["files/k3s"] == manifest.entry("k3s-amd64").sha256


@pytest.mark.parametrize("damage", ["missing", "corrupted"])
def test_a_damaged_bundle_is_refused_before_any_host_changes(lab, bundle, tmp_path, damage):
    broken = tmp_path / "broken-bundle"
    shutil.copytree(bundle, broken)
    victim = broken / "files" / "jupyterhub-4.4.0.tgz"
    if damage == "missing":
        victim.unlink()
    else:
        victim.write_bytes(b"not the chart")

    result = run_pyinfra(lab.inventory, "--json", "-y", "--data", f"bundle_dir={broken}", DEPLOY, check=False)

    assert result.returncode != 0
    assert f"files/jupyterhub-4.4.0.tgz (jupyterhub-chart) is {damage}" in result.stderr
    assert "Starting operation" not in result.stderr, "an operation ran despite the refusal"
