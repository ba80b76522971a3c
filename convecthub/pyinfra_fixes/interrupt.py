"""
Ctrl-C stops a run at once and says it failed.

pyinfra 3.10's own SIGINT handler prints "Exiting upon user request!" and
exits 0, so a script or CI job takes an interrupted deploy for a finished one;
its operations' greenlets also keep their pool slots, and the disconnect that
follows can wait on them. This handler (installed by config.py, over pyinfra's)
kills the operations' greenlets, exits 130 (128 + SIGINT, what a shell reports
for a command Ctrl-C stopped) through pyinfra's usual disconnect, which also
removes the sudo askpass scripts, and gives that disconnect GRACE_SECONDS
before ending the process outright. A Ctrl-C during the disconnect lets it
finish; a second Ctrl-C ends the process outright at once.

Nothing is left half placed: the bundle arrives under `.incoming/` and is moved
into place only once whole, and pyinfra uploads other files to a temporary
name before copying them. Running the same command again finishes the job.

Upstream: no pyinfra issue found for the exit status (searched December
2026). Pinned: pyinfra 3.10 (config.py). Can go when pyinfra exits non-zero
on Ctrl-C and frees its pool at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys

import gevent
import greenlet
from pyinfra.api.state import StateStage
from pyinfra.context import ctx_state

from convecthub.pyinfra_fixes import sudo

EXIT_STATUS = 128 + signal.SIGINT
GRACE_SECONDS = 10
MESSAGE = "--> Interrupted (Ctrl-C): the run stopped here. Run the same command again to finish it."

# What this fix is written against (pyinfra 3.10): see connection.CONTRACT.
CONTRACT = {
    "pyinfra.api.state.StateStage.Disconnect": "<StateStage.Disconnect: 5>",
    "gevent.pool.Group.kill": "(self, exception=<class 'greenlet.GreenletExit'>, block=True, timeout=None)",
    "gevent.hub.Hub.NOT_ERROR": "(<class 'greenlet.GreenletExit'>, <class 'SystemExit'>)",
}

_interrupted = False
_main_greenlet = None


def _end_now(*_) -> None:
    os._exit(EXIT_STATUS)


def _end_after_an_interrupt() -> None:
    """At exit, after a Ctrl-C: pyinfra's disconnect has run (its `finally`),
    so end the process here. The operations' greenlets were killed holding
    paramiko channels; finalizing those at interpreter shutdown runs
    paramiko's ``__del__`` in a greenlet being finalized, which prints a
    traceback ("greenlet is being finalized") after our message, now and then."""
    if _interrupted:
        logging.shutdown()  # pyinfra-debug.log and the like, flushed
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_STATUS)


def _stop_operations(state) -> None:
    if state is not None and getattr(state, "pool", None) is not None:
        _quiet_the_killed_operations()
        state.pool.kill(block=False)


def _quiet_the_killed_operations() -> None:
    """An operation killed in the middle of an upload can die of what the
    kill broke (paramiko's SFTPError on the half-closed channel) rather than
    of GreenletExit, and gevent's hub prints that traceback after our
    message. Once the run is stopped, no operation's error is news: the hub
    reports none."""
    hub = gevent.get_hub()
    hub.NOT_ERROR = (*hub.NOT_ERROR, Exception)


def _stop(state) -> None:
    # From gevent's hub, outside any operation's greenlet: stop the
    # operations, then end pyinfra's main greenlet (its `finally` disconnects).
    _stop_operations(state)
    assert _main_greenlet is not None, "installed by stop_the_run_on_ctrl_c"
    _main_greenlet.throw(SystemExit(EXIT_STATUS))


def stop_the_run(signum, frame) -> None:
    global _interrupted
    if _interrupted:
        _end_now()
    _interrupted = True
    print(MESSAGE, file=sys.stderr, flush=True)
    signal.signal(signal.SIGALRM, _end_now)
    signal.alarm(GRACE_SECONDS)

    state = ctx_state.get()
    if state is not None and getattr(state, "current_stage", None) == StateStage.Disconnect:
        return  # let the disconnect (it removes the askpass scripts) finish
    if greenlet.getcurrent() in (_main_greenlet, sudo.prompting):
        # At pyinfra's "Press enter" prompt, or ours for a sudo password: a
        # blocking read, so the hub would not get to run. (gevent passes a
        # SystemExit in another greenlet on to the main one.)
        _stop_operations(state)
        raise SystemExit(EXIT_STATUS)
    # The handler runs in whichever greenlet the signal interrupted, often an
    # operation's, where raising would stop only that operation: the hub
    # does the stopping instead, as soon as this greenlet yields.
    gevent.get_hub().loop.run_callback(_stop, state)


def stop_the_run_on_ctrl_c() -> None:
    """Install the handler; call it from pyinfra's main greenlet (config.py)."""
    global _main_greenlet
    _main_greenlet = greenlet.getcurrent()
    signal.signal(signal.SIGINT, stop_the_run)
    atexit.register(_end_after_an_interrupt)
