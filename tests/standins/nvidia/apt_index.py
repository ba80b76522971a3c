"""The index files of a flat APT repository, written in Python (no dpkg-dev).

A flat repository is one directory holding the .debs, `Packages`,
`Packages.gz` and `Release`; apt reads it with `deb [trusted=yes] <url> ./`.
`trusted=yes` is what lets the Release file go unsigned.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from email.utils import formatdate
from pathlib import Path

from tests.standins.nvidia.deb import SOURCE_DATE_EPOCH

# Checksum field names: in a Packages stanza, in Release, and hashlib's name.
CHECKSUMS = (("MD5sum", "MD5Sum", "md5"), ("SHA1", "SHA1", "sha1"), ("SHA256", "SHA256", "sha256"))
INDEX_FILES = ("Packages", "Packages.gz")


def write_flat_index(repo_dir: Path) -> None:
    """Index every .deb in repo_dir: write Packages, Packages.gz, then Release."""
    stanzas = [_packages_stanza(deb) for deb in sorted(repo_dir.glob("*.deb"))]
    packages = repo_dir / "Packages"
    packages.write_text("\n".join(stanzas))
    _gzip(packages, repo_dir / "Packages.gz")
    (repo_dir / "Release").write_text(_release(repo_dir))


def _packages_stanza(deb: Path) -> str:
    """The package's own control fields, then where it is and its checksums."""
    control = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True, capture_output=True, text=True).stdout
    data = deb.read_bytes()
    fields = [f"Filename: ./{deb.name}", f"Size: {len(data)}"]
    fields += [f"{name}: {hashlib.new(algorithm, data).hexdigest()}" for name, _, algorithm in CHECKSUMS]
    return control.rstrip("\n") + "\n" + "\n".join(fields) + "\n"


def _gzip(source: Path, destination: Path) -> None:
    # mtime=0 and no file name in the header: the same Packages gives the same bytes.
    with open(destination, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(source.read_bytes())


def _release(repo_dir: Path) -> str:
    # No Suite/Codename: a flat repository has none, and apt would compare them.
    lines = [
        "Origin: ConvectHub tests (STAND-IN)",
        "Label: NVIDIA stand-ins",
        "Description: STAND-IN NVIDIA driver and container toolkit packages, not NVIDIA software",
        "Date: " + formatdate(SOURCE_DATE_EPOCH, usegmt=True),  # RFC 1123, whatever the locale
    ]
    for _, section, algorithm in CHECKSUMS:
        lines.append(f"{section}:")
        for name in INDEX_FILES:
            data = (repo_dir / name).read_bytes()
            lines.append(f" {hashlib.new(algorithm, data).hexdigest()} {len(data)} {name}")
    return "\n".join(lines) + "\n"
