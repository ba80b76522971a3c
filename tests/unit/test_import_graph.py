"""The packages' layering (docs/architecture.md), checked on the import graph:
what each package may import, no cycles, no imports hidden in functions,
and pyinfra's internals touched only by convecthub/pyinfra_fixes."""

import ast
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("convecthub", "deploys", "facts", "operations")
FIRST_PARTY = PACKAGES

# Package -> the first-party packages it may import (prefix match).
ALLOWED = {
    "convecthub": (),  # the package itself: empty
    "convecthub.footprint": (),
    "convecthub.problems": (),
    "convecthub.images": (),
    "convecthub.bundle": ("convecthub.bundle",),
    "convecthub.inventory": ("convecthub.inventory", "convecthub.footprint", "convecthub.problems"),
    "convecthub.pyinfra_fixes": ("convecthub.pyinfra_fixes",),
    "convecthub.cluster": (
        "convecthub.cluster",
        "convecthub.inventory",
        "convecthub.bundle",
        "convecthub.pyinfra_fixes",
        "convecthub.footprint",
        "convecthub.problems",
        "convecthub.images",
        "facts",
    ),
    "facts": ("facts", "convecthub.footprint"),
    "operations": ("operations", "facts", "convecthub.footprint"),
    "deploys": ("deploys", "operations", "facts", "convecthub"),
}
# Imports inside functions on purpose: docker is needed only to build a bundle.
LOCAL_IMPORTS_ALLOWED = {("convecthub.bundle.images", "docker"), ("convecthub.bundle.images", "docker.errors")}
# pyinfra's run internals; only the fixes may reach them.
INTERNALS = re.compile(r"\bstate\.(ops|pool)\b|\bsignal\.signal\(")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict:
    return {module_name(path): path for package in PACKAGES for path in (REPO / package).rglob("*.py")}


def imports_of(name: str, path: Path):
    """(imported module, at module level?) for every import of the file."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top_level
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            known = modules()
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in known else base), id(node) in top_level


def first_party(target: str) -> bool:
    return target.split(".")[0] in FIRST_PARTY


def layer_of(name: str) -> str:
    return max((layer for layer in ALLOWED if name == layer or name.startswith(layer + ".")), key=len)


def graph() -> dict:
    return {name: {t for t, _ in imports_of(name, path) if first_party(t)} for name, path in modules().items()}


def test_each_package_imports_only_what_its_layer_may():
    wrong = []
    for name, targets in graph().items():
        allowed = ALLOWED[layer_of(name)]
        for target in targets:
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                wrong.append(f"{name} imports {target}")
    assert sorted(wrong) == []


def test_no_import_cycles():
    edges = graph()
    cycles, done = [], set()

    def visit(node, path):
        if node in path:
            cycles.append(" -> ".join(path[path.index(node) :] + [node]))
            return
        if node in done:
            return
        for target in sorted(edges.get(node, ())):
            if target in edges and target != node:
                visit(target, path + [node])
        done.add(node)

    for node in sorted(edges):
        visit(node, [])
    assert cycles == []


def test_no_imports_hidden_in_functions():
    hidden = [
        f"{name}: {target}"
        for name, path in modules().items()
        for target, at_top in imports_of(name, path)
        if not at_top and (name, target) not in LOCAL_IMPORTS_ALLOWED
    ]
    assert hidden == []


def test_only_the_fixes_touch_pyinfra_internals():
    touching = []
    for name, path in modules().items():
        if layer_of(name) == "convecthub.pyinfra_fixes":
            continue
        text = path.read_text()
        for target, _ in imports_of(name, path):
            # connector_data_meta is pyinfra's published list of SSH variables.
            if target.startswith("pyinfra.connectors") and target != "pyinfra.connectors.ssh":
                touching.append(f"{name} imports {target}")
        if "from pyinfra.connectors.ssh import" in text and "connector_data_meta" not in text:
            touching.append(f"{name} imports pyinfra.connectors.ssh")
        touching += [f"{name}: {match.group(0)}" for match in INTERNALS.finditer(text)]
    assert touching == []


def test_the_checks_see_what_they_look_for():
    # The graph holds known edges, so an empty list above means something.
    edges = graph()
    assert "convecthub.footprint" in edges["facts.audit"]
    assert "convecthub.pyinfra_fixes.sudo" in edges["convecthub.cluster.state"]
    assert ("convecthub.bundle.images", "docker") in {
        (name, target) for name, path in modules().items() for target, at_top in imports_of(name, path) if not at_top
    }
