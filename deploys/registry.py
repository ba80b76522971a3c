"""The private image registry on the `registry` host: a real registry
speaking the distribution API (Debian/Ubuntu's docker-registry package), TLS
with the cluster's CA (or the operator's certificate), htpasswd auth, data in
/var/lib/docker-registry kept across re-runs, seeded from the bundle's images.
"""

import base64
import json
import posixpath

import yaml
from pyinfra.api import deploy
from pyinfra.operations import files as pyinfra_files
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from convecthub import footprint as fp
from convecthub.bundle.manifest import Manifest
from convecthub.images import parse_image
from operations import files, registry, system

# fp.REGISTRY_CLIENT_DIR: where the registry's clients on this host (curl,
# skopeo) find credentials and CA. fp.REGISTRY_RESTART_DROPIN: the package's
# unit does not restart the registry when it dies; every image pull of the
# cluster (users' notebook images too) needs it up.
# The package's system user, owner of the data and of the private files.
REGISTRY_SYSTEM_USER = fp.REGISTRY_UNIT
RESTART_DROPIN_TEXT = (
    "# Written by ConvectHub Deploy (deploys/registry.py).\n[Service]\nRestart=on-failure\nRestartSec=2\n"
)


def registry_config(address: str) -> str:
    config = {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {"filesystem": {"rootdirectory": fp.REGISTRY_DATA_DIR}, "delete": {"enabled": False}},
        "http": {
            "addr": address,
            "tls": {"certificate": fp.REGISTRY_CERT_FILE, "key": fp.REGISTRY_KEY_FILE},
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "auth": {"htpasswd": {"realm": "ConvectHub registry", "path": fp.REGISTRY_HTPASSWD_FILE}},
    }
    return "# Written by ConvectHub Deploy (deploys/registry.py).\n" + yaml.safe_dump(config, sort_keys=False)


def skopeo_authfile(address: str, password: str) -> str:
    token = base64.b64encode(f"{fp.REGISTRY_USER}:{password}".encode()).decode()
    return json.dumps({"auths": {address: {"auth": token}}}, indent=2) + "\n"


def netrc(address: str, password: str) -> str:
    return f"machine {address.rsplit(':', 1)[0]} login {fp.REGISTRY_USER} password {password}\n"


def image_archives(manifest: Manifest, bundle_directory: str) -> dict:
    """``{"jupyterhub/k8s-hub:4.4.0": "<bundle>/images/jupyterhub-hub.amd64.tar"}``"""
    return {
        parse_image(entry.image).path_and_tag: posixpath.join(bundle_directory, entry.path)
        for entry in manifest.entries
        if entry.kind == "image" and entry.image
    }


@deploy("Private image registry")
def image_registry(
    address: str,
    tls_cert: str,
    tls_key: str,
    ca_cert: str,
    password: str,
    htpasswd_line: str,
    manifest: Manifest,
    bundle_directory: str,
    staging_dir: str,
):
    system.packages_installed(name="Registry packages", packages=[fp.REGISTRY_UNIT, "skopeo"])
    # The package makes it on install; a reset that dropped the images does not reinstall.
    pyinfra_files.directory(
        name="Registry data directory",
        path=fp.REGISTRY_DATA_DIR,
        user=REGISTRY_SYSTEM_USER,
        group=REGISTRY_SYSTEM_USER,
        mode="750",
    )

    def private(name, dest, text, mode="640", group=REGISTRY_SYSTEM_USER):
        return files.content(name=name, dest=dest, text=text, mode=mode, group=group, staging_dir=staging_dir)

    restart_dropin = files.content(
        name="Registry restarted by systemd when it dies",
        dest=fp.REGISTRY_RESTART_DROPIN,
        text=RESTART_DROPIN_TEXT,
        staging_dir=staging_dir,
    )
    changes = [
        restart_dropin,
        files.content(
            name="Registry configuration",
            dest=fp.REGISTRY_CONFIG_FILE,
            text=registry_config(address),
            staging_dir=staging_dir,
        ),
        files.content(name="Registry certificate", dest=fp.REGISTRY_CERT_FILE, text=tls_cert, staging_dir=staging_dir),
        private("Registry private key", fp.REGISTRY_KEY_FILE, tls_key),
        private("Registry users (htpasswd)", fp.REGISTRY_HTPASSWD_FILE, htpasswd_line + "\n"),
    ]
    systemd.service(
        name="Registry running, restarted when its configuration changed",
        service=fp.REGISTRY_UNIT,
        running=True,
        enabled=True,
        restarted=True,
        daemon_reload=True,  # the drop-in may be new
        _if=any_changed(*changes),
    )
    systemd.service(name="Registry running", service=fp.REGISTRY_UNIT, running=True, enabled=True)

    files.content(
        name="Registry CA for local clients",
        dest=f"{fp.REGISTRY_CLIENT_DIR}/ca.crt",
        text=ca_cert,
        staging_dir=staging_dir,
    )
    files.content(
        name="Registry credentials for skopeo",
        dest=f"{fp.REGISTRY_CLIENT_DIR}/auth.json",
        text=skopeo_authfile(address, password),
        mode="600",
        staging_dir=staging_dir,
    )
    files.content(
        name="Registry credentials for curl",
        dest=f"{fp.REGISTRY_CLIENT_DIR}/netrc",
        text=netrc(address, password),
        mode="600",
        staging_dir=staging_dir,
    )
    registry.images_seeded(
        name="Registry seeded with the bundle's images",
        address=address,
        archives=image_archives(manifest, bundle_directory),
        authfile=f"{fp.REGISTRY_CLIENT_DIR}/auth.json",
        netrc_file=f"{fp.REGISTRY_CLIENT_DIR}/netrc",
        cert_dir=fp.REGISTRY_CLIENT_DIR,
    )
