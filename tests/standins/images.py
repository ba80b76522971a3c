"""Tiny container images built here, without any registry, to stand in for real ones.

Each is a `docker import` of a tar holding Debian's static busybox (so the
image can run `sh`), a STANDIN file naming the image it replaces, and
optional filler. It is tagged with the real image's name, so its
`docker save` archive loads under the name pods ask for.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from pathlib import Path

from tests.standins.padding import PaddingReader

STANDIN_LABEL = "org.convecthub.standin"


def static_busybox() -> Path:
    """Debian's busybox-static installs /bin/busybox, statically linked."""
    for candidate in (Path("/bin/busybox"), Path("/usr/bin/busybox")):
        if candidate.is_file():
            return candidate
    found = shutil.which("busybox")
    if found:
        return Path(found)
    raise RuntimeError("no busybox found: run scripts/ensure-provisioner.sh (or apt-get install busybox-static)")


def write_rootfs_tar(path: Path, *, replaces: str, padding: int = 0) -> Path:
    """A root filesystem tar: /bin/busybox, /bin/sh -> busybox, /STANDIN, filler."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as rootfs:
        _add_directory(rootfs, "bin")
        rootfs.add(str(static_busybox()), arcname="bin/busybox")
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
        rootfs.addfile(link)
        note = f"STANDIN: test stand-in for {replaces}, built by tests/standins/images.py\n".encode()
        _add_bytes(rootfs, "STANDIN", note)
        if padding:
            info = tarfile.TarInfo("standin-padding.bin")
            info.size, info.mode = padding, 0o644
            rootfs.addfile(info, PaddingReader(padding))
    return path


def build_standin_image(client, reference: str, *, padding: int = 0) -> str:
    """`docker import` a tiny image as `reference` (repository:tag); return its id."""
    repository, tag = reference.rsplit(":", 1)
    with tempfile.TemporaryDirectory(prefix="convecthub-standin-") as workdir:
        rootfs = write_rootfs_tar(Path(workdir) / "rootfs.tar", replaces=reference, padding=padding)
        client.api.import_image_from_file(
            str(rootfs),
            repository=repository,
            tag=tag,
            changes=[f"LABEL {STANDIN_LABEL}=true", "ENV PATH=/bin", 'CMD ["/bin/sh"]'],
        )
    return client.images.get(reference).id


def _add_directory(archive: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    archive.addfile(info)


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    archive.addfile(info, io.BytesIO(data))
