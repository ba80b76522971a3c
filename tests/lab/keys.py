"""The lab's SSH key and secret files, written 0600 from the first byte."""

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class KeyPair:
    private_path: Path
    public_line: str


def write_secret(path: Path, content: str) -> None:
    """Write `content` to a file only its owner can read, replacing it."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)


def ensure_ssh_key(private_path: Path) -> KeyPair:
    """Load the lab's ed25519 key, making it on first use."""
    public_path = private_path.with_suffix(".pub")
    if not private_path.exists() or not public_path.exists():
        key = Ed25519PrivateKey.generate()
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        public_line = (
            key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
            + " convecthub-lab\n"
        )
        write_secret(private_path, private_pem.decode())
        public_path.write_text(public_line)
    return KeyPair(private_path, public_path.read_text())
