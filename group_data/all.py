"""
Defaults for every host: the manual's variables, then the few our design adds.

pyinfra makes every top-level name here host data for all hosts. A value set in
the inventory for a host (or, in an INI inventory, in [group:vars] or
[all:vars]) overrides these. The table in docs/inventory.md says which role
reads each one. Nothing here may be a secret: this file is committed.
"""

# --- The manual's variables ---

# Directory on each node where ConvectHub stages bundles and manifests. Under
# /var/lib rather than the manual's /tmp/convecthub: /tmp is emptied by the
# reboot the NVIDIA driver needs.
convect_workdir = "/var/lib/convecthub"

# K3s cluster token. Leave unset: a strong one is generated on the first run and
# kept in .convecthub/state.json (0600). If set: 32+ random characters.
convect_token = None

# The node has an NVIDIA GPU (set per host): installs the driver and toolkit,
# labels the node and offers GPU profiles.
has_gpu = False

# Zero to JupyterHub values file on the provisioner (a YAML mapping). Required.
jhub_config_path = None

# Ports the cluster serves JupyterHub on, on every node (HTTP redirects to HTTPS).
http_port = 80
https_port = 443

# Set to False where the NVIDIA driver is already installed.
install_nvidia_driver = True

# Ubuntu's NVIDIA server driver branch, installed on has_gpu hosts as
# nvidia-headless-<version>-server and nvidia-utils-<version>-server.
nvidia_driver_version = "550"

# The driver needs a reboot before GPUs work. False: the deploy says so and
# leaves the reboot to you. True: it reboots such a host itself.
nvidia_reboot = False

# Set to False where Docker is already installed.
install_docker = True

# Docker APT repository (e.g. https://download.docker.com/linux/ubuntu or your
# mirror of it). Unset: the distribution's own docker.io package.
docker_repo = None

# The node's network interface on the private network (e.g. eth1). Required
# for every host: K3s binds node-ip and flannel to it.
my_iface = None

# --- Added by this deploy ---

# Preflight minimums: the manual's 2 CPUs, 4 GB memory, 10 GB free under
# convect_workdir (plus the bundle files the host will hold). GB = 10^9 bytes,
# so a "4 GiB" VM whose MemTotal is ~3.8 GiB passes. Lower only for trials.
preflight_min_cpus = 2
preflight_min_memory_gb = 4
preflight_min_disk_gb = 10

# Port of the private image registry on the registry host.
registry_port = 5000

# TLS for the registry, files on the provisioner: certificate and key together,
# plus the CA that signed them if it is not a public one. Unset: the deploy
# makes a CA (kept in the state directory) and a certificate for the
# registry's private address.
registry_tls_cert_file = None
registry_tls_key_file = None
registry_tls_ca_file = None

# reset.py keeps the registry's stored images when True.
keep_registry_data = False

# reset.py leaves what the deploy installed from APT (Docker, the NVIDIA
# driver and toolkit, the registry package, skopeo) unless this is True.
reset_remove_packages = False

# The air-gap bundle on the provisioner (built by `python -m convecthub.bundle
# build`), relative to where pyinfra runs. Checked before any host is touched.
bundle_dir = "bundle"

# TCP port the first driver serves the bundle on, over the private network,
# while other nodes fetch their files from it (only during the deploy).
bundle_peer_port = 8473

# Local directory (on the provisioner, relative to where pyinfra runs) for
# generated secrets: one per cluster, e.g. .convecthub/lab (git-ignored).
convecthub_state_dir = ".convecthub"

# --- pyinfra's own variables, with other defaults than pyinfra's ---

# A host seen for the first time: save its key and print its fingerprint, as
# OpenSSH's StrictHostKeyChecking=accept-new (pyinfra's default asks on the
# terminal). A changed key is always refused. "yes": known keys only.
ssh_strict_host_key_checking = "accept-new"
