"""The operator end to end: the local Kubernetes API, the licensing simulator, the real operator.

(A module of fixtures rather than ``conftest.py``: this directory cannot be a package named
``operator`` without shadowing the standard library, and two top-level ``conftest`` modules
would collide for mypy. Test modules import the fixtures they use from here.)

``licensing`` (one per test) starts the simulator from a world file on a loopback port, makes
sure the shipped CRDs are applied, writes the credentials Secrets of the world's demo clients
into the test's namespace, and runs the operator on that namespace with the simulator's clock
(so a day passes with ``licensing.advance(days=1)``). Each operator serves its own metrics
registry on a free loopback port (``licensing.metric(...)`` scrapes it). Tests act only through
public interfaces: the ``kubernetes`` client, kubectl, the simulator's control API and call log,
the metrics endpoint.

The fixtures are meant to be reused by other suites (scenario tests, benchmarks): build an
:class:`Licensing` with another world (``licensing_world`` can be overridden) or other
:data:`FAST` settings.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import yaml
from kubernetes import client as k8s
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from smartlicensing.api.meta import API_VERSION, GROUP, SYNC_REQUESTED_AT, VERSION
from smartlicensing.config import OperatorSettings
from smartlicensing.handlers.operator import OperatorThread, start_operator_thread
from smartlicensing.observability.metrics import Metrics
from smartlicensing.product import SecretInput, SecretKeyRef
from smartlicensing.product.api_driver import ApiCredentials, ApiDriver
from smartlicensing.testing.sim import Simulator, parse_world

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "crds"
WORLD = ROOT / "examples" / "world.yaml"

EAST = "5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b"
WEST = "8a41c9d2-7e53-4f1a-b6c8-2d9e0f3a1b74"
LAB = "0b7d1e44-9f3a-4c2e-8d61-2a5c7e9f1b30"
LEGACY = "3c9e7f10-2b4d-4a6e-8f01-9d7c5b3a2e18"

#: Settings for tests: a fast timer, quick call retries; schedules keep their real lengths
#: (the simulator's clock is moved instead).
FAST = OperatorSettings(
    timer_interval=0.1,
    first_check_spread=0.05,
    stalled_recheck=3600.0,
    call_attempts=2,
    call_wait_initial=0.01,
    deletion_retry_base=0.1,
    deletion_retry_cap=0.5,
    cssm_requests_per_second=1000.0,
    watch_server_timeout=30.0,
    watch_client_timeout=40.0,
)

KINDS = {
    "SmartAccount": "smartaccounts",
    "SmartLicenseRegistration": "smartlicenseregistrations",
}


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition"
) -> Any:
    """Poll until ``condition()`` is truthy; its value. Real time: the operator is a thread."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.03)


def give_the_operator_time(ticks: int = 5) -> None:
    """Let a few timer intervals pass in real time, to show that the operator does *not* act.

    Only for negative assertions ("no call was made"); anything the operator should do is
    waited for by its outcome (:func:`wait_for`).
    """
    time.sleep(FAST.timer_interval * ticks)


def world_text(path: Path = WORLD, edit: Callable[[dict[str, Any]], None] | None = None) -> str:
    """The world file, optionally edited (e.g. fewer licenses), as YAML text."""
    world = yaml.safe_load(path.read_text())
    if edit is not None:
        edit(world)
    return yaml.safe_dump(world)


@dataclass
class Licensing:
    """One test's world: a namespace, the simulator, and the operator watching that namespace."""

    api_client: Any
    namespace: str
    sim: Simulator
    sim_url: str
    kubectl: Callable[..., Any]
    settings: OperatorSettings = FAST
    operator: OperatorThread | None = None
    _world: dict[str, Any] = field(default_factory=dict)

    # --- the operator ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the operator, with metrics that count from zero (a registry of its own)."""
        assert self.operator is None, "the operator is already running"
        self.operator = start_operator_thread(
            clock=self.sim.clock.now,
            settings=self.settings,
            namespaces=[self.namespace],
            metrics_endpoint="http://127.0.0.1:0/metrics",
            metrics=Metrics(CollectorRegistry()),
        )

    def stop(self) -> None:
        if self.operator is not None:
            self.operator.stop()
            self.operator = None

    def scrape(self) -> str:
        """The running operator's metrics endpoint, as Prometheus reads it."""
        assert self.operator is not None
        assert self.operator.metrics_url is not None
        answer = httpx.get(self.operator.metrics_url, timeout=10)
        answer.raise_for_status()
        return answer.text

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample of a scrape (``None`` when absent), e.g. ``metric("x_total", kind="y")``."""
        for family in text_string_to_metric_families(self.scrape()):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return None

    def advance(self, **amount: float) -> datetime:
        """Move the simulator's clock, which is also the operator's."""
        return self.sim.clock.advance(timedelta(**amount))

    # --- Kubernetes -----------------------------------------------------------------------

    @property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api_client)

    @property
    def custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.api_client)

    def secret(self, name: str, data: dict[str, str]) -> None:
        encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
        body = k8s.V1Secret(metadata=k8s.V1ObjectMeta(name=name), data=encoded, type="Opaque")
        self.core.create_namespaced_secret(self.namespace, body)

    def read_secret(self, name: str) -> k8s.V1Secret:
        return self.core.read_namespaced_secret(name, self.namespace)

    def secret_value(self, name: str, key: str) -> str:
        """One key of a Secret, decoded (for tests that act as the person holding it)."""
        data = self.read_secret(name).data or {}
        return base64.b64decode(data[key]).decode()

    def create(self, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": API_VERSION,
            "kind": kind,
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": spec,
        }
        created = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, KINDS[kind], body
        )
        return cast(dict[str, Any], created)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, KINDS[kind], name
        )
        return cast(dict[str, Any], found)

    def exists(self, kind: str, name: str) -> bool:
        try:
            self.get(kind, name)
        except k8s.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def patch(self, kind: str, name: str, body: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, KINDS[kind], name, body
        )

    def request_sync(self, kind: str, name: str, at: str) -> None:
        """Set the ``sync-requested-at`` annotation ("Renew Authorization") to ``at``."""
        self.patch(kind, name, {"metadata": {"annotations": {SYNC_REQUESTED_AT: at}}})

    def delete(self, kind: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            GROUP, VERSION, self.namespace, KINDS[kind], name
        )

    def condition(self, kind: str, name: str, condition_type: str) -> dict[str, Any] | None:
        for condition in self.get(kind, name).get("status", {}).get("conditions", []):
            if condition["type"] == condition_type:
                return dict(condition)
        return None

    def wait_condition(
        self,
        kind: str,
        name: str,
        condition_type: str,
        status: str,
        reason: str | None = None,
        *,
        timeout: float = 15.0,
    ) -> dict[str, Any]:
        def met() -> dict[str, Any] | None:
            found = self.condition(kind, name, condition_type)
            if found is None or found["status"] != status:
                return None
            if reason is not None and found["reason"] != reason:
                return None
            return found

        wanted = f"{kind} {name} {condition_type}={status}" + (f" ({reason})" if reason else "")
        try:
            result: dict[str, Any] = wait_for(met, timeout=timeout, what=wanted)
        except AssertionError:
            status_now = self.get(kind, name).get("status")
            raise AssertionError(f"{wanted} not met; status is {status_now}") from None
        return result

    def events(self, name: str) -> list[dict[str, Any]]:
        items = self.core.list_namespaced_event(self.namespace).items
        return [
            {"reason": e.reason, "type": e.type, "message": e.message}
            for e in items
            if e.involved_object.name == name
        ]

    # --- the account and registrations ------------------------------------------------------

    def cloud_account(
        self,
        name: str = "acme",
        *,
        client_secret: str = "demo-only-secret-7Qv2LmX9",
        **spec: Any,
    ) -> None:
        self.secret(
            f"{name}-cssm", {"client_id": "acme-demo-client", "client_secret": client_secret}
        )
        self.create(
            "SmartAccount",
            name,
            {
                "server": {
                    "type": "Cloud",
                    "url": self.sim_url,
                    "tokenURL": f"{self.sim_url}/oauth2/default/v1/token",
                },
                "smartAccount": "acme.example.com",
                "virtualAccount": "Datacenter-East",
                "credentialsSecretRef": {"name": f"{name}-cssm"},
                **spec,
            },
        )

    def ready_cloud_account(self, name: str = "acme", **kwargs: Any) -> None:
        """A cloud SmartAccount (as :meth:`cloud_account` makes it), waited for until Ready."""
        self.cloud_account(name, **kwargs)
        self.wait_condition("SmartAccount", name, "Ready", "True")

    def on_prem_account(self, name: str = "acme-onprem") -> None:
        self.secret(
            f"{name}-cssm",
            {"client_id": "onprem-demo-client", "client_secret": "demo-only-onprem-secret-3Kx8"},
        )
        self.create(
            "SmartAccount",
            name,
            {
                "server": {"type": "OnPrem", "url": f"{self.sim_url}/onprem/ssm.example.internal"},
                "smartAccount": "acme-onprem",
                "virtualAccount": "Default",
                "credentialsSecretRef": {"name": f"{name}-cssm"},
            },
        )

    def cluster_credentials(self, uuid: str) -> dict[str, str]:
        for cluster in self._world["clusters"]:
            if cluster["uuid"] == uuid:
                return {"api_key": cluster["apiKey"], "api_secret": cluster["apiSecret"]}
        raise KeyError(uuid)

    def api_driver(self, uuid: str) -> dict[str, Any]:
        """The spec's ``cluster.driver`` for a simulated cluster (its Secret is written too)."""
        secret = f"cluster-{uuid[:8]}"
        if not self._has_secret(secret):
            self.secret(secret, self.cluster_credentials(uuid))
        return {
            "type": "Api",
            "url": f"{self.sim_url}/clusters/{uuid}",
            "credentialsSecretRef": {"name": secret},
        }

    def _has_secret(self, name: str) -> bool:
        try:
            self.read_secret(name)
        except k8s.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def registration(
        self,
        name: str,
        uuid: str,
        *,
        account: str = "acme",
        role: str = "Standalone",
        manual: bool = False,
        **spec: Any,
    ) -> None:
        driver = {"type": "Manual"} if manual else self.api_driver(uuid)
        self.create(
            "SmartLicenseRegistration",
            name,
            {
                "accountRef": {"name": account},
                "cluster": {"uuid": uuid, "role": role, "driver": driver},
                "token": spec.pop("token", {"issue": {"expiresAfterDays": 30}}),
                **spec,
            },
        )

    # --- the simulator's log ----------------------------------------------------------------

    def cluster_calls(self, uuid: str, method: str | None = None, path: str = "*") -> int:
        return sum(
            1
            for entry in self.sim.calls.entries()
            if entry["cluster"] == uuid
            and (method is None or entry["method"] == method)
            and _glob(entry["path"], path)
        )

    def cssm_calls(self, method: str | None = None, path: str = "*") -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.sim.calls.entries()
            if entry["cluster"] is None
            and (method is None or entry["method"] == method)
            and _glob(entry["path"], path)
        ]

    def cluster_state(self, uuid: str) -> dict[str, Any]:
        """The cluster's licensing status, from the simulator's control API."""
        answer = httpx.get(f"{self.sim_url}/_sim/clusters/{uuid}", timeout=10)
        answer.raise_for_status()
        state: dict[str, Any] = answer.json()
        return state

    def change_cluster(self, uuid: str, **fields: Any) -> None:
        """Change a simulated cluster (workloads, endpoints, version, role, offline)."""
        httpx.patch(
            f"{self.sim_url}/_sim/clusters/{uuid}", json=fields, timeout=10
        ).raise_for_status()


def register_out_of_band(licensing: Licensing, uuid: str, token: str, transport: str) -> None:
    """What a person does in the Secure Workload UI, through the cluster's licensing API."""
    credentials = licensing.cluster_credentials(uuid)
    logged_before = licensing.cluster_calls(uuid, "POST", "*/registration")

    async def register() -> None:
        driver = ApiDriver(
            f"{licensing.sim_url}/clusters/{uuid}",
            ApiCredentials(credentials["api_key"], SecretStr(credentials["api_secret"])),
            cluster_uuid=uuid,
        )
        try:
            source = SecretKeyRef(licensing.namespace, "by-hand", "token")
            await driver.register(SecretInput(SecretStr(token), source), transport)
        finally:
            await driver.aclose()

    asyncio.run(register())
    # The simulator logs a call once it has answered it: wait for the entry, so that a test
    # clearing the log next does not see this call land after the clearing.
    wait_for(
        lambda: licensing.cluster_calls(uuid, "POST", "*/registration") > logged_before,
        what="the simulator to log the registration made by hand",
    )


def issue_token_at_sim(licensing: Licensing, *, on_prem: bool = False) -> str:
    """A registration token from the simulator's CSSM, as a person would create one."""
    if on_prem:
        base = f"{licensing.sim_url}/onprem/ssm.example.internal/backend"
        auth = httpx.post(
            f"{base}/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": "onprem-demo-client",
                "client_secret": "demo-only-onprem-secret-3Kx8",
            },
        ).json()["access_token"]
        url = f"{base}/api/v1/accounts/acme-onprem/virtual-accounts/Default/tokens"
    else:
        auth = httpx.post(
            f"{licensing.sim_url}/oauth2/default/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "acme-demo-client",
                "client_secret": "demo-only-secret-7Qv2LmX9",
            },
        ).json()["access_token"]
        url = (
            f"{licensing.sim_url}/services/api/smart-accounts-and-licensing/v1/accounts/"
            "acme.example.com/virtual-accounts/Datacenter-East/tokens"
        )
    answer = httpx.post(
        url,
        json={"description": "by hand", "expiresAfterDays": 30},
        headers={"Authorization": f"Bearer {auth}"},
    )
    answer.raise_for_status()
    token: str = answer.json()["tokenInfo"]["token"]
    return token


def _glob(text: str, pattern: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(text, pattern)


@pytest.fixture(scope="session")
def smartlicensing_crds(kube_api: Any) -> None:
    """The CRDs exactly as shipped, applied once per session."""
    for manifest in sorted(CRDS.glob("*.yaml")):
        kube_api.apply(manifest)


@pytest.fixture
def licensing_world() -> str:
    """The world the simulator starts from (override to change licenses, clusters, ...)."""
    return world_text()


@pytest.fixture
def licensing(
    kube_api: Any,
    api_client: Any,
    namespace: str,
    smartlicensing_crds: None,
    licensing_world: str,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Licensing]:
    """A namespace with the operator running on it against a fresh simulator."""
    caplog.set_level(logging.INFO)
    sim = Simulator(parse_world(licensing_world), seed=1)
    serving = sim.serve_in_thread(port=0)
    url = serving.__enter__()
    env = Licensing(
        api_client=api_client,
        namespace=namespace,
        sim=sim,
        sim_url=url,
        kubectl=kube_api.kubectl,
        _world=deepcopy(yaml.safe_load(licensing_world)),
    )
    env.start()
    try:
        yield env
    finally:
        env.stop()
        for name in ("smartlicenseregistrations", "smartaccounts"):
            _release(env, name)
        serving.__exit__(None, None, None)
    inconsistent = [r.getMessage() for r in caplog.records if "inconsisten" in r.getMessage()]
    assert not inconsistent, f"status writes were pruned by the CRD schema: {inconsistent}"


def _release(env: Licensing, plural: str) -> None:
    """Drop our finalizers so the namespace can go (the operator is stopped by now)."""
    items = cast(
        dict[str, Any],
        env.custom.list_namespaced_custom_object(GROUP, VERSION, env.namespace, plural),
    )
    for item in items.get("items", []):
        if item["metadata"].get("finalizers"):
            env.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                env.namespace,
                plural,
                item["metadata"]["name"],
                {"metadata": {"finalizers": None}},
            )
