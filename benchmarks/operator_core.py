"""The operator core's figures: apply-to-Ready time and calls per registration, a day, a restart.

Runs the real operator (in a thread, on the simulator's clock) against the local Kubernetes API
and the licensing simulator, both in this process. It applies N registrations at once, waits
for all to be Ready, lets a simulated day pass, restarts the operator, and prints what each step
cost in time and in CSSM and cluster calls. Figures are printed, never asserted.

    make bench-operator-core          # or: .venv/bin/python benchmarks/operator_core.py -n 50
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="smartlicensing-bench-"))
os.environ["KUBECONFIG"] = str(_HOME / "kubeconfig")  # before anything imports kopf

import argparse  # noqa: E402
import base64  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import yaml  # noqa: E402
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config  # noqa: E402

from smartlicensing.api.meta import API_VERSION, GROUP, VERSION  # noqa: E402
from smartlicensing.config import OperatorSettings  # noqa: E402
from smartlicensing.handlers.operator import start_operator_thread  # noqa: E402
from smartlicensing.testing.kubeapi import LocalKubeAPI  # noqa: E402
from smartlicensing.testing.sim import Simulator, parse_world  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "bench"
SETTINGS = OperatorSettings(
    timer_interval=0.5, first_check_spread=0.5, call_wait_initial=0.05, watch_server_timeout=60
)


def world(count: int) -> str:
    base = yaml.safe_load((ROOT / "examples" / "world.yaml").read_text())
    pool = base["cloud"]["accounts"][0]["virtualAccounts"][0]["licenses"]
    pool["Tetration Workload Protection"] = 100 * count
    pool["Tetration Endpoint Visibility"] = 100 * count
    base["clusters"] = [
        {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-{index}")),
            "name": f"bench-{index}",
            "version": "3.9.1.1",
            "role": "Standalone",
            "workloads": 10,
            "endpoints": 5,
            "apiKey": f"bench-key-{index}",
            "apiSecret": f"bench-only-secret-{index:04d}-0123456789abcdefghij",
        }
        for index in range(count)
    ]
    return yaml.safe_dump(base)


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the operator did not get there in time")
        time.sleep(0.05)
    return time.monotonic() - started


def secret(core: k8s.CoreV1Api, name: str, data: dict[str, str]) -> None:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    body = k8s.V1Secret(metadata=k8s.V1ObjectMeta(name=name), data=encoded)
    core.create_namespaced_secret(NAMESPACE, body)


def ready_count(custom: k8s.CustomObjectsApi, plural: str) -> int:
    listed: Any = custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, plural)
    return sum(
        1
        for item in listed["items"]
        for cond in item.get("status", {}).get("conditions", [])
        if cond["type"] == "Ready" and cond["status"] == "True"
    )


def synced_count(custom: k8s.CustomObjectsApi, after: datetime) -> int:
    listed: Any = custom.list_namespaced_custom_object(
        GROUP, VERSION, NAMESPACE, "smartlicenseregistrations"
    )
    times = [item["status"].get("lastSyncTime") for item in listed["items"]]
    return sum(1 for t in times if t and datetime.fromisoformat(t.replace("Z", "+00:00")) > after)


def calls(sim: Simulator, since: int) -> tuple[int, int]:
    entries = sim.calls.entries(since)
    cluster = sum(1 for e in entries if e["cluster"] is not None)
    return len(entries) - cluster, cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--registrations", type=int, default=50)
    count = parser.parse_args().registrations

    api = LocalKubeAPI(bookmark_interval=1.0).start()
    api.write_kubeconfig(Path(os.environ["KUBECONFIG"]))
    sim = Simulator(parse_world(world(count)), seed=1)
    with sim.serve_in_thread(port=0) as url:
        client = config.new_client_from_config(config_file=os.environ["KUBECONFIG"])
        core, custom = k8s.CoreV1Api(client), k8s.CustomObjectsApi(client)
        extensions = k8s.ApiextensionsV1Api(client)
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=NAMESPACE)))
        for path in sorted((ROOT / "crds").glob("*.yaml")):
            extensions.create_custom_resource_definition(yaml.safe_load(path.read_text()))
        time.sleep(0.5)  # CRDs become discoverable

        operator = start_operator_thread(
            clock=sim.clock.now, settings=SETTINGS, namespaces=[NAMESPACE]
        )
        secret(
            core,
            "cssm",
            {"client_id": "acme-demo-client", "client_secret": "demo-only-secret-7Qv2LmX9"},
        )
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            NAMESPACE,
            "smartaccounts",
            {
                "apiVersion": API_VERSION,
                "kind": "SmartAccount",
                "metadata": {"name": "acme"},
                "spec": {
                    "server": {
                        "type": "Cloud",
                        "url": url,
                        "tokenURL": f"{url}/oauth2/default/v1/token",
                    },
                    "smartAccount": "acme.example.com",
                    "virtualAccount": "Datacenter-East",
                    "credentialsSecretRef": {"name": "cssm"},
                },
            },
        )
        wait_for(lambda: ready_count(custom, "smartaccounts") == 1, 30)

        mark = sim.calls.entries()[-1]["seq"]
        started = time.monotonic()
        for index, cluster in enumerate(yaml.safe_load(world(count))["clusters"]):
            secret(
                core,
                f"c{index}",
                {"api_key": cluster["apiKey"], "api_secret": cluster["apiSecret"]},
            )
            custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                NAMESPACE,
                "smartlicenseregistrations",
                {
                    "apiVersion": API_VERSION,
                    "kind": "SmartLicenseRegistration",
                    "metadata": {"name": f"c{index}"},
                    "spec": {
                        "accountRef": {"name": "acme"},
                        "cluster": {
                            "uuid": cluster["uuid"],
                            "driver": {
                                "type": "Api",
                                "url": f"{url}/clusters/{cluster['uuid']}",
                                "credentialsSecretRef": {"name": f"c{index}"},
                            },
                        },
                        "token": {"issue": {"expiresAfterDays": 30}},
                    },
                },
            )
        applied = time.monotonic() - started
        ready = wait_for(lambda: ready_count(custom, "smartlicenseregistrations") == count, 600)
        cssm, cluster_calls = calls(sim, mark)
        print(f"{count} registrations applied in {applied:.1f} s, all Ready {ready:.1f} s later")
        print(
            f"  per registration: {cssm / count:.2f} CSSM calls (OAuth included), "
            f"{cluster_calls / count:.2f} cluster calls"
        )

        mark = sim.calls.entries()[-1]["seq"]
        before = sim.clock.now()
        sim.clock.advance(timedelta(days=1, seconds=1))
        took = wait_for(lambda: synced_count(custom, before) == count, 600)
        cssm, cluster_calls = calls(sim, mark)
        print(
            f"a day later: {count} syncs in {took:.1f} s; {cssm} CSSM calls (account sync), "
            f"{cluster_calls} cluster calls"
        )

        operator.stop()
        mark = sim.calls.entries()[-1]["seq"]
        restarted = time.monotonic()
        operator = start_operator_thread(
            clock=sim.clock.now, settings=SETTINGS, namespaces=[NAMESPACE]
        )
        time.sleep(SETTINGS.timer_interval * 6 + SETTINGS.first_check_spread)
        cssm, cluster_calls = calls(sim, mark)
        print(
            f"restart: ready in {time.monotonic() - restarted:.1f} s (incl. watching), "
            f"{cssm} CSSM and {cluster_calls} cluster calls"
        )
        operator.stop()
    api.stop()


if __name__ == "__main__":
    main()
