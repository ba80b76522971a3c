"""
How an operation fails on the node: one message on stderr, saying what
failed and the fix, then exit 1. pyinfra prints a failed command's stderr
under the host's name, so the operator reads it where the failure happened.
Failures found before any operation runs are refused instead
(convecthub.problems.Refused).
"""

import shlex


def failure(what: str, fix: str, *fields: str) -> str:
    """
    Shell that prints ``<what>. Fix: <fix>.`` on stderr and exits 1.

    ``what`` may hold ``%s`` fields, filled on the node by ``fields`` (shell
    words, e.g. ``'"$actual"'``); any other ``%`` is printed as it is.

    .. code:: python

        f"[ -s {path} ] || {failure(f'{path} is empty', 'run the deploy again')}"
    """
    text = f"{what}. Fix: {fix}.\n".replace("%", "%%").replace("%%s", "%s")
    return f"{{ printf {shlex.quote(text)} {' '.join(fields)} >&2; exit 1; }}"
