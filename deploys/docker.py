"""Docker Engine on the nodes (the manual's `install_docker`), from
`docker_repo` when set, else the distribution's docker.io package. A node
that already has Docker is left as it is."""

import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import LinuxDistribution, Which
from pyinfra.operations import server, systemd

from convecthub import footprint as fp
from operations import files, system


@deploy("Docker")
def docker_engine(docker_repo: str | None, staging_dir: str):
    if host.get_fact(Which, command="docker"):
        host.noop("Docker is already installed")
        return
    if docker_repo:
        codename = host.get_fact(LinuxDistribution)["release_meta"].get("VERSION_CODENAME", "stable")
        server.shell(
            name="Docker repository key, from the repository itself",
            commands=[
                f"install -d -m 755 {fp.APT_KEYRINGS_DIR} && curl -fsSL {shlex.quote(docker_repo.rstrip('/') + '/gpg')} "
                f"-o {fp.DOCKER_KEYRING} && chmod 644 {fp.DOCKER_KEYRING}"
            ],
        )
        files.content(
            name="Docker APT source",
            dest=fp.DOCKER_APT_SOURCE,
            text=f"deb [signed-by={fp.DOCKER_KEYRING}] {docker_repo} {codename} stable\n",
            staging_dir=staging_dir,
        )
        packages = ["docker-ce", "docker-ce-cli", "containerd.io"]
    else:
        packages = ["docker.io"]
    system.packages_installed(name="Docker packages", packages=packages)
    systemd.service(name="Docker running", service=fp.DOCKER_UNIT, running=True, enabled=True)
