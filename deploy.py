"""pyinfra INVENTORY deploy.py: turn the inventory's servers into a ConvectHub cluster.

The manual's flow, one @deploy per step (deploys/). Everything that can be
refused is refused first, before any host changes: the inventory, the air-gap
bundle on the provisioner, then every host's preflight.
"""

import getpass
import os

from pyinfra import host, inventory, state

from convecthub import footprint
from convecthub.cluster import nodes
from convecthub.cluster.check import require_valid_inventory, require_verified_bundle
from convecthub.cluster.jupyterhub_values import our_values
from convecthub.cluster.plan import plan_of
from convecthub.cluster.provisioner import front_certificate, operator_values, registry_credentials, registry_tls
from convecthub.cluster.state import apply_secrets
from convecthub.pyinfra_fixes.changes import run_changed_something
from deploys.base import base_system
from deploys.bundle import distribute_bundle, node_bundle_directory
from deploys.docker import docker_engine
from deploys.gpu_nodes import gpu_nodes_labelled
from deploys.jupyterhub import jupyterhub
from deploys.k3s_agent import k3s_agent
from deploys.k3s_node import k3s_node_files
from deploys.k3s_server import k3s_server
from deploys.nvidia import nvidia
from deploys.preflight import bundle_bytes_to_arrive, preflight
from deploys.registry import image_registry
from deploys.verify import verify
from operations import files, k3s

require_valid_inventory()
apply_secrets()
manifest = require_verified_bundle(host.data.bundle_dir)
# Every host's facts, checked together: one table of every problem, or go.
preflight(bundle_bytes=bundle_bytes_to_arrive(manifest))

plan = plan_of(state)  # the cluster's layout, decided once for the run
me = plan.node(host)
staging = footprint.staging_directory(host.data.convect_workdir)
bundle_directory = node_bundle_directory(host.data)

files.staging_directory(
    name="Staging directory for uploads",
    path=staging,
    login_user=host.data.get("ssh_user") or getpass.getuser(),
)
distribute_bundle(
    local_directory=os.path.abspath(host.data.bundle_dir),
    manifest=manifest,
    peer_port=host.data.bundle_peer_port,
)
base_system(staging_dir=staging)
if host.data.install_docker:
    docker_engine(docker_repo=host.data.get("docker_repo"), staging_dir=staging)
nvidia(
    has_gpu=me.has_gpu,
    install_driver=host.data.install_nvidia_driver,
    driver_version=str(host.data.nvidia_driver_version),
    reboot=host.data.nvidia_reboot,
)

ca, registry_cert = registry_tls(host.data, state, plan.registry_ip)
if me.runs_registry:
    password, htpasswd_line = registry_credentials(host.data, state)
    image_registry(
        address=plan.registry_address,
        tls_cert=registry_cert.cert_pem,
        tls_key=registry_cert.key_pem,
        ca_cert=ca.cert_pem,
        password=password,
        htpasswd_line=htpasswd_line,
        manifest=manifest,
        bundle_directory=bundle_directory,
        staging_dir=staging,
    )

restart_on = k3s_node_files(
    manifest=manifest,
    arch=me.arch,
    bundle_directory=bundle_directory,
    registry_address=plan.registry_address,
    registry_password=host.data.registry_password,
    registry_ca=ca.cert_pem,
    staging_dir=staging,
)
# pyinfra orders one host's steps after another's only across a step both
# run (docs/architecture.md): the agents join once the servers have started
# (with the token the first server wrote), the cluster is checked once they have.
if me.runs_k3s_server:
    k3s_server(plan=plan, node=me, token=host.data.convect_token, restart_on=restart_on, staging_dir=staging)
k3s.all_hosts_reached(name="K3s servers started: the agents join now")
if me.runs_k3s_agent:
    k3s_agent(plan=plan, node=me, token=host.data.convect_token, restart_on=restart_on, staging_dir=staging)
k3s.all_hosts_reached(name="K3s agents started: JupyterHub and the checks now")

if me.runs_jupyterhub:
    front = front_certificate(host.data, state, inventory)
    chart = nodes.chart_bytes(manifest, host.data.bundle_dir)
    jupyterhub(
        chart=chart,
        values=operator_values(host.data, state, our_values(nodes.images_by_entry(manifest), plan.any_gpu), chart),
        http_port=host.data.http_port,
        https_port=host.data.https_port,
        cert_pem=front.cert_pem,
        key_pem=front.key_pem,
        device_plugin_image=nodes.image_of(manifest, "nvidia-device-plugin") if plan.any_gpu else None,
        staging_dir=staging,
    )
    # The hosts still in the run (a host that failed is left out).
    names = plan.node_names(inventory.iter_activated_hosts())
    gpu_nodes_labelled(node_names=names)
    verify(
        nodes={name: node for node, name in names.items()},
        login_url=f"https://{plan.first_address}:{host.data.https_port}/hub/login",
        registry_address=plan.registry_address,
        registry_host=plan.registry_host.name,
        _if=run_changed_something(state),
    )
