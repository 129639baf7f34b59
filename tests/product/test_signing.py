"""The Secure Workload OpenAPI HMAC scheme, checked against its public test vector."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smartlicensing.product import signing

VECTOR_SECRET = "X" * 40
VECTOR_SIGNATURE = "uTixNCblmmldnLBADYcuzfxU/LHy3a2RM3jLrQwxFtc="


def test_public_test_vector_signs_to_the_published_signature() -> None:
    got = signing.signature(
        VECTOR_SECRET,
        method="GET",
        path="/openapi/v1/app_scopes",
        checksum="",
        content_type="application/json",
        timestamp="2020-04-21T18:23:37+0000",
    )

    assert got == VECTOR_SIGNATURE


def test_signed_headers_of_the_vector_request_verify_and_match() -> None:
    now = datetime(2020, 4, 21, 18, 23, 37, tzinfo=UTC)

    headers = signing.signed_headers(
        "key-id", VECTOR_SECRET, method="GET", path="/openapi/v1/app_scopes", now=now
    )

    assert headers["Authorization"] == VECTOR_SIGNATURE
    assert headers["Timestamp"] == "2020-04-21T18:23:37+0000"
    assert "X-Tetration-Cksum" not in headers
    assert signing.verify(
        VECTOR_SECRET, method="GET", path="/openapi/v1/app_scopes", body=b"", headers=headers
    )


def test_empty_body_checksum_is_sha256_of_nothing() -> None:
    assert signing.body_checksum(b"").startswith("e3b0c442")
    assert signing.body_checksum(b"").endswith("b855")


def test_only_the_first_40_bytes_of_the_secret_are_used() -> None:
    kwargs = {
        "method": "GET",
        "path": "/p",
        "checksum": "",
        "content_type": "application/json",
        "timestamp": "t",
    }

    assert signing.signature("Y" * 40 + "tail", **kwargs) == signing.signature("Y" * 40, **kwargs)


def test_secret_shorter_than_40_bytes_cannot_sign() -> None:
    with pytest.raises(signing.SigningKeyTooShort):
        signing.signed_headers("id", "short", method="GET", path="/p")


@pytest.mark.parametrize(
    ("tamper", "value"),
    [
        pytest.param("path", "/openapi/v1/licensing/registration?x=1", id="path"),
        pytest.param("body", b'{"force": true}', id="body"),
        pytest.param("secret", "Z" * 40, id="secret"),
        pytest.param("method", "PUT", id="method"),
    ],
)
def test_tampered_request_does_not_verify(tamper: str, value: object) -> None:
    request: dict[str, object] = {
        "method": "POST",
        "path": "/openapi/v1/licensing/registration",
        "body": b'{"force": false}',
    }
    headers = signing.signed_headers(
        "id",
        VECTOR_SECRET,
        method=str(request["method"]),
        path=str(request["path"]),
        body=bytes(request["body"]),  # type: ignore[call-overload]
    )
    secret = VECTOR_SECRET
    if tamper == "secret":
        secret = str(value)
    else:
        request[tamper] = value

    assert not signing.verify(
        secret,
        method=str(request["method"]),
        path=str(request["path"]),
        body=bytes(request["body"]),  # type: ignore[call-overload]
        headers=headers,
    )


def test_body_on_post_requires_checksum_header() -> None:
    body = b'{"force": false}'
    headers = signing.signed_headers("id", VECTOR_SECRET, method="POST", path="/p", body=body)
    del headers["X-Tetration-Cksum"]

    assert not signing.verify(VECTOR_SECRET, method="POST", path="/p", body=body, headers=headers)
