"""kopf runs end to end against the API: create once, status patches, timers, deletion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kopf.testing import KopfRunner

from kubeapi.access import RawAPI, wait_for, widget
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
