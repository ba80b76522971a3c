"""Run the pyinfra CLI and count what it does over SSH (for bench/deploy_scaling.py).

    BENCH_STATS=stats.json python -m bench.pyinfra_counted INVENTORY [pyinfra arguments] DEPLOY

is ``pyinfra INVENTORY ... DEPLOY`` with, written to ``$BENCH_STATS`` at exit:

- ``exec_command``: commands run on the hosts (paramiko ``Channel.exec_command``:
  one SSH channel and one round trip each; facts and operation commands alike),
- ``sftp_put`` / ``sftp_get``: files transferred (each several round trips),
- ``ssh_connections``: SSH transports opened,
- ``ssh_bytes_sent`` / ``ssh_bytes_received``: bytes written to / read from the
  SSH sockets (encrypted, with SSH's framing),
- ``operations``: each operation's names, start and end (seconds since start);
  pyinfra runs one operation at a time across all hosts, so these add up to
  the execution phase.

Only counters are added; pyinfra itself runs unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import time

COUNTS = {
    "exec_command": 0,
    "sftp_put": 0,
    "sftp_get": 0,
    "ssh_connections": 0,
    "ssh_bytes_sent": 0,
    "ssh_bytes_received": 0,
}
OPERATIONS: list = []
STARTED = time.monotonic()


def _since_start() -> float:
    return round(time.monotonic() - STARTED, 3)


def _patch_paramiko() -> None:
    from paramiko import sftp_client, transport
    from paramiko.channel import Channel
    from paramiko.packet import Packetizer

    def counting(cls, method: str, counter: str, size=None):
        original = getattr(cls, method)

        def wrapper(self, *args, **kwargs):
            COUNTS[counter] += size(args) if size else 1
            return original(self, *args, **kwargs)

        wrapper.__wrapped__ = original
        setattr(cls, method, wrapper)

    counting(Channel, "exec_command", "exec_command")
    counting(sftp_client.SFTPClient, "putfo", "sftp_put")
    counting(sftp_client.SFTPClient, "getfo", "sftp_get")
    counting(transport.Transport, "start_client", "ssh_connections")
    counting(Packetizer, "write_all", "ssh_bytes_sent", size=lambda args: len(args[0]))
    counting(Packetizer, "read_all", "ssh_bytes_received", size=lambda args: int(args[0]))


def _patch_state() -> None:
    """Time each operation through pyinfra's own callbacks."""
    from pyinfra.api.state import BaseStateCallback, State

    started: dict = {}

    class OperationTimes(BaseStateCallback):
        @staticmethod
        def operation_start(state, op_hash):
            started[op_hash] = _since_start()

        @staticmethod
        def operation_end(state, op_hash):
            meta = state.get_op_meta(op_hash)
            OPERATIONS.append({"names": sorted(meta.names), "start": started.pop(op_hash, None), "end": _since_start()})

    original_init = State.init

    def init(self, *args, **kwargs):
        result = original_init(self, *args, **kwargs)
        self.add_callback_handler(OperationTimes())
        return result

    State.init = init


def _write_stats(exit_code) -> None:
    path = os.environ.get("BENCH_STATS")
    if not path:
        return
    with open(path, "w") as stream:
        json.dump(
            {**COUNTS, "exit_code": exit_code, "wall_seconds": _since_start(), "operations": OPERATIONS},
            stream,
            indent=1,
        )


def main() -> None:
    # pyinfra_cli monkey-patches the process with gevent on import: import it
    # first, as the `pyinfra` command does, then patch the classes it uses.
    from pyinfra_cli.main import main as pyinfra_main

    _patch_paramiko()
    _patch_state()
    sys.argv[0] = "pyinfra"
    code = 0
    try:
        pyinfra_main()
    except SystemExit as exit:
        code = exit.code
        raise
    finally:
        _write_stats(code)


if __name__ == "__main__":
    main()
