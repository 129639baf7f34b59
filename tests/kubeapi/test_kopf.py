"""kopf runs end to end against the API: create once, status patches, timers, deletion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kopf.testing import KopfRunner

from kubeapi.access import MANIFESTS, RawAPI, wait_for, widget
from kubeapi.kopf_operator import FINALIZER

OPERATOR = Path(__file__).parent / "kopf_operator.py"


def test_kopf_operator_handles_the_life_of_an_object(
    raw: RawAPI, widgets: str, namespace: str
) -> None:
    args = ["run", "--standalone", "--namespace", namespace, str(OPERATOR)]
    with KopfRunner(args, timeout=60) as runner:
        assert raw("POST", widgets, widget("kopfed")).status == 201

        def status() -> dict[str, Any]:
            return dict(raw("GET", f"{widgets}/kopfed").body.get("status") or {})

        wait_for(lambda: status().get("phase") == "Created", timeout=20)
        wait_for(lambda: int(status().get("ticks", 0)) >= 3, timeout=20)
        held = raw("GET", f"{widgets}/kopfed").body
        assert FINALIZER in held["metadata"]["finalizers"]

        raw("DELETE", f"{widgets}/kopfed")
        wait_for(lambda: raw("GET", f"{widgets}/kopfed").status == 404, timeout=20)

        def events() -> list[dict[str, Any]]:
            return list(raw("GET", f"/api/v1/namespaces/{namespace}/events").body["items"])

        posted = wait_for(lambda: [e for e in events() if e["reason"] == "Created"], timeout=20)

    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output
    assert runner.output.count("create-handler kopfed") == 1, runner.output
    assert runner.output.count("delete-handler kopfed") == 1, runner.output
    assert posted[0]["involvedObject"]["name"] == "kopfed"


def test_kopf_peering_announces_itself_when_the_peering_kind_is_installed(
    kube_api: Any, raw: RawAPI, widgets: str, namespace: str
) -> None:
    """Without --standalone kopf writes its identity into the KopfPeering and clears it on exit."""
    kube_api.apply(MANIFESTS / "kopf-peering.yaml")
    peerings = f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings"
    peering = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "default"}}
    assert raw("POST", peerings, peering).status == 201

    def peers() -> dict[str, Any]:
        return dict(raw("GET", f"{peerings}/default").body.get("status") or {})

    args = ["run", "--namespace", namespace, "--peering", "default", str(OPERATOR)]
    with KopfRunner(args, timeout=60) as runner:
        announced = wait_for(peers, timeout=20)
        raw("POST", widgets, widget("peered"))
        wait_for(
            lambda: (raw("GET", f"{widgets}/peered").body.get("status") or {}).get("phase"),
            timeout=20,
        )
        # The operator's finalizer must go while it runs, or the namespace could never end.
        raw("DELETE", f"{widgets}/peered")
        wait_for(lambda: raw("GET", f"{widgets}/peered").status == 404, timeout=20)

    assert runner.exit_code == 0, runner.output
    assert len(announced) == 1
    assert peers() == {}


def test_a_restarted_kopf_operator_resumes_without_creating_again(
    raw: RawAPI, widgets: str, namespace: str
) -> None:
    """kopf keeps its progress and last-handled configuration in annotations; after a restart
    against the same API it sees the object as handled: no second create, the timer goes on."""
    args = ["run", "--standalone", "--namespace", namespace, str(OPERATOR)]

    def status() -> dict[str, Any]:
        return dict(raw("GET", f"{widgets}/again").body.get("status") or {})

    with KopfRunner(args, timeout=60) as first:
        assert raw("POST", widgets, widget("again")).status == 201
        wait_for(lambda: status().get("phase") == "Created", timeout=20)
        wait_for(lambda: int(status().get("ticks", 0)) >= 1, timeout=20)
    ticks_before = int(status().get("ticks", 0))

    with KopfRunner(args, timeout=60) as second:
        wait_for(lambda: int(status().get("ticks", 0)) >= ticks_before + 2, timeout=20)
        raw("DELETE", f"{widgets}/again")
        wait_for(lambda: raw("GET", f"{widgets}/again").status == 404, timeout=20)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert first.output.count("create-handler again") == 1, first.output
    assert "create-handler again" not in second.output, second.output
    assert second.output.count("delete-handler again") == 1, second.output
