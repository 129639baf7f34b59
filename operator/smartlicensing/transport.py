"""The HTTP transport under the operator's httpx clients: aiohttp's connection handling.

The CSSM client and the ``api`` product driver speak httpx (its request and response models,
``MockTransport`` and ASGI transports in tests); on the wire, this transport hands each request
to an ``aiohttp`` session. httpx's own transport (httpcore over anyio) spent about 2 ms of CPU per
request on loopback, four times aiohttp's, and its pool's bookkeeping grew with every waiting
request: with hundreds of registrations at once that was the operator's largest cost.

What the clients rely on is kept:

- errors are httpx's types, chosen by whether the request can have reached the server: a
  connection that could not be made is :class:`httpx.ConnectError` or
  :class:`httpx.ConnectTimeout` (never sent, safe to repeat), a timeout waiting for the answer is
  :class:`httpx.ReadTimeout`, and a connection lost on the way is
  :class:`httpx.RemoteProtocolError` (maybe carried out: a creating call is not repeated);
- the timeouts of the request (``connect``, ``read``, ``pool``) apply;
- TLS is verified with the context given, and proxies come from the environment
  (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``) as httpx's default transport takes them,
  looked up once per scheme and host (aiohttp's own ``trust_env`` would read them, and a
  ``.netrc`` file, in a worker thread for every request);
- bodies are read whole before the response is returned (no answer here is streamed).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.request

import aiohttp
import httpx
import yarl

DEFAULT_KEEPALIVE = 5.0
"""Seconds an idle connection is kept (httpx's default keep-alive expiry)."""

ENVIRONMENT = "environment"
"""``proxy=`` value: the proxies the environment names, per scheme and host."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends through one ``aiohttp`` session.

    Example::

        transport = AiohttpTransport(ssl_context, max_connections=8)
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get("https://cssm.example.com/...")

    Args:
        ssl_context: the verifying TLS context for ``https`` URLs.
        max_connections: connections open at once; more requests wait for one.
        keepalive: seconds an idle connection is kept for the next request.
        proxy: ``"environment"`` (the default) to take proxies from the environment as
            described above; a URL to send every request through that proxy; ``None`` for
            none.
        server_hostname: the name TLS asks for and checks the certificate against, when it
            is not the URL's host (a kubeconfig's ``tls-server-name``).
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        *,
        max_connections: int = 100,
        keepalive: float = DEFAULT_KEEPALIVE,
        proxy: str | None = ENVIRONMENT,
        server_hostname: str | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.proxy = proxy
        self.server_hostname = server_hostname
        self.ssl_context = ssl_context
        self.max_connections = max_connections
        self.keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop the session belongs to.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                ssl=self.ssl_context,
                limit=self.max_connections,
                keepalive_timeout=self.keepalive,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                auto_decompress=True,
                # httpx has set the headers it sends; aiohttp must add none (a Content-Type it
                # invented for a bare body would not be the one a request was signed with).
                skip_auto_headers=("User-Agent", "Content-Type"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        body = await request.aread()
        url = request.url
        try:
            async with session.request(
                request.method,
                # As httpx encoded it: re-quoting would change the path a signature was made over.
                yarl.URL(str(url), encoded=True),
                headers=list(request.headers.multi_items()),
                data=body or None,
                allow_redirects=False,
                server_hostname=self.server_hostname,
                proxy=(
                    proxy_for(url.scheme, url.host) if self.proxy == ENVIRONMENT else self.proxy
                ),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeouts.get("pool"),
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
            ) as answer:
                content = await answer.read()
                headers = [(key, value) for key, value in answer.headers.items()]
                reason = answer.reason or ""
                status = answer.status
        except Exception as error:
            raise _as_httpx(error, request) from error
        return httpx.Response(
            status,
            headers=_without_encoding(headers),
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason.encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@functools.lru_cache(maxsize=1024)
def proxy_for(scheme: str, host: str) -> str | None:
    """The proxy URL the environment names for ``scheme`` requests to ``host``, if any."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


def _without_encoding(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # aiohttp has already decoded the body: httpx must not decode it again.
    skipped = {"content-encoding", "transfer-encoding", "content-length"}
    return [(key, value) for key, value in headers if key.lower() not in skipped]


def _as_httpx(error: Exception, request: httpx.Request) -> Exception:
    """The httpx error that says as much about ``error`` as the clients need to know."""
    name = type(error).__name__
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(f"connecting timed out ({name})", request=request)
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        reason = getattr(error.certificate_error, "verify_message", None) or "not trusted"
        return httpx.ConnectError(f"TLS certificate refused: {reason}", request=request)
    if isinstance(error, aiohttp.ClientHttpProxyError):
        # Only a refused CONNECT raises it: the request never left for the server.
        return httpx.ConnectError(f"the proxy refused the tunnel ({error.status})", request=request)
    if isinstance(error, aiohttp.ClientConnectorError):
        return httpx.ConnectError(f"could not connect ({error.strerror or name})", request=request)
    if isinstance(error, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(f"no answer in time ({name})", request=request)
    if isinstance(error, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(f"invalid URL ({name})", request=request)
    if isinstance(error, aiohttp.ClientError | OSError):
        return httpx.RemoteProtocolError(f"connection lost ({name})", request=request)
    return error


__all__ = ["DEFAULT_KEEPALIVE", "AiohttpTransport", "proxy_for"]
