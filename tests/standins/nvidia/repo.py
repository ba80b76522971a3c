"""Build (or reuse) the flat APT repository of NVIDIA stand-in packages.

    build_nvidia_standin_repo(out_dir)  ->  out_dir with
        nvidia-headless-550-server_550.127.05-0ubuntu1+standin_amd64.deb
        nvidia-utils-550-server_550.127.05-0ubuntu1+standin_amd64.deb
        nvidia-container-toolkit-base_1.17.8-1+standin_amd64.deb
        nvidia-container-toolkit_1.17.8-1+standin_amd64.deb
        Packages  Packages.gz  Release  .standin-recipe

Serve out_dir over HTTP and give GPU nodes the line apt_source_line() returns.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from tests.standins.nvidia import apt_index, deb
from tests.standins.nvidia.packages import PackageSpec, standin_packages

RECIPE_MARKER = ".standin-recipe"


def build_nvidia_standin_repo(out_dir: str | Path, driver_version: str = "550") -> Path:
    """Build the repository in out_dir and return its absolute path.

    driver_version is the driver branch ("550"). A directory already built from
    the same recipe (packages and builder code) is returned as it is.
    """
    out_dir = Path(out_dir).resolve()
    packages = standin_packages(driver_version)
    recipe = recipe_hash(packages)
    if _already_built(out_dir, packages, recipe):
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous_build(out_dir)
    for spec in packages:
        deb.build_deb(spec, out_dir)
    apt_index.write_flat_index(out_dir)
    (out_dir / RECIPE_MARKER).write_text(recipe + "\n")  # last: a half-built directory has none
    return out_dir


def apt_source_line(host: str, port: int) -> str:
    """The sources.list line for this repository served at http://host:port/."""
    return f"deb [trusted=yes] http://{host}:{port}/ ./"


def recipe_hash(packages: list[PackageSpec]) -> str:
    """Changes when a package's contents or the code turning them into files change."""
    digest = hashlib.sha256(json.dumps([asdict(spec) for spec in packages], sort_keys=True).encode())
    for module in (deb, apt_index):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _already_built(out_dir: Path, packages: list[PackageSpec], recipe: str) -> bool:
    marker = out_dir / RECIPE_MARKER
    if not marker.is_file() or marker.read_text().strip() != recipe:
        return False
    expected = [spec.deb_filename for spec in packages] + ["Packages", "Packages.gz", "Release"]
    return all((out_dir / name).is_file() for name in expected)


def _remove_previous_build(out_dir: Path) -> None:
    for path in [
        out_dir / RECIPE_MARKER,
        *out_dir.glob("*.deb"),
        *(out_dir / name for name in ("Packages", "Packages.gz", "Release")),
    ]:
        path.unlink(missing_ok=True)
