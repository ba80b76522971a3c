"""pyproject.toml says what an install carries: every convecthub package, and
no generic top-level package (deploys, facts, operations run from the
checkout, docs/architecture.md)."""

from pathlib import Path

import pytest
from setuptools import find_packages

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the tests' venv has it

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_every_convecthub_package_and_nothing_generic():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = set(find_packages(str(REPO), include=config["include"]))

    on_disk = {".".join(path.relative_to(REPO).parent.parts) for path in (REPO / "convecthub").rglob("__init__.py")}
    assert packages == on_disk
    assert not packages & {"deploys", "facts", "operations", "tests", "bench"}


def test_every_dependency_the_code_imports_is_declared():
    declared = " ".join(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    for name in ("pyinfra", "jinja2", "pyyaml", "gevent", "cryptography", "bcrypt"):
        assert name in declared, name
