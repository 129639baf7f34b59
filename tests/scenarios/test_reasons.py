"""Every condition reason the SmartAccount and SmartLicenseRegistration reconcilers can write is
reached by a scenario of this table, and a meta-test keeps it that way.

The table is grouped by situation so that one operator run shows many reasons at once (each
object on its own cluster, account or CSSM server, so that faults and refusals do not mix):
a healthy account with registrations in every state, accounts in every kind of trouble, ninety
days passing, and CSSM losing a product instance. The meta-test reads the ``c.<NAME>`` constants
that ``reconcile/`` and ``handlers/`` use and fails when one that is a reason (not a condition
type, not reservation-only) is expected by no row of the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from licensing_env import (
    EAST,
    LAB,
    LEGACY,
    WEST,
    Licensing,
    issue_token_at_sim,
    register_out_of_band,
    wait_for,
)

from scenarios.steps import (
    ACCOUNTS,
    CLOUD_TRANSPORT,
    REGISTRATIONS,
    CSSMPortal,
    generated_registration,
    generated_uuid,
    generated_world,
    wait_gone,
)
from smartlicensing.api import conditions as c

SOURCES = Path(c.__file__).resolve().parents[1]
EVENT = "Event"
ON_PREM_HOSTS = ("ssm.example.internal", "ssm2.example.internal", "ssm3.example.internal")

#: Reasons of LicenseReservation only (out of this table's scope).
RESERVATION_ONLY = frozenset(
    {
        c.AWAITING_REQUEST_CODE,
        c.REQUEST_CODE_RECEIVED,
        c.INVALID_REQUEST_CODE,
        c.RESERVING,
        c.AWAITING_INSTALLATION,
        c.INSTALLED_REASON,
        c.INSUFFICIENT_LICENSES,
        c.RETURNING,
    }
)


@dataclass(frozen=True)
class Seen:
    """A reason shown on an object: in a condition (with its status), or as an Event's reason.

    ``mentions``: a reason that status carries inside another condition's message (the state
    of the account a registration waits for).
    """

    kind: str
    name: str
    condition: str
    status: str | None
    reason: str
    mentions: str = ""


def slr(name: str, condition: str, status: str | None, reason: str, mentions: str = "") -> Seen:
    return Seen(REGISTRATIONS, name, condition, status, reason, mentions)


def sma(name: str, condition: str, status: str, reason: str) -> Seen:
    return Seen(ACCOUNTS, name, condition, status, reason)


# --- the world and the arrangements -------------------------------------------------------------


def table_world(world: dict[str, Any]) -> None:
    on_prem = world["onPrem"][0]
    for host in ON_PREM_HOSTS[1:]:
        world["onPrem"].append({**yaml.safe_load(yaml.safe_dump(on_prem)), "host": host})
    world["cloud"]["accounts"][0]["virtualAccounts"].append(
        {
            "name": "Small-Lab",
            "licenses": {"Tetration Workload Protection": 1000, "Tetration Endpoint Visibility": 1},
        }
    )


TABLE_WORLD = yaml.safe_load(generated_world(17, keep_examples=True))
table_world(TABLE_WORLD)


def account(
    licensing: Licensing,
    name: str,
    *,
    secret: dict[str, str] | None = None,
    url: str | None = None,
    **spec: Any,
) -> None:
    """A SmartAccount on the cloud (default) or, with ``url``, on an On-Prem server."""
    if secret is not None:
        licensing.secret(f"{name}-cssm", secret)
    server: dict[str, Any] = {
        "type": "Cloud",
        "url": licensing.sim_url,
        "tokenURL": f"{licensing.sim_url}/oauth2/default/v1/token",
    }
    if url is not None:
        server = {"type": "OnPrem", "url": url}
    licensing.create(
        ACCOUNTS,
        name,
        {
            "server": {**server, **spec.pop("server", {})},
            "smartAccount": "acme.example.com" if url is None else "acme-onprem",
            "virtualAccount": "Datacenter-East" if url is None else "Default",
            "credentialsSecretRef": {"name": f"{name}-cssm"},
            **spec,
        },
    )


CLOUD_CREDENTIALS = {"client_id": "acme-demo-client", "client_secret": "demo-only-secret-7Qv2LmX9"}
ON_PREM_CREDENTIALS = {
    "client_id": "onprem-demo-client",
    "client_secret": "demo-only-onprem-secret-3Kx8",
}


def healthy_account(licensing: Licensing) -> None:
    portal = CSSMPortal(licensing)
    expiring = portal.issue(days=1)
    licensing.advance(days=2)
    licensing.ready_cloud_account()
    revoked = portal.issue()
    portal.revoke(revoked)
    single_use = portal.issue(max_uses=1)
    register_out_of_band(licensing, generated_uuid(15), single_use, CLOUD_TRANSPORT)
    licensing.secret("good-token", {"token": portal.issue()})
    licensing.secret("invalid-token", {"token": "not-a-token-anybody-issued"})
    licensing.secret("expired-token", {"token": expiring})
    licensing.secret("revoked-token", {"token": revoked})
    licensing.secret("used-token", {"token": single_use})
    licensing.secret("wrong-key", {"api_key": "gen-key-9", "api_secret": "x" * 48})
    licensing.secret("taken-token", {"token": "a Secret of the user's own"})
    register_out_of_band(
        licensing,
        WEST,
        issue_token_at_sim(licensing, on_prem=True),
        f"{licensing.sim_url}/onprem/ssm.example.internal/SmartTransport",
    )
    licensing.sim.faults.add(
        {"kind": "error", "path": f"/clusters/{generated_uuid(8)}/*", "status": 503}
    )

    def secret_token(name: str) -> dict[str, Any]:
        return {"secretRef": {"name": name}}

    generated_registration(licensing, "registered", 0)
    # Created after "registered" and sorting after it: the cluster is already claimed.
    generated_registration(licensing, "registered-copy", 0, secret_exists=True)
    generated_registration(licensing, "from-secret", 1, token=secret_token("good-token"))
    generated_registration(licensing, "secret-missing", 2, token=secret_token("absent"))
    generated_registration(licensing, "invalid", 3, token=secret_token("invalid-token"))
    generated_registration(licensing, "expired", 4, token=secret_token("expired-token"))
    generated_registration(licensing, "revoked", 5, token=secret_token("revoked-token"))
    generated_registration(licensing, "exhausted", 6, token=secret_token("used-token"))
    generated_registration(licensing, "unreachable", 8)
    generated_registration(licensing, "wrong-key", 9)
    licensing.patch(
        REGISTRATIONS,
        "wrong-key",
        {"spec": {"cluster": {"driver": {"credentialsSecretRef": {"name": "wrong-key"}}}}},
    )
    generated_registration(licensing, "mismatch", 10)
    licensing.patch(
        REGISTRATIONS,
        "mismatch",
        {"spec": {"cluster": {"uuid": generated_uuid(11)}}},
    )
    generated_registration(licensing, "suspended", 12, suspend=True)
    generated_registration(licensing, "taken", 14)
    account(licensing, "small", secret=CLOUD_CREDENTIALS, virtualAccount="Small-Lab")
    generated_registration(licensing, "over-utilized", 16, account="small")
    licensing.registration("legacy", LEGACY)
    licensing.registration("manual", LAB, manual=True)
    licensing.registration("standby", generated_uuid(13), role="Standby", manual=True)
    licensing.registration("orphan", generated_uuid(7), account="nowhere", manual=True)
    licensing.registration("elsewhere", WEST)
    licensing.registration("deleted", EAST)
    licensing.wait_condition(REGISTRATIONS, "deleted", "Ready", "True")
    licensing.delete(REGISTRATIONS, "deleted")
    wait_gone(licensing, "deleted")
    licensing.wait_condition(REGISTRATIONS, "registered", "Ready", "True")
    licensing.request_sync(REGISTRATIONS, "registered", "2000-01-01T00:00:00Z")


def accounts_in_trouble(licensing: Licensing) -> None:
    faults = licensing.sim.faults
    first, second, third = (f"/onprem/{host}" for host in ON_PREM_HOSTS)
    faults.add({"kind": "error", "path": f"{first}/*", "status": 503})
    faults.add({"kind": "throttle", "path": f"{second}/*", "retryAfter": 120})
    held = faults.add({"kind": "slow", "path": f"{third}/*", "delay": 1.0, "count": 1})

    account(licensing, "unavailable", secret=ON_PREM_CREDENTIALS, url=licensing.sim_url + first)
    account(licensing, "throttled", secret=ON_PREM_CREDENTIALS, url=licensing.sim_url + second)
    account(licensing, "unchecked", secret=ON_PREM_CREDENTIALS, url=licensing.sim_url + third)
    wait_for(lambda: held.hits == 1, what="the first check of 'unchecked' in flight")
    licensing.registration("waits", EAST, account="unchecked")
    licensing.registration("blocked", WEST, account="unavailable")
    account(
        licensing,
        "refused",
        secret={"client_id": "acme-demo-client", "client_secret": "not-the-secret"},
    )
    account(licensing, "no-credentials")
    account(licensing, "no-virtual-account", secret=CLOUD_CREDENTIALS, virtualAccount="Nowhere")
    account(
        licensing,
        "no-ca-bundle",
        secret=CLOUD_CREDENTIALS,
        server={"caBundleSecretRef": {"name": "absent-ca", "key": "ca.crt"}},
    )


def ninety_days(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.registration("lapsed", EAST)
    licensing.registration("evaluating", LAB, suspend=True)
    licensing.wait_condition(REGISTRATIONS, "lapsed", "Ready", "True")
    licensing.wait_condition(REGISTRATIONS, "evaluating", "Authorized", "False", c.EVALUATION)
    licensing.change_cluster(EAST, offline=True)
    licensing.patch(REGISTRATIONS, "lapsed", {"spec": {"suspend": True}})
    wait_for(
        lambda: licensing.get(REGISTRATIONS, "lapsed")["status"]["observedGeneration"] == 2,
        what="the suspension observed",
    )

    licensing.advance(days=91)


def lost_instance(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.registration("lost", EAST)
    licensing.wait_condition(REGISTRATIONS, "lost", "Ready", "True")
    licensing.sim.faults.add(
        {"kind": "error", "path": f"/clusters/{EAST}/*/registration", "method": "POST"}
    )

    CSSMPortal(licensing).remove_instance(EAST)
    licensing.advance(days=1, seconds=1)


@dataclass(frozen=True)
class Situation:
    arrange: Callable[[Licensing], None]
    seen: tuple[Seen, ...]


SITUATIONS = {
    "healthy-account": Situation(
        healthy_account,
        (
            sma("acme", c.READY, "True", c.CONNECTED),
            sma("acme", c.COMPLIANT, "True", c.IN_COMPLIANCE),
            sma("acme", c.RECONCILING, "False", c.SUCCEEDED),
            slr("registered", c.READY, "True", c.REGISTERED_REASON),
            slr("registered", c.TOKEN_READY, "True", c.TOKEN_ISSUED),
            slr("registered", c.REGISTERED, "True", c.REGISTERED_REASON),
            slr("registered", c.AUTHORIZED, "True", c.AUTHORIZED_REASON),
            slr("registered", c.COMPLIANT, "True", c.IN_COMPLIANCE),
            slr("registered", c.RECONCILING, "False", c.SUCCEEDED),
            slr("registered", EVENT, None, c.SYNC_REQUEST_OUTDATED),
            slr("registered-copy", c.STALLED, "True", c.CLUSTER_CLAIMED),
            slr("from-secret", c.TOKEN_READY, "True", c.TOKEN_FROM_SECRET),
            slr("secret-missing", c.TOKEN_READY, "False", c.TOKEN_SECRET_MISSING),
            slr("secret-missing", c.RECONCILING, "True", c.RETRYING),
            slr("invalid", c.STALLED, "True", c.INVALID_TOKEN),
            slr("expired", c.STALLED, "True", c.TOKEN_EXPIRED),
            slr("revoked", c.STALLED, "True", c.TOKEN_REVOKED),
            slr("exhausted", c.STALLED, "True", c.TOKEN_EXHAUSTED),
            slr("unreachable", c.READY, "False", c.CLUSTER_UNREACHABLE),
            slr("wrong-key", c.STALLED, "True", c.CLUSTER_CREDENTIALS_REJECTED),
            slr("mismatch", c.STALLED, "True", c.CLUSTER_MISMATCH),
            slr("suspended", c.REGISTERED, "False", c.SUSPENDED),
            slr("suspended", c.AUTHORIZED, "False", c.EVALUATION),
            slr("suspended", c.COMPLIANT, "Unknown", c.NO_LICENSE_DATA),
            slr("taken", c.STALLED, "True", c.INVALID_SPEC),
            slr("over-utilized", c.COMPLIANT, "False", c.OVER_UTILIZED),
            slr("legacy", c.STALLED, "True", c.UNSUPPORTED_VERSION),
            slr("manual", c.REGISTERED, "False", c.AWAITING_USER),
            slr("standby", c.READY, "True", c.STANDBY),
            slr("orphan", c.READY, "False", c.ACCOUNT_NOT_FOUND),
            slr("elsewhere", c.REGISTERED, "False", c.ALREADY_REGISTERED),
            slr("deleted", EVENT, None, c.DEREGISTERING),
        ),
    ),
    "accounts-in-trouble": Situation(
        accounts_in_trouble,
        (
            sma("unavailable", c.READY, "False", c.CSSM_UNAVAILABLE),
            sma("unavailable", c.COMPLIANT, "Unknown", c.NO_LICENSE_DATA),
            sma("throttled", c.READY, "False", c.RATE_LIMITED),
            sma("refused", c.STALLED, "True", c.CREDENTIALS_REJECTED),
            sma("no-credentials", c.READY, "False", c.CREDENTIALS_SECRET_MISSING),
            sma("no-virtual-account", c.READY, "False", c.VIRTUAL_ACCOUNT_NOT_FOUND),
            sma("no-ca-bundle", c.READY, "False", c.CA_BUNDLE_MISSING),
            slr("blocked", c.READY, "False", c.ACCOUNT_NOT_READY, mentions=c.CSSM_UNAVAILABLE),
            slr("waits", c.READY, "False", c.ACCOUNT_NOT_READY, mentions=c.SYNCING),
        ),
    ),
    "ninety-days": Situation(
        ninety_days,
        (
            slr("lapsed", c.AUTHORIZED, "False", c.AUTHORIZATION_EXPIRED),
            slr("evaluating", c.AUTHORIZED, "False", c.EVALUATION_EXPIRED),
        ),
    ),
    "cssm-lost-the-instance": Situation(
        lost_instance, (slr("lost", c.REGISTERED, "False", c.NOT_REGISTERED),)
    ),
}


# --- the tests ----------------------------------------------------------------------------------


def shown(licensing: Licensing, seen: Seen) -> None:
    if seen.condition == EVENT:
        wait_for(
            lambda: any(e["reason"] == seen.reason for e in licensing.events(seen.name)),
            what=f"an Event {seen.reason} for {seen.name}",
        )
        return
    assert seen.status is not None
    found = licensing.wait_condition(seen.kind, seen.name, seen.condition, seen.status, seen.reason)
    if seen.mentions:
        wait_for(
            lambda: (
                f"({seen.mentions}:"
                in str(licensing.condition(seen.kind, seen.name, seen.condition))
            ),
            what=f"{seen.name} {seen.condition} mentioning {seen.mentions}; it was {found}",
        )


@pytest.mark.parametrize("licensing_world", [yaml.safe_dump(TABLE_WORLD)], ids=["table-world"])
@pytest.mark.parametrize("situation", list(SITUATIONS.values()), ids=list(SITUATIONS))
def test_each_reason_is_reached(licensing: Licensing, situation: Situation) -> None:
    situation.arrange(licensing)

    for seen in situation.seen:
        shown(licensing, seen)


def reasons_the_reconcilers_use() -> set[str]:
    """Values of the ``c.<NAME>`` constants in reconcile/ and handlers/ that are reasons."""
    names: set[str] = set()
    for folder in ("reconcile", "handlers"):
        for source in (SOURCES / folder).glob("*.py"):
            names.update(re.findall(r"\bc\.([A-Z][A-Z0-9_]*)\b", source.read_text()))
    every_type = {
        *c.SMART_ACCOUNT_CONDITIONS,
        *c.REGISTRATION_CONDITIONS,
        *c.RESERVATION_CONDITIONS,
    }
    reasons: set[str] = set()
    for name in names:
        value = getattr(c, name)
        is_type = isinstance(value, str) and value in every_type and not name.endswith("_REASON")
        if isinstance(value, str) and not is_type and value not in RESERVATION_ONLY:
            reasons.add(value)
    return reasons


def test_every_reason_the_reconcilers_use_has_a_scenario() -> None:
    covered = {seen.mentions or seen.reason for s in SITUATIONS.values() for seen in s.seen}
    covered |= {seen.reason for s in SITUATIONS.values() for seen in s.seen}
    used = reasons_the_reconcilers_use()

    assert used, "the constants were found"
    assert {c.INVALID_TOKEN, c.ACCOUNT_NOT_READY, c.REGISTERED_REASON} <= used
    assert sorted(used - covered) == [], "reasons without a scenario in SITUATIONS"
