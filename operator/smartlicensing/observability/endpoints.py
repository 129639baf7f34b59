"""The ``http://host:port/path`` URLs the operator listens on: liveness and metrics.

Both are served over plain HTTP on one path, so both are read the same way, and a URL that
cannot be served is refused with a message that shows a working one, rather than surfacing
later as a traceback from inside the running operator.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class ListenAddress:
    """Where an endpoint listens: host, TCP port and the one path it answers."""

    host: str
    port: int
    path: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"


def listen_address(
    endpoint: str, *, example: str, what: str, any_port: bool = False
) -> ListenAddress:
    """Host, port and path of ``endpoint``; ``ValueError`` says what to fix, with ``example``.

    ``what`` names the endpoint in messages ("liveness", "metrics"). Port 0 (a free port, for
    tests and embedders) is accepted only with ``any_port``; otherwise it is refused, because
    a person who writes it gets an endpoint nobody can find.
    """
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme != "http":
        raise ValueError(
            f"{endpoint!r} is not an http:// URL; give e.g. {example} "
            f"(the {what} endpoint is served over plain HTTP)"
        )
    try:
        port = 80 if parts.port is None else parts.port
    except ValueError:
        port = -1
    if port < 0 or (port == 0 and not any_port):
        raise ValueError(f"{endpoint!r} has no valid port (1-65535); give e.g. {example}")
    if not parts.path.startswith("/") or parts.query or parts.fragment:
        raise ValueError(f"{endpoint!r} needs a path and nothing after it; give e.g. {example}")
    return ListenAddress(parts.hostname or "127.0.0.1", port, parts.path)
