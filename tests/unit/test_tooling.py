"""The code's rules, as tests: ruff's lint and format, and mypy, configured
in pyproject.toml. A failure prints what the tool said."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", "--no-cache", "."), ("ruff", "format", "--check", "--no-cache", "."), ("mypy",)],
    ids=["ruff-lint", "ruff-format", "mypy"],
)
def test_the_tree_keeps_the_rules(command):
    result = run(*command)
    assert result.returncode == 0, result.stdout + result.stderr
