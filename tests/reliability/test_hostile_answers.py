"""Hostile answers from a raw socket server end in a typed error, bounded in time and memory.

Each case runs in a child (forked by a forkserver: a fork of the multi-threaded pytest process could
inherit a lock another thread holds) with an address-space limit (RLIMIT_AS, about 1 GiB over what the
child starts with), so a regression that loops or buffers without bound fails its case instead of
taking the machine down. In the child a raw-socket server on 127.0.0.1 answers every request the
hostile way; the sync hook (requests) and the async hook (httpx on aiohttp) each read a job status
from it. Each must raise one of the package's typed errors within the connection's timeout plus
slack, grow the child's memory by less than 256 MB, and (async) never block the event loop for
more than a second, measured by a probe task. (For bytes sent on an idle keep-alive connection the
second of two calls is checked.)

A well-formed answer can still carry hostile output URLs (numeric spellings of the metadata and
loopback addresses, Content-Security-Policy injection, ``javascript:``/``data:``, CRLF, 100 KB):
both hooks read the job as the provider reports it, with those outputs dropped and each drop
logged with its typed reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import multiprocessing
import os
import resource
import socket
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from support.connections import connection_env, set_connections

TIMEOUT = 2.0  # the connection's timeout: the whole call, not one read
SLACK = 3.0
MAX_GROWTH = 256 * 1024 * 1024
CONN_ID = "hostile_vozo"
JOB_ID = "job-1"

Answer = Callable[[socket.socket], None]


def _head(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _hold(sock: socket.socket, seconds: float = 30.0) -> None:
    """Keep the connection open (the client has to give up on its own)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


def negative_content_length(sock: socket.socket) -> None:
    sock.sendall(
        _head("HTTP/1.1 200 OK", "Content-Type: application/json", "Content-Length: -1") + b'{"a": 1}'
    )
    _hold(sock)


def duplicate_content_length(sock: socket.socket) -> None:
    head = _head(
        "HTTP/1.1 200 OK", "Content-Type: application/json", "Content-Length: 2", "Content-Length: 40"
    )
    sock.sendall(head + b"{}" + b" " * 38)
    _hold(sock)


def te_and_cl(sock: socket.socket) -> None:
    body = b'{"status": "done"}'
    head = _head(
        "HTTP/1.1 200 OK",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
        f"Content-Length: {len(body)}",
    )
    sock.sendall(head + body)  # framed by Content-Length, not as chunks
    _hold(sock)


def slow_drip(sock: socket.socket) -> None:
    sock.sendall(_head("HTTP/1.1 200 OK", "Content-Type: application/json", "Content-Length: 1000"))
    try:
        for _ in range(1000):
            sock.sendall(b" ")
            time.sleep(0.5)  # every read is well within the timeout; the whole body never is
    except OSError:
        pass


def slow_headers(sock: socket.socket) -> None:
    """The status line and headers a byte at a time: no read waits long, the head takes ~45 s."""
    head = _head("HTTP/1.1 200 OK", "Content-Type: application/json", "Content-Length: 2") + b"{}"
    try:
        for i in range(len(head)):
            sock.sendall(head[i : i + 1])
            time.sleep(0.5)
    except OSError:
        pass


def endless_chunked(sock: socket.socket) -> None:
    sock.sendall(_head("HTTP/1.1 200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked"))
    chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
    try:
        while True:
            sock.sendall(chunk)
    except OSError:
        pass


@functools.cache
def _bomb() -> bytes:
    """128 KiB of gzip that inflates to 128 MiB (32x the default cap); built before the call is timed."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"0" * (1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(128)) + packer.flush()


def gzip_bomb(sock: socket.socket) -> None:
    body = _bomb()
    head = _head(
        "HTTP/1.1 200 OK",
        "Content-Type: application/json",
        "Content-Encoding: gzip",
        f"Content-Length: {len(body)}",
    )
    try:
        sock.sendall(head + body)
    except OSError:
        return
    _hold(sock)


def oversized_json(sock: socket.socket) -> None:
    """A valid JSON answer of 16 MiB, chunked (no length to refuse it by): the cap stops it while it streams."""
    sock.sendall(_head("HTTP/1.1 200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked"))
    item = b'"' + b"x" * 1022 + b'",'
    try:
        sock.sendall(b"1\r\n[\r\n")
        for _ in range(256):
            data = item * 64
            sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        sock.sendall(b'4\r\n"x"]\r\n0\r\n\r\n')
    except OSError:
        return
    _hold(sock)


def huge_header(sock: socket.socket) -> None:
    try:
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (4 * 1024 * 1024) + b"\r\nContent-Length: 2\r\n\r\n{}"
        )
    except OSError:
        return
    _hold(sock)


def garbage_status_line(sock: socket.socket) -> None:
    sock.sendall(b"SSH-2.0-OpenSSH_9.6 \x00\xff garbage\r\nContent-Length: 2\r\n\r\n{}")
    _hold(sock)


NOT_FOUND = b'{"message": "job not found"}'


def idle_keepalive_bytes(sock: socket.socket) -> None:
    """A clean keep-alive answer, then an unsolicited answer on the idle connection."""
    head = _head(
        "HTTP/1.1 404 Not Found", "Content-Type: application/json", f"Content-Length: {len(NOT_FOUND)}"
    )
    sock.sendall(head + NOT_FOUND)
    time.sleep(0.2)
    sock.sendall(_head("HTTP/1.1 200 OK", "Content-Type: application/json", "Content-Length: 2") + b"{}")
    _hold(sock)


WARM_UP = {"idle_keepalive_bytes"}  # cases whose hostile bytes come after one answer: two calls
CASES: dict[str, Answer] = {
    "idle_keepalive_bytes": idle_keepalive_bytes,
    "negative_content_length": negative_content_length,
    "duplicate_content_length": duplicate_content_length,
    "te_and_cl": te_and_cl,
    "slow_drip": slow_drip,
    "slow_headers": slow_headers,
    "endless_chunked": endless_chunked,
    "gzip_bomb": gzip_bomb,
    "oversized_json": oversized_json,
    "huge_header": huge_header,
    "garbage_status_line": garbage_status_line,
}


# ---- the child --------------------------------------------------------------------------------------
class HostileServer:
    """Accepts connections on 127.0.0.1; reads a request head, then answers with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        with sock:
            data = b""
            sock.settimeout(10)
            try:
                while b"\r\n\r\n" not in data:
                    more = sock.recv(4096)
                    if not more:
                        return
                    data += more
                self.answer(sock)
            except OSError:
                pass


def _status(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(key)


def _outcome(err: BaseException | None, started: float) -> dict[str, Any]:
    from airflow_provider_mediajobs.exceptions import MediaJobError

    return {
        "seconds": time.monotonic() - started,
        "error": type(err).__name__ if err is not None else None,
        "typed": isinstance(err, MediaJobError),
        "message": str(err)[:500] if err is not None else "",
    }


def _sync_read(warm_up: bool) -> dict[str, Any]:
    from airflow_provider_mediajobs.exceptions import MediaJobError
    from airflow_provider_mediajobs.hooks import hook_class

    hook = hook_class("vozo")(CONN_ID, retries=1)
    if warm_up:
        with contextlib.suppress(MediaJobError):
            hook.get_job(JOB_ID)
        time.sleep(0.5)
    started = time.monotonic()
    try:
        hook.get_job(JOB_ID)
    except BaseException as err:
        return _outcome(err, started)
    return _outcome(None, started)


async def _async_read(warm_up: bool) -> dict[str, Any]:
    from airflow_provider_mediajobs.exceptions import MediaJobError
    from airflow_provider_mediajobs.hooks import hook_class

    loop = asyncio.get_running_loop()
    lag = 0.0
    stop = False

    async def probe() -> None:
        nonlocal lag
        while not stop:
            before = loop.time()
            await asyncio.sleep(0.05)
            lag = max(lag, loop.time() - before - 0.05)

    ticker = asyncio.create_task(probe())
    await asyncio.sleep(0)
    hook = hook_class("vozo")(CONN_ID, retries=1)
    await hook.aget_config()  # the connection lookup is not part of the call being timed
    async with hook.status_reads(JOB_ID) as read:
        if warm_up:
            with contextlib.suppress(MediaJobError):
                await read()
            await asyncio.sleep(0.5)
        started = time.monotonic()
        try:
            await read()
        except BaseException as err:
            result = _outcome(err, started)
        else:
            result = _outcome(None, started)
    stop = True
    await ticker
    result["loop_lag"] = lag
    return result


def conn_to(server: HostileServer) -> dict[str, Any]:
    """A Vozo connection to the hostile server (short timeout, no client-side rate limit)."""
    return {
        "conn_type": "vozo",
        "host": f"http://127.0.0.1:{server.port}",
        "password": "hostile-test-key",
        "extra": {"timeout": TIMEOUT, "rate_limit": 0},
    }


def _child(case: str, path: str, conn: Any) -> None:
    try:
        server = HostileServer(CASES[case])
        os.environ.update(connection_env({CONN_ID: conn_to(server)}))
        # what the calls use is imported (and the bomb built) before the memory baseline is taken
        import aiohttp  # noqa: F401
        import httpx_aiohttp  # noqa: F401
        import requests  # noqa: F401

        import airflow_provider_mediajobs.engine.transport
        import airflow_provider_mediajobs.hooks  # noqa: F401

        if case == "gzip_bomb":
            _bomb()
        limit = _status("VmSize") + 1024 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        rss_before = _status("VmRSS")
        result = warm_up = case in WARM_UP
        result = _sync_read(warm_up) if path == "sync" else asyncio.run(_async_read(warm_up))
        result["growth"] = _status("VmHWM") - rss_before
        conn.send(result)
    except BaseException as err:  # MemoryError under the limit included: the parent reports it
        conn.send({"crash": f"{type(err).__name__}: {err}"[:500]})
    finally:
        conn.close()


# ---- the tests ----------------------------------------------------------------------------------
CHILDREN = multiprocessing.get_context("forkserver")
CHILDREN.set_forkserver_preload([__name__, "airflow_provider_mediajobs.hooks", "aiohttp", "requests"])


@pytest.mark.parametrize("path", ["sync", "async"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_answer_ends_in_a_typed_error(case: str, path: str) -> None:
    parent_end, child_end = CHILDREN.Pipe(duplex=False)
    child = CHILDREN.Process(target=_child, args=(case, path, child_end), daemon=True)
    child.start()
    child_end.close()
    try:
        assert parent_end.poll(TIMEOUT + SLACK + 10), f"{case} ({path}): no outcome, the call hung"
        result = parent_end.recv()
    except EOFError:
        pytest.fail(f"{case} ({path}): the child died (exit code {child.exitcode}) - memory limit?")
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
    assert "crash" not in result, f"{case} ({path}): {result.get('crash')}"
    assert result["error"] is not None, f"{case} ({path}): the hostile answer was accepted"
    assert result["typed"], f"{case} ({path}): untyped {result['error']}: {result['message']}"
    if case in WARM_UP:  # the server's real answer to the second request, not the stale bytes
        assert result["error"] == "MediaJobNotFoundError", f"{case} ({path}): {result['message']}"
    assert CONN_ID in result["message"] and "hostile-test-key" not in result["message"]
    assert result["seconds"] < TIMEOUT + SLACK, f"{case} ({path}): took {result['seconds']:.1f}s"
    assert result["growth"] < MAX_GROWTH, f"{case} ({path}): memory grew {result['growth'] >> 20} MiB"
    if path == "async":
        assert result["loop_lag"] < 1.0, f"{case}: event loop blocked {result['loop_lag']:.2f}s"


# ---- hostile output URLs in an otherwise well-formed answer ---------------------------------------
HOSTILE_URLS = {
    "decimal_metadata": "http://2852039166/latest/meta-data/",
    "octal_metadata": "http://0251.0376.0251.0376/latest/meta-data/",
    "two_part_metadata": "http://169.254.43518/latest/meta-data/",
    "hex_loopback": "http://0x7f.1:8080/out.mp4",
    "csp_injection": (
        "https://cdn.example;script-src-elem 'unsafe-inline' *;frame-ancestors *;"
        "report-uri https://evil.example/r;x/a.png"
    ),
    "javascript": "javascript:alert(document.cookie)",
    "data": "data:text/html,<script>alert(1)</script>",
    "crlf": "https://cdn.example/a.mp4\r\nSet-Cookie: a=b",
    "huge": "https://cdn.example/" + "a" * 100_000,
}


def _done_with(url: str) -> Answer:
    def answer(sock: socket.socket) -> None:
        body = json.dumps({"status": "done", "video_url": url}).encode()
        sock.sendall(
            _head("HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}") + body
        )

    return answer


@pytest.mark.parametrize("path", ["sync", "async"])
@pytest.mark.parametrize("case", sorted(HOSTILE_URLS))
def test_hostile_output_urls_are_dropped_and_the_job_still_reads(
    case: str, path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow_provider_mediajobs.hooks import hook_class
    from airflow_provider_mediajobs.models import JobState

    server = HostileServer(_done_with(HOSTILE_URLS[case]))
    try:
        set_connections(monkeypatch, {CONN_ID: conn_to(server)})
        hook = hook_class("vozo")(CONN_ID, retries=1)

        async def aread() -> Any:
            async with hook.status_reads(JOB_ID) as read:
                return await read()

        job = hook.get_job(JOB_ID) if path == "sync" else asyncio.run(aread())
    finally:
        server.listener.close()
    assert job.state is JobState.SUCCEEDED and job.outputs == ()
    reasons = [r for r in caplog.records if getattr(r, "mediajobs_refused", None)]
    assert reasons, f"{case} ({path}): dropped without a logged reason"
    text = reasons[0].getMessage()
    assert "UnsafeOutputUrlError" in text and CONN_ID in text and JOB_ID in text
    assert "\n" not in text and len(text) < 1000 and "hostile-test-key" not in text
