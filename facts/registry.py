"""Read-only facts about the private image registry, asked over its own API."""

import shlex

from pyinfra.api import FactBase

MANIFEST_TYPES = ",".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)


class RegistryHasImages(FactBase[dict[str, bool]]):
    """
    Which of the given ``repository:tag`` the registry at ``address`` serves
    (HEAD on its manifest answers 200), asked with the credentials of a netrc
    file and the registry's CA, so neither is on a command line:

    .. code:: python

        {"jupyterhub/k8s-hub:4.4.0": True, "library/registry:3.1.2": False}

    An unreachable registry (not installed yet) serves nothing. The images
    are asked at once: each request costs the registry a bcrypt check of the
    password, a good part of a second.
    """

    default = dict

    def command(self, address: str, images: list, netrc_file: str, ca_file: str) -> str:
        checks = []
        for image in images:
            repository, tag = image.rsplit(":", 1)
            url = f"https://{address}/v2/{repository}/manifests/{tag}"
            # One short line per image, printed whole: the lines of the
            # background checks do not mix.
            checks.append(
                f"printf '%s %s\\n' {shlex.quote(image)} "
                f"\"$(curl -s -o /dev/null -I -w '%{{http_code}}' --max-time 10 "
                f"--netrc-file {shlex.quote(netrc_file)} --cacert {shlex.quote(ca_file)} "
                f'-H {shlex.quote("Accept: " + MANIFEST_TYPES)} {shlex.quote(url)} 2>/dev/null)" &'
            )
        return " ".join(checks) + " wait; true"

    def process(self, output):
        served = {}
        for line in output:
            image, _, code = line.partition(" ")
            served[image] = code.strip() == "200"
        return served
