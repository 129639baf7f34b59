"""What the operator costs: apply-to-Ready latency, calls per registration, and memory.

For 1 and 200 registrations applied at once, and for both the real operator and a minimal kopf
operator that only marks registrations Ready (``benchmarks/minimal_operator.py``), it prints:

* apply-to-Ready p50 and p99: from the answer to a registration's create call to the watch
  event that first shows it ``Ready=True``, measured by a watcher in this process;
* CSSM calls and cluster calls per registration, from the simulator's call log (counted after a
  warm-up registration, so the operator's one-time OAuth login and account sync are not in it);
* the operator process's resident memory (RSS) once everything is Ready, and its ratio to the
  minimal operator's.

Each of those counts is run three times (``--repeat``), each run with fresh processes, and the
median and range of p50, p99 and the operator's CPU close it: on a shared machine one run's
figures have varied by a third from the next. Then the resident memory of each with 1,000
registrations, once.

The local Kubernetes API, the simulator and the operator each run in a process of their own
(on 2 cores, one interpreter's lock would otherwise measure this harness), with a world file
generated for the number of clusters. Every wait has a deadline; the script prints figures and
never asserts them.

Cores: in a cluster the operator's pod has its CPU and the API server, CSSM and the Secure
Workload clusters run elsewhere. So, on a machine with 2 cores or more, the operator under test
(real or minimal) runs on a core of its own and the local API, the simulator and this harness
share the others; ``--shared-cores`` lets all four processes compete for every core instead.

    make bench                                  # or: .venv/bin/python benchmarks/operator_bench.py
    .venv/bin/python benchmarks/operator_bench.py --counts 1 50 --memory-count 200 --repeat 1
    .venv/bin/python benchmarks/operator_bench.py --shared-cores
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
CRDS = ROOT / "crds"
GROUP_VERSION = "smartlicensing.dev/v1alpha1"
NAMESPACE = "bench"
WARMUP_NAMESPACE = "bench-warmup"
SLR_PATH = "/apis/smartlicensing.dev/v1alpha1/namespaces/{namespace}/smartlicenseregistrations"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-only-secret-0123456789"
DOMAIN, VIRTUAL_ACCOUNT = "bench.example.com", "Bench"
START_TIMEOUT = 60.0
READY_TIMEOUT = 120.0
#: The whole benchmark stops waiting after this many seconds, whatever is left to measure.
BUDGET = 540.0
_BUDGET_ENDS = time.monotonic() + BUDGET
CREATE_WORKERS = 8


# --- the world and the objects -----------------------------------------------------------------


def cluster_uuid(index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://bench.smartlicensing.dev/{index}"))


def cluster_key(index: int) -> tuple[str, str]:
    return f"bench-key-{index:05d}", f"bench-only-api-secret-{index:05d}-0123456789abcdef"


def world(clusters: int) -> dict[str, Any]:
    """A world of ``clusters`` clusters under one cloud virtual account with enough licenses.

    No ``clock.start``: the simulator's clock starts at the real time, which the operator (on
    the real clock here) agrees with.
    """
    return {
        "seed": 7,
        "cloud": {
            "apiClients": [{"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}],
            "accounts": [
                {
                    "domain": DOMAIN,
                    "name": "Bench",
                    "virtualAccounts": [
                        {
                            "name": VIRTUAL_ACCOUNT,
                            "default": True,
                            "licenses": {
                                "Tetration Workload Protection": 100 * clusters,
                                "Tetration Endpoint Visibility": 100 * clusters,
                            },
                        }
                    ],
                }
            ],
        },
        "clusters": [
            {
                "uuid": cluster_uuid(index),
                "name": f"bench-{index:05d}",
                "role": "Standalone",
                "workloads": 10,
                "endpoints": 5,
                "apiKey": cluster_key(index)[0],
                "apiSecret": cluster_key(index)[1],
            }
            for index in range(clusters)
        ],
    }


def secret(namespace: str, name: str, values: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "stringData": values,
    }


def account(namespace: str, sim_url: str) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "SmartAccount",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {
            "server": {
                "type": "Cloud",
                "url": sim_url,
                "tokenURL": f"{sim_url}/oauth2/default/v1/token",
            },
            "smartAccount": DOMAIN,
            "virtualAccount": VIRTUAL_ACCOUNT,
            "credentialsSecretRef": {"name": "cssm-api-client"},
        },
    }


def registration(namespace: str, index: int, sim_url: str) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "SmartLicenseRegistration",
        "metadata": {"name": f"csw-{index:05d}", "namespace": namespace},
        "spec": {
            "accountRef": {"name": "bench"},
            "cluster": {
                "uuid": cluster_uuid(index),
                "role": "Standalone",
                "driver": {
                    "type": "Api",
                    "url": f"{sim_url}/clusters/{cluster_uuid(index)}",
                    "credentialsSecretRef": {"name": f"csw-{index:05d}-api"},
                },
            },
            "token": {"issue": {"expiresAfterDays": 30}},
            "deletionPolicy": "Orphan",
        },
    }


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_kube_api(url_file: Path) -> None:
    """Role: the local Kubernetes API, until this process is told to stop."""
    from smartlicensing.testing.kubeapi import LocalKubeAPI

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalKubeAPI(history_size=50_000) as api:
        url_file.write_text(api.url)
        stop.wait()


def serve_simulator(world_file: Path, url_file: Path) -> None:
    """Role: the licensing simulator, until this process is told to stop."""
    from smartlicensing.testing.sim import Simulator

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Simulator.from_file(world_file).serve_in_thread() as url:
        url_file.write_text(url)
        stop.wait()


def run_real_operator(liveness: str) -> None:
    """Role: the real operator on the real clock (settings from ``SMARTLICENSING_*``), in a
    process tuned as ``smartlicensing run`` tunes its own (the garbage collector).

    With ``BENCH_PROFILE`` set to a file name, it runs under cProfile and writes the statistics
    there when it stops (kopf stops cleanly on SIGTERM).
    """
    from smartlicensing.config import OperatorSettings
    from smartlicensing.handlers.operator import run_operator, tune_garbage_collector

    settings = OperatorSettings()
    tune_garbage_collector(settings.gc_threshold)
    run = run_operator(settings=settings, liveness_endpoint=liveness)
    profile_to = os.environ.get("BENCH_PROFILE")
    if not profile_to:
        asyncio.run(run)
        return
    import cProfile

    with cProfile.Profile() as profile:
        asyncio.run(run)
    profile.dump_stats(profile_to)


def real_operator_available() -> str | None:
    """Why the real operator cannot run in this build, or None when it can."""
    try:
        from smartlicensing.handlers import operator  # noqa: F401
    except ImportError as error:
        return f"smartlicensing.handlers.operator is not importable ({error})"
    return None


@dataclass(frozen=True)
class Cores:
    """Which cores the operator under test and everything else may run on (None: any)."""

    operator: frozenset[int] | None = None
    others: frozenset[int] | None = None

    @classmethod
    def split(cls) -> Cores:
        """The first core this process may use for the operator, the rest for the others."""
        allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        if len(allowed) < 2:
            return cls()
        return cls(frozenset(allowed[:1]), frozenset(allowed[1:]))

    def describe(self) -> str:
        if self.operator is None or self.others is None:
            return "every process on every core"
        return (
            f"the operator on core {_cores(self.operator)}; the local API, the simulator and "
            f"this harness on core {_cores(self.others)}"
        )


def _cores(cores: frozenset[int]) -> str:
    return ",".join(str(core) for core in sorted(cores))


def pin(pid: int | None, cores: frozenset[int] | None) -> None:
    """Keep a process (None: this one) on ``cores``; nothing when ``cores`` is None."""
    if cores is not None:
        psutil.Process(pid).cpu_affinity(sorted(cores))


@contextmanager
def process(
    argv: list[str], env: dict[str, str], log: Path, cores: frozenset[int] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        pin(child.pid, cores)
        try:
            yield child
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)


def _deadline(timeout: float) -> float:
    """When a wait of ``timeout`` seconds must end, within the benchmark's budget."""
    return min(time.monotonic() + timeout, _BUDGET_ENDS)


def wait_for_file(path: Path, child: subprocess.Popen[bytes], log: Path) -> str:
    deadline = _deadline(START_TIMEOUT)
    while not path.exists() or not path.read_text():
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{child.args} did not start; see {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.05)
    return path.read_text()


def wait_until(
    what: str, check: Any, timeout: float, child: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = _deadline(timeout)
    while not check():
        if child is not None and child.poll() is not None:
            raise RuntimeError(f"{what}: the operator process exited ({child.returncode})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s (or the {BUDGET:g} s budget)")
        time.sleep(0.05)


# --- the Kubernetes side, over plain HTTP -------------------------------------------------------


class Kube:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def create(self, obj: dict[str, Any]) -> float:
        """Create an object; the monotonic time its answer arrived."""
        kind = obj["kind"]
        namespace = obj["metadata"].get("namespace")
        if kind == "Namespace":
            path = "/api/v1/namespaces"
        elif kind == "Secret":
            path = f"/api/v1/namespaces/{namespace}/secrets"
        elif kind == "CustomResourceDefinition":
            path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        else:
            plural = {
                "SmartAccount": "smartaccounts",
                "SmartLicenseRegistration": "smartlicenseregistrations",
            }[kind]
            path = f"/apis/smartlicensing.dev/v1alpha1/namespaces/{namespace}/{plural}"
        answer = self.http.post(path, json=obj)
        if answer.status_code >= 300:
            raise RuntimeError(f"creating {kind} {obj['metadata']['name']}: {answer.text[:500]}")
        return time.monotonic()

    def get(self, path: str) -> dict[str, Any]:
        answer = self.http.get(path)
        answer.raise_for_status()
        return dict(answer.json())


def is_ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in obj.get("status", {}).get("conditions", []) or []
    )


@dataclass
class ReadyWatcher:
    """Watches one namespace's registrations; notes when each is first seen Ready=True."""

    kube_url: str
    namespace: str
    ready_at: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        listing = Kube(self.kube_url).get(SLR_PATH.format(namespace=self.namespace))
        version = listing["metadata"]["resourceVersion"]
        self._thread = threading.Thread(target=self._watch, args=(version,), daemon=True)
        self._thread.start()

    def _watch(self, version: str) -> None:
        path = SLR_PATH.format(namespace=self.namespace)
        params = {"watch": "true", "resourceVersion": version, "timeoutSeconds": "600"}
        with (
            httpx.Client(base_url=self.kube_url, timeout=None) as http,
            http.stream("GET", path, params=params) as stream,
        ):
            for line in stream.iter_lines():
                now = time.monotonic()
                if self._stop.is_set():
                    return
                if not line:
                    continue
                event = json.loads(line)
                obj = event.get("object", {})
                name = obj.get("metadata", {}).get("name")
                if name and name not in self.ready_at and is_ready(obj):
                    self.ready_at[name] = now

    def stop(self) -> None:
        self._stop.set()


# --- one run -----------------------------------------------------------------------------------


@dataclass
class Figures:
    operator: str
    count: int
    ready: int = 0
    p50: float | None = None
    p99: float | None = None
    cssm_calls: int = 0
    cluster_calls: int = 0
    rss: int = 0
    seconds_to_all_ready: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def run_one(
    operator: str, count: int, workdir: Path, cores: Cores, *, profile: bool = False
) -> Figures:
    """Start the three processes, apply ``count`` registrations at once, measure, stop."""
    figures = Figures(operator, count)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{operator}-{count}-", dir=workdir))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    world_file = run_dir / "world.yaml"
    # Cluster 0 is the warm-up's; the measured registrations use 1..count.
    world_file.write_text(yaml.safe_dump(world(count + 1), sort_keys=False))
    script = str(Path(__file__).resolve())
    kube_url_file, sim_url_file = run_dir / "kube.url", run_dir / "sim.url"
    with (
        process(
            [sys.executable, script, "--role", "kubeapi", str(kube_url_file)],
            env,
            run_dir / "kubeapi.log",
            cores.others,
        ) as kube_proc,
        process(
            [sys.executable, script, "--role", "sim", str(world_file), str(sim_url_file)],
            env,
            run_dir / "sim.log",
            cores.others,
        ) as sim_proc,
    ):
        kube_url = wait_for_file(kube_url_file, kube_proc, run_dir / "kubeapi.log")
        sim_url = wait_for_file(sim_url_file, sim_proc, run_dir / "sim.log")
        kube = Kube(kube_url)
        kubeconfig = run_dir / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "bench", "cluster": {"server": kube_url}}],
                    "users": [{"name": "bench", "user": {"token": "bench"}}],
                    "contexts": [
                        {"name": "bench", "context": {"cluster": "bench", "user": "bench"}}
                    ],
                    "current-context": "bench",
                }
            )
        )
        for crd_file in sorted(CRDS.glob("*.yaml")):
            kube.create(yaml.safe_load(crd_file.read_text()))
        for namespace in (WARMUP_NAMESPACE, NAMESPACE):
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            kube.create(
                secret(
                    namespace,
                    "cssm-api-client",
                    {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
                )
            )
            kube.create(account(namespace, sim_url))
        for index in range(count + 1):
            api_key, api_secret = cluster_key(index)
            namespace = WARMUP_NAMESPACE if index == 0 else NAMESPACE
            kube.create(
                secret(
                    namespace,
                    f"csw-{index:05d}-api",
                    {"api_key": api_key, "api_secret": api_secret},
                )
            )

        liveness_port = free_port()
        liveness = f"http://127.0.0.1:{liveness_port}/healthz"
        op_env = {
            **env,
            "KUBECONFIG": str(kubeconfig),
            # The benchmark measures the operator, not CSSM's manners: the client-side rate
            # limit (5 requests/s by default) would otherwise set the figures by itself.
            "SMARTLICENSING_CSSM_REQUESTS_PER_SECOND": "10000",
            **{
                name: os.environ[name]
                for name in ("SMARTLICENSING_TIMER_INTERVAL", "SMARTLICENSING_FIRST_CHECK_SPREAD")
                if name in os.environ
            },
        }
        if operator == "real":
            argv = [sys.executable, script, "--role", "operator", liveness]
            if profile:
                op_env["BENCH_PROFILE"] = str(run_dir / "operator.prof")
        else:
            argv = [
                sys.executable,
                "-m",
                "kopf",
                "run",
                "--standalone",
                "--all-namespaces",
                "--quiet",
                f"--liveness={liveness}",
                str(ROOT / "benchmarks" / "minimal_operator.py"),
            ]
        op_log = run_dir / "operator.log"
        with process(argv, op_env, op_log, cores.operator) as op_proc:
            try:
                wait_until("operator liveness", lambda: _alive(liveness), START_TIMEOUT, op_proc)
                # Warm-up: one registration in its own namespace proves the watches are up and
                # lets the real operator log in to CSSM and sync its account first.
                warm = ReadyWatcher(kube_url, WARMUP_NAMESPACE)
                warm.start()
                kube.create(registration(WARMUP_NAMESPACE, 0, sim_url))
                wait_until(
                    "warm-up registration Ready",
                    lambda: "csw-00000" in warm.ready_at,
                    START_TIMEOUT,
                    op_proc,
                )
                warm.stop()
                if operator == "real":
                    wait_until(
                        "bench SmartAccount Ready",
                        lambda: is_ready(
                            kube.get(
                                f"/apis/smartlicensing.dev/v1alpha1/namespaces/{NAMESPACE}/smartaccounts/bench"
                            )
                        ),
                        START_TIMEOUT,
                        op_proc,
                    )
                seq = _last_seq(sim_url)
                processes = {"operator": op_proc, "sim": sim_proc, "kubeapi": kube_proc}
                cpu_before = {name: _cpu(p) for name, p in processes.items()}
                harness_before = _cpu(None)

                watcher = ReadyWatcher(kube_url, NAMESPACE)
                watcher.start()
                created: dict[str, float] = {}
                started = time.monotonic()

                def create(index: int) -> None:
                    obj = registration(NAMESPACE, index, sim_url)
                    created[obj["metadata"]["name"]] = kube.create(obj)

                with ThreadPoolExecutor(CREATE_WORKERS) as pool:
                    list(pool.map(create, range(1, count + 1)))
                try:
                    wait_until(
                        "all registrations Ready",
                        lambda: len(watcher.ready_at) >= count,
                        READY_TIMEOUT,
                        op_proc,
                    )
                    figures.seconds_to_all_ready = time.monotonic() - started
                except TimeoutError as error:
                    figures.error = str(error)
                watcher.stop()

                latencies = [
                    watcher.ready_at[n] - created[n] for n in created if n in watcher.ready_at
                ]
                figures.ready = len(latencies)
                if latencies:
                    figures.p50 = percentile(latencies, 0.50)
                    figures.p99 = percentile(latencies, 0.99)
                calls = _calls_since(sim_url, seq)
                (run_dir / "calls.json").write_text(json.dumps(calls, indent=1))
                figures.cluster_calls = sum(1 for c in calls if c.get("cluster"))
                figures.cssm_calls = len(calls) - figures.cluster_calls
                figures.rss = psutil.Process(op_proc.pid).memory_info().rss
                figures.cpu = {n: _cpu(p) - cpu_before[n] for n, p in processes.items()}
                figures.cpu["harness"] = _cpu(None) - harness_before
            except (RuntimeError, TimeoutError) as error:
                figures.error = f"{error} (log: {op_log})"
    return figures


def _cpu(child: subprocess.Popen[bytes] | None) -> float:
    """CPU seconds (user and system) a child process (None: this one) has used so far."""
    times = psutil.Process(child.pid if child is not None else None).cpu_times()
    return float(times.user + times.system)


def _alive(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _last_seq(sim_url: str) -> int:
    calls = httpx.get(f"{sim_url}/_sim/calls", timeout=30).json()["calls"]
    return max((c["seq"] for c in calls), default=0)


def _calls_since(sim_url: str, seq: int) -> list[dict[str, Any]]:
    return list(
        httpx.get(f"{sim_url}/_sim/calls", params={"since": seq}, timeout=30).json()["calls"]
    )


# --- printing ------------------------------------------------------------------------------------


def mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def report(figures: Figures, baseline: Figures | None) -> str:
    if figures.error and not figures.ready:
        return f"  {figures.operator:8} n={figures.count:<5} failed: {figures.error}"
    per = max(figures.count, 1)
    line = (
        f"  {figures.operator:8} n={figures.count:<5} ready {figures.ready}/{figures.count}"
        f"  p50 {seconds(figures.p50)}  p99 {seconds(figures.p99)}"
        f"  all in {seconds(figures.seconds_to_all_ready)}"
        f"  CSSM/reg {figures.cssm_calls / per:.2f}  cluster/reg {figures.cluster_calls / per:.2f}"
        f"  RSS {mib(figures.rss)}"
    )
    if baseline is not None and baseline.rss and baseline.p50:
        line += f"  (x{figures.rss / baseline.rss:.2f} RSS"
        if figures.p50 is not None:
            line += f", x{figures.p50 / baseline.p50:.1f} p50"
        line += " of minimal)"
    if figures.cpu:
        line += "\n           CPU s: " + ", ".join(
            f"{name} {used:.1f}" for name, used in figures.cpu.items()
        )
    if figures.error:
        line += f"\n           {figures.error}"
    return line


def summary(runs: list[Figures]) -> str:
    """The median and the range of each latency and of the operator's CPU over ``runs``."""
    done = [f for f in runs if f.p99 is not None and f.ready == f.count]
    if not runs:
        return ""
    head = f"  {runs[0].operator:8} n={runs[0].count:<5} {len(done)} of {len(runs)} runs complete"
    if not done:
        return head

    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"

    p50 = [f.p50 for f in done if f.p50 is not None]
    p99 = [f.p99 for f in done if f.p99 is not None]
    cpu = [f.cpu["operator"] for f in done if "operator" in f.cpu]
    line = f"{head}: median (range) p50 {spread(p50)}  p99 {spread(p99)}"
    if cpu:
        line += f"  operator CPU {spread(cpu)}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 200])
    parser.add_argument("--memory-count", type=int, default=1000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each count but the memory count; medians and ranges follow (default 3)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the real operator under cProfile; statistics go next to its log",
    )
    parser.add_argument(
        "--shared-cores",
        action="store_true",
        help="let every process run on every core (default: the operator on a core of its own)",
    )
    args = parser.parse_args()

    if args.role:
        role, *rest = args.role
        if role == "kubeapi":
            serve_kube_api(Path(rest[0]))
        elif role == "sim":
            serve_simulator(Path(rest[0]), Path(rest[1]))
        elif role == "operator":
            run_real_operator(rest[0])
        return

    workdir = Path(tempfile.mkdtemp(prefix="smartlicensing-bench-"))
    missing = real_operator_available()
    operators = ["minimal"] + (["real"] if missing is None else [])
    cores = Cores() if args.shared_cores else Cores.split()
    pin(None, cores.others)
    print(f"operator benchmark on {os.cpu_count()} cores; logs under {workdir}")
    print(f"cores: {cores.describe()}")
    if missing:
        print(f"  real operator skipped: {missing}")
    print("targets: p99 < 2 s at 200, <= 2 CSSM and <= 3 cluster calls per registration,")
    print(f"         operator RSS < 250 MiB with {args.memory_count} registrations")
    for count in [*args.counts, args.memory_count]:
        print(f"{count} registration{'s' if count != 1 else ''} applied at once:")
        # The memory run is made once: what it is for, the operator's RSS, hardly varies.
        runs = 1 if count == args.memory_count else args.repeat
        seen: dict[str, list[Figures]] = {operator: [] for operator in operators}
        for _ in range(runs):
            baseline: Figures | None = None
            for operator in operators:
                if time.monotonic() > _BUDGET_ENDS:
                    print(
                        f"  {operator:8} n={count:<5} skipped: the {BUDGET:g} s budget is used up"
                    )
                    continue
                figures = run_one(operator, count, workdir, cores, profile=args.profile)
                print(report(figures, baseline), flush=True)
                seen[operator].append(figures)
                if operator == "minimal":
                    baseline = figures
        if runs > 1:
            for operator in operators:
                print(summary(seen[operator]))


if __name__ == "__main__":
    main()
