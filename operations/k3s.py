"""Operations on K3s services and on the cluster through K3s's kubectl."""

import shlex

from pyinfra import host, logger
from pyinfra.api import StringCommand, operation

from convecthub import footprint as fp
from facts.k3s import SKIPPED_KEY, K3sNodes, invocation_log
from operations.failure import failure

# Seconds between two checks of a wait: a check is a short command (kubectl,
# curl), and every second more to notice readiness is a second more of deploy.
POLL_SECONDS = 1
# Exits after the deploy's start before a start counts as failed (RestartSec=5s).
CRASHES = 3
# Lines of a unit's log shown when it failed to get ready.
LOG_LINES = 25


def _wait(check: str, timeout: int, what: str, fix: str, unit: str | None = None) -> str:
    """
    Shell: retry `check` every POLL_SECONDS for `timeout` s, else fail saying
    what and the fix. With `unit`, also fail at once when that unit keeps
    exiting (systemd zeroes its NRestarts when the deploy starts it), and
    show the unit's last log lines either way.
    """
    if unit is None:
        loop = f"until {check}; do sleep {POLL_SECONDS}; done"
        return f"timeout {int(timeout)} sh -c {shlex.quote(loop)} || {failure(what, fix)}"
    crashing = f'[ "$(systemctl show -p NRestarts --value {unit})" -ge {CRASHES} ]'
    loop = f"until {check}; do sleep {POLL_SECONDS}; if {crashing}; then exit 3; fi; done"
    log = f"journalctl -u {unit} -n {LOG_LINES} --no-pager -o cat >&2"
    return (
        f"timeout {int(timeout)} sh -c {shlex.quote(loop)}; status=$?; "
        f"if [ $status -eq 3 ]; then {log}; "
        + failure(f"{unit} on {host.name} keeps exiting (its last log lines are above)", fix)
        + f"; elif [ $status -ne 0 ]; then {log}; "
        + failure(f"{what} (its last log lines are above)", fix)
        + "; fi"
    )


@operation(is_idempotent=False, idempotent_notice="restarts the unit each time it runs: guard it with _if")
def restarted_and_ready(unit: str, ready_check: str, timeout: int, fix: str):
    """
    Enable and (re)start a K3s unit, then wait until it is ready.

    + unit: ``k3s`` or ``k3s-agent``
    + ready_check: a shell command that succeeds once the unit is ready
    + timeout: seconds to wait
    + fix: what to look at when it is not ready in time

    systemd is not left waiting on K3s's readiness notification (the unit
    has no start timeout, as upstream's): the wait here is bounded and says
    what to look at.
    """
    yield StringCommand("systemctl enable --quiet", unit, "&& systemctl restart --no-block", unit)
    yield StringCommand(_wait(ready_check, timeout, f"{unit} on {host.name} not ready after {timeout}s", fix, unit))
    # A server skips a config key it does not know with only a warning:
    # the run fails on it, naming the key.
    skipped = f"{{ {invocation_log(unit)}; }} | grep {shlex.quote(SKIPPED_KEY)}"
    yield StringCommand(
        f"if {skipped} >&2; then "
        + failure(
            f"K3s on {host.name} skipped config keys it does not know (above)",
            f"correct or remove them in {fp.K3S_CONFIG_DROPIN_DIR}/",
        )
        + "; fi"
    )


@operation(is_idempotent=False, idempotent_notice="waits each time it runs (changes nothing): guard it with _if")
def nodes_ready(nodes: dict, timeout: int):
    """
    Wait on a server until every named node is registered and Ready.

    + nodes: K3s node name -> the pyinfra host it runs on. A host that failed
      earlier in this run is not waited for: it may never have got its agent,
      and its error is already in the output (the run fails on it anyway).
    + timeout: seconds to wait
    """
    failed = sorted(name for name, node in nodes.items() if node in host.state.failed_hosts)
    if failed:
        logger.warning(f"{host.print_prefix}not waiting for {', '.join(failed)}: failed earlier in this run")
    names = [name for name in nodes if name not in failed]
    ready = "k3s kubectl get nodes 2>/dev/null | awk 'NR > 1 && $2 == \"Ready\" {print $1}'"
    checks = " && ".join(f"{ready} | grep -qx {shlex.quote(name)}" for name in names)
    yield StringCommand(
        _wait(
            checks or "true",
            timeout,
            f"not all nodes ({', '.join(names)}) are Ready after {timeout}s",
            f"look at `k3s kubectl get nodes` on the first driver and `journalctl -u {fp.K3S_AGENT_UNIT}` "
            "on the missing nodes",
        )
    )


@operation(is_idempotent=True)
def node_labelled(node: str, label: str, value: str):
    """
    A label on a registered node (K3s applies `node-label` only when a node
    registers; this reaches nodes registered before the label was wanted).

    + node: K3s node name
    + label, value: the label
    """
    nodes = host.get_fact(K3sNodes) or {}
    if nodes.get(node, {}).get(label) == value:
        host.noop(f"node {node} has {label}={value}")
        return
    yield StringCommand("k3s kubectl label node --overwrite", shlex.quote(node), shlex.quote(f"{label}={value}"))


@operation(is_idempotent=False, idempotent_notice="waits each time it runs (changes nothing): guard it with _if")
def wait_until(check: str, timeout: int, what: str, fix: str):
    """
    Wait until a shell check succeeds on the node.

    + check: shell command
    + timeout: seconds
    + what: what failed when it does not succeed in time
    + fix: what to look at then
    """
    yield StringCommand(_wait(check, timeout, what, fix))


@operation(is_idempotent=True)
def all_hosts_reached():
    """
    Nothing on the node: a step every host reaches before any host goes on.
    pyinfra orders operations as a graph of each host's own sequence, taken
    level by level, so a step of one host comes after a step of another
    only across an operation both run; deploy.py puts this one between the
    servers and the agents (who read the token the first server writes when
    it starts), and between the agents and what needs them all (GPU labels,
    the verification).

    .. code:: python

        k3s.all_hosts_reached(name="K3s servers started: the agents join now")
    """
    host.noop("every host is here")
    yield from ()
