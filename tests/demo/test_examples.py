"""The examples a person applies: valid against the CRDs, consistent with the simulator's world,
and moved to the demo's simulator when loaded."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from smartlicensing.testing.demo import (
    EXAMPLES_SIMULATOR_URL,
    DemoError,
    DemoOptions,
    load_manifests,
    rewrite_simulator_url,
)

OPTIONS = DemoOptions()
SIM_URL = "http://127.0.0.1:40123"


def _crd_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for path in OPTIONS.crds.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        version = crd["spec"]["versions"][0]
        schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return schemas


def _examples(kind: str) -> list[dict[str, Any]]:
    return [d for d in load_manifests(OPTIONS.examples) if d["kind"] == kind]


def _world() -> dict[str, Any]:
    return dict(yaml.safe_load(OPTIONS.world.read_text()))


def _secret_values(name: str) -> dict[str, str]:
    (found,) = [s for s in _examples("Secret") if s["metadata"]["name"] == name]
    values = dict(found.get("stringData", {}))
    values.update({k: base64.b64decode(v).decode() for k, v in found.get("data", {}).items()})
    return values


class TestExampleFiles:
    def test_every_custom_resource_is_valid_against_its_crd_schema(self) -> None:
        schemas = _crd_schemas()
        checked = 0
        for document in load_manifests(OPTIONS.examples):
            if document["kind"] in schemas:
                jsonschema.validate(document, schemas[document["kind"]])
                checked += 1

        assert checked == 5

    def test_everything_lives_in_the_licensing_namespace(self) -> None:
        documents = load_manifests(OPTIONS.examples)

        assert documents[0] == {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "licensing"},
        }
        assert {d["metadata"].get("namespace") for d in documents[1:]} == {"licensing"}

    @pytest.mark.parametrize(
        ("name", "account", "driver"),
        [
            pytest.param("csw-east", "acme-prod", "Api", id="cloud-api"),
            pytest.param("csw-west", "acme-onprem", "Api", id="onprem-api"),
            pytest.param("csw-lab", "acme-prod", "Manual", id="manual"),
        ],
    )
    def test_registrations_name_an_account_and_a_cluster_of_the_world(
        self, name: str, account: str, driver: str
    ) -> None:
        (registration,) = [
            r for r in _examples("SmartLicenseRegistration") if r["metadata"]["name"] == name
        ]
        clusters = {c["name"]: c for c in _world()["clusters"]}
        spec = registration["spec"]

        assert spec["accountRef"]["name"] in {
            a["metadata"]["name"] for a in _examples("SmartAccount")
        }
        assert spec["accountRef"]["name"] == account
        assert spec["cluster"]["driver"]["type"] == driver
        assert spec["cluster"]["uuid"] == clusters[name]["uuid"]

    @pytest.mark.parametrize("name", ["csw-east", "csw-west"])
    def test_api_drivers_hold_the_worlds_cluster_credentials(self, name: str) -> None:
        (registration,) = [
            r for r in _examples("SmartLicenseRegistration") if r["metadata"]["name"] == name
        ]
        driver = registration["spec"]["cluster"]["driver"]
        cluster = {c["name"]: c for c in _world()["clusters"]}[name]
        values = _secret_values(driver["credentialsSecretRef"]["name"])

        assert driver["url"] == f"{EXAMPLES_SIMULATOR_URL}/clusters/{cluster['uuid']}"
        assert values == {"api_key": cluster["apiKey"], "api_secret": cluster["apiSecret"]}

    @pytest.mark.parametrize(
        ("account", "clients"),
        [
            pytest.param("acme-prod", lambda w: w["cloud"]["apiClients"], id="cloud"),
            pytest.param("acme-onprem", lambda w: w["onPrem"][0]["apiClients"], id="onprem"),
        ],
    )
    def test_accounts_hold_credentials_the_world_accepts(self, account: str, clients: Any) -> None:
        (found,) = [a for a in _examples("SmartAccount") if a["metadata"]["name"] == account]
        values = _secret_values(found["spec"]["credentialsSecretRef"]["name"])
        accepted = {(c["clientId"], c["clientSecret"]) for c in clients(_world())}

        assert (values["client_id"], values["client_secret"]) in accepted


class TestLoading:
    def test_the_simulator_address_is_rewritten_everywhere_it_begins_a_string(self) -> None:
        documents = load_manifests(OPTIONS.examples, SIM_URL)
        text = yaml.safe_dump_all(documents)

        assert EXAMPLES_SIMULATOR_URL not in text
        (east,) = [d for d in documents if d["metadata"]["name"] == "csw-east"]
        assert east["spec"]["cluster"]["driver"]["url"].startswith(f"{SIM_URL}/clusters/")
        (prod,) = [d for d in documents if d["metadata"]["name"] == "acme-prod"]
        assert prod["spec"]["server"]["tokenURL"] == f"{SIM_URL}/oauth2/default/v1/token"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(f"{EXAMPLES_SIMULATOR_URL}/x", f"{SIM_URL}/x", id="prefix"),
            pytest.param(EXAMPLES_SIMULATOR_URL, SIM_URL, id="whole"),
            pytest.param(
                f"see {EXAMPLES_SIMULATOR_URL}", f"see {EXAMPLES_SIMULATOR_URL}", id="inside"
            ),
            pytest.param("https://ssm.example.internal/SmartTransport", None, id="other-url"),
            pytest.param(8443, None, id="number"),
        ],
    )
    def test_rewrite_touches_only_strings_that_begin_with_the_address(
        self, value: Any, expected: Any
    ) -> None:
        nested = {"a": [value, {"b": value}]}

        rewritten = rewrite_simulator_url(nested, SIM_URL + "/")

        want = value if expected is None else expected
        assert rewritten == {"a": [want, {"b": want}]}

    def test_a_file_that_is_not_a_kubernetes_object_is_refused_with_its_name(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
        (tmp_path / "b.yaml").write_text("kind: Namespace\napiVersion: v1\n---\nseed: 1\n")

        with pytest.raises(DemoError, match=r"b\.yaml, document 2: not a Kubernetes object"):
            load_manifests(tmp_path)

    def test_an_empty_directory_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(DemoError, match=r"no \*\.yaml files"):
            load_manifests(tmp_path)
