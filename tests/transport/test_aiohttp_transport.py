"""The httpx transport over aiohttp: answers as httpx's own, errors typed by whether the request
can have reached the server, timeouts, TLS verification, and the connection limit."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from smartlicensing.transport import AiohttpTransport, proxy_for

PLAIN = ssl.create_default_context()


class Server:
    """A local aiohttp server with a route per behaviour; counts requests in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.release = asyncio.Event()
        self.release.set()
        app = web.Application()
        app.router.add_route("*", "/echo", self.echo)
        app.router.add_get("/slow", self.slow)
        app.router.add_get("/drop", self.drop)
        app.router.add_get("/gzip", self.gzipped)
        app.router.add_get("/held", self.held)
        # Handlers still waiting (slow, drop) are cancelled at once when a test ends.
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        self.url = ""

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
        return self.url

    async def echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        answer = {
            "method": request.method,
            "body": body.decode(),
            "signature": request.headers.get("X-Signature"),
            "query": request.query_string,
        }
        return web.json_response(answer, status=201, headers={"X-Answer": "yes"})

    async def slow(self, _: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def drop(self, request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(1)
        return web.Response(text="never sent")

    async def gzipped(self, _: web.Request) -> web.Response:
        body = gzip.compress(json.dumps({"compressed": True}).encode())
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    async def held(self, _: web.Request) -> web.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await self.release.wait()
        self.in_flight -= 1
        return web.Response(text="done")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    serving = Server()
    await serving.start()
    yield serving
    await serving.runner.cleanup()


def client(**kwargs: object) -> httpx.AsyncClient:
    timeout = kwargs.pop("timeout", httpx.Timeout(5.0))
    transport = AiohttpTransport(PLAIN, **kwargs)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, timeout=timeout)  # type: ignore[arg-type]


async def test_a_request_and_its_answer_arrive_as_with_httpx(server: Server) -> None:
    async with client() as http:
        response = await http.post(
            f"{server.url}/echo?page=2",
            content=b'{"a": 1}',
            headers={"X-Signature": "sig-1"},
        )

    assert response.status_code == 201
    assert response.headers["X-Answer"] == "yes"
    assert response.json() == {
        "method": "POST",
        "body": '{"a": 1}',
        "signature": "sig-1",
        "query": "page=2",
    }


async def test_a_compressed_answer_is_decoded_once(server: Server) -> None:
    async with client() as http:
        response = await http.get(f"{server.url}/gzip")

    assert response.json() == {"compressed": True}
    assert "content-encoding" not in response.headers


async def test_a_refused_connection_is_a_connect_error() -> None:
    closed = Server()
    url = await closed.start()
    await closed.runner.cleanup()  # nothing listens there any more

    async with client() as http:
        with pytest.raises(httpx.ConnectError, match="could not connect"):
            await http.get(f"{url}/echo")


async def test_no_answer_in_time_is_a_read_timeout(server: Server) -> None:
    async with client(timeout=httpx.Timeout(5.0, read=0.2)) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{server.url}/slow")


async def test_a_connection_lost_before_the_answer_may_have_been_acted_on(
    server: Server,
) -> None:
    async with client() as http:
        with pytest.raises(httpx.RemoteProtocolError, match="connection lost"):
            await http.get(f"{server.url}/drop")


async def test_requests_beyond_the_connection_limit_wait_for_a_connection(
    server: Server,
) -> None:
    server.release.clear()
    async with client(max_connections=2) as http:
        calls = asyncio.gather(*(http.get(f"{server.url}/held") for _ in range(6)))
        for _ in range(200):
            if server.in_flight == 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the other four would have arrived by now if they could
        assert server.in_flight == 2
        server.release.set()
        answers = await calls

    assert [answer.text for answer in answers] == ["done"] * 6
    assert server.peak == 2


def test_a_limit_below_one_connection_is_refused() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        AiohttpTransport(PLAIN, max_connections=0)


async def serving_tls(cert: Path, key: Path) -> Server:
    """A started :class:`Server` presenting ``cert``, on 127.0.0.1."""
    serving_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving_context.load_cert_chain(cert, key)
    tls_server = Server()
    await tls_server.start(serving_context)
    return tls_server


async def test_tls_is_verified_with_the_context_given(
    self_signed_certificate: tuple[Path, Path],
) -> None:
    cert, key = self_signed_certificate
    tls_server = await serving_tls(cert, key)
    url = tls_server.url
    try:
        trusting = AiohttpTransport(ssl.create_default_context(cafile=str(cert)))
        async with httpx.AsyncClient(transport=trusting) as http:
            assert (await http.post(f"{url}/echo", content=b"x")).json()["body"] == "x"

        async with client() as http:  # the system's CAs do not know this certificate
            with pytest.raises(httpx.ConnectError, match="TLS certificate refused"):
                await http.get(f"{url}/echo")
    finally:
        await tls_server.runner.cleanup()


async def test_tls_checks_the_certificate_against_the_server_hostname_given(
    certificate_for: Callable[[str, str], tuple[Path, Path]],
) -> None:
    # For the name only, no address; the server is reached by address: 127.0.0.1.
    cert, key = certificate_for("api.k8s.test", "DNS:api.k8s.test")
    tls_server = await serving_tls(cert, key)
    url = tls_server.url
    trusting = ssl.create_default_context(cafile=str(cert))
    try:
        named = AiohttpTransport(trusting, server_hostname="api.k8s.test")
        async with httpx.AsyncClient(transport=named) as http:
            assert (await http.post(f"{url}/echo", content=b"x")).json()["body"] == "x"

        async with httpx.AsyncClient(transport=AiohttpTransport(trusting)) as http:
            with pytest.raises(httpx.ConnectError, match="TLS certificate refused"):
                await http.get(f"{url}/echo")
    finally:
        await tls_server.runner.cleanup()


async def test_a_closed_transport_opens_a_new_session_when_used_again(server: Server) -> None:
    transport = AiohttpTransport(PLAIN)
    async with httpx.AsyncClient(transport=transport) as http:
        assert (await http.get(f"{server.url}/echo")).status_code == 201
        await transport.aclose()
        assert (await http.get(f"{server.url}/echo")).status_code == 201


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    proxy_for.cache_clear()
    yield monkeypatch
    proxy_for.cache_clear()


def test_the_proxy_comes_from_the_environment_unless_the_host_is_excluded(
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    clean_proxy_env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    clean_proxy_env.setenv("NO_PROXY", "cluster.internal,127.0.0.1")

    assert proxy_for("https", "cloudsso.cisco.com") == "http://proxy.internal:3128"
    assert proxy_for("https", "csw.cluster.internal") is None
    assert proxy_for("https", "127.0.0.1") is None
    assert proxy_for("http", "cloudsso.cisco.com") is None  # no HTTP_PROXY set


async def test_a_request_goes_through_the_proxy_the_environment_names(
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    async def proxy(request: web.Request) -> web.Response:
        return web.json_response({"via": "proxy", "host": request.headers.get("Host")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    clean_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with client() as http:
            answer = await http.get("http://csw-east.example.invalid/echo")
    finally:
        await runner.cleanup()

    assert answer.json() == {"via": "proxy", "host": "csw-east.example.invalid"}


class RawServer:
    """A bare TCP server that keeps each request's head as it arrived and answers ``answer``."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.heads: list[str] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head.decode())
        writer.write(self.answer)
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def test_the_request_target_goes_out_exactly_as_httpx_encoded_it() -> None:
    # The api driver signs the path and query httpx built (raw_path): a server that checks the
    # signature over the target it received must get the same bytes, escapes and all.
    serving = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    port = await serving.start()
    try:
        async with client() as http:
            request = http.build_request(
                "POST", f"http://127.0.0.1:{port}/v1/a%7Eb/c%2Fd/x%20y?s=%7E&t=a+b&u=%zz"
            )
            await http.send(request)
    finally:
        await serving.stop()

    request_line = serving.heads[0].splitlines()[0]
    assert request_line == f"POST {request.url.raw_path.decode()} HTTP/1.1"


async def test_a_body_without_a_content_type_is_sent_without_one() -> None:
    serving = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    port = await serving.start()
    try:
        async with client() as http:
            await http.post(f"http://127.0.0.1:{port}/raw", content=b"abc")
    finally:
        await serving.stop()

    assert "content-type" not in serving.heads[0].lower()


async def test_a_proxy_refusing_the_tunnel_is_a_connect_error(
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    # The proxy answers CONNECT with 407: the request never left for the server, so a creating
    # call may be repeated; calling it "maybe carried out" would stall it for nothing.
    proxy = RawServer(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
    port = await proxy.start()
    clean_proxy_env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with client() as http:
            with pytest.raises(httpx.ConnectError, match="proxy"):
                await http.post("https://cssm.example.invalid/tokens", content=b"{}")
    finally:
        await proxy.stop()

    assert proxy.heads[0].startswith("CONNECT cssm.example.invalid:443 ")


async def test_a_url_that_is_not_http_is_an_unsupported_protocol() -> None:
    async with client() as http:
        with pytest.raises(httpx.UnsupportedProtocol):
            await http.get("ftp://files.example.invalid/x")
