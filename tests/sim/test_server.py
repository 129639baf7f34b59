"""The simulator on a real socket: uvicorn in its own thread, the README's curl lines, a
dropped connection, a signed cluster call, and the ``smartlicensing sim`` command's checks."""

from __future__ import annotations

import json
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sim.harness import EAST, WORLD_FILE
from smartlicensing.cli import app
from smartlicensing.product.signing import signed_headers
from smartlicensing.testing.sim import Simulator, serve

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator.from_file(WORLD_FILE, seed=7)
    with sim.serve_in_thread() as url:
        yield sim, url


def readme_curl_lines() -> str:
    text = README.read_text()
    block = re.search(r"<!-- simulator-curl: begin -->\n```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None, "the README lost its simulator curl block"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_lines_work(served: tuple[Simulator, str]) -> None:
    _, url = served
    script = readme_curl_lines().replace("http://127.0.0.1:8443", url)

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.replace("}{", "}\n{").splitlines() if line]
    virtual_accounts, licenses = lines
    assert [va["name"] for va in virtual_accounts["virtualAccounts"]] == ["Datacenter-East"]
    assert {row["license"]: row["quantity"] for row in licenses["licenses"]} == {
        "Tetration Workload Protection": 500,
        "Tetration Endpoint Visibility": 200,
        "Secure Workload PLR": 10,
    }


def test_readme_curl_requests_through_httpx(served: tuple[Simulator, str]) -> None:
    # The same three requests without curl, so the README is checked on any machine.
    _, url = served
    script = readme_curl_lines()
    client_secret = re.search(r"client_secret=(\S+)", script)
    assert client_secret is not None
    with httpx.Client(base_url=url) as http:
        token = http.post(
            "/oauth2/default/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "acme-demo-client",
                "client_secret": client_secret.group(1),
            },
        ).json()["access_token"]
        licenses = http.post(
            "/services/api/smart-accounts-and-licensing/v1/accounts/acme.example.com/licenses",
            headers={"Authorization": f"Bearer {token}"},
            json={"virtualAccounts": ["Datacenter-East"], "limit": 50, "offset": 0},
        )

    assert licenses.status_code == 200
    assert licenses.json()["totalRecords"] == 3


def test_dropped_connection_on_a_real_socket(served: tuple[Simulator, str]) -> None:
    _, url = served
    with httpx.Client(base_url=url) as http:
        http.post("/_sim/faults", json={"kind": "drop", "path": "/as/token.oauth2", "count": 1})

        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/as/token.oauth2", data={"grant_type": "client_credentials"})
        after = http.post("/as/token.oauth2", data={"grant_type": "client_credentials"})

    assert after.status_code == 401  # the next call is answered: no client was named


def test_signed_cluster_call_on_a_real_socket(served: tuple[Simulator, str]) -> None:
    sim, url = served
    cluster = sim.world.clusters[EAST]
    path = f"/clusters/{EAST}/openapi/v1/licensing"

    with httpx.Client(base_url=url) as http:
        response = http.get(
            path,
            headers=signed_headers(
                cluster.api_key, cluster.api_secret, method="GET", path=path, now=datetime.now(UTC)
            ),
        )

    assert response.status_code == 200
    assert response.json()["cluster"]["name"] == "csw-east"


def test_serves_https_with_a_given_certificate(self_signed_certificate: tuple[Path, Path]) -> None:
    cert, key = self_signed_certificate
    sim = Simulator.from_file(WORLD_FILE, seed=7)

    with sim.serve_in_thread(tls_cert=str(cert), tls_key=str(key)) as url:
        trusted = httpx.get(f"{url}/_sim/clock", verify=ssl.create_default_context(cafile=cert))
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/_sim/clock")  # the system trust store does not know it

    assert url.startswith("https://")
    assert trusted.status_code == 200


class TestCommand:
    def test_missing_world_file_is_a_usage_error(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(app, ["sim", "--world", str(tmp_path / "none.yaml")])

        assert result.exit_code == 2
        assert "no world file" in result.output

    def test_invalid_world_file_is_a_usage_error(self, tmp_path: Path) -> None:
        bad = tmp_path / "world.yaml"
        bad.write_text("clusters: [")

        result = CliRunner().invoke(app, ["sim", "--world", str(bad)])

        assert result.exit_code == 2
        assert "not valid YAML" in result.output

    def test_tls_needs_both_cert_and_key(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(app, ["sim", "--world", str(WORLD_FILE), "--tls-cert", "c.pem"])

        assert result.exit_code == 2
        assert "--tls-key" in result.output

    def test_serves_the_world_file_with_the_given_options(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: dict[str, object] = {}

        def fake_run(server: object) -> None:
            config = server.config  # type: ignore[attr-defined]
            seen.update(host=config.host, port=config.port)
            server.on_bound(config.port)  # type: ignore[attr-defined]  # as startup does once bound

        monkeypatch.setattr("uvicorn.Server.run", fake_run)

        result = CliRunner().invoke(
            app, ["sim", "--world", str(WORLD_FILE), "--port", "9999", "--seed", "4"]
        )

        assert result.exit_code == 0, result.output
        assert seen == {"host": "127.0.0.1", "port": 9999}
        assert "http://127.0.0.1:9999" in result.output
        assert "seed 4" in result.output


def test_a_body_over_the_limit_is_413_without_being_kept(served: tuple[Simulator, str]) -> None:
    """A request body over the limit is refused unread; the server answers the next call."""
    sim, url = served
    huge = b"grant_type=client_credentials&x=" + b"y" * (2 * 1024 * 1024)

    with httpx.Client(base_url=url, timeout=10) as http:
        answer = http.post(
            "/oauth2/default/v1/token",
            content=huge,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        after = http.get("/_sim/clock")

    assert answer.status_code == 413
    assert "larger than" in answer.json()["statusMessage"]
    assert after.status_code == 200
    logged = sim.calls.entries()[-1]
    assert (logged["status"], logged["body"]) == (413, "")


def test_sim_announces_its_address_only_once_bound() -> None:
    """A port already in use fails without first printing an address that does not answer."""
    announced: list[str] = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(SystemExit):
            serve(WORLD_FILE, port=port, announce=announced.append)

    assert announced == []
