"""Test credentials: fresh RSA keys as PEM text (TAMS signature mode) and sentinel API keys."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def rsa_pem(key: rsa.RSAPrivateKey | None = None) -> str:
    """A private key (a fresh 2048-bit one unless given) as unencrypted PKCS#8 PEM text."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def tams_key_pair(public_file: Path) -> str:
    """A fresh key pair: the public key written to ``public_file`` (what the emulator verifies
    with, ``tams_public_key=``), the private key returned as PEM text (the connection's)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return rsa_pem(key)


def sentinel_keys(prefix: str, providers: Iterable[str], nbytes: int = 16) -> dict[str, str]:
    """A distinctive API key per provider (``<prefix>-<provider>-<random hex>``) nobody else uses,
    so a leak into logs, XCom or the database can be searched for."""
    return {p: f"{prefix}-{p}-{secrets.token_hex(nbytes)}" for p in providers}
