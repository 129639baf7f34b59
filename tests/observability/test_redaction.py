"""Secrets are masked in text: registered values, and secret-shaped substrings."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartlicensing.observability.redaction import MASK, SecretRegistry, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("Authorization: Bearer eyJhbGciOi.abc-def", "eyJhbGciOi.abc-def", id="bearer"),
        pytest.param(
            "grant_type=client_credentials&client_secret=s3cr3t-v4lue&x=1",
            "s3cr3t-v4lue",
            id="form-client-secret",
        ),
        pytest.param(
            '{"client_secret": "s3cr3t-v4lue", "client_id": "me"}',
            "s3cr3t-v4lue",
            id="json-client-secret",
        ),
        pytest.param("{'token': 'NmQ4ZTQlODg4-token'}", "NmQ4ZTQlODg4-token", id="token-field"),
        pytest.param(
            "code <specificPLR><authorizationCode>AbC</authorizationCode>"
            "<signature>SIG</signature></specificPLR> end",
            "<signature>SIG",
            id="plr-xml",
        ),
        pytest.param(
            "return ChWhde-okvz5f-ckFy8a-aSx4AK-Qf1iFZ-WXYaP1-wwDwmB-K5SEWq-rbr now",
            "ChWhde-okvz5f",
            id="return-code",
        ),
        pytest.param('"returnCode": "abc123def"', "abc123def", id="return-code-field"),
    ],
)
def test_secret_shapes_are_masked(text: str, secret: str) -> None:
    masked = redact(text, registry=SecretRegistry())
    assert secret not in masked
    assert MASK in masked


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("cluster 5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b registered", id="uuid"),
        pytest.param("request code CB-ZCSW:SN1-abcdefghi-3F", id="request-code"),
        pytest.param("virtual account Datacenter-East has 80 available", id="plain"),
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text, registry=SecretRegistry()) == text


def test_registered_values_are_masked_anywhere() -> None:
    registry = SecretRegistry()
    registry.register("confirm-8f3a9c1d", None, "")
    text = "the person typed confirm-8f3a9c1d into CSSM (confirm-8f3a9c1d)"
    assert redact(text, registry=registry) == f"the person typed {MASK} into CSSM ({MASK})"


def test_longer_secret_is_masked_whole_when_it_contains_another() -> None:
    registry = SecretRegistry()
    registry.register("abcdef", "abcdef-ghijkl")
    assert redact("x abcdef-ghijkl y", registry=registry) == f"x {MASK} y"


def test_short_values_are_not_registered() -> None:
    registry = SecretRegistry()
    registry.register("ab", "true")
    assert len(registry) == 0
    assert redact("ab true", registry=registry) == "ab true"


def test_forgotten_values_are_no_longer_masked() -> None:
    registry = SecretRegistry()
    registry.register("rotated-secret-1")
    registry.forget("rotated-secret-1")
    assert redact("rotated-secret-1", registry=registry) == "rotated-secret-1"


def test_extra_values_are_masked_for_one_call() -> None:
    assert redact("x call-secret-9 y", extra=["call-secret-9"], registry=SecretRegistry()) == (
        f"x {MASK} y"
    )


def test_values_registered_after_masking_began_are_masked_too() -> None:
    registry = SecretRegistry()
    registry.register("first-secret-1")
    text = "first-secret-1 later-secret-2"
    assert redact(text, registry=registry) == f"{MASK} later-secret-2"
    registry.register("later-secret-2")
    assert redact(text, registry=registry) == f"{MASK} {MASK}"


def test_every_one_of_thousands_of_values_is_masked() -> None:
    registry = SecretRegistry()
    values = [f"api-secret-{n:05d}-0123456789abcdef" for n in range(5000)]
    registry.register(*values)
    for value in (values[0], values[2500], values[-1]):
        assert redact(f"signing with {value}.", registry=registry) == f"signing with {MASK}."
    assert len(registry) == 5000


@pytest.mark.parametrize(
    ("registered", "text", "expected"),
    [
        pytest.param(("secret-a",), "secret-a", MASK, id="whole-text"),
        pytest.param(("secret-a",), "secret-asecret-a", MASK * 2, id="adjacent"),
        pytest.param(("secret-a",), "xsecret-", "xsecret-", id="prefix-only-at-end"),
        pytest.param(("secret", "secret-longer"), "secret-long", f"{MASK}-long", id="shorter-fits"),
        pytest.param(
            ("aaaaaa-1", "aaaaaaa-2"), "aaaaaaa-2", MASK, id="later-start-after-prefix-miss"
        ),
        pytest.param(("abcdef-xyz", "def-xyz-12"), "abcdef-xyz-12", f"{MASK}-12", id="leftmost"),
        pytest.param(("ünïcødé-1",), "a ünïcødé-1 b", f"a {MASK} b", id="non-ascii"),
    ],
)
def test_masking_is_leftmost_and_longest(
    registered: tuple[str, ...], text: str, expected: str
) -> None:
    registry = SecretRegistry()
    registry.register(*registered)
    assert registry.mask(text) == expected


def test_forgetting_one_value_keeps_those_sharing_its_prefix() -> None:
    registry = SecretRegistry()
    registry.register("shared-prefix-1", "shared-prefix-2")
    registry.forget("shared-prefix-1", "never-registered")
    assert registry.mask("shared-prefix-1 shared-prefix-2") == f"shared-prefix-1 {MASK}"
    assert len(registry) == 1


_ALPHABET = "ab-1"


@given(
    values=st.lists(st.text(_ALPHABET, min_size=6, max_size=10), max_size=8),
    text=st.text(_ALPHABET, max_size=60),
)
def test_masking_agrees_with_one_alternation_of_every_value(values: list[str], text: str) -> None:
    """What an alternation of every value, longest first, replaces is what gets masked."""
    registry = SecretRegistry()
    registry.register(*values)
    ordered = sorted(set(values), key=len, reverse=True)
    expected = re.sub("|".join(map(re.escape, ordered)), MASK, text) if ordered else text
    assert registry.mask(text) == expected
