"""The output "CDN": HMAC-signed expiring URLs and small, valid media bodies."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import zlib
from functools import lru_cache
from importlib import resources
from urllib.parse import quote

IMAGE_SIZE = (256, 256)
MIN_VIDEO_BYTES = 64
CONTENT_TYPES = {
    "png": "image/png",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "srt": "text/plain; charset=utf-8",
}
ACCESS_DENIED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>AccessDenied</Code><Message>{message}</Message>"
    "<Resource>{resource}</Resource><RequestId>{request_id}</RequestId></Error>"
)


class Signer:
    """Signs ``/cdn/{provider}/{job_id}/{name}`` with an expiry (emulated epoch seconds)."""

    def __init__(self, secret: bytes | None = None) -> None:
        self.secret = secret or secrets.token_bytes(32)

    def signature(self, provider: str, job_id: str, name: str, expires: int) -> str:
        msg = f"{provider}/{job_id}/{name}\n{expires}".encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def url(self, base: str, provider: str, job_id: str, name: str, expires: int) -> str:
        sig = self.signature(provider, job_id, name, expires)
        path = f"/cdn/{quote(provider)}/{quote(job_id)}/{quote(name)}"
        return f"{base.rstrip('/')}{path}?expires={expires}&sig={sig}"

    def check(self, provider: str, job_id: str, name: str, expires: str, sig: str, now: float) -> str | None:
        """``None`` if the URL is valid now, else why it is denied."""
        try:
            exp = int(expires)
        except ValueError:
            return "Invalid expires parameter"
        expected = self.signature(provider, job_id, name, exp)
        if not hmac.compare_digest(expected, sig):
            return "The request signature we calculated does not match the signature you provided."
        if now > exp:
            return "Request has expired"
        return None


def access_denied(message: str, resource: str) -> str:
    request_id = secrets.token_hex(8).upper()
    return ACCESS_DENIED.format(message=message, resource=resource, request_id=request_id)


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


@lru_cache(maxsize=64)
def png(seed: str, width: int = IMAGE_SIZE[0], height: int = IMAGE_SIZE[1]) -> bytes:
    """A valid RGB PNG: a vertical gradient tinted by ``seed``."""
    digest = hashlib.sha256(seed.encode()).digest()
    r0, g0, b0 = digest[0], digest[1], digest[2]
    rows = []
    for y in range(height):
        shade = y * 255 // max(1, height - 1)
        pixel = bytes(((r0 + shade) & 0xFF, (g0 + shade // 2) & 0xFF, (b0 + 255 - shade) & 0xFF))
        rows.append(b"\x00" + pixel * width)  # filter type 0 (none), then the row's pixels
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + _chunk(b"IEND", b"")
    )


@lru_cache(maxsize=1)
def clip() -> bytes:
    """A real 2 s H.264 clip (160x90, 10 fps, ffmpeg's ``testsrc``), 3 KB.

    Made with ``ffmpeg -f lavfi -i testsrc=size=160x90:rate=10:duration=2 -c:v libx264 -profile:v
    baseline -pix_fmt yuv420p -crf 40 -bsf:v filter_units=remove_types=6 -movflags +faststart -an
    -map_metadata -1 -fflags +bitexact -flags:v +bitexact clip.mp4``.
    """
    return resources.files(__package__).joinpath("clip.mp4").read_bytes()


def _box(tag: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + tag + payload


def _filler(seed: str, length: int) -> bytes:
    pattern = hashlib.sha256(seed.encode()).digest()
    return (pattern * (length // len(pattern) + 1))[:length]


def mp4(size: int, seed: str) -> bytes:
    """An MP4 of exactly ``size`` bytes that differs per ``seed``.

    From the clip's size on it is the playable clip followed by a top-level ``free`` box of filler
    (ISO-BMFF readers skip it), so a browser can play and seek what a job produced; smaller sizes
    get an ``ftyp`` box and an ``mdat`` of filler, which is an MP4 container but no video.
    """
    size = max(MIN_VIDEO_BYTES, size)
    playable = clip()
    if size >= len(playable) + 8:
        return playable + _box(b"free", _filler(seed, size - len(playable) - 8))
    ftyp_box = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    return ftyp_box + _box(b"mdat", _filler(seed, size - len(ftyp_box) - 8))


def mp3(seed: str) -> bytes:
    """An ID3v2 tag followed by a few silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz)."""
    tag = b"ID3\x03\x00\x00\x00\x00\x00\x00"
    frame = b"\xff\xfb\x90\x64" + bytes(413)
    return tag + frame * 4


def srt(seed: str) -> bytes:
    return (
        "1\n00:00:00,000 --> 00:00:02,000\nHello from the mediajobs emulator.\n\n"
        f"2\n00:00:02,000 --> 00:00:04,000\n({seed})\n"
    ).encode()


def body_for(name: str, seed: str, output_bytes: int) -> tuple[bytes, str] | None:
    """The bytes and content type of a CDN object named ``name`` (``None``: unknown extension)."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext == "png":
        data = png(seed)
    elif ext == "mp4":
        data = mp4(output_bytes, seed)
    elif ext == "mp3":
        data = mp3(seed)
    elif ext == "srt":
        data = srt(seed)
    else:
        return None
    return data, CONTENT_TYPES[ext]
