"""Read-only facts about the air-gap bundle files on a node."""

import shlex

from pyinfra.api import FactBase

# Beside each verified file the deploy leaves a stamp, `.verified/<path>`,
# holding "<sha256> <size> <mtime>". While size and mtime still match, the
# file is known good without reading it again: a re-run hashes nothing.
VERIFIED_DIR = ".verified"


class VerifiedBundleFiles(FactBase[dict[str, str]]):
    """
    The bundle files under ``directory`` whose stamp still matches them:

    .. code:: python

        {"k3s/k3s": "835873f3...", "images/hub.amd64.tar": "5e1c..."}

    A file that is missing, unstamped, or changed since it was stamped is
    absent from the result.
    """

    default = dict

    def command(self, directory: str, paths: list) -> str:
        quoted = " ".join(shlex.quote(path) for path in paths)
        # One line per present file: "<path> <size> <mtime> <stamp or nothing>".
        return (
            f"cd {shlex.quote(directory)} 2>/dev/null || exit 0; "
            f"for f in {quoted}; do "
            '[ -f "$f" ] || continue; '
            'printf "%s %s " "$f" "$(stat -c "%s %Y" "$f")"; '
            f'cat "{VERIFIED_DIR}/$f" 2>/dev/null || echo; '
            "done"
        )

    def process(self, output):
        verified = {}
        for line in output:
            fields = line.split()
            if len(fields) != 6:
                continue  # present but never stamped
            path, size, mtime, sha256, stamped_size, stamped_mtime = fields
            if (size, mtime) == (stamped_size, stamped_mtime):
                verified[path] = sha256
        return verified
