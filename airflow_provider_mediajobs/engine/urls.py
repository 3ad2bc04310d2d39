"""The one URL policy: which URLs a provider may hand us, and how they are shown and used.

Everything a provider answers is untrusted. An output URL is accepted only when it is a plain
``http``/``https`` URL with a valid host: a DNS name (IDNA-encoded, letters, digits, ``-``, ``_``),
a dotted-quad IPv4 address or a bracketed IPv6 address; no user info, no control characters,
spaces or backslashes, a port in 1..65535, at most :data:`MAX_URL_LENGTH` characters. Numeric
hosts in any other spelling (``2852039166``, ``0251.0376.0251.0376``, ``0x7f.1``) are refused:
browsers and resolvers read them as IPv4 addresses, and no provider serves outputs from them.

The policy is applied where a status answer is parsed (:meth:`Dialect.read_status` drops a refused
output with a logged reason) and again where a URL is used: the Media view's links and its
Content-Security-Policy (:func:`csp_source`, built from the parsed host and port, never from the
raw text) and downloads (:func:`check_url`, plus :func:`refusal_of_address` on every address
a download connects to). This module is pure: no I/O, no Airflow import.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 8192
SCHEMES = ("http", "https")

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
# a URL inside free text (an error message, a log line): its query and fragment are cut
_URL_IN_TEXT = re.compile(r"(?i)\b((?:https?|wss?|ftp)://[^\s?#<>\"']*)[?#][^\s<>\"']*")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(ValueError):
    """A URL the policy refuses. ``reason`` is one of :data:`REASONS`; ``str()`` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


#: why a URL was refused (``UrlRefused.reason``)
REASONS = ("malformed", "scheme", "credentials", "host", "port", "address")


@dataclass(frozen=True)
class CheckedUrl:
    """A URL the policy accepted, with its parsed parts.

    ``host`` is ASCII: an IDNA-encoded name, an IPv4 address or an IPv6 address (no brackets).
    """

    url: str
    scheme: str
    host: str
    port: int | None
    address: Address | None  # when the host is an IP address

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` in ASCII: safe in a header (a CSP source, a log line)."""
        host = f"[{self.host}]" if isinstance(self.address, ipaddress.IPv6Address) else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port is not None else "")


def check_url(url: object) -> CheckedUrl:
    """``url`` parsed and checked against the policy; :class:`UrlRefused` otherwise."""
    if not isinstance(url, str) or not url:
        raise UrlRefused("malformed", "the output URL is empty or not text")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused("malformed", f"the output URL is longer than {MAX_URL_LENGTH} characters")
    if _FORBIDDEN.search(url):
        raise UrlRefused("malformed", "the output URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("malformed", "the output URL cannot be parsed (bad host or port)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UrlRefused("scheme", f"scheme {scheme or 'none'!r}: only http and https URLs are used")
    if "@" in parts.netloc:
        raise UrlRefused("credentials", "the URL embeds credentials (user:password@host)")
    if port == 0:
        raise UrlRefused("port", "port 0 is not a port")
    raw_host = parts.hostname or ""
    if not raw_host:
        raise UrlRefused("host", "the URL has no host")
    if parts.netloc.startswith("["):
        try:
            v6 = ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise UrlRefused("host", "the bracketed host is not an IPv6 address") from None
        if v6.scope_id:
            raise UrlRefused("host", "the IPv6 host carries a zone (interface) id")
        return CheckedUrl(url, scheme, str(v6), port, v6)
    host = _ascii_host(raw_host)
    address = _ipv4(host)
    return CheckedUrl(url, scheme, str(address) if address else host, port, address)


def is_allowed(url: object) -> bool:
    try:
        check_url(url)
    except UrlRefused:
        return False
    return True


def csp_source(url: object) -> str | None:
    """The Content-Security-Policy source for ``url`` (``scheme://host[:port]``), or ``None``
    when the policy refuses it. Built from the parsed parts: nothing of the raw text gets in."""
    try:
        return check_url(url).origin
    except UrlRefused:
        return None


def _ascii_host(host: str) -> str:
    if not host.isascii():
        try:
            import idna  # ships with httpx

            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise UrlRefused("host", "the host is not a valid internationalized domain name") from None
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UrlRefused("host", "the host is not a valid domain name or IP address")
    return host


def _ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of a numeric host; refuses every spelling other than a plain dotted quad.

    A host whose last label is numeric is an IPv4 address to a browser (WHATWG URL) and to
    ``inet_aton`` (decimal, octal ``0``-prefixed, hex ``0x``, 1 to 4 parts).
    """
    labels = host.split(".")
    if not _NUMERIC_PART.match(labels[-1]):
        return None
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        shown = numeric_ipv4(host)
        spelled = f" (it means {shown})" if shown else ""
        raise UrlRefused(
            "host", f"the host is a number but not a plain dotted-quad IPv4 address{spelled}"
        ) from None
    return address


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """What ``inet_aton`` reads ``host`` as (``0x7f.1`` is 127.0.0.1), or ``None``."""
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_PART.match(p) for p in parts):
        return None
    try:
        values = [
            int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if p[:1] == "0" else int(p) for p in parts
        ]
    except ValueError:  # "0x" alone, "08"
        return None
    *front, last = values
    if any(v > 255 for v in front) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for position, value in enumerate(front):
        number |= value << (8 * (3 - position))
    return ipaddress.IPv4Address(number)


def refusal_of_address(address: Address) -> str | None:
    """Why a download must not connect to ``address`` (``"loopback"``, ``"private"``, ...), or
    ``None`` for a public address. IPv4 embedded in IPv6 (mapped, 6to4, Teredo, NAT64) is judged
    as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal_of_address(embedded)
    for name in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    if not address.is_global:  # shared (100.64/10), documentation, benchmarking ranges
        return "not globally routable"
    return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: refused even where private hosts are allowed: nothing of one's own is served from these
ALWAYS_REFUSED = frozenset({"unspecified", "link-local", "multicast"})


def shown_url(url: object) -> str:
    """``url`` as shown to people: no user info, query or fragment (a signed URL's query is a
    bearer token). Downstream tasks get the full URL from XCom; logs, pages and errors this."""
    text = url if isinstance(url, str) else ""
    try:
        parts = urlsplit(text)
        netloc = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=netloc, query="", fragment="").geturl()
    except ValueError:
        return "<unparseable URL>"


def strip_signed(text: str) -> str:
    """Free text (a provider's error message) with every embedded URL's query and fragment cut."""
    return _URL_IN_TEXT.sub(r"\1", text)


__all__ = [
    "ALWAYS_REFUSED",
    "MAX_URL_LENGTH",
    "REASONS",
    "CheckedUrl",
    "UrlRefused",
    "check_url",
    "csp_source",
    "is_allowed",
    "numeric_ipv4",
    "refusal_of_address",
    "shown_url",
    "strip_signed",
]
