"""Read-only facts about files the deploy manages."""

import shlex

from pyinfra.api import FactBase


class ManagedFile(FactBase[dict[str, str] | None]):
    """
    A file's sha256, mode and owner, in one round trip; ``None`` if there is
    no regular file at ``path``:

    .. code:: python

        {"sha256": "9f86d0...", "mode": "600", "user": "root", "group": "root"}
    """

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return f"if [ -f {quoted} ]; then stat -c '%a %U %G' {quoted} && sha256sum {quoted}; fi"

    def process(self, output):
        if len(output) < 2:
            return None
        mode, user, group = output[0].split()
        return {"sha256": output[1].split()[0], "mode": mode, "user": user, "group": group}


class SameFile(FactBase[bool]):
    """
    Whether ``dest`` holds the same bytes as ``src`` without reading either:
    the same inode (a hard link), or a copy made with ``cp -p`` (same size
    and modification time). ``src`` is a verified bundle file.
    """

    def command(self, src: str, dest: str) -> str:
        a, b = shlex.quote(src), shlex.quote(dest)
        return (
            f"if [ {a} -ef {b} ] || {{ [ -f {b} ] && "
            f'[ "$(stat -c %s:%Y {a} 2>/dev/null)" = "$(stat -c %s:%Y {b})" ]; }}; '
            "then echo same; else echo different; fi"
        )

    def process(self, output):
        return output == ["same"]
