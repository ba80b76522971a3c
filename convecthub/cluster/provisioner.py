"""What the provisioner makes for the cluster and keeps in its state
directory (next to the generated token): TLS material, the registry's
credentials, and the JupyterHub values to send. Computed from the inventory
and the operator's files, never from a node."""

from pathlib import Path

import yaml

from convecthub import footprint
from convecthub.cluster import nodes, tls
from convecthub.cluster.jupyterhub_values import merged, protected_overrides, schema_problems
from convecthub.cluster.state import load_or_create_htpasswd, state_file_path
from convecthub.problems import Problem, Refused, count


def _state_dir(data, state) -> Path:
    return state_file_path(data.get("convecthub_state_dir"), state.cwd).parent


def _read(path: str, state) -> str:
    return (Path(state.cwd or ".") / Path(path).expanduser()).read_text()


def registry_tls(data, state, registry_ip: str) -> tuple:
    """(CA, registry certificate): the operator's files when given, else a
    certificate for the registry's private address (the plan's) signed by the
    cluster CA."""
    if data.get("registry_tls_cert_file"):
        cert = tls.CertPair(_read(data.registry_tls_cert_file, state), _read(data.registry_tls_key_file, state))
        ca_file = data.get("registry_tls_ca_file")
        ca = tls.CertPair(_read(ca_file, state) if ca_file else cert.cert_pem, "")
        return ca, cert
    directory = _state_dir(data, state) / "tls"
    ca = tls.ensure_ca(directory)
    return ca, tls.ensure_server_cert(directory, "registry", [registry_ip], ca)


def front_certificate(data, state, inventory) -> tls.CertPair:
    """The HTTPS front's certificate: every node's private address (K3s's
    ServiceLB answers on all of them), signed by the cluster CA."""
    directory = _state_dir(data, state) / "tls"
    names = [nodes.private_address(node) for node in inventory]
    return tls.ensure_server_cert(directory, "front", names, tls.ensure_ca(directory))


def registry_credentials(data, state) -> tuple:
    """(password, htpasswd line) of the registry's one user."""
    password = data.registry_password
    line = load_or_create_htpasswd(
        state_file_path(data.get("convecthub_state_dir"), state.cwd), footprint.REGISTRY_USER, password
    )
    return password, line


class JupyterHubValuesRefused(Refused):
    """The operator's values undo a setting the deploy is built on."""

    @classmethod
    def heading(cls, problems: list[Problem]) -> str:
        return f"the JupyterHub values are refused ({count(problems, 'problem')}), nothing was changed on any host:"


def operator_values(data, state, ours: dict, chart: bytes) -> dict:
    """Our values with the operator's (jhub_config_path) merged over them;
    refused, naming each key, where they would undo what the deploy relies
    on, or where the chart's values.schema.json refuses them (as `helm
    install` would, on the cluster, long after the hosts changed)."""
    theirs = yaml.safe_load(_read(data.jhub_config_path, state)) or {}
    where = f"jhub_config_path={data.jhub_config_path}"
    conflicts = protected_overrides(theirs)
    if conflicts:
        fix = "remove it from the file (the deploy serves JupyterHub through K3s's Traefik on http_port/https_port)"
        raise JupyterHubValuesRefused([Problem(where, key, message, fix) for key, message in conflicts])
    values = merged(ours, theirs)
    refused = schema_problems(values, chart)
    if refused:
        fix = (
            "correct it in the file: the chart's values.schema.json (Zero to JupyterHub's reference) says what it takes"
        )
        raise JupyterHubValuesRefused([Problem(where, key or "(the values)", message, fix) for key, message in refused])
    return values
