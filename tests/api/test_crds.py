"""The generated CRDs: in step with the models, structural, and enforcing the same rules.

CEL rules are evaluated with cel-python after applying schema defaults, the way the API server
does it; every invalid spec in the table must be refused by the CEL rules and by the
reconciler's own ``validate`` alike, and every valid one accepted by both.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import pytest
import yaml
from celpy.adapter import json_to_cel
from pydantic import BaseModel
from typer.testing import CliRunner

from smartlicensing.api.crds import (
    KINDS,
    Kind,
    custom_resource_definition,
    file_name,
    kind_named,
    openapi_schema,
    render_yaml,
)
from smartlicensing.api.registration import SmartLicenseRegistrationSpec
from smartlicensing.api.reservation import LicenseReservationSpec
from smartlicensing.api.smartaccount import SmartAccountSpec
from smartlicensing.cli import app
from smartlicensing.reconcile.validation import parse_spec

ROOT = Path(__file__).parents[2]
EXAMPLES = Path(__file__).parent / "examples"
Json = dict[str, Any]


def walk(node: Json, path: str = "") -> Iterator[tuple[str, Json]]:
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")


# --- the files in crds/ ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.kind)
def test_crds_directory_matches_the_models(kind: Kind) -> None:
    on_disk = ROOT / "crds" / file_name(kind)

    assert on_disk.exists(), f"{on_disk} is missing: run `make crds`"
    assert on_disk.read_text() == render_yaml([kind]), f"{on_disk} is stale: run `make crds`"


def test_cli_prints_every_crd_as_one_stream() -> None:
    result = CliRunner().invoke(app, ["crds"])

    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.output))
    assert [d["metadata"]["name"] for d in documents] == [k.crd_name for k in KINDS]


def test_cli_writes_one_file_per_kind(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["crds", "--output-dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(file_name(k) for k in KINDS)


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.kind)
def test_schema_is_structural(kind: Kind) -> None:
    schema = openapi_schema(kind)
    text = yaml.safe_dump(schema)

    assert "$ref" not in text
    assert "anyOf" not in text
    assert "title:" not in text
    for path, node in walk(schema):
        assert "type" in node, f"{path} has no type"
        assert "additionalProperties" not in node, path
        if node["type"] == "object" and path not in ("", ".metadata"):
            assert "properties" in node, f"{path} is an object without properties"
        if node["type"] == "integer":
            assert node["format"] in ("int32", "int64"), path
        assert node.get("default", "absent") is not None, f"{path} defaults to null"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.kind)
def test_every_field_is_described_for_kubectl_explain(kind: Kind) -> None:
    for path, node in walk(openapi_schema(kind)):
        if path.startswith(".metadata"):
            continue
        assert node.get("description"), f"{kind.kind}{path} has no description"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.kind)
def test_only_status_fields_are_nullable(kind: Kind) -> None:
    schema = openapi_schema(kind)
    nullable = [path for path, node in walk(schema) if node.get("nullable")]

    assert nullable, "status has optional fields"
    assert all(path.startswith(".status") for path in nullable), nullable


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.kind)
def test_conditions_are_a_map_keyed_by_type(kind: Kind) -> None:
    conditions = openapi_schema(kind)["properties"]["status"]["properties"]["conditions"]

    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]


@pytest.mark.parametrize(
    ("name", "short", "columns"),
    [
        pytest.param(
            "SmartAccount",
            "sma",
            ["Ready", "Virtual Account", "Compliant", "Last Sync", "Age"],
            id="sma",
        ),
        pytest.param(
            "SmartLicenseRegistration",
            "slr",
            ["Ready", "Registration", "Authorization", "Compliant", "Next Sync", "Age"],
            id="slr",
        ),
        pytest.param(
            "LicenseReservation",
            "lres",
            ["Type", "Phase", "Workload", "Endpoint", "Ready", "Age"],
            id="lres",
        ),
    ],
)
def test_names_and_printer_columns(name: str, short: str, columns: list[str]) -> None:
    crd = custom_resource_definition(kind_named(short))
    version = crd["spec"]["versions"][0]

    assert crd["spec"]["names"]["kind"] == name
    assert crd["spec"]["names"]["shortNames"] == [short]
    assert crd["spec"]["names"]["categories"] == ["smartlicensing"]
    assert crd["spec"]["scope"] == "Namespaced"
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == columns
    for column in version["additionalPrinterColumns"]:
        assert "conditions[" not in column["jsonPath"] or "@.type==" in column["jsonPath"]


def test_unknown_kind_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="no kind 'Widget'"):
        kind_named("Widget")


# --- examples validate against the generated schema ------------------------------------------


def as_json_schema(node: Any) -> Any:
    """OpenAPI's ``nullable`` spelt the JSON Schema way, so ``jsonschema`` can judge it."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False):
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    return converted


def check(document: Json, kind: str) -> None:
    schema = as_json_schema(openapi_schema(kind_named(kind)))
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_examples_validate_against_the_openapi_schema(name: str) -> None:
    document = yaml.safe_load((EXAMPLES / name).read_text())
    check(document, document["kind"])
    assert cel_failures(openapi_schema(kind_named(document["kind"])), document) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("spec.cluster.uuid", "not-a-uuid", id="uuid"),
        pytest.param("spec.cluster.role", "Leader", id="role-enum"),
        pytest.param("spec.token.issue.expiresAfterDays", 400, id="expiry-max"),
        pytest.param("spec.syncInterval", "one day", id="duration-pattern"),
        pytest.param("spec.cluster.driver.url", "ftp://x", id="url-scheme"),
        pytest.param("status.registration.state", "Done", id="status-enum"),
    ],
)
def test_schema_refuses_bad_values(path: str, value: Any) -> None:
    document = yaml.safe_load((EXAMPLES / "registration.yaml").read_text())
    set_path(document, path, value)

    with pytest.raises(jsonschema.ValidationError):
        check(document, "slr")


# --- CEL rules --------------------------------------------------------------------------------


def set_path(document: Json, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value


def apply_defaults(schema: Json, value: Any) -> Any:
    if isinstance(value, dict):
        for name, child in schema.get("properties", {}).items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            if name in value:
                value[name] = apply_defaults(child, value[name])
    elif isinstance(value, list) and "items" in schema:
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def cel_failures(schema: Json, document: Json) -> list[str]:
    """Messages of the CEL rules the document breaks, after defaulting as the server does."""
    document = apply_defaults(schema, copy.deepcopy(document))
    environment = celpy.Environment()
    failures: list[str] = []

    def visit(node: Json, value: Any) -> None:
        for rule in node.get("x-kubernetes-validations", []):
            program = environment.program(environment.compile(rule["rule"]))
            result = program.evaluate({"self": json_to_cel(value)})
            assert isinstance(result, celpy.celtypes.BoolType), f"{rule['rule']}: {result!r}"
            if not result:
                failures.append(rule["message"])
        if isinstance(value, dict):
            for name, child in node.get("properties", {}).items():
                if name in value:
                    visit(child, value[name])
        elif isinstance(value, list) and "items" in node:
            for item in value:
                visit(node["items"], item)

    visit(schema, document)
    return failures


def test_every_cel_rule_compiles() -> None:
    environment = celpy.Environment()
    rules = [
        rule
        for kind in KINDS
        for _, node in walk(openapi_schema(kind))
        for rule in node.get("x-kubernetes-validations", [])
    ]

    assert len(rules) >= 8
    for rule in rules:
        environment.compile(rule["rule"])
        assert rule["message"]


def example(name: str, **changes: Any) -> Json:
    document: Json = yaml.safe_load((EXAMPLES / name).read_text())
    document.pop("status", None)
    for path, value in changes.items():
        set_path(document, path.replace("__", "."), value)
    return document


CEL_CASES = [
    pytest.param(example("smartaccount.yaml"), [], id="sma-cloud"),
    pytest.param(example("smartaccount-onprem.yaml"), [], id="sma-onprem"),
    pytest.param(
        example("smartaccount-onprem.yaml", spec__server__url=None),
        ["server type OnPrem needs url, the address of the On-Prem manager"],
        id="sma-onprem-without-url",
    ),
    pytest.param(
        example("smartaccount.yaml", spec__syncInterval="30s"),
        ["syncInterval is at least 1m"],
        id="sma-interval-too-short",
    ),
    pytest.param(example("registration.yaml"), [], id="slr-api-issue"),
    pytest.param(example("registration-manual.yaml"), [], id="slr-manual-secret"),
    pytest.param(
        example("registration.yaml", spec__token__secretRef={"name": "t"}),
        ["token needs exactly one of issue and secretRef"],
        id="slr-two-token-sources",
    ),
    pytest.param(
        example("registration.yaml", spec__token__issue=None),
        ["token needs exactly one of issue and secretRef"],
        id="slr-no-token-source",
    ),
    pytest.param(
        example("registration.yaml", spec__cluster__driver__url=None),
        ["driver type Api needs url and credentialsSecretRef"],
        id="slr-api-without-url",
    ),
    pytest.param(
        example("registration.yaml", spec__cluster__driver__credentialsSecretRef=None),
        ["driver type Api needs url and credentialsSecretRef"],
        id="slr-api-without-credentials",
    ),
    pytest.param(
        example("registration-manual.yaml", spec__cluster__driver__url="https://csw.test"),
        ["driver type Manual takes neither url nor credentialsSecretRef"],
        id="slr-manual-with-url",
    ),
    pytest.param(
        example("registration.yaml", spec__syncInterval="59s"),
        ["syncInterval is at least 1m"],
        id="slr-interval-too-short",
    ),
    pytest.param(example("reservation.yaml"), [], id="lres-specific"),
    pytest.param(example("reservation-plr.yaml"), [], id="lres-plr"),
    pytest.param(
        example("reservation.yaml", spec__licenses={"endpointVisibility": 5}),
        [],
        id="lres-specific-one-license",
    ),
    pytest.param(
        example("reservation.yaml", spec__licenses=None),
        ["type Specific needs licenses with workloadProtection or endpointVisibility above 0"],
        id="lres-specific-without-licenses",
    ),
    pytest.param(
        example("reservation.yaml", spec__licenses={"workloadProtection": 0}),
        ["type Specific needs licenses with workloadProtection or endpointVisibility above 0"],
        id="lres-specific-all-zero",
    ),
    pytest.param(
        example("reservation-plr.yaml", spec__licenses={"workloadProtection": 10}),
        ["type PLR reserves everything; remove licenses"],
        id="lres-plr-with-licenses",
    ),
    pytest.param(
        example(
            "reservation.yaml",
            spec__cluster__driver={
                "type": "Api",
                "url": "https://csw.test",
                "credentialsSecretRef": {"name": "csw-api"},
            },
        ),
        ["manual is only for the Manual driver"],
        id="lres-manual-codes-with-api-driver",
    ),
]


@pytest.mark.parametrize(("document", "expected"), CEL_CASES)
def test_cel_rules_accept_and_refuse(document: Json, expected: list[str]) -> None:
    schema = openapi_schema(kind_named(document["kind"]))

    assert cel_failures(schema, document) == expected


SPEC_MODELS: dict[str, type[BaseModel]] = {
    "SmartAccount": SmartAccountSpec,
    "SmartLicenseRegistration": SmartLicenseRegistrationSpec,
    "LicenseReservation": LicenseReservationSpec,
}


@pytest.mark.parametrize(("document", "expected"), CEL_CASES)
def test_reconciler_agrees_with_cel(document: Json, expected: list[str]) -> None:
    spec, problems = parse_spec(SPEC_MODELS[document["kind"]], document["spec"])

    if expected:
        assert spec is None
        assert problems, "the reconciler accepted what CEL refuses"
    else:
        assert problems == []
        assert spec is not None
