"""Run the K3s stand-in (tests/standins/k3s/k3s) on loopback, for unit tests.

Each `StandinNode` is one `k3s server` or `k3s agent` process with its own
fake root (K3S_STANDIN_ROOT), no host side effects, short timings, and a
systemd-like notify socket so a test can wait for READY=1 as systemd would.

`FakeRegistry` serves `/v2/` manifests over TLS on 127.0.0.1 to test how the
stand-in resolves images through registries.yaml. It is for unit tests only:
end-to-end tests must use the deploy's real registry.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import importlib.machinery
import importlib.util
import json
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

STANDIN = Path(__file__).with_name("k3s")
FAST_ENV = {
    "K3S_STANDIN_NO_SIDE_EFFECTS": "1",
    "K3S_STANDIN_HEARTBEAT": "0.3",
    "K3S_STANDIN_POLL": "0.3",
}


def load_standin_module():
    """The stand-in program imported as a module (it has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("k3s_standin", str(STANDIN))
    spec = importlib.util.spec_from_loader("k3s_standin", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout=15.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class NotifySocket:
    """What systemd listens on for Type=notify units: an AF_UNIX datagram socket."""

    def __init__(self, path: Path, abstract: bool = False):
        self.address = f"@standin-notify-{os.getpid()}-{path.name}" if abstract else str(path)
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind("\0" + self.address[1:] if abstract else self.address)
        self.socket.settimeout(0.1)
        self.messages: list[str] = []

    def received(self, text: str) -> bool:
        while True:
            try:
                self.messages.append(self.socket.recv(4096).decode())
            except (TimeoutError, BlockingIOError):
                break
        return any(text in message.split("\n") for message in self.messages)

    def close(self):
        self.socket.close()


class StandinNode:
    """One stand-in process (`k3s server` or `k3s agent`) under its own root."""

    def __init__(self, root: Path, abstract_notify: bool = False):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.notify = NotifySocket(root / "notify.sock", abstract=abstract_notify)
        self.process: subprocess.Popen | None = None
        self.log_path = root / "k3s.log"

    # -- paths ----------------------------------------------------------------

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def config_path(self) -> Path:
        return self.path("/etc/rancher/k3s/config.yaml")

    @property
    def data_dir(self) -> Path:
        return self.path("/var/lib/rancher/k3s")

    @property
    def manifests(self) -> Path:
        return self.data_dir / "server/manifests"

    @property
    def kubeconfig(self) -> Path:
        return self.path("/etc/rancher/k3s/k3s.yaml")

    @property
    def token(self) -> str:
        return (self.data_dir / "server/token").read_text().strip()

    # -- setup ----------------------------------------------------------------

    def write_config(self, settings: dict, dropins: dict | None = None):
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(settings))
        for name, content in (dropins or {}).items():
            dropin = self.config_path.with_name("config.yaml.d") / name
            dropin.parent.mkdir(parents=True, exist_ok=True)
            dropin.write_text(yaml.safe_dump(content))

    def write_registries(self, registries: dict):
        path = self.path("/etc/rancher/k3s/registries.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(registries))

    def add_airgap_images(self, name="k3s-airgap-images-amd64.tar.zst", content=b"STANDIN placeholder\n"):
        images = self.data_dir / "agent/images"
        images.mkdir(parents=True, exist_ok=True)
        (images / name).write_bytes(content)

    def write_manifest(self, name: str, *objects: dict):
        self.manifests.mkdir(parents=True, exist_ok=True)
        (self.manifests / name).write_text(yaml.safe_dump_all(objects))

    # -- process --------------------------------------------------------------

    def start(self, role: str, *flags: str):
        env = {**os.environ, **FAST_ENV, "K3S_STANDIN_ROOT": str(self.root), "NOTIFY_SOCKET": self.notify.address}
        env.pop("KUBECONFIG", None)
        self.log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(STANDIN), role, *flags], env=env, stdout=self.log_file, stderr=subprocess.STDOUT
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def ready(self) -> bool:
        return self.notify.received("READY=1")

    def wait_ready(self, timeout=20.0):
        def ready_or_dead():
            if self.process.poll() is not None:
                raise AssertionError(f"stand-in exited {self.process.returncode}:\n{self.log()}")
            return self.ready()

        try:
            wait_until(ready_or_dead, timeout, what="READY=1")
        except AssertionError as problem:
            raise AssertionError(f"{problem}\n--- log\n{self.log()}") from None
        return self

    def wait_log(self, text: str, timeout=15.0):
        wait_until(lambda: text in self.log(), timeout, what=f"{text!r} in the log\n--- log\n{self.log()}")

    def wait_exit(self, timeout=15.0) -> int:
        return self.process.wait(timeout)

    def stop(self, timeout=10.0) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log_file.close()
        return self.process.returncode if self.process else None

    def close(self):
        self.stop()
        self.notify.close()

    # -- kubectl ----------------------------------------------------------------

    def kubectl(self, *arguments: str, timeout=30.0) -> subprocess.CompletedProcess:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        return subprocess.run(
            [sys.executable, str(STANDIN), "kubectl", *arguments],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def kubectl_json(self, *arguments: str):
        result = self.kubectl(*arguments, "-o", "json")
        if result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(arguments)} failed: {result.stderr}")
        return json.loads(result.stdout)


# -- TLS material for tests (openssl CLI, independent of the stand-in) ---------


def openssl(*arguments: str):
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


def make_ca(directory: Path, name="test-ca") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-days",
        "30",
        "-subj",
        f"/CN={name}",
    )
    return cert, key


def make_leaf(directory: Path, name: str, ca: tuple[Path, Path], sans="IP:127.0.0.1") -> tuple[Path, Path]:
    cert, key, request = directory / f"{name}.crt", directory / f"{name}.key", directory / f"{name}.csr"
    extensions = directory / f"{name}.ext"
    extensions.write_text(f"subjectAltName={sans}\nextendedKeyUsage=serverAuth,clientAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(request), "-subj", f"/CN={name}")
    openssl(
        "x509",
        "-req",
        "-in",
        str(request),
        "-CA",
        str(ca[0]),
        "-CAkey",
        str(ca[1]),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        str(extensions),
        "-out",
        str(cert),
    )
    return cert, key


# -- a tiny /v2/ registry for resolution tests ----------------------------------

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeRegistry:
    """/v2/ manifests and blob HEADs over TLS, with Basic or Bearer auth and
    optional client certificates; records every request it sees."""

    def __init__(self, directory: Path, *, auth=("puller", "s3cret"), mode="basic", client_ca: Path | None = None):
        self.ca = make_ca(directory, "registry-ca")
        self.cert = make_leaf(directory, "registry", self.ca)
        self.auth, self.mode = auth, mode
        self.manifests: dict[tuple[str, str], tuple[str, bytes]] = {}
        self.blobs: set[str] = set()
        self.requests: list[tuple[str, str, str]] = []
        self.token = "registry-token"
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*map(str, self.cert))
        if client_ca:
            tls.load_verify_locations(str(client_ca))
            tls.verify_mode = ssl.CERT_REQUIRED
        self.server = _RegistryServer(("127.0.0.1", 0), _RegistryHandler, tls, self)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add_image(self, repository: str, tag: str, *, index=False, missing_blob=False) -> str:
        config = json.dumps({"repository": repository, "tag": tag}).encode()
        layer = f"layer of {repository}:{tag}".encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": digest_of(config)},
                "layers": [
                    {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": digest_of(layer)}
                ],
            }
        ).encode()
        self.blobs.add(digest_of(config))
        if not missing_blob:
            self.blobs.add(digest_of(layer))
        self.manifests[(repository, digest_of(manifest))] = (DOCKER_MANIFEST, manifest)
        if index:
            body = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [
                        {
                            "mediaType": DOCKER_MANIFEST,
                            "digest": digest_of(manifest),
                            "platform": {"os": "linux", "architecture": "amd64"},
                        },
                        {
                            "mediaType": DOCKER_MANIFEST,
                            "digest": "sha256:" + "0" * 64,
                            "platform": {"os": "linux", "architecture": "arm64"},
                        },
                    ],
                }
            ).encode()
            self.manifests[(repository, tag)] = (OCI_INDEX, body)
            return digest_of(body)
        self.manifests[(repository, tag)] = (DOCKER_MANIFEST, manifest)
        return digest_of(manifest)

    def paths(self, method="GET"):
        return [path for seen_method, path, _ in self.requests if seen_method == method]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _RegistryServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, tls, registry):
        super().__init__(address, handler)
        self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.registry = registry

    def handle_error(self, request, client_address):
        pass


class _RegistryHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_HEAD(self):
        self.handle_request("HEAD")

    def do_GET(self):
        self.handle_request("GET")

    def handle_request(self, method):
        registry = self.server.registry
        registry.requests.append((method, self.path, self.headers.get("Authorization", "")))
        if self.path.startswith("/token"):
            return self.token_endpoint(registry)
        if not self.authorized(registry):
            return self.challenge(registry)
        parts = self.path.split("/")
        if "manifests" in parts:
            at = parts.index("manifests")
            found = registry.manifests.get(("/".join(parts[2:at]), parts[at + 1]))
            if found:
                return self.send(200, found[1], found[0], {"Docker-Content-Digest": digest_of(found[1])})
            return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', "application/json")
        if "blobs" in parts:
            return self.send(200 if parts[-1] in registry.blobs else 404, b"", "application/octet-stream")
        self.send(404, b"", "text/plain")

    def authorized(self, registry):
        header = self.headers.get("Authorization", "")
        if registry.mode == "none":
            return True
        if registry.mode == "bearer":
            return header == f"Bearer {registry.token}"
        return header == "Basic " + base64.b64encode(":".join(registry.auth).encode()).decode()

    def challenge(self, registry):
        if registry.mode == "bearer":
            value = (
                f'Bearer realm="https://127.0.0.1:{registry.port}/token",service="fake-registry",'
                f'scope="repository:any:pull"'
            )
        else:
            value = 'Basic realm="Registry Realm"'
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', "application/json", {"WWW-Authenticate": value})

    def token_endpoint(self, registry):
        expected = "Basic " + base64.b64encode(":".join(registry.auth).encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self.send(401, b"{}", "application/json")
        self.send(200, json.dumps({"token": registry.token}).encode(), "application/json")

    def send(self, status, body, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
