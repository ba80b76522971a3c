"""
Whether a run has changed anything yet.

pyinfra 3.10 has no API for "did any operation of this run, on any host,
change something": the waits and the verification at the end of a deploy
need it, so that a run that changes nothing also waits for nothing. This
reads pyinfra's per-run operation table (``state.ops``, and each operation's
``operation_meta``), which is internal: tests/unit/test_pyinfra_fixes.py
checks its shape.

Upstream: no pyinfra issue found (searched December 2026). Pinned: pyinfra
3.10. Can go when pyinfra offers the answer itself.
"""

# What this is written against (pyinfra 3.10): see connection.CONTRACT.
CONTRACT = {
    "pyinfra.api.operation.OperationMeta.is_complete": "(self) -> 'bool'",
    "pyinfra.api.operation.OperationMeta.did_change": "(self) -> 'bool'",
}


def run_changed_something(state):
    """A condition for operations that only make sense after a run that
    changed something (waits, verification): true once any operation of the
    run, on any host, has executed a command. A run that changes nothing
    skips them, and so reports zero changes."""

    def changed() -> bool:
        for operations in state.ops.values():
            for data in operations.values():
                meta = data.operation_meta
                if meta.is_complete() and meta.did_change():
                    return True
        return False

    return changed
