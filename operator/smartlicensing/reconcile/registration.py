"""A SmartLicenseRegistration's decisions: whether to act, which step is next, what status says.

The procedure is the seed's: get a token from CSSM, enter it on the cluster (with the Smart
Transport URL when the account is On-Prem, with Force Register when asked), then keep the
registration and its authorization fresh by a daily sync. The decisions here never call
anything; the handlers gather observations, ask these functions, act, and write what they
return.

What decides the next step is the cluster's own state, read before acting, never the operator's
memory of what it did: a cluster already registered to this account is not registered again
(so a crash between "register" and "write status" costs nothing twice), a cluster registered
elsewhere is left alone unless ``forceRegister`` says otherwise, and a cluster older than 3.8
has no Smart Licensing to drive.

Roles follow the seed's notes: a ``Standby`` cluster (backup and restore) needs no license until
it becomes active, so it registers nothing until its role changes in spec; federation leaders
and followers are each registered (a leader's usage is simply zero).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from smartlicensing.api import conditions as c
from smartlicensing.api.durations import format_duration, parse_duration
from smartlicensing.api.meta import Condition, ConditionStatus, DriverType
from smartlicensing.api.registration import (
    Authorization,
    AuthorizationState,
    ClusterRole,
    LicenseUsage,
    Registration,
    RegistrationDeletionPolicy,
    RegistrationState,
    SmartLicenseRegistrationSpec,
    SmartLicenseRegistrationStatus,
    TokenStatus,
)
from smartlicensing.api.smartaccount import ServerType, SmartAccountSpec
from smartlicensing.reconcile import backoff, schedule
from smartlicensing.reconcile.account import AccountView
from smartlicensing.reconcile.attempts import Due, Failure, why_due
from smartlicensing.reconcile.compliance import Compliance, assess_cluster
from smartlicensing.reconcile.conditions import (
    Progress,
    find,
    is_true,
    ordered,
    set_condition,
    set_progress,
    summarize_ready,
)

#: Where a cluster registered with cloud CSSM sends its licensing traffic.
CLOUD_TRANSPORT_URL: Final = "https://smartreceiver.cisco.com/licservice/license"
#: The Smart Transport path of a Smart Software Manager On-Prem.
ON_PREM_TRANSPORT_PATH: Final = "/SmartTransport"
#: The first Secure Workload release with Smart Licensing.
FIRST_SUPPORTED_VERSION: Final = (3, 8)
#: Key of the registration token in the Secret the operator writes for an issued token.
TOKEN_KEY: Final = "token"
#: An issued token this close to its expiry is not reused for a new registration.
TOKEN_REUSE_MARGIN: Final = timedelta(days=1)
#: CSSM's limit on a token description.
TOKEN_DESCRIPTION_LIMIT: Final = 100

_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)")


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterObservation:
    """The cluster's licensing state as last read, seen by the cluster itself or by CSSM.

    ``by_cluster`` is False for the Manual driver, which reads the product instance at CSSM:
    then authorization and usage are not known (None / empty) and a registration found there
    is, by construction, one in this account's virtual account.
    """

    by_cluster: bool
    registered: bool
    failed: bool = False
    smart_account: str | None = None
    virtual_account: str | None = None
    mode: str | None = None
    transport_url: str | None = None
    authorization: AuthorizationState | None = None
    evaluation_remaining: timedelta | None = None
    usage: tuple[LicenseUsage, ...] = ()
    version: str | None = None
    registered_at: datetime | None = None
    renew_at: datetime | None = None
    expires_at: datetime | None = None
    authorization_expires_at: datetime | None = None
    failure_message: str | None = None


class Action(enum.StrEnum):
    """The next step of a pass, once the cluster's state is known."""

    REGISTER = "Register"
    #: Registered with this account through another transport URL (spec's transportURL or the
    #: On-Prem server changed): register again, replacing the registration.
    MOVE = "Move"
    RENEW = "Renew"
    OBSERVE = "Observe"
    REFUSE_ALREADY_REGISTERED = "RefuseAlreadyRegistered"
    REFUSE_UNSUPPORTED_VERSION = "RefuseUnsupportedVersion"


@dataclass(frozen=True)
class Blocker:
    """Why a pass stops before any call outside Kubernetes."""

    reason: str
    message: str


@dataclass(frozen=True, order=True)
class ClusterClaim:
    """One registration's claim on the cluster its ``spec.cluster.uuid`` names.

    Claims order by age (``created``, then name, then namespace), so the oldest registration of
    a cluster is the smallest; the ``uid`` tells objects apart and does not take part.
    """

    created: datetime
    name: str
    namespace: str
    uid: str = field(compare=False)

    def describe(self) -> str:
        return f"SmartLicenseRegistration {self.namespace}/{self.name}"


@dataclass(frozen=True)
class DeletionPlan:
    """What deleting the object does outside Kubernetes."""

    deregister: bool
    revoke_token: bool


# --- names and derived values -----------------------------------------------------------------


def transport_url(spec: SmartLicenseRegistrationSpec, account: SmartAccountSpec) -> str:
    """The Smart Transport URL the cluster registers to: spec's, else derived from the account.

    Cloud: Cisco's smart receiver. On-Prem: the manager's URL (scheme, host, port and any path
    prefix a reverse proxy adds) followed by ``/SmartTransport``.
    """
    if spec.transport_url is not None:
        return spec.transport_url
    if account.server.type is ServerType.CLOUD:
        return CLOUD_TRANSPORT_URL
    return account.server.api_url() + ON_PREM_TRANSPORT_PATH


def token_description(namespace: str, name: str, uid: str, extra: str | None = None) -> str:
    """The description an issued token carries at CSSM, unique to this object.

    Deterministic, so that after a crash between "create token" and "store it" the operator
    finds the token it created instead of creating another. A description from spec follows
    the key; the whole is cut to CSSM's limit from the end, so the key survives.
    """
    key = f"smartlicensing {namespace}/{name} {uid[:8]}"
    if len(key) > TOKEN_DESCRIPTION_LIMIT:
        room = TOKEN_DESCRIPTION_LIMIT - len(f"smartlicensing {namespace}/ {uid[:8]}")
        key = f"smartlicensing {namespace}/{name[: max(room, 1)]} {uid[:8]}"
    text = f"{key} {extra}" if extra else key
    return text[:TOKEN_DESCRIPTION_LIMIT]


def token_secret_name(name: str) -> str:
    """Name of the Secret holding a token the operator issued for the registration ``name``."""
    suffix = "-token"
    return name[: 253 - len(suffix)] + suffix


def token_reusable(token: TokenStatus | None, now: datetime) -> bool:
    """Whether the issued token recorded in status may be used without asking CSSM."""
    return (
        token is not None
        and token.issued
        and token.secret_ref is not None
        and token.expires_at is not None
        and token.expires_at - TOKEN_REUSE_MARGIN > now
    )


def version_supported(version: str | None) -> bool:
    """Whether a Secure Workload release has Smart Licensing (3.8 and later); unknown is yes."""
    if version is None:
        return True
    match = _VERSION.match(version)
    if match is None:
        return True
    return (int(match.group(1)), int(match.group(2))) >= FIRST_SUPPORTED_VERSION


def belongs_to(observation: ClusterObservation, account: SmartAccountSpec) -> bool:
    """Whether the cluster's registration is with this account's virtual account.

    A registration that does not say where it is registered (CSSM's view, or a cluster that
    omits the fields) counts as this account's: the CSSM view only finds instances of this
    virtual account, and refusing to manage an unnamed registration would leave it unmanaged.
    """
    if not observation.registered:
        return False
    domain_matches = observation.smart_account in (None, account.smart_account)
    va_matches = observation.virtual_account in (None, account.virtual_account)
    return domain_matches and va_matches


def moved(observation: ClusterObservation, wanted_transport_url: str) -> bool:
    """Whether the cluster reports a transport URL other than the one it should use now.

    A cluster (or a view of it) that does not report its transport URL has not moved.
    """
    reported = observation.transport_url
    if reported is None:
        return False
    return reported.rstrip("/") != wanted_transport_url.rstrip("/")


# --- whether to act -----------------------------------------------------------------------------


def blocker(
    spec: SmartLicenseRegistrationSpec,
    status: SmartLicenseRegistrationStatus,
    account: AccountView | None,
) -> Blocker | None:
    """What stops this pass before any call, or None.

    An account that is not Ready stops everything that would need CSSM; a cluster already
    registered through the Api driver keeps its daily sync with the cluster meanwhile, since
    that sync does not go through the operator's CSSM credentials.
    """
    if spec.cluster.role is ClusterRole.STANDBY:
        return Blocker(
            c.STANDBY,
            "a Standby cluster needs no license until it becomes active; set "
            "spec.cluster.role to register it",
        )
    if account is None:
        return Blocker(
            c.ACCOUNT_NOT_FOUND,
            f"SmartAccount {spec.account_ref.name} does not exist in this namespace",
        )
    if account.ready:
        return None
    registered_via_api = spec.cluster.driver.type is DriverType.API and is_true(
        status.conditions, c.REGISTERED
    )
    if registered_via_api and account.spec is not None:
        return None
    return Blocker(
        c.ACCOUNT_NOT_READY,
        f"SmartAccount {account.name} is not Ready ({account.reason}: {account.message})",
    )


def claim_holder(claims: Iterable[ClusterClaim]) -> ClusterClaim | None:
    """The registration that manages a cluster: the oldest of those naming its UUID.

    Two objects driving one cluster would undo each other (and deleting either would
    deregister the cluster the other manages), so only one may; the rest wait, Stalled, until
    it is gone. Age decides because it never changes while both exist.
    """
    return min(claims, default=None)


def claimed(
    status: SmartLicenseRegistrationStatus,
    holder: ClusterClaim,
    uuid: str,
    *,
    generation: int,
    now: datetime,
) -> SmartLicenseRegistrationStatus:
    """Status of a registration held back because ``holder`` manages the same cluster.

    It registered nothing and schedules nothing: Ready and Registered are False and Stalled is
    True, all with :data:`~smartlicensing.api.conditions.CLUSTER_CLAIMED`; the message names
    the holder and the ways out.
    """
    message = (
        f"cluster {uuid} is managed by {holder.describe()}, which is older; this registration "
        "does nothing (and deregisters nothing when deleted): delete it, or change "
        "spec.cluster.uuid, or delete the other one to let this one take over"
    )
    conditions = set_condition(
        status.conditions,
        c.REGISTERED,
        False,
        c.CLUSTER_CLAIMED,
        message,
        generation=generation,
        now=now,
    )
    conditions = set_progress(
        conditions, Progress.STALLED, c.CLUSTER_CLAIMED, message, generation=generation, now=now
    )
    conditions = set_condition(
        conditions, c.READY, False, c.CLUSTER_CLAIMED, message, generation=generation, now=now
    )
    return status.model_copy(
        update={
            "observed_generation": generation,
            "conditions": ordered(conditions, c.REGISTRATION_CONDITIONS),
            "next_attempt_time": None,
            "next_sync_time": None,
            "stalled_inputs": None,
        }
    )


def held_back_by_claim(status: SmartLicenseRegistrationStatus) -> bool:
    """Whether status says another registration's claim held this one back."""
    ready = find(status.conditions, c.READY)
    return ready is not None and ready.reason == c.CLUSTER_CLAIMED


def registration_due(
    spec: SmartLicenseRegistrationSpec,
    status: SmartLicenseRegistrationStatus,
    *,
    generation: int,
    now: datetime,
    account: AccountView | None,
    requested_at: datetime | None = None,
    fingerprint: str | None = None,
) -> Due | None:
    """Why a pass is due now (the timer's question), or None.

    Beyond the timetable of :func:`attempts.why_due`: a Standby registration is never due
    until its spec changes; one waiting for its account is due once the account is Ready, or
    (for a pass that calls nobody) when what it would say of the account has changed, so that
    its message never shows an account state that is over; and one held back by another's
    claim on its cluster is due at once (the caller asks only when the claim is now its own).
    """
    if status.observed_generation != generation:
        return Due.GENERATION
    if held_back_by_claim(status):
        return Due.CLAIM_RELEASED
    if spec.cluster.role is ClusterRole.STANDBY:
        return None
    ready = find(status.conditions, c.READY)
    if ready is not None and ready.reason in (c.ACCOUNT_NOT_READY, c.ACCOUNT_NOT_FOUND):
        if account is not None and account.ready:
            return Due.ACCOUNT_READY
        block = blocker(spec, status, account)
        if block is not None and (block.reason, block.message) != (ready.reason, ready.message):
            return Due.ACCOUNT_CHANGED
        return None
    return why_due(
        status,
        generation=generation,
        now=now,
        fingerprint=fingerprint,
        requested_at=requested_at,
    )


def next_action(
    spec: SmartLicenseRegistrationSpec,
    observation: ClusterObservation,
    account: SmartAccountSpec,
    *,
    sync_due: bool,
) -> Action:
    """The step to take now that the cluster's state is known.

    ``sync_due``: the schedule or a sync request asks for a renewal now.
    """
    if not version_supported(observation.version):
        return Action.REFUSE_UNSUPPORTED_VERSION
    if belongs_to(observation, account) and not observation.failed:
        if not spec.suspend and moved(observation, transport_url(spec, account)):
            return Action.MOVE
        return Action.RENEW if sync_due and not spec.suspend else Action.OBSERVE
    if spec.suspend:
        return Action.OBSERVE
    if observation.registered and not observation.failed and not spec.force_register:
        return Action.REFUSE_ALREADY_REGISTERED
    return Action.REGISTER


def deletion_plan(
    spec: SmartLicenseRegistrationSpec,
    status: SmartLicenseRegistrationStatus,
    observation: ClusterObservation | None,
    account: SmartAccountSpec | None,
) -> DeletionPlan:
    """What ``deletionPolicy`` asks of this deletion, given the cluster's state.

    ``Orphan`` touches nothing outside Kubernetes. ``Deregister`` deregisters only a
    registration with this account (one elsewhere is not ours to undo; without the account,
    one that status recorded as registered) and revokes the token if the operator issued one
    (looked up by its description when status lost track of it).
    """
    if spec.deletion_policy is RegistrationDeletionPolicy.ORPHAN:
        return DeletionPlan(deregister=False, revoke_token=False)
    if observation is None or not observation.registered:
        ours = False
    elif account is not None:
        ours = belongs_to(observation, account)
    else:
        # The account went first (a namespace being deleted): trust what status recorded.
        ours = is_true(status.conditions, c.REGISTERED)
    issued = spec.token.issue is not None or (status.token is not None and status.token.issued)
    return DeletionPlan(deregister=ours, revoke_token=issued)


# --- what status says -------------------------------------------------------------------------


def _authorized(observation: ClusterObservation) -> tuple[ConditionStatus, str, str]:
    state = observation.authorization
    if state in (AuthorizationState.AUTHORIZED, AuthorizationState.AUTHORIZED_RESERVATION):
        return ConditionStatus.TRUE, c.AUTHORIZED_REASON, "the cluster's authorization is current"
    if state is AuthorizationState.OUT_OF_COMPLIANCE:
        return (
            ConditionStatus.TRUE,
            c.AUTHORIZED_REASON,
            "authorized, but the cluster reports it is out of compliance",
        )
    if state is AuthorizationState.EVALUATION:
        left = observation.evaluation_remaining
        remaining = f", {format_duration(left)} left" if left is not None else ""
        return ConditionStatus.FALSE, c.EVALUATION, f"the cluster runs in evaluation{remaining}"
    if state is AuthorizationState.EVALUATION_EXPIRED:
        return (
            ConditionStatus.FALSE,
            c.EVALUATION_EXPIRED,
            "the evaluation period is over and the cluster is not registered",
        )
    if state is AuthorizationState.AUTHORIZATION_EXPIRED:
        return (
            ConditionStatus.FALSE,
            c.AUTHORIZATION_EXPIRED,
            "the authorization expired: the cluster has not synced with CSSM in time",
        )
    return (
        ConditionStatus.UNKNOWN,
        c.NO_LICENSE_DATA,
        "the authorization state cannot be seen from CSSM; the Secure Workload UI shows it on "
        "the License Usage Information page",
    )


def _compliance(observation: ClusterObservation, account: AccountView) -> Compliance:
    if observation.authorization is AuthorizationState.OUT_OF_COMPLIANCE:
        details = assess_cluster(observation.usage, account.licenses)
        extra = f": {details.message}" if details.status is ConditionStatus.FALSE else ""
        return Compliance(
            ConditionStatus.FALSE, c.OVER_UTILIZED, f"the cluster reports out of compliance{extra}"
        )
    if not observation.by_cluster or not observation.registered:
        return Compliance(
            ConditionStatus.UNKNOWN,
            c.NO_LICENSE_DATA,
            "the cluster's license usage is not known"
            if not observation.by_cluster
            else "the cluster is not registered",
        )
    return assess_cluster(observation.usage, account.licenses)


def _registration(
    observation: ClusterObservation, state: RegistrationState | None = None
) -> Registration:
    if state is None:
        if observation.registered and not observation.failed:
            state = RegistrationState.REGISTERED
        elif observation.failed:
            state = RegistrationState.FAILED
        else:
            state = RegistrationState.NOT_REGISTERED
    return Registration(
        state=state,
        registered_at=observation.registered_at,
        renew_at=observation.renew_at,
        expires_at=observation.expires_at,
    )


def _authorization(observation: ClusterObservation) -> Authorization | None:
    if observation.authorization is None:
        return None
    in_evaluation = observation.authorization is AuthorizationState.EVALUATION
    remaining = observation.evaluation_remaining
    return Authorization(
        state=observation.authorization,
        expires_at=observation.authorization_expires_at,
        evaluation_remaining=(
            format_duration(remaining) if in_evaluation and remaining is not None else None
        ),
    )


def _ready_requires(observation: ClusterObservation | None) -> tuple[str, ...]:
    if observation is not None and observation.authorization is None:
        return (c.REGISTERED,)
    return (c.REGISTERED, c.AUTHORIZED)


def observed(
    status: SmartLicenseRegistrationStatus,
    *,
    spec: SmartLicenseRegistrationSpec,
    observation: ClusterObservation,
    account: AccountView,
    token: TokenStatus | None,
    token_reason: str | None,
    generation: int,
    now: datetime,
    synced: bool,
    spread: float,
    window: float = schedule.DEFAULT_WINDOW,
) -> SmartLicenseRegistrationStatus:
    """Status after a pass that ended with the cluster's state in hand.

    ``synced``: the pass registered or renewed (or found the cluster registered without a
    schedule yet), so ``lastSyncTime`` moves and the next sync is scheduled from now.
    ``token_reason``: TokenIssued or TokenFromSecret when the pass had the token in hand.
    """
    conditions: list[Condition] = list(status.conditions)
    if token_reason is not None:
        conditions = set_condition(
            conditions,
            c.TOKEN_READY,
            True,
            token_reason,
            _token_message(token_reason, token),
            generation=generation,
            now=now,
        )

    registered = observation.registered and not observation.failed
    if registered:
        spec_of_account = account.spec
        domain = observation.smart_account or (
            spec_of_account.smart_account if spec_of_account else ""
        )
        va = observation.virtual_account or (
            spec_of_account.virtual_account if spec_of_account else ""
        )
        mode = f" ({observation.mode})" if observation.mode else ""
        conditions = set_condition(
            conditions,
            c.REGISTERED,
            True,
            c.REGISTERED_REASON,
            f"registered with {domain}/{va}{mode}",
            generation=generation,
            now=now,
        )
    elif spec.suspend:
        conditions = set_condition(
            conditions,
            c.REGISTERED,
            False,
            c.SUSPENDED,
            "spec.suspend is set: the cluster is not registered and will not be until suspend "
            "is removed",
            generation=generation,
            now=now,
        )
    else:
        message = observation.failure_message or "the cluster is not registered"
        conditions = set_condition(
            conditions,
            c.REGISTERED,
            False,
            c.NOT_REGISTERED,
            message,
            generation=generation,
            now=now,
        )

    authorized, reason, message = _authorized(observation)
    conditions = set_condition(
        conditions, c.AUTHORIZED, authorized, reason, message, generation=generation, now=now
    )
    compliance = _compliance(observation, account)
    conditions = set_condition(
        conditions,
        c.COMPLIANT,
        compliance.status,
        compliance.reason,
        compliance.message,
        generation=generation,
        now=now,
    )
    if spec.suspend:
        conditions = set_progress(
            conditions, Progress.SETTLED, c.SUSPENDED, generation=generation, now=now
        )
    else:
        conditions = set_progress(
            conditions, Progress.SETTLED, c.SUCCEEDED, generation=generation, now=now
        )
    conditions = summarize_ready(
        conditions,
        _ready_requires(observation),
        ready_reason=c.REGISTERED_REASON,
        ready_message="registered and authorized",
        generation=generation,
        now=now,
    )

    fields: dict[str, object] = {
        "observed_generation": generation,
        "conditions": ordered(conditions, c.REGISTRATION_CONDITIONS),
        "registration": _registration(observation),
        "authorization": _authorization(observation),
        "usage": list(observation.usage),
        "token": token if token is not None else status.token,
    }
    previous = schedule.read_schedule(status)
    interval = parse_duration(spec.sync_interval)
    stale = previous is None or previous.interval != interval or previous.next_sync_time <= now
    if synced or stale:
        # A pass made because the schedule was due moves the schedule on, even when it only
        # observed (suspended): otherwise the schedule would stay due and ask on every tick.
        fields["last_sync_time"] = now if synced else status.last_sync_time
        next_sync = schedule.after_sync(
            previous, synced_at=now, interval=interval, spread=spread, now=now, window=window
        )
        fields.update(next_sync.status_fields())
    return backoff.record_success(status.model_copy(update=fields))


def _token_message(reason: str, token: TokenStatus | None) -> str:
    where = ""
    if token is not None and token.secret_ref is not None:
        where = f" (Secret {token.secret_ref.name}, key {token.secret_ref.key})"
    if reason == c.TOKEN_ISSUED:
        return f"a registration token was issued at CSSM{where}"
    return f"the registration token is read from spec.token.secretRef{where}"


def awaiting_user(
    status: SmartLicenseRegistrationStatus,
    *,
    instruction: str,
    token: TokenStatus | None,
    token_reason: str | None,
    generation: int,
    now: datetime,
    poll_after: timedelta,
) -> SmartLicenseRegistrationStatus:
    """Status while a person must register the cluster in the Secure Workload UI.

    ``Registered`` says exactly what to enter where; the next look at CSSM for the cluster's
    product instance is ``poll_after`` from now (``nextAttemptTime``, no failure counted).
    """
    conditions: list[Condition] = list(status.conditions)
    if token_reason is not None:
        conditions = set_condition(
            conditions,
            c.TOKEN_READY,
            True,
            token_reason,
            _token_message(token_reason, token),
            generation=generation,
            now=now,
        )
    conditions = set_condition(
        conditions,
        c.REGISTERED,
        False,
        c.AWAITING_USER,
        instruction,
        generation=generation,
        now=now,
    )
    authorized, reason, message = _authorized(
        ClusterObservation(by_cluster=False, registered=False)
    )
    conditions = set_condition(
        conditions, c.AUTHORIZED, authorized, reason, message, generation=generation, now=now
    )
    conditions = set_progress(
        conditions,
        Progress.RECONCILING,
        c.AWAITING_USER,
        "waiting for the cluster to be registered in the Secure Workload UI",
        generation=generation,
        now=now,
    )
    conditions = summarize_ready(
        conditions,
        (c.REGISTERED,),
        ready_reason=c.REGISTERED_REASON,
        generation=generation,
        now=now,
    )
    return status.model_copy(
        update={
            "observed_generation": generation,
            "conditions": ordered(conditions, c.REGISTRATION_CONDITIONS),
            "registration": Registration(state=RegistrationState.AWAITING_USER),
            "token": token if token is not None else status.token,
            "failed_attempts": 0,
            "last_failure_time": None,
            "stalled_inputs": None,
            "next_attempt_time": now + poll_after,
        }
    )


def blocked(
    status: SmartLicenseRegistrationStatus,
    block: Blocker,
    *,
    generation: int,
    now: datetime,
) -> SmartLicenseRegistrationStatus:
    """Status of a pass stopped by a :class:`Blocker` (Standby, or no usable account).

    A Standby registration is Ready: it is exactly what its spec asks for. One waiting for its
    account is not, and says which account and why; neither schedules anything.
    """
    standby = block.reason == c.STANDBY
    conditions: Sequence[Condition] = status.conditions
    if standby:
        conditions = [
            cond
            for cond in conditions
            if cond.type not in (c.TOKEN_READY, c.AUTHORIZED, c.COMPLIANT)
        ]
        conditions = set_condition(
            conditions,
            c.REGISTERED,
            False,
            block.reason,
            block.message,
            generation=generation,
            now=now,
        )
    conditions = set_progress(
        conditions,
        Progress.SETTLED if standby else Progress.RECONCILING,
        block.reason,
        block.message,
        generation=generation,
        now=now,
    )
    conditions = set_condition(
        conditions, c.READY, standby, block.reason, block.message, generation=generation, now=now
    )
    fields: dict[str, object] = {
        "observed_generation": generation,
        "conditions": ordered(conditions, c.REGISTRATION_CONDITIONS),
        "next_attempt_time": None,
    }
    if standby:
        fields.update(
            {
                "registration": Registration(state=RegistrationState.STANDBY),
                "authorization": None,
                "usage": [],
                "next_sync_time": None,
                "scheduled_sync_interval": None,
            }
        )
    return status.model_copy(update=fields)


def failed(
    status: SmartLicenseRegistrationStatus,
    failure: Failure,
    *,
    generation: int,
    now: datetime,
    jitter: float,
    fingerprint: str,
    token: TokenStatus | None = None,
    forget_token: bool = False,
) -> SmartLicenseRegistrationStatus:
    """Status after a failed pass.

    The condition the failure concerns turns False with its reason. A permanent failure sets
    Stalled and waits for the inputs to change; a transient one schedules the next attempt by
    the backoff. Ready stays True only if the cluster is still registered and authorized (a
    failed daily sync does not undo the last one); otherwise it carries the failure.
    ``forget_token``: the cluster refused the issued token, so the next attempt issues anew.
    """
    if failure.is_permanent:
        recorded = backoff.record_permanent_failure(status, now=now, fingerprint=fingerprint)
        message = failure.message
    else:
        recorded = backoff.record_transient_failure(
            status, now=now, jitter=jitter, retry_after=failure.retry_after
        )
        assert recorded.next_attempt_time is not None
        message = f"{failure.message}; next attempt at {recorded.next_attempt_time.isoformat()}"

    conditions: list[Condition] = list(status.conditions)
    if failure.condition is not None:
        conditions = set_condition(
            conditions,
            failure.condition,
            False,
            failure.reason,
            message,
            generation=generation,
            now=now,
        )
    conditions = set_progress(
        conditions,
        Progress.STALLED if failure.is_permanent else Progress.RECONCILING,
        failure.reason if failure.is_permanent else c.RETRYING,
        message,
        generation=generation,
        now=now,
    )
    conditions = summarize_ready(
        conditions,
        (c.REGISTERED, c.AUTHORIZED),
        ready_reason=c.REGISTERED_REASON,
        ready_message="registered and authorized",
        generation=generation,
        now=now,
    )
    ready = find(conditions, c.READY)
    if ready is not None and ready.status is not ConditionStatus.TRUE:
        conditions = set_condition(
            conditions, c.READY, False, failure.reason, message, generation=generation, now=now
        )
    kept_token = None if forget_token else (token if token is not None else status.token)
    return recorded.model_copy(
        update={
            "observed_generation": generation,
            "conditions": ordered(conditions, c.REGISTRATION_CONDITIONS),
            "token": kept_token,
        }
    )
