"""After Ctrl-C the process ends with 130 once pyinfra has disconnected, and
nothing is finalized after that: paramiko channels held by killed greenlets
once printed "greenlet is being finalized" tracebacks at interpreter shutdown."""

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A stand-in for a paramiko channel left in a killed greenlet: its __del__
# runs at interpreter shutdown and complains.
SCRIPT = textwrap.dedent(
    """
    import sys
    from convecthub.pyinfra_fixes import interrupt

    class Channel:
        def __del__(self):
            sys.stderr.write("Traceback: finalized after the run ended\\n")

    left_behind = Channel()
    interrupt.stop_the_run_on_ctrl_c()
    interrupt._interrupted = {interrupted}  # as stop_the_run sets it
    print("disconnected", flush=True)
    raise SystemExit(interrupt.EXIT_STATUS)
    """
)


def run(interrupted: bool) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(interrupted=interrupted)], cwd=REPO, capture_output=True, text=True
    )


def test_an_interrupted_run_ends_with_130_and_finalizes_nothing():
    result = run(interrupted=True)

    assert result.returncode == 130
    assert result.stdout == "disconnected\n"
    assert "Traceback" not in result.stderr


def test_a_run_that_was_not_interrupted_ends_as_usual():
    # The same script without Ctrl-C: Python's own shutdown, finalizers included.
    result = run(interrupted=False)

    assert result.returncode == 130
    assert "finalized after the run ended" in result.stderr


# An operation killed mid-upload that dies of something else than the kill
# (paramiko's SFTPError on the channel the kill half-closed).
KILLED_MID_UPLOAD = textwrap.dedent(
    """
    import types
    import gevent, gevent.pool
    from convecthub.pyinfra_fixes import interrupt

    def upload():
        try:
            gevent.sleep(10)
        except gevent.GreenletExit:
            raise OSError("SFTPError stand-in: the channel closed under the upload")

    pool = gevent.pool.Pool(2)
    pool.spawn(upload)
    gevent.sleep(0)
    {stop}
    gevent.sleep(0.2)
    print("stopped", flush=True)
    """
)


def stop_with(stop: str) -> subprocess.CompletedProcess:
    script = KILLED_MID_UPLOAD.format(stop=stop)
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_an_operation_dying_of_the_kill_prints_no_traceback_after_ctrl_c():
    result = stop_with("interrupt._stop_operations(types.SimpleNamespace(pool=pool))")
    assert result.stdout == "stopped\n"
    assert "Traceback" not in result.stderr and "SFTPError" not in result.stderr, result.stderr


def test_without_the_fix_gevent_prints_that_traceback():
    result = stop_with("pool.kill(block=False)")
    assert "SFTPError stand-in" in result.stderr and "Traceback" in result.stderr
