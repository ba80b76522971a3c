"""Fixtures of the end-to-end tier: a Docker engine and a lab of systemd nodes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except Exception as error:  # no engine: the e2e tier cannot run here
        message = f"no Docker engine answers ({error}); run scripts/ensure-provisioner.sh (or make provisioner)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return client


def run_pyinfra(inventory: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the pyinfra CLI from the repository root, as an operator would."""
    command = [str(Path(sys.executable).with_name("pyinfra")), str(inventory), *arguments]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
            f"\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


def deploy_totals(inventory: Path, deploy_file: str, *arguments: str) -> dict:
    """Apply a deploy file with `--json -y` and return pyinfra's totals."""
    result = run_pyinfra(inventory, "--json", "-y", *arguments, deploy_file)
    return json.loads(result.stdout)["results"]["totals"]


@pytest.fixture(scope="module")
def lab_factory(docker_client, tmp_path_factory):
    """Start labs for one test module (each with its own name, ports and
    subnet, so it can sit beside a developer's `make lab`); all are torn down
    at the end of the module. Returns `start(name, nodes, subnet, data)`, a
    started Lab whose `inventory` attribute is its pyinfra inventory file;
    `data` is inventory data for every node."""
    from tests.lab.lab import Lab, LabSpec

    labs = []

    def start(name, nodes, subnet, data=None):
        state = tmp_path_factory.mktemp(name)
        spec = LabSpec(name=name, nodes=nodes, subnet=subnet, data=data or {})
        lab = Lab(spec, client=docker_client, state_root=state)
        labs.append(lab)
        lab.inventory = state / "inventory.py"
        lab.up(inventory_path=lab.inventory)
        return lab

    yield start
    for lab in labs:
        lab.down()


def exec_on(lab, node_name, command, user="root"):
    """Run a command on a lab node through Docker (not SSH): the tests' own
    look at a node, independent of what the deploy did over SSH."""
    container = lab.client.containers.get(f"{lab.spec.name}-{node_name}")
    code, output = container.exec_run(command, user=user)
    return code, output.decode()


# What real K3s logs, only as a warning, for a configuration it would run
# with anyway (docs/contracts.md 1.3, 1.4): the e2e tier fails on each.
K3S_WARNINGS = (
    "Unknown flag --",  # a config key it skipped
    "the token does not include a CA hash",  # it trusted the first CA that answered
)


def k3s_warnings(lab, nodes) -> list:
    """Lines of every K3s unit's log on these lab nodes that K3s would only warn with."""
    found = []
    for node in nodes:
        _, log = exec_on(lab, node, ["journalctl", "--no-pager", "-o", "cat", "-u", "k3s", "-u", "k3s-agent"])
        found += [f"{node}: {line}" for line in log.splitlines() if any(text in line for text in K3S_WARNINGS)]
    return found
