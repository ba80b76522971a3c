"""Command line: `python -m convecthub.bundle build|verify [options] OUT_DIR`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import build_bundle
from .errors import BundleError
from .lock import ARCHES, load_lock
from .progress import Progress, human_bytes
from .verify import verify_bundle

LOCK_NAME = "bundle.lock.yaml"


def default_lock_path() -> Path:
    """./bundle.lock.yaml if there is one, else the one shipped with this repository."""
    here = Path.cwd() / LOCK_NAME
    return here if here.exists() else Path(__file__).resolve().parents[2] / LOCK_NAME


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m convecthub.bundle",
        description="Build and check the air-gap bundle of a ConvectHub release.",
    )
    commands = top.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="download and save every asset of the lock file")
    build.add_argument("out_dir", metavar="OUT_DIR", type=Path)
    build.add_argument("--lock", type=Path, default=None, help=f"lock file (default: ./{LOCK_NAME})")
    build.add_argument(
        "--arch",
        action="append",
        choices=ARCHES,
        help="architecture of the nodes; repeat for a mixed cluster (default: amd64)",
    )
    build.add_argument(
        "--allow-unpinned",
        action="store_true",
        help="fetch assets whose digest the lock leaves null, and print what was fetched",
    )

    verify = commands.add_parser("verify", help="re-check a bundle off-line")
    verify.add_argument("out_dir", metavar="OUT_DIR", type=Path)
    verify.add_argument(
        "--lock",
        type=Path,
        default=None,
        help="also refuse a bundle built from other pins than this lock file's",
    )
    return top


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        if arguments.command == "build":
            return _build(arguments)
        return _verify(arguments)
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130


def _build(arguments) -> int:
    lock = load_lock(arguments.lock or default_lock_path())
    arches = tuple(dict.fromkeys(arguments.arch or ["amd64"]))
    progress = Progress()
    report = build_bundle(
        lock,
        arguments.out_dir,
        arches=arches,
        allow_unpinned=arguments.allow_unpinned,
        progress=progress,
    )
    manifest = report.manifest
    print(
        f"bundle {arguments.out_dir}: {len(manifest.entries)} files, {human_bytes(manifest.total_size)}"
        f" ({', '.join(arches)}); downloaded {human_bytes(report.transferred)},"
        f" reused {len(report.reused)}, made {len(report.made)}",
        file=sys.stderr,
    )
    if report.unpinned:
        print("UNPINNED: check these against the publisher, then pin them in the lock file:", file=sys.stderr)
        for entry in report.unpinned:
            value = entry.source if entry.kind == "image" else f"sha256: {entry.sha256}  size: {entry.size}"
            print(f"  {entry.name} ({entry.arch}): {value}", file=sys.stderr)
    return 0


def _verify(arguments) -> int:
    lock = load_lock(arguments.lock) if arguments.lock else None
    manifest = verify_bundle(arguments.out_dir, lock=lock, progress=Progress())
    kind = "STAND-IN bundle (tests only, not a release)" if manifest.standin else "bundle"
    print(
        f"{kind} {arguments.out_dir} is intact: {len(manifest.entries)} files,"
        f" {human_bytes(manifest.total_size)}, release {manifest.release}",
        file=sys.stderr,
    )
    return 0
