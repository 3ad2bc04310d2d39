"""engine/limits.py: bodies within the size cap, bounded decoding, and library errors as typed errors.

The hostile-answer suite (tests/reliability/test_hostile_answers.py) drives these through real
sockets; here the well-formed cases are checked too: an encoded answer a server sends anyway is
decoded correctly in any split, and a refused or dropped connection is not called a timeout.
"""

from __future__ import annotations

import gzip
import socket
import zlib
from collections.abc import Callable

import pytest
import requests

from airflow_provider_mediajobs.engine.errormap import describe
from airflow_provider_mediajobs.engine.limits import BadEncoding, BodyReader, ResponseTooLarge
from airflow_provider_mediajobs.exceptions import MediaJobBadResponseError, MediaJobTransientError

pytestmark = pytest.mark.usefixtures("provider_connections")  # <provider>_default for every provider

BODY = b'{"status": "processing", "progress": 42, "pad": "' + b"x" * 200_000 + b'"}'


def _read(reader: BodyReader, data: bytes, step: int) -> bytes:
    for i in range(0, len(data), step):
        reader.feed(data[i : i + step])
    return reader.finish()


@pytest.mark.parametrize("step", [1 << 20, 4096, 7])
@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # RFC 1950, as the standard says
        ("deflate", lambda b: zlib.compress(b, wbits=-zlib.MAX_WBITS)),  # raw, as servers often send
    ],
)
def test_a_well_formed_answer_is_read_whole_in_any_split(
    encoding: str | None, encode: Callable[[bytes], bytes], step: int
) -> None:
    data = encode(BODY)
    if step == 7 and len(data) > 100_000:
        step = 997  # a byte-wise split of 200 KB costs seconds, not coverage
    assert _read(BodyReader(1 << 20, encoding, str(len(data))), data, step) == BODY


def test_the_cap_counts_decoded_bytes_and_wire_bytes() -> None:
    bomb = gzip.compress(b"0" * (8 << 20))
    with pytest.raises(ResponseTooLarge) as decoded:
        _read(BodyReader(1 << 20, "gzip", None), bomb, 4096)
    assert not decoded.value.declared and decoded.value.size <= (1 << 20) + 64 * 1024
    with pytest.raises(ResponseTooLarge):
        _read(BodyReader(1000, None, None), b"x" * 1001, 100)
    with pytest.raises(ResponseTooLarge) as declared:
        BodyReader(1000, None, "1001")
    assert declared.value.declared
    assert BodyReader(1000, None, "-5").finish() == b""  # not a length: the streaming cap decides


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br"])
def test_an_encoding_not_asked_for_is_refused(encoding: str) -> None:
    with pytest.raises(BadEncoding):
        BodyReader(1000, encoding, None)


def test_a_corrupt_compressed_body_is_a_bad_encoding() -> None:
    with pytest.raises(BadEncoding):
        _read(BodyReader(1000, "gzip", None), b"\x1f\x8b not gzip at all", 4)


def test_a_refused_connection_is_transient_and_not_called_a_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(requests.ConnectionError) as caught:
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    cls, what = describe(caught.value, 2.0)
    assert cls is MediaJobTransientError
    assert "could not connect" in what and "timeout" not in what


def test_describe_maps_the_limits_own_errors() -> None:
    assert describe(ResponseTooLarge(5000, 1000), 2.0)[0] is MediaJobBadResponseError
    assert describe(BadEncoding("x"), 2.0)[0] is MediaJobBadResponseError
    cls, what = describe(TimeoutError(), 2.0, deadline_hit=True)
    assert cls is MediaJobTransientError and "2s" in what


def test_the_sync_session_gets_the_deadline_adapter_with_its_settings() -> None:
    from requests.adapters import HTTPAdapter

    from airflow_provider_mediajobs.engine.syncpool import DeadlineAdapter, ensure_deadline_adapter

    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=2, pool_maxsize=3))
    ensure_deadline_adapter(session, "https://api.example/v1/jobs/1")
    https, http = session.get_adapter("https://api.example/"), session.get_adapter("http://api.example/")
    assert isinstance(https, DeadlineAdapter) and isinstance(http, DeadlineAdapter)
    assert https.max_retries.total == 2 and https._pool_maxsize == 3
    pool = https.poolmanager.connection_from_url("https://api.example/")
    assert type(pool).__name__ == "ReportingHTTPSConnectionPool"

    class Custom(HTTPAdapter):
        pass

    mine = Custom()
    other = requests.Session()
    other.mount("https://", mine)
    ensure_deadline_adapter(other, "https://api.example/v1/jobs/1")
    assert other.get_adapter("https://api.example/") is mine  # a session's own adapter is kept
