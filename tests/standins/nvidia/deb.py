"""Build one .deb from a PackageSpec with dpkg-deb."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from tests.standins.nvidia.packages import PackageSpec

# Fixed timestamps (dpkg-deb clamps file mtimes to it): the same recipe gives
# byte-identical packages, so their hashes in the index do not churn.
SOURCE_DATE_EPOCH = 1704067200  # 2024-01-01 00:00:00 UTC


def build_deb(spec: PackageSpec, out_dir: Path) -> Path:
    """Write out_dir/<spec.deb_filename> and return its path."""
    deb = out_dir / spec.deb_filename
    with tempfile.TemporaryDirectory() as staging:
        tree = Path(staging) / spec.name
        _write_tree(spec, tree)
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)},
        )
    return deb


def _write_tree(spec: PackageSpec, tree: Path) -> None:
    _write(tree / "DEBIAN/control", spec.control(), 0o644)
    for script_name, content in spec.maintainer_scripts:
        _write(tree / "DEBIAN" / script_name, content, 0o755)
    for package_file in spec.files:
        _write(tree / package_file.path.lstrip("/"), package_file.content, package_file.mode)
    # Directory modes go into the package; a temp dir's 0700 must not reach the node.
    for directory in [tree, *(p for p in tree.rglob("*") if p.is_dir())]:
        directory.chmod(0o755)


def _write(path: Path, content: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(mode)
