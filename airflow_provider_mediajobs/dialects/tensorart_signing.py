"""TAMS request signing (TAMS-SHA256-RSA): loading a PEM private key and signing a request.

Its own module because it imports cryptography's RSA and serialization packages (~30 ms): the TAMS
dialect imports it only for a connection that has a private key, so parsing a DAG, importing the
hooks or a Bearer-mode connection never pays for it.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from airflow_provider_mediajobs.dialects.wire import CallContext
from airflow_provider_mediajobs.exceptions import MediaJobConfigError

_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)


def _normalize_pem(pem: str) -> str:
    """Repair the usual paste damage: ``\\n`` typed as two characters, or line breaks turned
    into spaces by a single-line password field. The base64 body is re-wrapped at 64 columns."""
    text = pem.strip().replace("\\n", "\n")
    match = _PEM.search(text)
    if not match:
        return text
    label, body = match.group(1), re.sub(r"\s+", "", match.group(2))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


# Loaded keys by the SHA-256 of their normalized PEM (never the PEM itself). OpenSSL's own key check
# (primality tests of p and q) costs 50-150 ms of CPU with the GIL held: paid for every wait that
# resolves its connection, it stalled a triggerer's event loop for seconds when hundreds of TAMS
# waits started together. A key is now loaded without that check, verified with exact arithmetic
# (well under a millisecond) and loaded once per process.
_KEY_CACHE: dict[str, Any] = {}
_KEY_CACHE_SIZE = 32


def load_private_key(pem: str, ctx: CallContext) -> Any:
    """Load a PKCS#1 or PKCS#8 PEM RSA private key; ``\\n`` typed as two characters is accepted."""
    text = _normalize_pem(pem)
    if "-----BEGIN" not in text:
        ctx.fail(
            MediaJobConfigError,
            "The TensorArt private key is not a PEM key (it should start with '-----BEGIN PRIVATE KEY-----' "
            "or '-----BEGIN RSA PRIVATE KEY-----').",
        )
    digest = hashlib.sha256(text.encode()).hexdigest()
    cached = _KEY_CACHE.get(digest)
    if cached is not None:
        return cached
    try:
        key = serialization.load_pem_private_key(
            text.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        ctx.fail(
            MediaJobConfigError,
            f"The TensorArt private key could not be loaded ({type(err).__name__}); paste the whole "
            "unencrypted PEM, PKCS#1 or PKCS#8.",
        )
    if not isinstance(key, rsa.RSAPrivateKey):
        ctx.fail(MediaJobConfigError, "The TensorArt private key must be an RSA key (TAMS-SHA256-RSA).")
    if not _consistent(key):
        ctx.fail(
            MediaJobConfigError,
            "The TensorArt private key is damaged: its numbers do not belong together, so its signatures "
            "would be wrong. Paste the whole unencrypted PEM again.",
        )
    if len(_KEY_CACHE) >= _KEY_CACHE_SIZE:
        _KEY_CACHE.pop(next(iter(_KEY_CACHE)))
    _KEY_CACHE[digest] = key
    return key


def _consistent(key: Any) -> bool:
    """The RSA key's numbers fit together: n = p*q and d, d mod p-1, d mod q-1, q^-1 mod p are the
    right inverses. A key that fails this would sign wrongly (and a wrong CRT signature can reveal
    the key to whoever sees it), which is what OpenSSL's slower check guards against."""
    numbers = key.private_numbers()
    p, q, d = numbers.p, numbers.q, numbers.d
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    if p < 3 or q < 3 or p * q != n:
        return False
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    return (
        (e * d) % lam == 1
        and (e * numbers.dmp1) % (p - 1) == 1
        and (e * numbers.dmq1) % (q - 1) == 1
        and (q * numbers.iqmp) % p == 1
    )


def sign(private_key: Any, method: str, path_and_query: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Base64 SHA256withRSA over ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY``."""
    message = "\n".join([method.upper(), path_and_query, timestamp, nonce]).encode() + b"\n" + body
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
