"""engine.http1: the keep-alive HTTP/1.1 transport every trigger's status read goes through.

Against the emulator (real HTTP on 127.0.0.1, its faults) and against tiny raw servers for what
the emulator cannot do (a server that drops idle keep-alive connections, chunked bodies).
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from airflow_provider_mediajobs.emulator import Emulator
from airflow_provider_mediajobs.engine.http1 import AsyncHTTP1Transport
from airflow_provider_mediajobs.engine.http1_parser import ResponseParser

TIMEOUTS = httpx.Timeout(5.0).as_dict()


def status_request(emu: Emulator, job_id: Any, timeout: dict[str, Any] | None = None) -> httpx.Request:
    key = emu.credentials("tensorpix")["api_key"]
    return httpx.Request(
        "GET",
        f"{emu.base_url('tensorpix')}/api/jobs/{job_id}/",
        headers={"Authorization": f"Token {key}", "Accept": "application/json"},
        extensions={"timeout": timeout or TIMEOUTS},
    )


# ---- the response parser -------------------------------------------------------------------------
def feed_all(parser: ResponseParser, data: bytes, step: int) -> None:
    for i in range(0, len(data), step):
        parser.feed(data[i : i + step])


@pytest.mark.parametrize("step", [1, 3, 1000])
def test_parser_content_length_in_any_split(step: int) -> None:
    raw = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a": true}'
    parser = ResponseParser()
    feed_all(parser, raw, step)
    assert parser.done and parser.status == 200 and parser.keep_alive
    assert b"".join(parser.body) == b'{"a": true}'
    assert (b"Content-Type", b"application/json") in parser.headers


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_parser_chunked_with_extensions_and_trailers(step: int) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    parser = ResponseParser()
    feed_all(parser, raw, step)
    assert parser.done and b"".join(parser.body) == b"Wikipedia" and parser.keep_alive


def test_parser_close_delimited_body_ends_at_eof_and_is_not_reusable() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.0 200 OK\r\n\r\npartial")
    parser.feed(b" body")
    assert not parser.done
    assert parser.eof() and b"".join(parser.body) == b"partial body" and not parser.keep_alive


def test_parser_skips_interim_responses_and_honours_connection_close() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    assert parser.done and parser.status == 204 and not parser.keep_alive


@pytest.mark.parametrize(
    "raw",
    [b"garbage\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"],
)
def test_parser_rejects_malformed_heads(raw: bytes) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        ResponseParser().feed(raw)


# ---- against the emulator ------------------------------------------------------------------------
async def test_many_concurrent_reads_share_a_bounded_number_of_connections(
    mediajobs_emulator: Emulator,
) -> None:
    emu = mediajobs_emulator
    ids = [emu.add_job("tensorpix", queued_s=1000, running_s=10) for _ in range(40)]
    transport = AsyncHTTP1Transport(max_connections=3)
    try:
        before = emu.stats()["connections"]
        responses = await asyncio.gather(
            *(transport.handle_async_request(status_request(emu, i)) for i in ids * 3)
        )
    finally:
        await transport.aclose()
    assert [r.status_code for r in responses] == [200] * 120
    assert [r.json()["id"] for r in responses] == ids * 3
    assert emu.stats()["connections"] - before <= 3
    assert transport.connections_opened <= 3


async def test_as_the_transport_of_an_httpx_client(mediajobs_emulator: Emulator) -> None:
    emu = mediajobs_emulator
    job = emu.add_job("tensorpix", outcome="succeeded", queued_s=0, running_s=0)
    key = emu.credentials("tensorpix")["api_key"]
    async with httpx.AsyncClient(transport=AsyncHTTP1Transport(), timeout=5) as client:
        response = await client.get(
            f"{emu.base_url('tensorpix')}/api/jobs/{job}/", headers={"Authorization": f"Token {key}"}
        )
        created = await client.post(
            f"{emu.base_url('tensorpix')}/api/jobs/from-url/",
            headers={"Authorization": f"Token {key}"},
            json={"url": "https://example.com/in.mp4"},
        )
    assert response.status_code == 200 and response.json()["status"] == 2
    assert created.status_code == 201 and created.json()["id"]


@pytest.mark.parametrize("kind", ["reset", "truncated"])
async def test_a_broken_answer_is_a_transport_error_and_the_pool_recovers(
    mediajobs_emulator: Emulator, kind: str
) -> None:
    emu = mediajobs_emulator
    job = emu.add_job("tensorpix", queued_s=1000, running_s=10)
    emu.inject_fault(provider="tensorpix", route="status", kind=kind, count=1)
    transport = AsyncHTTP1Transport(max_connections=1)
    try:
        with pytest.raises(httpx.TransportError):
            await transport.handle_async_request(status_request(emu, job))
        again = await transport.handle_async_request(status_request(emu, job))
    finally:
        await transport.aclose()
    assert again.status_code == 200


async def test_read_timeout_closes_only_that_connection(mediajobs_emulator: Emulator) -> None:
    emu = mediajobs_emulator
    job = emu.add_job("tensorpix", queued_s=1000, running_s=10)
    emu.inject_fault(provider="tensorpix", route="status", kind="latency", delay_s=2, count=1)
    transport = AsyncHTTP1Transport(max_connections=2)
    short = httpx.Timeout(5.0, read=0.2).as_dict()
    try:
        with pytest.raises(httpx.ReadTimeout):
            await transport.handle_async_request(status_request(emu, job, short))
        ok = await transport.handle_async_request(status_request(emu, job))
    finally:
        await transport.aclose()
    assert ok.status_code == 200


async def test_pool_timeout_when_every_connection_stays_busy(mediajobs_emulator: Emulator) -> None:
    emu = mediajobs_emulator
    job = emu.add_job("tensorpix", queued_s=1000, running_s=10)
    emu.inject_fault(provider="tensorpix", route="status", kind="latency", delay_s=1, count=1)
    transport = AsyncHTTP1Transport(max_connections=1)
    try:
        slow = asyncio.create_task(transport.handle_async_request(status_request(emu, job)))
        await asyncio.sleep(0.1)  # the slow request holds the only connection
        with pytest.raises(httpx.PoolTimeout):
            await transport.handle_async_request(
                status_request(emu, job, httpx.Timeout(5.0, pool=0.05).as_dict())
            )
        assert (await slow).status_code == 200
    finally:
        await transport.aclose()


async def test_a_cancelled_queued_request_does_not_leak_its_slot(mediajobs_emulator: Emulator) -> None:
    emu = mediajobs_emulator
    job = emu.add_job("tensorpix", queued_s=1000, running_s=10)
    transport = AsyncHTTP1Transport(max_connections=1)
    try:
        tasks = [
            asyncio.create_task(transport.handle_async_request(status_request(emu, job))) for _ in range(5)
        ]
        await asyncio.sleep(0)
        for task in tasks[1:4]:
            task.cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        assert sum(isinstance(d, asyncio.CancelledError) for d in done) == 3
        assert all(d.status_code == 200 for d in done if isinstance(d, httpx.Response))
        more = await asyncio.gather(
            *(transport.handle_async_request(status_request(emu, job)) for _ in range(5))
        )
    finally:
        await transport.aclose()
    assert [r.status_code for r in more] == [200] * 5


# ---- raw servers: what the emulator does not do --------------------------------------------------
Handler = Callable[[int, int], bytes | None]  # (connection number, request number on it) -> answer


async def _raw_server(handler: Handler) -> tuple[asyncio.Server, list[int]]:
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(0)
        number = len(connections)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                connections[number - 1] += 1
                answer = handler(number, connections[number - 1])
                if answer is None:  # drop the connection without answering
                    break
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, connections


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Any]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> tuple[str, list[int]]:
        server, connections = await _raw_server(handler)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}", connections

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), b"".join(extra), body)


async def test_a_dead_keepalive_connection_is_retried_once_for_a_read(raw_server: Any) -> None:
    # The server answers the first request on each connection and silently drops the connection
    # on the second one: what a server closing an idle keep-alive connection looks like.
    url, connections = await raw_server(lambda conn, req: ok(b"{}") if req == 1 else None)
    transport = AsyncHTTP1Transport()
    try:
        first = await transport.handle_async_request(
            httpx.Request("GET", url + "/a", extensions={"timeout": TIMEOUTS})
        )
        second = await transport.handle_async_request(
            httpx.Request("GET", url + "/b", extensions={"timeout": TIMEOUTS})
        )
        with pytest.raises(httpx.RemoteProtocolError):  # a create is never sent twice
            await transport.handle_async_request(
                httpx.Request("POST", url + "/c", content=b"{}", extensions={"timeout": TIMEOUTS})
            )
    finally:
        await transport.aclose()
    assert first.status_code == second.status_code == 200
    # connection 1: /a, then /b dropped; connection 2: /b again, then the POST dropped (not resent)
    assert connections == [2, 2]


async def test_chunked_and_gzip_bodies(raw_server: Any) -> None:
    packed = gzip.compress(b'{"status": "done"}')
    chunked = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n5\r\n": 1}\r\n0\r\n\r\n'

    def answer(conn: int, req: int) -> bytes:
        return chunked if req == 1 else ok(packed, b"Content-Encoding: gzip\r\n")

    url, connections = await raw_server(answer)
    transport = AsyncHTTP1Transport()
    try:
        first = await transport.handle_async_request(
            httpx.Request("GET", url, extensions={"timeout": TIMEOUTS})
        )
        second = await transport.handle_async_request(
            httpx.Request("GET", url, extensions={"timeout": TIMEOUTS})
        )
    finally:
        await transport.aclose()
    assert first.json() == {"a": 1}
    assert second.json() == {"status": "done"}
    assert len(connections) == 1  # both on one keep-alive connection


async def test_connect_error_for_a_closed_port() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    transport = AsyncHTTP1Transport()
    try:
        with pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(
                httpx.Request("GET", f"http://127.0.0.1:{port}/", extensions={"timeout": TIMEOUTS})
            )
    finally:
        await transport.aclose()
