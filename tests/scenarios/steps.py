"""What a person or a test does around the operator in the scenarios, through public interfaces.

The CSSM side is reached as an API client would reach it (OAuth, then the REST paths of the
virtual account), so the scenarios can issue, revoke and count registration tokens exactly as an
administrator in the CSSM portal could; Kubernetes objects go through the ``kubernetes`` client
of :class:`licensing_env.Licensing`; the simulator's call log is the record of every call.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import yaml
from licensing_env import WORLD, Licensing, wait_for

REGISTRATIONS = "SmartLicenseRegistration"
ACCOUNTS = "SmartAccount"
DOMAIN = "acme.example.com"
VIRTUAL_ACCOUNT = "Datacenter-East"
CLIENT_ID = "acme-demo-client"
CLIENT_SECRET = "demo-only-secret-7Qv2LmX9"
CLOUD_TRANSPORT = "https://smartreceiver.cisco.com/licservice/license"


def generated_world(count: int, *, keep_examples: bool = False) -> str:
    """The example world with ``count`` generated clusters and licenses enough for all."""
    world = yaml.safe_load(WORLD.read_text())
    pool = world["cloud"]["accounts"][0]["virtualAccounts"][0]["licenses"]
    pool["Tetration Workload Protection"] = 100 * count
    pool["Tetration Endpoint Visibility"] = 100 * count
    world["clusters"] = list(world["clusters"] if keep_examples else []) + [
        {
            "uuid": generated_uuid(index),
            "name": f"gen-{index}",
            "version": "3.9.1.1",
            "role": "Standalone",
            "workloads": 10,
            "endpoints": 5,
            "apiKey": generated_secret(index)["api_key"],
            "apiSecret": generated_secret(index)["api_secret"],
        }
        for index in range(count)
    ]
    return yaml.safe_dump(world)


def generated_secret(index: int) -> dict[str, str]:
    """The driver credentials of generated cluster ``index``."""
    return {
        "api_key": f"gen-key-{index}",
        "api_secret": f"gen-only-secret-{index:04d}-0123456789abcdefghijk",
    }


def generated_registration(licensing: Licensing, name: str, index: int, **spec: Any) -> None:
    """A registration of generated cluster ``index`` through the Api driver."""
    uuid = generated_uuid(index)
    secret = f"gen-cluster-{index}"
    if not spec.pop("secret_exists", False):
        licensing.secret(secret, generated_secret(index))
    driver = {
        "type": "Api",
        "url": f"{licensing.sim_url}/clusters/{uuid}",
        "credentialsSecretRef": {"name": secret},
    }
    licensing.create(
        REGISTRATIONS,
        name,
        {
            "accountRef": {"name": spec.pop("account", "acme")},
            "cluster": {"uuid": uuid, "role": "Standalone", "driver": driver},
            "token": spec.pop("token", {"issue": {"expiresAfterDays": 30}}),
            **spec,
        },
    )


def generated_uuid(index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"scenario-cluster-{index}"))


class CSSMPortal:
    """CSSM as its administrator sees it: the tokens of the virtual account."""

    def __init__(
        self, licensing: Licensing, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET
    ) -> None:
        self._base = licensing.sim_url
        self._client_id, self._secret = client_id, secret

    def _headers(self) -> dict[str, str]:
        answer = httpx.post(
            f"{self._base}/oauth2/default/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._secret,
            },
        )
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def _url(self, tail: str = "") -> str:
        return (
            f"{self._base}/services/api/smart-accounts-and-licensing/v1/accounts/{DOMAIN}/"
            f"virtual-accounts/{VIRTUAL_ACCOUNT}/tokens{tail}"
        )

    def issue(self, *, days: int = 30, max_uses: int | None = None) -> str:
        body: dict[str, Any] = {"description": "by hand", "expiresAfterDays": days}
        if max_uses is not None:
            body["maxUses"] = max_uses
        answer = httpx.post(self._url(), json=body, headers=self._headers())
        answer.raise_for_status()
        token: str = answer.json()["tokenInfo"]["token"]
        return token

    def revoke(self, token: str) -> None:
        answer = httpx.post(self._url("/revoke"), json={"tokens": [token]}, headers=self._headers())
        answer.raise_for_status()

    def remove_instance(self, cluster_uuid: str) -> None:
        """Remove a cluster's product instance, as an administrator can in the portal."""
        url = self._url().removesuffix("/tokens") + "/devices/remove"
        body = {"productInstancesRemoveRequests": [{"sudi": {"uuid": cluster_uuid}}]}
        answer = httpx.post(url, json=body, headers=self._headers())
        answer.raise_for_status()

    def tokens(self) -> list[dict[str, Any]]:
        answer = httpx.get(self._url(), headers=self._headers())
        answer.raise_for_status()
        tokens: list[dict[str, Any]] = answer.json()["tokens"]
        return tokens

    def issued_for(self, namespace: str, name: str) -> list[dict[str, Any]]:
        """The tokens the operator issued for registration ``namespace/name``."""
        prefix = f"smartlicensing {namespace}/{name} "
        return [t for t in self.tokens() if str(t.get("description", "")).startswith(prefix)]


def last_seq(licensing: Licensing) -> int:
    """The sequence number of the newest call in the simulator's log (0 when empty).

    The simulator logs a call when it has answered it, so a mark taken right after a call of
    the test's own may precede that call's entry; callers wait for such an entry first.
    """
    entries = licensing.sim.calls.entries()
    return int(entries[-1]["seq"]) if entries else 0


def calls_since(
    licensing: Licensing,
    seq: int,
    *,
    cluster: str | None = None,
    method: str | None = None,
    path_suffix: str = "",
) -> list[dict[str, Any]]:
    """Calls logged after ``seq``, optionally only one cluster's, one method, one path ending."""
    return [
        entry
        for entry in licensing.sim.calls.entries()
        if entry["seq"] > seq
        and (cluster is None or entry["cluster"] == cluster)
        and (method is None or entry["method"] == method)
        and entry["path"].endswith(path_suffix)
    ]


def status_of(licensing: Licensing, name: str, kind: str = REGISTRATIONS) -> dict[str, Any]:
    status: dict[str, Any] = licensing.get(kind, name).get("status", {})
    return status


def wait_gone(licensing: Licensing, name: str, kind: str = REGISTRATIONS) -> None:
    wait_for(lambda: not licensing.exists(kind, name), what=f"{kind} {name} gone")
