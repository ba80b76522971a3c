"""Idempotent operations that place air-gap bundle files on nodes.

A file is placed once: uploaded from the provisioner to one node, or fetched
by the other nodes from that one over the private network. Either way it
lands in `<directory>/.incoming/`, is checked against its sha256, renamed into
place and stamped (see facts/bundle.py), so that a re-run neither transfers
nor hashes anything.
"""

import posixpath
import shlex
from dataclasses import dataclass

from pyinfra import host
from pyinfra.api import FileUploadCommand, Host, StringCommand, operation

from convecthub import footprint as fp
from facts.bundle import VERIFIED_DIR, VerifiedBundleFiles
from facts.files import SameFile
from operations.failure import failure

INCOMING_DIR = ".incoming"
PEER_SERVER_UNIT = fp.BUNDLE_PEER_UNIT


@dataclass(frozen=True)
class BundleFile:
    path: str  # inside the bundle, "/"-separated
    sha256: str
    size: int


def _missing(directory: str, files: list) -> list:
    """The files the node does not hold verified: one round trip for all."""
    if not files:
        return []
    verified = host.get_fact(VerifiedBundleFiles, directory=directory, paths=[f.path for f in files])
    return [f for f in files if verified.get(f.path) != f.sha256]


def _to_place(directory: str, files: list) -> list:
    """The files still to place; says so when there are none."""
    missing = _missing(directory, files)
    if not missing:
        host.noop(f"{len(files)} bundle files to place here, all in place and verified")
    return missing


def _prepare_directories(directory: str) -> StringCommand:
    # The bundle directory is root's; its incoming area belongs to the SSH
    # login user, so uploads land there without sudo's temp-file copy.
    return StringCommand(
        "install -d -m 755 -o root -g root",
        shlex.quote(directory),
        '&& install -d -m 700 -o "${SUDO_USER:-root}"',
        shlex.quote(f"{directory}/{INCOMING_DIR}"),
    )


def _room_for(file: BundleFile, directory: str) -> str:
    """Shell: fail naming the file and the directory unless its filesystem
    has room for it (a partial copy left by an interrupted run is replaced)."""
    incoming = shlex.quote(f"{directory}/{INCOMING_DIR}/{file.path}")
    no_room = failure(
        f"no room for bundle file {file.path} ({file.size / 1e6:.1f} MB) in {directory}: %s MB free there",
        "free space on that filesystem or set convect_workdir to a larger one, then run the deploy again",
        '"$((free / 1000000))"',
    )
    return (
        f'free=$(df --output=avail -B1 {shlex.quote(directory)} | tail -n 1) && [ -n "$free" ] && '
        f"partial=$(stat -c %s {incoming} 2>/dev/null || echo 0) && "
        f"if [ $((free + partial)) -lt {file.size} ]; then {no_room}; fi"
    )


def _install_checked(directory: str, path: str, sha256: str) -> StringCommand:
    """Check `.incoming/<path>` against `sha256`, move it into place and stamp
    it; on a mismatch remove it and fail naming the file."""
    incoming = shlex.quote(f"{INCOMING_DIR}/{path}")
    final = shlex.quote(path)
    stamp = shlex.quote(f"{VERIFIED_DIR}/{path}")
    parents = " ".join(shlex.quote(posixpath.dirname(p) or ".") for p in (path, f"{VERIFIED_DIR}/{path}"))
    mismatch = failure(
        f"bundle file {path} arrived with sha256 %s, expected {sha256}: removed it",
        "check the bundle on the provisioner (`python -m convecthub.bundle verify`) and run the deploy again",
        '"$actual"',
    )
    return StringCommand(
        f"cd {shlex.quote(directory)} && "
        f'actual=$(sha256sum {incoming} | cut -d" " -f1) && '
        f'if [ "$actual" != {sha256} ]; then rm -f {incoming}; {mismatch}; fi && '
        f"mkdir -p {parents} && chown root:root {incoming} && chmod 644 {incoming} && "
        f"mv -f {incoming} {final} && "
        f'echo "{sha256} $(stat -c "%s %Y" {final})" > {stamp}'
    )


@operation(is_idempotent=True)
def uploaded_files(local_directory: str, directory: str, files: list):
    """
    Upload bundle files from the provisioner, each unless the node already
    holds it verified.

    + local_directory: the bundle directory on the provisioner
    + directory: the bundle directory on the node
    + files: ``BundleFile`` list (path inside the bundle, sha256, size)

    Files are streamed over SFTP: the provisioner's memory does not grow with
    their size.
    """
    missing = _to_place(directory, files)
    if not missing:
        return
    yield _prepare_directories(directory)
    for file in missing:
        incoming = f"{directory}/{INCOMING_DIR}/{file.path}"
        yield StringCommand(
            'install -d -m 700 -o "${SUDO_USER:-root}"',
            shlex.quote(posixpath.dirname(incoming)),
            "&&",
            _room_for(file, directory),
        )
        yield FileUploadCommand(posixpath.join(local_directory, file.path), incoming, _sudo=False)
        yield _install_checked(directory, file.path, file.sha256)


@operation(is_idempotent=True)
def fetched_files(base_url: str, directory: str, files: list, peer: Host):
    """
    Fetch bundle files from a peer node over the private network, each unless
    the node already holds it verified.

    + base_url: where the peer serves its bundle directory (``http://<ip>:<port>``)
    + directory: the bundle directory on the node
    + files: ``BundleFile`` list (path inside the bundle, sha256, size)
    + peer: the pyinfra host serving them; if it failed earlier in this run
      (its error is above), this fails at once naming it, not the network
    """
    missing = _to_place(directory, files)
    if not missing:
        return
    if peer in host.state.failed_hosts:
        yield StringCommand(
            failure(
                f"{peer.name} failed earlier in this run (its error is above), so it cannot serve the "
                "bundle files this node needs",
                "fix it and run the deploy again",
            )
        )
        return
    yield _prepare_directories(directory)
    for file in missing:
        url = f"{base_url}/{file.path}"
        incoming = shlex.quote(f"{directory}/{INCOMING_DIR}/{file.path}")
        unreachable = failure(
            f"could not fetch bundle file {file.path} from {url}",
            f"check that {peer.name} is up and reachable on the private network (my_iface), then run the deploy again",
        )
        yield StringCommand(
            f'mkdir -p "$(dirname {incoming})" && {_room_for(file, directory)} && {{ '
            "curl --fail --silent --show-error --retry 5 --retry-connrefused --retry-delay 1 "
            f"--output {incoming} {shlex.quote(url)} || "
            f"{{ rm -f {incoming}; {unreachable}; }}; }}"
        )
        yield _install_checked(directory, file.path, file.sha256)


@operation(is_idempotent=False, idempotent_notice="starts the server whenever serve is true")
def peer_server(directory: str, bind_address: str, port: int, serve: bool):
    """
    Serve the bundle directory read-only over HTTP on the node's private
    address, for the other nodes to fetch from.

    + directory: the bundle directory on the node
    + bind_address: the node's private (``my_iface``) address
    + port: the TCP port to serve on
    + serve: whether anybody needs it; False does nothing

    A transient systemd unit that stops itself after an hour at most, so an
    interrupted deploy does not leave it running. Stop it with
    ``peer_server_stopped`` once the other nodes have fetched their files.
    """
    if not serve:
        host.noop("no node needs to fetch bundle files from this one")
        return
    yield StringCommand(
        f"systemctl is-active --quiet {PEER_SERVER_UNIT} || "
        f"systemd-run --unit {PEER_SERVER_UNIT} --property RuntimeMaxSec=3600 "
        f"--working-directory {shlex.quote(directory)} "
        f"python3 -m http.server --bind {shlex.quote(bind_address)} {int(port)}"
    )


@operation(is_idempotent=False, idempotent_notice="stops the server each time it runs: guard it with _if")
def peer_server_stopped():
    """Stop serving the bundle (see ``peer_server``)."""
    yield StringCommand(
        f"if systemctl is-active --quiet {PEER_SERVER_UNIT}; then systemctl stop {PEER_SERVER_UNIT}; fi; "
        f"systemctl reset-failed {PEER_SERVER_UNIT} 2>/dev/null || true"
    )


@operation(is_idempotent=True)
def installed_from_bundle(src: str, dest: str, mode: str = "644"):
    """
    Put a (verified) bundle file in place on the node: a hard link when both
    are on one filesystem, which costs no disk, else a copy keeping the
    modification time, so the next run can tell it is the same file.

    + src: the file in the node's bundle directory
    + dest: where it must be (e.g. /usr/local/bin/k3s)
    + mode: its mode (a hard link shares it with the bundle file)
    """
    if host.get_fact(SameFile, src=src, dest=dest):
        host.noop(f"{dest} is the bundle's file")
        return
    yield StringCommand(
        "mkdir -p",
        shlex.quote(posixpath.dirname(dest)),
        "&& { ln -f",
        shlex.quote(src),
        shlex.quote(dest),
        "2>/dev/null || cp -p",
        shlex.quote(src),
        shlex.quote(dest),
        "; } && chmod",
        mode,
        shlex.quote(dest),
    )
