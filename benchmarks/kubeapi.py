"""How fast the local Kubernetes API takes merge patches, and what 1,000 objects cost in memory.

The server runs in this process (in its own thread, as in the tests); the clients run in
separate processes so that their JSON and HTTP work does not compete with the server for this
interpreter's lock. Figures are printed, never asserted: the point is to show that the local
API is not what limits the operator's own benchmarks.

    make bench-kubeapi                      # or: .venv/bin/python benchmarks/kubeapi.py
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import httpx
import psutil

from smartlicensing.testing.kubeapi import LocalKubeAPI

GROUP = "bench.smartlicensing.dev"
COLLECTION = f"/apis/{GROUP}/v1/namespaces/default/things"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"things.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 0},
                                    "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                                    "labels": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}
MERGE = {"Content-Type": "application/merge-patch+json"}


def _thing(index: int) -> dict[str, object]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Thing",
        "metadata": {"name": f"thing-{index:04d}", "labels": {"shard": str(index % 10)}},
        "spec": {"size": index, "labels": [f"label-{n}" for n in range(5)]},
    }


def _patch_worker(port: int, first: int, count: int, objects: int, status: bool) -> float:
    """Sequential merge patches from one client process; returns the seconds they took.

    The standard library's keep-alive client is used because it costs the client side about
    0.3 ms per request where httpx's synchronous client costs over 1 ms, which would measure
    the client rather than the server.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    for step in range(first, first + count):
        name = f"thing-{step % objects:04d}"
        if status:
            path, body = f"{COLLECTION}/{name}/status", {"status": {"step": step}}
        else:
            path, body = f"{COLLECTION}/{name}", {"spec": {"size": step}}
        connection.request("PATCH", path, body=json.dumps(body), headers=MERGE)
        answer = connection.getresponse()
        text = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"patch failed: {answer.status} {text[:200]!r}")
    connection.close()
    return time.perf_counter() - started


def _watch(url: str, seen: list[int], stop: threading.Event) -> None:
    with (
        httpx.Client(base_url=url, timeout=None) as client,
        client.stream("GET", COLLECTION, params={"watch": "true", "resourceVersion": "0"}) as reply,
    ):
        for _ in reply.iter_lines():
            seen[0] += 1
            if stop.is_set():
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--patches", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    options = parser.parse_args()

    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss
    with LocalKubeAPI() as api, httpx.Client(base_url=api.url, timeout=30) as client:
        client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=CRD)
        started = time.perf_counter()
        for index in range(options.objects):
            answer = client.post(COLLECTION, json=_thing(index))
            if answer.status_code != 201:
                raise RuntimeError(f"create failed: {answer.status_code} {answer.text[:200]}")
        create_seconds = time.perf_counter() - started
        gc.collect()
        rss_stored = process.memory_info().rss

        seen, stop = [0], threading.Event()
        watcher = threading.Thread(target=_watch, args=(api.url, seen, stop), daemon=True)
        watcher.start()
        while seen[0] < options.objects:
            time.sleep(0.01)

        with ProcessPoolExecutor(max_workers=options.clients) as pool:
            pool.submit(_patch_worker, api.port, 0, 10, options.objects, False).result()
            sequential = pool.submit(
                _patch_worker, api.port, 0, options.patches, options.objects, False
            ).result()
            share = options.patches // options.clients
            started = time.perf_counter()
            futures = [
                pool.submit(_patch_worker, api.port, n * share, share, options.objects, n % 2 == 1)
                for n in range(options.clients)
            ]
            for future in futures:
                future.result()
            concurrent = time.perf_counter() - started
        stop.set()
        client.patch(f"{COLLECTION}/thing-0000", content=b'{"spec":{"size":1}}', headers=MERGE)
        gc.collect()
        rss_after = process.memory_info().rss
        events = seen[0]

    mib = 1024 * 1024
    print(f"objects stored:                 {options.objects}")
    print(f"creates/s (one client):         {options.objects / create_seconds:8.0f}")
    print(f"merge patches/s, sequential:    {options.patches / sequential:8.0f}")
    print(
        f"merge patches/s, {options.clients} clients:     "
        f"{share * options.clients / concurrent:8.0f}  (half spec, half status)"
    )
    print(f"watch events delivered:         {events}")
    print(f"RSS after storing objects:      {(rss_stored - rss_before) / mib:8.1f} MiB more")
    print(f"RSS after patches and history:  {(rss_after - rss_before) / mib:8.1f} MiB more")


if __name__ == "__main__":
    main()
