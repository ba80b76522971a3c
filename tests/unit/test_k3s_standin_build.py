"""The K3s stand-in put on lab nodes is one self-contained file, as the real
static binary is: it runs on a Python with no site-packages at all (no
PyYAML), and pads to an exact size for the benchmark."""

import subprocess
import sys

from tests.standins.k3s.build import write_k3s_standin


def test_the_standin_runs_on_a_bare_python_without_pyyaml(tmp_path):
    k3s = write_k3s_standin(tmp_path / "k3s")
    # -S: no site module, so no site-packages; -I: no PYTHONPATH, no user site.
    bare = subprocess.run(
        [sys.executable, "-S", "-I", "-c", "import yaml"], capture_output=True, text=True, cwd=tmp_path
    )
    assert bare.returncode != 0, "this Python finds PyYAML without site-packages: the test proves nothing"
    result = subprocess.run(
        [sys.executable, "-S", "-I", str(k3s), "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "k3s version" in result.stdout


def test_the_standin_is_padded_to_the_exact_size_asked_and_still_runs(tmp_path):
    k3s = write_k3s_standin(tmp_path / "k3s", size=3_000_000)
    assert k3s.stat().st_size == 3_000_000
    result = subprocess.run([sys.executable, "-S", "-I", str(k3s), "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
