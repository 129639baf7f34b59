"""Requests per second of one licensing-simulator process, for token, licenses and reserve calls.

The server is the real ``smartlicensing sim`` command in its own process (one event loop, so one
core). The load comes from several client processes, each with keep-alive connections written
on raw sockets: a client that costs almost nothing per request, so the figure measured is the
server's. Run with ``make bench-sim``; it prints one line per call and exits.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

from smartlicensing.product.signing import signed_headers
from smartlicensing.testing.sim import choices
from smartlicensing.testing.sim.world import World
from smartlicensing.testing.sim.worldfile import world_from_mapping

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "examples" / "world.yaml"
API = "/services/api/smart-accounts-and-licensing/v1/accounts/acme.example.com"
CLIENT = {
    "grant_type": "client_credentials",
    "client_id": "acme-demo-client",
    "client_secret": "demo-only-secret-7Qv2LmX9",
}
LAB = "0b7d1e44-9f3a-4c2e-8d61-2a5c7e9f1b30"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_response(stream: socket.socket, buffer: bytearray) -> int:
    """Read one response from a keep-alive connection; its status code."""
    while b"\r\n\r\n" not in buffer:
        chunk = stream.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = stream.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        rest += chunk
    buffer[:] = rest[length:]
    return status


def worker(port: int, payload: bytes, seconds: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    stream = socket.create_connection(("127.0.0.1", port))
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = bytearray()
    done, bad = 0, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        stream.sendall(payload)
        if read_response(stream, buffer) != 200:
            bad += 1
        done += 1
    stream.close()
    results.put((done, bad))


def measure(port: int, payload: bytes, clients: int, seconds: float) -> tuple[float, int]:
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [
        multiprocessing.Process(target=worker, args=(port, payload, seconds, results))
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for process in workers:
        process.start()
    counts = [results.get(timeout=seconds + 30) for _ in workers]
    for process in workers:
        process.join()
    elapsed = time.perf_counter() - started
    return sum(c[0] for c in counts) / elapsed, sum(c[1] for c in counts)


def call_json(port: int, method: str, path: str, body: object, token: str | None = None) -> object:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data, headers, method=method)
    with urllib.request.urlopen(req) as answer:
        return json.loads(answer.read())


def clock_figure(clusters: int, days: int) -> float:
    """Seconds to advance ``days`` with ``clusters`` registered clusters in one virtual account."""
    spec = world_from_mapping(
        {
            "clock": {"start": "2026-12-03T00:00:00Z"},
            "cloud": {
                "accounts": [
                    {
                        "domain": "bench.example.com",
                        "virtualAccounts": [
                            {"name": "VA", "licenses": {choices.WORKLOAD_PROTECTION: 10**9}}
                        ],
                    }
                ]
            },
            "clusters": [
                {
                    "uuid": str(uuid.UUID(int=index + 1)),
                    "name": f"c{index}",
                    "workloads": 10,
                    "apiKey": "k",
                    "apiSecret": "s" * 40,
                }
                for index in range(clusters)
            ],
        }
    )
    world = World(spec, seed=1)
    virtual_account = world.cloud.accounts["bench.example.com"].virtual_accounts["VA"]
    token = world.create_token(
        virtual_account,
        description="",
        expires_after_days=1,
        export_controlled="Allowed",
        max_uses=None,
        created_by="bench",
    )
    for cluster in world.clusters.values():
        world.register(
            cluster, token=token.value, transport_url=choices.CLOUD_TRANSPORT_URL, force=False
        )
    started = time.perf_counter()
    world.advance(timedelta(days=days))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per call kind")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    options = parser.parse_args()

    port = free_port()
    command = [sys.executable, "-m", "smartlicensing", "sim", "--world", str(WORLD)]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the simulator did not start", file=sys.stderr)
                    return 1
                time.sleep(0.05)

        form = urllib.parse.urlencode(CLIENT).encode()
        token_call = request(
            "POST",
            "/oauth2/default/v1/token",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        token = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/oauth2/default/v1/token", form).read()
        )["access_token"]
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        licenses_call = request(
            "POST",
            f"{API}/licenses",
            json.dumps({"virtualAccounts": ["Datacenter-East"], "limit": 50}).encode(),
            auth,
        )
        # A reservation request the simulator has already answered: the same request again
        # takes the whole path (validation, lookup, idempotent answer) without using licenses up.
        path = f"/clusters/{LAB}/openapi/v1/licensing/reservation/request"
        body = b'{"type": "Specific"}'
        signed = signed_headers(
            "csw-lab-demo-key",
            "demo-only-csw-lab-secret-0123456789abcdefgh",
            method="POST",
            path=path,
            body=body,
        )
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", body, signed, method="POST")
        code = json.loads(urllib.request.urlopen(req).read())["reservation"]["requestCode"]
        tag = choices.ENTITLEMENT_TAGS[choices.WORKLOAD_PROTECTION]
        reservation = {
            "reservationRequests": [
                {
                    "reservationCode": code,
                    "reservationType": "SPECIFIC",
                    "licenses": [
                        {"entitlementTag": tag, "quantity": 10, "precedence": "LONGEST_TERM_FIRST"}
                    ],
                }
            ]
        }
        reserve_path = f"{API}/virtual-accounts/Datacenter-East/reserve-licenses"
        for _ in range(2):  # the first reserves, the second proves the repeat succeeds too
            answer = call_json(port, "POST", reserve_path, reservation, token)
            if not isinstance(answer, dict) or answer["status"] != "SUCCESS":
                print(f"the reservation was refused: {answer}", file=sys.stderr)
                return 1
        reserve_call = request(
            "POST",
            f"{API}/virtual-accounts/Datacenter-East/reserve-licenses",
            json.dumps(reservation).encode(),
            auth,
        )

        print(
            f"licensing simulator, one server process; {options.clients} client processes, "
            f"{options.seconds:g} s per call, {os.cpu_count()} cores"
        )
        for name, payload in (
            ("token", token_call),
            ("licenses", licenses_call),
            ("reserve", reserve_call),
        ):
            rate, bad = measure(port, payload, options.clients, options.seconds)
            print(f"  {name:<9} {rate:8.0f} requests/s   (non-200 answers: {bad})")
        for clusters in (100, 1000):
            seconds = clock_figure(clusters, 30)
            print(
                f"  clock     30 simulated days, {clusters} registered clusters "
                f"({clusters * 30} syncs): {seconds * 1000:.0f} ms"
            )
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
