"""TLS material made on the provisioner: the cluster's CA and the server
certificates it signs (the registry's, the HTTPS front's).

Everything is kept in the state directory and reused: a re-run uploads the
same bytes, so it changes nothing. A certificate is issued again only when
the names it must carry change or it is about to expire. Private keys are
written 0600.
"""

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
CERT_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class CertPair:
    cert_pem: str
    key_pem: str


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def ensure_ca(state_dir: Path, name: str = "ConvectHub cluster CA") -> CertPair:
    """The cluster's CA, made on first use and kept as ca.crt / ca.key."""
    cert_path, key_path = state_dir / "ca.crt", state_dir / "ca.key"
    if cert_path.exists() and key_path.exists():
        return CertPair(cert_path.read_text(), key_path.read_text())
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pair = CertPair(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))
    _write_private(key_path, pair.key_pem)
    cert_path.write_text(pair.cert_pem)
    return pair


def _subject_alternative_names(names) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def _still_good(cert_pem: str, ca: CertPair, names) -> bool:
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    if cert.issuer != ca_cert.subject or cert.not_valid_after_utc - _now() < RENEW_BEFORE:
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san) == set(_subject_alternative_names(names))


def ensure_server_cert(state_dir: Path, label: str, names: list, ca: CertPair) -> CertPair:
    """A server certificate for `names` (IP addresses and DNS names) signed by
    `ca`, kept as <label>.crt / <label>.key and reused while still right."""
    cert_path, key_path = state_dir / f"{label}.crt", state_dir / f"{label}.key"
    if cert_path.exists() and key_path.exists() and _still_good(cert_path.read_text(), ca, names):
        return CertPair(cert_path.read_text(), key_path.read_text())
    # The CA's key is ours (_new_key): an EC key.
    ca_key = cast(ec.EllipticCurvePrivateKey, serialization.load_pem_private_key(ca.key_pem.encode(), password=None))
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    key = _new_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(_subject_alternative_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pair = CertPair(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))
    _write_private(key_path, pair.key_pem)
    cert_path.write_text(pair.cert_pem)
    return pair
