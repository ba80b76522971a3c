"""Idempotent operations on the private image registry."""

import shlex

from pyinfra import host
from pyinfra.api import StringCommand, operation

from facts.registry import RegistryHasImages
from operations.failure import failure


@operation(is_idempotent=True)
def images_seeded(address: str, archives: dict, authfile: str, netrc_file: str, cert_dir: str):
    """
    Push image archives (``docker save`` format) to the registry, each unless
    the registry already serves its ``repository:tag``.

    + address: ``ip:port`` of the registry
    + archives: ``{"jupyterhub/k8s-hub:4.4.0": "/path/to/archive.tar"}``
    + authfile: skopeo auth file (0600) holding the registry credentials
    + netrc_file: the same credentials for curl (0600), to ask what is there
    + cert_dir: directory holding the registry's CA as ``ca.crt``

    The images are pushed side by side, in one command: one push keeps
    about one core busy (reading the archive, compressing and hashing its
    layers, TLS), and the registry host has more. It fails if any push
    fails, after all have ended; a re-run pushes only what is missing.
    """
    served = host.get_fact(
        RegistryHasImages, address=address, images=sorted(archives), netrc_file=netrc_file, ca_file=f"{cert_dir}/ca.crt"
    )
    missing = [image for image in sorted(archives) if not served.get(image)]
    if not missing:
        host.noop(f"the registry serves all {len(archives)} images")
        return
    pushes = []
    for image in missing:
        push = " ".join(
            (
                "skopeo copy --quiet",
                "--dest-authfile",
                shlex.quote(authfile),
                "--dest-cert-dir",
                shlex.quote(cert_dir),
                shlex.quote(f"docker-archive:{archives[image]}"),
                shlex.quote(f"docker://{address}/{image}"),
            )
        )
        failed = failure(
            f"could not push {image} to the registry at {address}",
            "read skopeo's message above, then run the deploy again",
        )
        pushes.append(f"{{ {push} || {failed}; }} &")
    # `wait PID` gives each push's status; every push is waited for.
    yield StringCommand(
        "pids=; "
        + " ".join(f'{push} pids="$pids $!";' for push in pushes)
        + ' status=0; for pid in $pids; do wait "$pid" || status=1; done; exit "$status"'
    )
