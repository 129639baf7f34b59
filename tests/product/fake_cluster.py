"""A Secure Workload cluster speaking the licensing contract, behind ``httpx.MockTransport``.

It verifies every request's HMAC signature with :func:`signing.verify` and answers 401 when it
does not verify, so a driver test passes only if the driver signs correctly.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from smartlicensing.product import signing

API_KEY = "key-0123"
API_SECRET = "canary-api-secret-" + "x" * 30
UUID = "5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b"
BASE = "/clusters/" + UUID + "/openapi/v1/licensing"


def status_body(uuid: str = UUID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cluster": {"uuid": uuid, "version": "3.9.1.1", "role": "Standalone", "name": "csw-east"},
        "registration": {
            "state": "Unregistered",
            "mode": None,
            "smartAccount": None,
            "virtualAccount": None,
            "transportUrl": None,
            "registeredAt": None,
            "renewAt": None,
            "expiresAt": None,
            "failureMessage": None,
        },
        "authorization": {
            "state": "Evaluation",
            "expiresAt": None,
            "evaluationRemainingSeconds": 7776000,
        },
        "usage": [{"license": "Tetration Workload Protection", "inUse": 120}],
        "lastSyncTime": None,
        "nextSyncTime": None,
        "reservation": {"state": "None", "type": None, "requestCode": None, "reserved": {}},
    }
    body.update(overrides)
    return body


def registered() -> dict[str, Any]:
    body = status_body()
    body["registration"] = {
        **body["registration"],
        "state": "Registered",
        "mode": "Connected",
        "registeredAt": "2026-12-03T10:00:00Z",
        "expiresAt": "2027-12-03T10:00:00Z",
    }
    body["authorization"] = {
        "state": "Authorized",
        "expiresAt": "2027-03-03T10:00:00Z",
        "evaluationRemainingSeconds": None,
    }
    return body


@dataclass
class FakeCluster:
    uuid: str = UUID
    answers: deque[httpx.Response | Exception] = field(default_factory=deque)
    requests: list[httpx.Request] = field(default_factory=list)
    bodies: list[dict[str, Any] | None] = field(default_factory=list)

    def answer(self, *answers: httpx.Response | Exception) -> None:
        self.answers.extend(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(json.loads(request.content) if request.content else None)
        if (
            not signing.verify(
                API_SECRET,
                method=request.method,
                path=request.url.raw_path.decode(),
                body=request.content,
                headers=request.headers,
            )
            or request.headers.get("Id") != API_KEY
        ):
            return httpx.Response(401, json={"error": "Unauthorized", "message": "bad signature"})
        if self.answers:
            answer = self.answers.popleft()
            if isinstance(answer, Exception):
                raise answer
            return answer
        return httpx.Response(200, json=status_body(self.uuid))


def failure(status: int, code: str, message: str = "refused") -> httpx.Response:
    return httpx.Response(status, json={"error": code, "message": message})
