"""Credentials and the auth checks: bearer/token keys and TAMS RSA signatures with replay protection."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TAMS_APP_ID = "emulator-app"
TAMS_SCHEME = "TAMS-SHA256-RSA"
TIMESTAMP_WINDOW_S = 300
_CACHE_PURGE_AT = 4096

_KEY_LOCK = threading.Lock()
_PROCESS_KEY: rsa.RSAPrivateKey | None = None


def _generated_key() -> rsa.RSAPrivateKey:
    """A 2048-bit key pair generated once per process (so many emulators start fast)."""
    global _PROCESS_KEY
    with _KEY_LOCK:
        if _PROCESS_KEY is None:
            _PROCESS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _PROCESS_KEY


@dataclass
class Credentials:
    keys: dict[str, str]
    app_id: str
    public_key: rsa.RSAPublicKey
    private_key_pem: str | None
    public_key_pem: str

    @classmethod
    def create(cls, keys: dict[str, str], public_key_file: str | Path | None = None) -> Credentials:
        """``keys``: each provider's accepted key; the TAMS key pair is loaded or generated."""
        if public_key_file is not None:
            pem = Path(public_key_file).read_bytes()
            loaded = serialization.load_pem_public_key(pem)
            if not isinstance(loaded, rsa.RSAPublicKey):
                raise ValueError(f"{public_key_file}: not an RSA public key")
            return cls(dict(keys), TAMS_APP_ID, loaded, None, pem.decode())
        private = _generated_key()
        private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = private.public_key()
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return cls(dict(keys), TAMS_APP_ID, public, private_pem, public_pem)


def scheme_key(header: str | None, scheme: str, expected: str) -> bool:
    """``Authorization: <scheme> <key>`` with the expected key (constant-time compare)."""
    if not header:
        return False
    got_scheme, _, value = header.strip().partition(" ")
    if got_scheme.lower() != scheme.lower():
        return False
    return hmac.compare_digest(value.strip().encode(), expected.encode())


class ReplayCache:
    """Keys (signed-string digests or nonces) accepted until a real epoch second; refuses them until then."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def clear(self) -> None:
        with self._lock:
            self._until.clear()

    def add_if_new(self, key: str, until: float) -> bool:
        now = time.time()
        with self._lock:
            if len(self._until) >= _CACHE_PURGE_AT:
                self._until = {k: t for k, t in self._until.items() if t > now}
            if self._until.get(key, 0.0) > now:
                return False
            self._until[key] = until
            return True


def parse_tams_header(header: str) -> dict[str, str] | None:
    scheme, _, rest = header.strip().partition(" ")
    if scheme != TAMS_SCHEME:
        return None
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def verify_tams(
    header: str,
    *,
    method: str,
    path_and_query: str,
    body: bytes,
    creds: Credentials,
    signatures: ReplayCache,
    nonces: ReplayCache | None = None,
) -> str | None:
    """Check a ``TAMS-SHA256-RSA`` header; ``None`` when valid, else the reason it is not.

    An exact replay (the same signed string) is refused while its timestamp is inside the window;
    with ``nonces`` (strict mode) a nonce is also refused a second time, whatever else changed.
    """
    fields = parse_tams_header(header)
    if fields is None:
        return "unsupported authorization scheme"
    missing = [k for k in ("app_id", "nonce_str", "timestamp", "signature") if not fields.get(k)]
    if missing:
        return f"signature header lacks {', '.join(missing)}"
    if not hmac.compare_digest(fields["app_id"].encode(), creds.app_id.encode()):
        return "unknown app_id"
    try:
        timestamp = int(fields["timestamp"])
    except ValueError:
        return "timestamp is not Unix seconds"
    if abs(time.time() - timestamp) > TIMESTAMP_WINDOW_S:
        return "timestamp outside the allowed window"
    try:
        signature = base64.b64decode(fields["signature"], validate=True)
    except (binascii.Error, ValueError):
        return "signature is not base64"
    message = b"\n".join(
        [
            method.upper().encode(),
            path_and_query.encode(),
            fields["timestamp"].encode(),
            fields["nonce_str"].encode(),
            body,
        ]
    )
    try:
        creds.public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "signature does not match"
    window_end = timestamp + TIMESTAMP_WINDOW_S + 1
    if nonces is not None and not nonces.add_if_new(fields["nonce_str"], window_end + TIMESTAMP_WINDOW_S):
        return "nonce already used"
    if not signatures.add_if_new(hashlib.sha256(message).hexdigest(), window_end):
        return "replayed request: this exact signed request was already accepted"
    return None
