"""One footprint (convecthub/footprint.py): no node path, unit name or fixed
port is written anywhere else, and the audit covers every path the deploy
may create."""

import ast
import re
from pathlib import Path

from convecthub import footprint as fp

REPO = Path(__file__).resolve().parents[2]
# The code that runs against nodes; the stand-ins and the lab are tests' own.
SOURCES = [
    *(path for folder in ("convecthub", "deploys", "facts", "operations") for path in (REPO / folder).rglob("*.py")),
    *(REPO / name for name in ("deploy.py", "reset.py", "audit.py", "check.py")),
]
NODE_PATH = re.compile(r"(?<![\w.])/(etc|var|usr|run|opt|srv|lib)/")
# Every unit by name, but K3s's server unit "k3s" (also the command) only as
# a unit: "k3s.service", "-u k3s".
UNIT_NAME = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(unit) for unit in fp.OUR_UNITS if unit != fp.K3S_SERVER_UNIT)
    + r"|k3s\.service|-u k3s)(?![\w-])"
)
FIXED_PORTS = {fp.K3S_API_PORT, fp.KUBELET_PORT, *fp.ETCD_PORTS}
# Names that only look like a unit: our own template files.
NOT_A_UNIT = re.compile(r"\.j2$")


def docstrings(tree) -> set:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def literals_outside_the_footprint(sources=SOURCES, root=REPO) -> list:
    found = []
    for source in sources:
        if source.name == "footprint.py":
            continue
        tree = ast.parse(source.read_text())
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or id(node) in skip:
                continue
            value, where = node.value, f"{source.relative_to(root)}:{node.lineno}"
            if isinstance(value, str) and not NOT_A_UNIT.search(value):
                if NODE_PATH.search(value) or UNIT_NAME.search(value):
                    found.append(f"{where}: {value[:80]!r}")
            elif isinstance(value, int) and not isinstance(value, bool) and value in FIXED_PORTS:
                found.append(f"{where}: {value}")
    return found


def test_no_node_path_unit_or_fixed_port_is_written_outside_the_footprint():
    assert literals_outside_the_footprint() == []


def test_the_check_sees_a_literal(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text(
        '"""/etc/rancher in a docstring is prose."""\nPATH = "/etc/rancher/k3s"\nPORT = 6443\n'
        'UNIT = "k3s-agent"\nTEMPLATE = "k3s.service.j2"\nCOMMAND = "k3s kubectl get nodes"\n'
        'LOG = "journalctl -u k3s"\n'
    )

    assert literals_outside_the_footprint([stray], tmp_path) == [
        "stray.py:2: '/etc/rancher/k3s'",
        "stray.py:3: 6443",
        "stray.py:4: 'k3s-agent'",
        "stray.py:7: 'journalctl -u k3s'",
    ]


# Paths of the footprint the deploy reads or shares with the system, and
# never creates itself.
SYSTEM_PATHS = {
    *fp.OS_RELEASE_FILES,
    fp.APT_SOURCES_LIST,
    fp.APT_LISTS_DIR,
    fp.REBOOT_REQUIRED_FILE,
    fp.SYSTEMD_DIR,
    fp.APT_KEYRINGS_DIR,
    fp.REGISTRY_CONFIG_DIR,  # the package's; the files in it are ours
    *fp.K3S_LINKS,  # links: the audit names them when they point at K3s (below)
}


def test_every_path_the_deploy_creates_is_audited():
    audited = fp.audited_paths(fp.DEFAULT_WORKDIR)
    created = [
        value
        for name, value in vars(fp).items()
        if name.isupper()
        for value in (value if isinstance(value, tuple) else (value,))
        if isinstance(value, str)
        and value.startswith("/")
        and value not in SYSTEM_PATHS
        and not value.endswith("cni-")  # a prefix of mount points, not a path
    ]
    assert created, "the footprint names no path"
    uncovered = [path for path in created if not any(path == a or path.startswith(a + "/") for a in audited)]
    assert uncovered == []


def test_the_audit_looks_for_every_unit_and_link():
    from facts.audit import ConvectHubLeftovers

    command = ConvectHubLeftovers().command(workdir=fp.DEFAULT_WORKDIR, ports=[fp.K3S_API_PORT])
    for name in (*fp.K3S_LINKS, *(fp.service(unit) for unit in fp.OUR_UNITS)):
        assert name in command, name


def test_the_audit_keeps_the_registry_images_only_when_asked():
    assert fp.REGISTRY_DATA_DIR in fp.audited_paths("/srv/convecthub")
    assert fp.REGISTRY_DATA_DIR not in fp.audited_paths("/srv/convecthub", registry_data=False)
    assert "/srv/convecthub" in fp.audited_paths("/srv/convecthub")
