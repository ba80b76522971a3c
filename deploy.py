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
from convecthub.cluster.provisioner import front_certificate, operator_values, registry_credentials, registry_tls
from convecthub.cluster.state import apply_secrets
from convecthub.pyinfra_fixes.changes import run_changed_something
from deploys.base import base_system
from deploys.bundle import distribute_bundle, node_bundle_directory
from deploys.docker import docker_engine
from deploys.jupyterhub import jupyterhub
from deploys.k3s_agent import agent_config, k3s_agent
from deploys.k3s_node import k3s_node_files
from deploys.k3s_server import k3s_server, server_config
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

roles = nodes.roles_of(host)
first = nodes.first_driver(inventory)
drivers = inventory.get_group("driver")
registry_address = nodes.registry_address(inventory)
staging = footprint.staging_directory(host.data.convect_workdir)
bundle_directory = node_bundle_directory(host.data)
gpu_label = ["nvidia.com/gpu.present=true"] if host.data.get("has_gpu") else []

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
    has_gpu=host.data.get("has_gpu"),
    install_driver=host.data.install_nvidia_driver,
    driver_version=str(host.data.nvidia_driver_version),
    reboot=host.data.nvidia_reboot,
)

ca, registry_cert = registry_tls(host.data, state, inventory)
if host == nodes.registry_host(inventory):
    password, htpasswd_line = registry_credentials(host.data, state)
    image_registry(
        address=registry_address,
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
    arch=nodes.architecture(host),
    bundle_directory=bundle_directory,
    registry_address=registry_address,
    registry_password=host.data.registry_password,
    registry_ca=ca.cert_pem,
    staging_dir=staging,
)
first_address = nodes.private_address(first)
if "driver" in roles:
    k3s_server(
        config_text=server_config(
            token=host.data.convect_token,
            node_ip=nodes.private_address(host),
            iface=host.data.my_iface,
            tls_sans=[nodes.private_address(driver) for driver in drivers],
            labels=gpu_label,
            join_url=None if host == first else footprint.k3s_api_url(first_address),
            cluster_init=len(drivers) > 1 and host == first,
        ),
        is_first=host == first,
        restart_on=restart_on,
        staging_dir=staging,
    )
else:
    k3s_agent(
        config_text=agent_config(
            token=host.data.convect_token,
            server_url=footprint.k3s_api_url(first_address),
            node_ip=nodes.private_address(host),
            iface=host.data.my_iface,
            labels=gpu_label,
        ),
        server_address=first_address,
        restart_on=restart_on,
        staging_dir=staging,
    )

if host == first:
    https_port = host.data.https_port
    front = front_certificate(host.data, state, inventory)
    device_plugin = next((e.image for e in manifest.entries if e.name == "nvidia-device-plugin"), None)
    jupyterhub(
        chart=nodes.chart_bytes(manifest, host.data.bundle_dir),
        values=operator_values(host.data, state, our_values(nodes.images_by_entry(manifest), nodes.any_gpu(inventory))),
        http_port=host.data.http_port,
        https_port=https_port,
        cert_pem=front.cert_pem,
        key_pem=front.key_pem,
        device_plugin_image=device_plugin if nodes.any_gpu(inventory) else None,
        staging_dir=staging,
    )
    # Node names of the hosts still in the run (a failed host is left out).
    names = nodes.on_each(nodes.node_name, list(inventory.iter_activated_hosts()))
    for node, name in names.items():
        if node.data.get("has_gpu"):
            k3s.node_labelled(
                name="GPU node labelled for the device plugin",
                node=name,
                label="nvidia.com/gpu.present",
                value="true",
            )
    verify(
        nodes={name: node for node, name in names.items()},
        login_url=f"https://{first_address}:{https_port}/hub/login",
        registry_address=registry_address,
        registry_host=nodes.registry_host(inventory).name,
        _if=run_changed_something(state),
    )
