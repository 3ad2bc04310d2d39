"""TLS mode: a throwaway CA and a server certificate for the emulator's loopback names.

Clients trust ``ca.pem`` (``verify=ca_file``, ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``); the server
serves ``server.pem`` / ``server-key.pem``. Keys are ECDSA P-256: fast to generate, accepted by every
TLS stack Airflow's clients use.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_NAMES = ("127.0.0.1", "::1", "localhost")
CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"
VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """What uvicorn serves (``certfile``, ``keyfile``) and what clients trust (``ca_file``, or None)."""

    certfile: str
    keyfile: str
    ca_file: str | None


def generate(directory: str | Path, names: Iterable[str] = DEFAULT_NAMES) -> TlsFiles:
    """Write a new CA and a server certificate for ``names`` (IP addresses or DNS names) in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mediajobs emulator test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mediajobs emulator")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = out / CA_FILE, out / CERT_FILE, out / KEY_FILE
    ca_path.write_bytes(ca_cert.public_bytes(pem))
    cert_path.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    key_bytes = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    return TlsFiles(str(cert_path), str(key_path), str(ca_path))


def resolve(
    host: str,
    *,
    certfile: str | Path | None,
    keyfile: str | Path | None,
    tls_dir: str | Path | None,
) -> tuple[TlsFiles, tempfile.TemporaryDirectory[str] | None]:
    """Your own ``certfile``/``keyfile`` (no CA known), or generated files in ``tls_dir`` / a temp dir.

    Returns the files and the temporary directory to keep alive (``None`` unless one was made).
    """
    if (certfile is None) != (keyfile is None):
        raise ValueError("certfile and keyfile go together")
    if certfile is not None and keyfile is not None:
        for path in (certfile, keyfile):
            if not Path(path).is_file():
                raise ValueError(f"{path}: no such file")
        return TlsFiles(str(certfile), str(keyfile), None), None
    names = list(DEFAULT_NAMES)
    if host not in ("", "0.0.0.0", "::"):  # noqa: S104 - names for the certificate, not a bind
        names.append(host)
    if tls_dir is not None:
        return generate(tls_dir, names), None
    tmp = tempfile.TemporaryDirectory(prefix="mediajobs-emulator-tls-")
    return generate(tmp.name, names), tmp
