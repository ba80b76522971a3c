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
