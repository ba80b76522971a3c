"""Benchmark: deploy time, no-op time, provisioner traffic and memory against
the number of workers, beside the copy-to-every-node way (issue 8).

    python -m bench.deploy_scaling [--workers 1,3,6,10] [--sizes realistic|small]
                                   [--out docs/performance.md]

For each N it starts a lab (tests/lab) of one driver and N workers, then, on
that same lab and in this order:

  ours      `pyinfra -y --data install_docker=False <inv> deploy.py`: --dry on
            the fresh nodes, the first deploy, a re-run (must change nothing),
            --dry on the deployed cluster
  baseline  `pyinfra -y <inv> bench/baseline_copy.py` (every bundle file from
            the provisioner to every node with files.put): the copy, a re-run,
            --dry

and tears the lab down. One stand-in bundle (bench/standin_bundle.py) is built
once, before the first lab, and serves every run.

Per run: wall time; bytes the provisioner sent (the nodes' eth0 rx_bytes,
summed: eth0 is where SSH from the provisioner arrives; the peers fetch from
each other on eth1); peak RSS of the pyinfra process (wait4's ru_maxrss); SSH
commands, SFTP transfers and SSH bytes counted inside pyinfra
(bench/pyinfra_counted.py); changes from `--json`. Writes the table, the
targets and a plot (docs/performance.md, docs/performance.png); the raw
numbers and every run's output stay in the work directory
($CONVECTHUB_BENCH_HOME, default /var/tmp/convecthub-bench).

Needs Docker, debootstrap and busybox-static (as the e2e tier) and, for the
plot, matplotlib (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from convecthub.bundle.errors import BundleError
from convecthub.bundle.verify import verify_bundle

from .standin_bundle import K3S_ASSET, PROFILES, build_bench_bundle

REPO = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("CONVECTHUB_BENCH_HOME", "/var/tmp/convecthub-bench"))
LAB_NAME = "convecthub-bench"
PORT_OFFSET = 1000  # master on 127.0.0.1:3222, workers from 3200
SUBNET = "10.213.100.0/24"
OURS = "deploy.py"
OURS_ARGUMENTS = ("--data", "install_docker=False")
BASELINE = str(REPO / "bench" / "baseline_copy.py")
BASELINE_DIRECTORY = "/var/lib/convecthub-baseline"
RUN_TIMEOUT = 3600

TARGETS = {
    "bytes": 1.1,  # x the bundle at N=10
    "noop_seconds": 20.0,  # at N=10, zero changes
    "growth": 1.5,  # deploy wall time N=10 / N=1
    "rss_mb": 300.0,  # every pyinfra run of ours
}

log = logging.getLogger("bench")

# What the benchmark showed and what was changed for it (docs/performance.md).
OPTIMISATIONS = (
    (
        "per-host facts asked once per run, also by concurrent callers",
        "`convecthub/cluster/nodes.py` `cache`",
        "every host's greenlet asked the first driver's address at once: N+1 `ip` round trips on one host, and "
        "beyond sshd's MaxSessions (10) the deploy failed at N=10 (`ChannelException: Connect failed`)",
    ),
    (
        "the peers' bundle stamps read side by side",
        "`deploys/bundle.py` `peers_missing_files`, `cluster.on_each`",
        "one round trip per worker in a row, on every run, before the first operation",
    ),
    (
        "node names read side by side",
        "`deploy.py` (verify), `cluster.on_each`",
        "one `hostname` round trip per node in a row, on every run",
    ),
    (
        "no GPU fact on hosts without `has_gpu`",
        "`deploys/nvidia.py` `nvidia`",
        "the preflight already warns about unused GPUs: one round trip less per host",
    ),
    (
        "registry checks side by side",
        "`facts/registry.py` `RegistryHasImages`",
        "each HEAD costs the registry a bcrypt check (~0.4 s under load); five in a row on every run",
    ),
    (
        "images pushed side by side",
        "`operations/registry.py` `images_seeded`",
        "one skopeo push keeps one core busy; the five pushes took 27 s in a row, 16-18 s together (2 cores)",
    ),
    (
        "waits poll every 1 s, not 2 s",
        "`operations/k3s.py` `_wait`",
        "each wait (K3s ready, agents joined, chart, rollouts, login page) noticed readiness up to 2 s late",
    ),
)


@dataclass
class Run:
    """One pyinfra process."""

    label: str
    exit_code: int
    wall_seconds: float
    peak_rss_mb: float
    eth0_rx_bytes: int
    changes: int | None  # operations that changed something (success), or would (--dry)
    errors: int | None
    exec_commands: int = 0
    sftp_transfers: int = 0
    ssh_connections: int = 0
    ssh_bytes_sent: int = 0
    load_average: float = 0.0
    bundle_seconds: float | None = None  # ours: the "Distribute the air-gap bundle" operations
    first_operation_at: float | None = None  # seconds from start to the first operation (prepare phase)
    slowest: list = field(default_factory=list)  # [(operation, seconds)], the five slowest


@dataclass
class Point:
    workers: int
    runs: dict  # label -> Run


# -- running pyinfra ------------------------------------------------------


def received_on_eth0(lab) -> int:
    """Bytes the nodes received on eth0 (from the provisioner), summed; read
    through Docker, not SSH."""
    total = 0
    for node in lab.nodes:
        container = lab.client.containers.get(node.container_name)
        for _attempt in range(5):
            code, output = container.exec_run(["cat", "/sys/class/net/eth0/statistics/rx_bytes"])
            if code == 0 and output.strip().isdigit():
                break
            time.sleep(1)  # a busy engine sometimes answers an exec with nothing
        else:
            raise RuntimeError(f"cannot read eth0 rx_bytes on {node.spec.name}: {code} {output!r}")
        total += int(output)
    return total


def run_pyinfra(lab, inventory: Path, label: str, deploy: str, *arguments: str, logs: Path, tree: Path = REPO) -> Run:
    """Run pyinfra (through bench/pyinfra_counted.py) in `tree`, the checkout
    whose deploy is measured, and measure it."""
    stats_path = logs / f"{label}.stats.json"
    stdout_path, stderr_path = logs / f"{label}.stdout", logs / f"{label}.stderr"
    # `--dry` without `-y`: with `-y` pyinfra skips working out what would change.
    confirm = () if "--dry" in arguments else ("-y",)
    command = [sys.executable, "-m", "bench.pyinfra_counted", str(inventory), *confirm, "--json", *arguments, deploy]
    # The tree's own modules first (the current directory), bench/ from here.
    environment = {**os.environ, "BENCH_STATS": str(stats_path), "PYTHONPATH": str(REPO)}
    before = received_on_eth0(lab)
    log.info("%s: %s", label, " ".join(command[2:]))
    with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=tree, stdout=stdout, stderr=stderr, env=environment, start_new_session=True
        )
        timer = threading.Timer(RUN_TIMEOUT, lambda: os.killpg(process.pid, signal.SIGKILL))
        timer.start()
        try:
            # wait4: this process's own peak resident set (kilobytes on Linux).
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    received = received_on_eth0(lab) - before

    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    changes = errors = None
    try:
        output = json.loads(stdout_path.read_text())
        if output.get("results"):
            changes = output["results"]["totals"]["success"]
            errors = output["results"]["totals"]["error"]
        else:  # --dry: the plan
            changes = sum(1 for op in output["plan"] if op.get("hosts_with_change"))
            errors = 0
    except (ValueError, KeyError, TypeError):
        pass
    operations = [(" / ".join(op["names"]), op["end"] - op["start"]) for op in stats.get("operations", [])]
    bundle = [seconds for name, seconds in operations if name.startswith("Distribute the air-gap bundle")]
    run = Run(
        label=label,
        exit_code=process.returncode,
        wall_seconds=round(wall, 2),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        eth0_rx_bytes=received,
        changes=changes,
        errors=errors,
        exec_commands=stats.get("exec_command", 0),
        sftp_transfers=stats.get("sftp_put", 0) + stats.get("sftp_get", 0),
        ssh_connections=stats.get("ssh_connections", 0),
        ssh_bytes_sent=stats.get("ssh_bytes_sent", 0),
        load_average=round(os.getloadavg()[0], 2),
        bundle_seconds=round(sum(bundle), 2) if bundle else None,
        first_operation_at=stats["operations"][0]["start"] if stats.get("operations") else None,
        slowest=sorted(operations, key=lambda item: -item[1])[:5],
    )
    log.info(
        "%s: exit %s, %.1f s, %.1f MB RSS, %.1f MB on eth0, %s changes, %s commands",
        label,
        run.exit_code,
        run.wall_seconds,
        run.peak_rss_mb,
        received / 1e6,
        changes,
        run.exec_commands,
    )
    if run.exit_code != 0 or errors:
        tail = stderr_path.read_text()[-3000:]
        raise RuntimeError(f"{label} failed (exit {run.exit_code}); see {stderr_path}:\n{tail}")
    return run


# -- one lab per N --------------------------------------------------------


def seed_apt_cache(state_root: Path) -> None:
    """Start from the developer lab's APT cache when ours is empty, so the
    lab's mirror serves the registry packages without downloading them."""
    from tests.lab.lab import default_state_root

    ours = state_root / "apt-cache" / LAB_NAME
    theirs = default_state_root() / "apt-cache" / "convecthub-lab"
    if ours.exists() or not theirs.is_dir():
        return
    ours.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(theirs), str(ours)], check=True)


def measure(
    workers: int,
    bundle_dir: Path,
    docker_client,
    state_root: Path,
    logs: Path,
    tree: Path = REPO,
    baseline: bool = True,
) -> Point:
    from tests.lab import keys
    from tests.lab.inventory import write_inventory
    from tests.lab.lab import Lab, LabSpec, topology

    nodes = topology(drivers=1, workers=workers, gpu_workers=(), port_offset=PORT_OFFSET)
    lab = Lab(LabSpec(name=LAB_NAME, nodes=nodes, subnet=SUBNET), client=docker_client, state_root=state_root)
    inventory = state_root / f"inventory-{workers}.py"
    runs = {}
    try:
        log.info("N=%d: starting the lab (%d nodes)", workers, len(nodes))
        lab.up()
        # The inventory the lab writes, pointing at the benchmark's bundle.
        key = keys.ensure_ssh_key(lab.state_dir / "id_ed25519")
        write_inventory(inventory, lab.spec, lab.nodes, key, lab.state_dir / "known_hosts", bundle_dir, lab.state_dir)

        def run(label, deploy, *arguments):
            runs[label] = run_pyinfra(lab, inventory, f"n{workers}-{label}", deploy, *arguments, logs=logs, tree=tree)
            return runs[label]

        run("ours_dry_fresh", OURS, "--dry", *OURS_ARGUMENTS)
        run("ours_deploy", OURS, *OURS_ARGUMENTS)
        run("ours_noop", OURS, *OURS_ARGUMENTS)
        run("ours_dry", OURS, "--dry", *OURS_ARGUMENTS)
        if baseline:
            run("baseline_copy", BASELINE)
            run("baseline_noop", BASELINE)
            run("baseline_dry", BASELINE, "--dry")
    finally:
        log.info("N=%d: tearing the lab down", workers)
        lab.down()
        inventory.unlink(missing_ok=True)
    return Point(workers, runs)


def ensure_bundle(bundle_dir: Path, profile: str, docker_client) -> object:
    marker = bundle_dir / ".bench-profile"
    try:
        if marker.read_text() == profile:
            return verify_bundle(bundle_dir)
    except (OSError, BundleError):
        pass
    shutil.rmtree(bundle_dir, ignore_errors=True)
    bundle_dir.mkdir(parents=True)
    log.info("building the %s stand-in bundle in %s", profile, bundle_dir)
    manifest = build_bench_bundle(bundle_dir, profile, docker_client)
    marker.write_text(profile)
    return manifest


# -- the report -----------------------------------------------------------


def revision(tree: Path) -> str:
    """The commit measured, and whether the tree held changes beyond it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=tree,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown revision"
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def _mb(count: int) -> str:
    if count < 100_000:
        return f"{count / 1e3:,.1f} kB"
    return f"{count / 1e6:,.0f} MB" if count >= 10e6 else f"{count / 1e6:,.1f} MB"


def _s(seconds) -> str:
    return "–" if seconds is None else f"{seconds:.1f}"


def targets(points: list, bundle_size: int) -> list:
    """[(target, measured, met or None when not measured)]"""
    by_n = {point.workers: point.runs for point in points}
    rows = []
    ten, one = by_n.get(10), by_n.get(1)
    if ten:
        sent = ten["ours_deploy"].eth0_rx_bytes
        base = ten["baseline_copy"].eth0_rx_bytes
        rows.append(
            (
                f"bytes from the provisioner at N=10 ≤ {TARGETS['bytes']}× the bundle",
                f"{sent / bundle_size:.3f}× ({_mb(sent)} for a {_mb(bundle_size)} bundle); baseline {base / bundle_size:.2f}×",
                sent <= TARGETS["bytes"] * bundle_size,
            )
        )
        noop = ten["ours_noop"]
        rows.append(
            (
                f"no-op re-run at N=10 < {TARGETS['noop_seconds']:.0f} s, zero changes",
                f"{noop.wall_seconds:.1f} s, {noop.changes} changes",
                noop.wall_seconds < TARGETS["noop_seconds"] and noop.changes == 0,
            )
        )
    else:
        rows += [("bytes at N=10", "N=10 not measured", None), ("no-op at N=10", "N=10 not measured", None)]
    if ten and one:
        growth = ten["ours_deploy"].wall_seconds / one["ours_deploy"].wall_seconds
        rows.append(
            (
                f"deploy wall time N=1 → N=10 grows < {TARGETS['growth']}×",
                f"{growth:.2f}× ({one['ours_deploy'].wall_seconds:.0f} s → {ten['ours_deploy'].wall_seconds:.0f} s)",
                growth < TARGETS["growth"],
            )
        )
    else:
        rows.append(("deploy growth N=1 → N=10", "N=1 and N=10 not both measured", None))
    ours = [run for point in points for label, run in point.runs.items() if label.startswith("ours")]
    peak = max(run.peak_rss_mb for run in ours)
    rows.append(
        (
            f"provisioner peak memory < {TARGETS['rss_mb']:.0f} MB",
            f"{peak:.0f} MB (largest of all {len(ours)} runs of deploy.py)",
            peak < TARGETS["rss_mb"],
        )
    )
    return rows


def before_after(points: list, before: list) -> list:
    """Ours now beside a run of the code before the optimisations (--before)."""
    earlier = {point["workers"]: point.get("runs") or point for point in before}
    notes = []
    lines = [
        "",
        "## Before and after the optimisations",
        "",
        "The same benchmark (ours only) on the code before the optimisations listed below, same bundle;",
        "each on its own fresh lab, so the two columns were measured minutes apart. Single runs on a",
        "shared 2-core machine: wall times move by several seconds between runs (a first deploy by up",
        "to ~15 s); the SSH command counts do not.",
        "",
        "| N | first deploy before → after | SSH cmds | no-op before → after | SSH cmds | --dry before → after |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for point in points:
        old = earlier.get(point.workers)
        if not old:
            continue
        new = point.runs
        if "failed" in old:
            lines.append(
                f"| {point.workers} | failed → {new['ours_deploy'].wall_seconds:.1f} s | – → {new['ours_deploy'].exec_commands} "
                f"| – → {new['ours_noop'].wall_seconds:.1f} s | – → {new['ours_noop'].exec_commands} "
                f"| – → {new['ours_dry'].wall_seconds:.1f} s |"
            )
            notes.append(f"N={point.workers} before: {old['failed']}")
            continue
        lines.append(
            f"| {point.workers} "
            f"| {old['ours_deploy']['wall_seconds']:.1f} s → {new['ours_deploy'].wall_seconds:.1f} s "
            f"| {old['ours_deploy']['exec_commands']} → {new['ours_deploy'].exec_commands} "
            f"| {old['ours_noop']['wall_seconds']:.1f} s → {new['ours_noop'].wall_seconds:.1f} s "
            f"| {old['ours_noop']['exec_commands']} → {new['ours_noop'].exec_commands} "
            f"| {old['ours_dry']['wall_seconds']:.1f} s → {new['ours_dry'].wall_seconds:.1f} s |"
        )
    lines += [f"\n{note}" for note in notes]
    lines += [
        "",
        "| change | where | why |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {change} | {where} | {why} |" for change, where, why in OPTIMISATIONS]
    return lines


def write_plot(points: list, bundle_size: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [point.workers for point in points]

    def series(label, attribute):
        return [getattr(point.runs[label], attribute) for point in points]

    figure, (times, sizes) = plt.subplots(1, 2, figsize=(12, 4.5))
    times.plot(n, series("ours_deploy", "wall_seconds"), "o-", color="tab:blue", label="ours: first deploy (whole)")
    times.plot(
        n,
        [p.runs["ours_deploy"].bundle_seconds or 0 for p in points],
        "o--",
        color="tab:blue",
        label="ours: bundle step of it",
    )
    times.plot(n, series("ours_noop", "wall_seconds"), "s:", color="tab:blue", label="ours: no-op re-run")
    times.plot(n, series("baseline_copy", "wall_seconds"), "o-", color="tab:red", label="baseline: copy to every node")
    times.plot(n, series("baseline_noop", "wall_seconds"), "s:", color="tab:red", label="baseline: no-op re-run")
    times.set(xlabel="workers (plus one driver)", ylabel="seconds", title="Wall time", xticks=n)
    times.set_ylim(bottom=0)
    times.grid(alpha=0.3)
    times.legend(fontsize=8)
    gb = 1e9
    sizes.plot(
        n, [v / gb for v in series("ours_deploy", "eth0_rx_bytes")], "o-", color="tab:blue", label="ours: first deploy"
    )
    sizes.plot(
        n,
        [v / gb for v in series("baseline_copy", "eth0_rx_bytes")],
        "o-",
        color="tab:red",
        label="baseline: copy to every node",
    )
    sizes.axhline(bundle_size / gb, color="gray", linestyle="--", label="bundle size")
    sizes.axhline(
        TARGETS["bytes"] * bundle_size / gb, color="gray", linestyle=":", label=f"target: {TARGETS['bytes']}× bundle"
    )
    sizes.set(xlabel="workers (plus one driver)", ylabel="GB", title="Bytes sent by the provisioner", xticks=n)
    sizes.set_ylim(bottom=0)
    sizes.grid(alpha=0.3)
    sizes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_report(
    points: list, manifest, profile: str, path: Path, plot: Path | None, started: str, before: list | None = None
) -> str:
    bundle_size = manifest.total_size
    sizes = ", ".join(f"{entry.path} {_mb(entry.size)}" for entry in manifest.entries)
    loads = [run.load_average for point in points for run in point.runs.values()]
    lines = [
        "# Performance: deploy against node count, beside copy-to-every-node",
        "",
        f"Measured by `bench/deploy_scaling.py` on {started}, {revision(REPO)} (`--sizes {profile}`).",
        "Re-run with",
        "",
        "```sh",
        "pip install -e '.[test,bench]'   # matplotlib, for the plot",
        f"python -m bench.deploy_scaling --workers {','.join(str(p.workers) for p in points)} --sizes {profile}"
        " --out docs/performance.md",
        "```",
        "",
        "## Set-up",
        "",
        f"- **Machine**: {os.cpu_count()} cores; the lab's nodes are Docker containers running systemd on",
        "  the same machine as the provisioner (pyinfra), reached over SSH on 127.0.0.1. Every node, the",
        "  provisioner and sshd share these cores: these are lab numbers, not a data centre's.",
        f"  1-minute load average at the end of the runs: {min(loads):.1f}–{max(loads):.1f}"
        " (other labs may have been running beside this one).",
        "- **Topology**: one driver (`master`: K3s server, registry, first driver) and N workers (K3s agents).",
        f"- **Bundle**: one stand-in bundle ({_mb(bundle_size)}) built once and used by every run: {sizes}.",
        f"  Contents are stand-ins (bench/standin_bundle.py): the K3s stand-in padded to {_mb(PROFILES[profile][K3S_ASSET])} as a",
        "  zipapp-style file (shebang, filler, then the program as a zip, which Python finds from the end),",
        "  image archives of busybox images padded with incompressible filler; they travel, are hashed,",
        "  hard-linked and pushed to the registry like the real ones.",
        "- **Ours**: `pyinfra -y --data install_docker=False <inventory> deploy.py`, the whole deploy",
        "  (preflight, bundle, base, registry seeded with skopeo, K3s servers and agents, JupyterHub,",
        "  verify). `install_docker=False` leaves the Docker engine (an APT install, the same in any",
        "  approach) out, so the numbers are about the bundle and K3s flow.",
        "- **Baseline**: `bench/baseline_copy.py`, the way the common air-gap playbooks ship a bundle:",
        "  `files.put` of every bundle file from the provisioner to every node (sudo: upload to a",
        "  temporary file, then move). It only copies; it installs nothing. Same lab, right after ours.",
        "",
        "Columns: **wall** seconds of the pyinfra process; **sent** = bytes the nodes received on eth0",
        "(their side of the provisioner's SSH; peer fetches use eth1), summed over the nodes (it also",
        "counts the registry's APT packages from the lab's mirror, so it over-states a little); **of it,",
        "SSH** = bytes pyinfra wrote to its SSH sockets (counted in the provisioner, exact);",
        "**×** = sent / bundle size; **cmds** = SSH commands run (paramiko `exec_command`: one round",
        "trip each), **sftp** = files transferred; **RSS** = peak resident memory of the pyinfra",
        "process (`wait4`); **changes** = operations that changed something (`--json` totals; for",
        "`--dry`, operations that would).",
        "",
        "## Ours",
        "",
        "| N | first deploy wall | of it, bundle step | sent | × | of it, SSH | cmds | sftp | RSS | no-op wall | no-op changes"
        " | no-op cmds | --dry (fresh) | --dry (deployed) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for point in points:
        r = point.runs
        deploy, noop = r["ours_deploy"], r["ours_noop"]
        lines.append(
            f"| {point.workers} | {_s(deploy.wall_seconds)} s | {_s(deploy.bundle_seconds)} s "
            f"| {_mb(deploy.eth0_rx_bytes)} | {deploy.eth0_rx_bytes / bundle_size:.3f} | {_mb(deploy.ssh_bytes_sent)} "
            f"| {deploy.exec_commands} "
            f"| {deploy.sftp_transfers} | {deploy.peak_rss_mb:.0f} MB | {_s(noop.wall_seconds)} s | {noop.changes} "
            f"| {noop.exec_commands} | {_s(r['ours_dry_fresh'].wall_seconds)} s | {_s(r['ours_dry'].wall_seconds)} s |"
        )
    lines += [
        "",
        "## Baseline (copy every file to every node)",
        "",
        "| N | copy wall | sent | × | of it, SSH | cmds | sftp | RSS | no-op wall | no-op changes | --dry |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for point in points:
        r = point.runs
        copy, noop = r["baseline_copy"], r["baseline_noop"]
        lines.append(
            f"| {point.workers} | {_s(copy.wall_seconds)} s | {_mb(copy.eth0_rx_bytes)} "
            f"| {copy.eth0_rx_bytes / bundle_size:.2f} | {_mb(copy.ssh_bytes_sent)} | {copy.exec_commands} "
            f"| {copy.sftp_transfers} "
            f"| {copy.peak_rss_mb:.0f} MB | {_s(noop.wall_seconds)} s | {noop.changes} "
            f"| {_s(r['baseline_dry'].wall_seconds)} s |"
        )
    lines += ["", "## Targets (issue 8)", "", "| target | measured | met |", "| --- | --- | --- |"]
    for target, measured, met in targets(points, bundle_size):
        lines.append(f"| {target} | {measured} | {'–' if met is None else ('yes' if met else '**no**')} |")
    if plot:
        lines += ["", f"![wall time and bytes against N, ours and the baseline]({plot.name})"]
    last = points[-1]
    lines += [
        "",
        f"## Where the time goes (N={last.workers}, first deploy: the five slowest operations)",
        "",
        "pyinfra runs one operation at a time on all hosts in parallel; these are whole operations.",
        "",
        "| operation | seconds |",
        "| --- | ---: |",
    ]
    for name, seconds in last.runs["ours_deploy"].slowest:
        lines.append(f"| {_cell(name)} | {seconds:.1f} |")
    if before:
        lines += before_after(points, before)
    noop = last.runs["ours_noop"]
    lines += [
        "",
        "## Reading the numbers",
        "",
        f"- The no-op re-run at N={last.workers} ({noop.wall_seconds:.1f} s): {_s(noop.first_operation_at)} s before the",
        "  first operation (Python and pyinfra start, inventory check, SSH to every node, the bundle's",
        "  sha256 on the provisioner, the preflight's facts of every node, the deploy file's facts),",
        f"  then {noop.wall_seconds - (noop.first_operation_at or 0):.1f} s for ~45 operations that each read one fact"
        " per node (in parallel over the nodes) and change nothing.",
        "- `--dry (fresh)` is `--dry` on the new nodes, before the first deploy; `--dry (deployed)` after it.",
        "  `--dry` runs without `-y`: with `-y`, pyinfra skips working out what would change.",
        "- The first deploy's hub rollout and K3s start times are the K3s stand-in's (a Python program",
        "  on 2 shared cores); the deploy's own waits poll every second.",
        "- What the stand-ins cannot show: the real K3s starts slower and uses more memory on the",
        "  nodes than the K3s stand-in, and real images are pulled in full by every node that runs",
        "  them (over the private network, from the registry). Neither crosses the provisioner's link.",
        "- The provisioner sends the bundle once, to the first driver; the workers fetch their files",
        "  (K3s and its images, not the registry's images) from it over the private network and check",
        "  their sha256. The baseline sends the whole bundle to every node over SSH: its bytes and its",
        "  time grow with N, ours do not.",
        "- A no-op re-run reads stamps (size, mtime, sha256 of each verified file) instead of hashing",
        "  the bundle again on the nodes; the baseline's `files.put` re-hashes every file on every node.",
        "",
        "## Left to do",
        "",
        "- Seeding the registry (the slowest step) and the workers' fetch from the seed run one after",
        "  the other: pyinfra runs one operation at a time across hosts. Pushing the images from a",
        "  transient unit started right after the upload, waited for before K3s needs them, would",
        "  overlap them.",
        "- The no-op re-run reads one fact per operation per node; files written by one step",
        "  (base, registry, K3s files) could be read in one round trip per step.",
        "- The preflight's APT probe (`apt-get --print-uris update`, `apt-get check`) is its costliest",
        "  fact on every run.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,3,6,10", help="comma-separated worker counts (default 1,3,6,10)")
    parser.add_argument("--sizes", choices=sorted(PROFILES), default="realistic")
    parser.add_argument("--out", default="docs/performance.md", help="the markdown report; the PNG goes beside it")
    parser.add_argument(
        "--keep-bundle", action="store_true", help=f"keep the stand-in bundle in {WORK}/bundle-<sizes> for the next run"
    )
    parser.add_argument(
        "--tree",
        type=Path,
        default=REPO,
        help="measure the deploy of another checkout (e.g. `git archive` of an older commit); "
        "with --no-baseline, for a before/after comparison",
    )
    parser.add_argument("--no-baseline", action="store_true", help="measure only ours; write results.json, no report")
    parser.add_argument(
        "--before",
        type=Path,
        help="results.json of a run of the code before a change: the report compares ours with it",
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    counts = sorted({int(part) for part in options.workers.split(",") if part.strip()})

    import docker

    client = docker.from_env(timeout=600)
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M")
    logs = WORK / "logs" / time.strftime("%Y%m%d-%H%M%S")
    logs.mkdir(parents=True)
    state_root = WORK / "state"
    seed_apt_cache(state_root)
    bundle_dir = WORK / f"bundle-{options.sizes}"
    points = []
    try:
        manifest = ensure_bundle(bundle_dir, options.sizes, client)
        log.info("bundle: %d files, %.1f MB", len(manifest.entries), manifest.total_size / 1e6)
        for workers in counts:
            points.append(
                measure(workers, bundle_dir, client, state_root, logs, options.tree.resolve(), not options.no_baseline)
            )
            (logs / "results.json").write_text(json.dumps([asdict(point) for point in points], indent=1))
    finally:
        if not options.keep_bundle:
            shutil.rmtree(bundle_dir, ignore_errors=True)

    if options.no_baseline:
        for point in points:
            r = point.runs
            log.info(
                "N=%d: deploy %.1f s (%d cmds), no-op %.1f s (%d cmds, %s changes), dry %.1f s",
                point.workers,
                r["ours_deploy"].wall_seconds,
                r["ours_deploy"].exec_commands,
                r["ours_noop"].wall_seconds,
                r["ours_noop"].exec_commands,
                r["ours_noop"].changes,
                r["ours_dry"].wall_seconds,
            )
        log.info("results in %s", logs / "results.json")
        return 0
    before = json.loads(options.before.read_text()) if options.before else None
    out = REPO / options.out if not Path(options.out).is_absolute() else Path(options.out)
    plot = out.with_suffix(".png")
    try:
        write_plot(points, manifest.total_size, plot)
    except ImportError:
        log.warning("no matplotlib: no plot (pip install -e '.[bench]')")
        plot = None
    out.write_text(write_report(points, manifest, options.sizes, out, plot, started, before))
    log.info("wrote %s%s; raw numbers and logs in %s", out, f" and {plot}" if plot else "", logs)
    for target, measured, met in targets(points, manifest.total_size):
        log.info("target %s: %s -> %s", target, measured, {None: "not measured", True: "met", False: "NOT met"}[met])
    return 0


if __name__ == "__main__":
    sys.exit(main())
