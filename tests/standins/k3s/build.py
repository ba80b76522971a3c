"""The K3s stand-in as one self-contained file, as the real static binary is:
a zipapp holding the program (tests/standins/k3s/k3s, unchanged) and the
pure-Python modules of PyYAML taken from the provisioner's own install, so a
node needs Python 3 and nothing else (no python3-yaml).

    #!/usr/bin/env python3          <- all the kernel reads (execve)
    # comment naming this file a STAND-IN
    [filler, when padded]           <- never read
    <zip: __main__.py, yaml/*.py>

``python3 FILE`` finds a zip archive from its end, so a shebang line and
filler before it are allowed; it runs ``__main__.py`` with ``sys.argv[0]`` =
the file, so ``k3s server`` and the ``kubectl -> k3s`` link behave as the
plain script does. PyYAML's C extension is left out: without it PyYAML uses
its pure-Python parser (``yaml.__with_libyaml__`` is False).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import yaml

from tests.standins.padding import write_padding

K3S_STANDIN = Path(__file__).resolve().with_name("k3s")

HEADER = (
    b"#!/usr/bin/env python3\n"
    b"# K3s STAND-IN (tests/standins/k3s/k3s), NOT K3s: a zipapp with PyYAML's pure-Python modules,\n"
    b"# made by tests/standins/k3s/build.py. The program is the zip archive at the end.\n"
)


def standin_program(source: Path = K3S_STANDIN) -> bytes:
    """The zip archive: the stand-in as __main__.py, and the yaml package."""
    package = Path(yaml.__file__).parent
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("__main__.py", source.read_bytes())
        for module in sorted(package.glob("*.py")):
            zipped.writestr(f"yaml/{module.name}", module.read_bytes())
    return archive.getvalue()


def write_k3s_standin(destination: Path, size: int | None = None, source: Path = K3S_STANDIN) -> Path:
    """Write the self-contained stand-in; ``size`` pads it to exactly that
    many bytes (a real binary's size, for the benchmark)."""
    program = standin_program(source)
    filler = 0 if size is None else size - len(HEADER) - len(program)
    if filler < 0:
        raise ValueError(f"the K3s stand-in needs at least {len(HEADER) + len(program)} bytes, not {size}")
    with open(destination, "wb") as stream:
        stream.write(HEADER)
        write_padding(stream, filler)
        stream.write(program)
    os.chmod(destination, 0o755)
    return destination
