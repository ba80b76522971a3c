"""Fixes to pyinfra 3.10's internals, the only code that touches pyinfra.connectors, state.ops, state.pool or signals.

Each module names the upstream behaviour it fixes and when it can go;
tests/unit/test_pyinfra_fixes.py checks the signature of every symbol patched,
so a pyinfra upgrade fails in the unit tier, not on an operator's cluster.
"""
