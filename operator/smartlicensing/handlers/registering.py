"""The calls of one registration pass and of a deregistration, in the order the seed gives them.

Each pass gathers (the object, its account from the index, the cluster's state), asks
``reconcile.registration`` what to do, acts, and records. The budget of a first registration is
what the procedure needs and no more: at most two CSSM calls for the token (look it up by its
deterministic description, create it when absent; none when the token comes from a Secret or an
issued one is still on hand) and two cluster calls (read the state, register; the answer to
"register" is the new state). A daily sync is one cluster call: "renew authorization" answers
the state too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import kopf
from pydantic import SecretStr

from smartlicensing import cssm, kube
from smartlicensing.api import conditions as c
from smartlicensing.api.meta import API_VERSION, DriverType, TokenSecretReference
from smartlicensing.api.registration import (
    AuthorizationState,
    ClusterRole,
    ExportControl,
    LicenseUsage,
    RegistrationDeletionPolicy,
    SmartLicenseRegistrationSpec,
    SmartLicenseRegistrationStatus,
    TokenStatus,
)
from smartlicensing.api.smartaccount import SmartAccountSpec
from smartlicensing.handlers.failures import (
    cssm_failure,
    product_failure,
    secret_failure,
    unexpected_failure,
)
from smartlicensing.handlers.runtime import Runtime
from smartlicensing.handlers.status import write_status
from smartlicensing.handlers.timetable import status_for_decision
from smartlicensing.product import (
    ClusterStatus,
    Observer,
    ProductDriver,
    SecretInput,
    SecretKeyRef,
)
from smartlicensing.product import RegistrationState as ClusterRegistration
from smartlicensing.product import errors as product_errors
from smartlicensing.reconcile import backoff
from smartlicensing.reconcile import registration as decide
from smartlicensing.reconcile.account import AccountView
from smartlicensing.reconcile.attempts import Due, Failure
from smartlicensing.reconcile.conditions import is_true
from smartlicensing.reconcile.validation import Problem, describe, parse_spec

logger = logging.getLogger(__name__)

KIND = "SmartLicenseRegistration"

#: Looks at CSSM for a manual registration are spaced by the backoff without jitter: they are
#: few, and a person reading nextAttemptTime should see a round number.
_NO_JITTER = 0.0


def observation_of(status: ClusterStatus) -> decide.ClusterObservation:
    """The driver's view of the cluster in the words of ``reconcile``."""
    return decide.ClusterObservation(
        by_cluster=status.observed_by is Observer.CLUSTER,
        registered=status.registration is not ClusterRegistration.UNREGISTERED,
        failed=status.registration is ClusterRegistration.FAILED,
        smart_account=status.smart_account,
        virtual_account=status.virtual_account,
        mode=status.mode.value if status.mode is not None else None,
        transport_url=status.transport_url,
        authorization=(
            AuthorizationState(status.authorization.value)
            if status.authorization is not None
            else None
        ),
        evaluation_remaining=status.evaluation_remaining,
        usage=tuple(LicenseUsage(license=u.license, in_use=u.in_use) for u in status.usage),
        version=status.version,
        registered_at=status.registered_at,
        renew_at=status.renew_at,
        expires_at=status.expires_at,
        authorization_expires_at=status.authorization_expires_at,
        failure_message=status.failure_message,
    )


def lookup_account(
    index: Mapping[Any, Any], namespace: str, spec: SmartLicenseRegistrationSpec
) -> AccountView | None:
    """The registration's SmartAccount as the index has it (no API call)."""
    found = index.get((namespace, spec.account_ref.name))
    if found is None:
        return None
    return next(iter(found), None)


@dataclass
class Token:
    """A registration token in hand, where it came from, and what status says of it."""

    value: SecretStr
    source: SecretKeyRef
    status: TokenStatus
    reason: str


def parsed_spec(
    runtime: Runtime, body: kopf.Body
) -> tuple[SmartLicenseRegistrationSpec | None, list[Problem]]:
    """The registration's spec parsed and checked, once per ``generation``.

    A change of spec always moves ``generation``; the watch events of status writes, labels
    and annotations do not, and are by far the most. A body without a generation (built by
    hand) is parsed every time.
    """
    generation: object = body.meta.get("generation") or object()
    return runtime.parsed(
        str(body.meta.get("uid")),
        "spec",
        generation,
        lambda: parse_spec(SmartLicenseRegistrationSpec, body.spec),
    )


def parsed_status(runtime: Runtime, body: kopf.Body) -> SmartLicenseRegistrationStatus:
    """The status to decide from (:func:`.timetable.status_for_decision`), parsed once for the
    status this process last wrote, or else once per ``resourceVersion``."""
    uid = str(body.meta.get("uid"))
    remembered = runtime.remembered_status(uid)
    # Without a resourceVersion (a body built by hand) nothing is reused.
    source: object = (
        remembered if remembered is not None else body.meta.get("resourceVersion") or object()
    )
    return runtime.parsed(
        uid,
        "status",
        source,
        lambda: SmartLicenseRegistrationStatus.model_validate(status_for_decision(runtime, body)),
    )


class RegistrationPass:
    """One pass over one registration: gather, decide, act, record."""

    def __init__(
        self,
        runtime: Runtime,
        body: kopf.Body,
        patch: kopf.Patch,
        accounts: Mapping[Any, Any],
        due: Due,
    ) -> None:
        self.runtime = runtime
        self.body = body
        self.patch = patch
        self.accounts = accounts
        self.due = due
        self.namespace = str(body.meta.get("namespace"))
        self.name = str(body.meta.get("name"))
        self.uid = str(body.meta.get("uid"))
        self.generation = int(body.meta.get("generation") or 0)
        self.status = parsed_status(runtime, body)
        self.now = runtime.now()
        self._cssm: cssm.CSSMClient | None = None
        self._issued = False
        # A pass for changed Secrets reads them anew, not through a read begun before the change.
        self._fresh = due is Due.INPUTS_CHANGED

    # --- the pass -------------------------------------------------------------------------

    async def run(self) -> Failure | None:
        """Make the pass and write status into the patch; the failure, if it failed."""
        spec, problems = parsed_spec(self.runtime, self.body)
        if spec is None:
            return await self._fail(Failure(c.INVALID_SPEC, describe(problems), permanent=True))
        self._issued = spec.token.issue is not None

        account = lookup_account(self.accounts, self.namespace, spec)
        blocked_by = decide.blocker(spec, self.status, account)
        if blocked_by is not None:
            self._record(
                decide.blocked(self.status, blocked_by, generation=self.generation, now=self.now)
            )
            return None
        assert account is not None
        assert account.spec is not None

        driver: ProductDriver | None = None
        try:
            driver = await self._driver(spec, account.spec)
            return await self._with_driver(spec, account, account.spec, driver)
        except kube.SecretError as error:
            token_secret = spec.token.secret_ref is not None and (
                error.name == spec.token.secret_ref.name
            )
            reason = c.TOKEN_SECRET_MISSING if token_secret else c.CREDENTIALS_SECRET_MISSING
            condition = c.TOKEN_READY if reason == c.TOKEN_SECRET_MISSING else None
            return await self._fail(secret_failure(error, reason=reason, condition=condition))
        except cssm.CSSMError as error:
            return await self._fail(cssm_failure(error))
        except product_errors.ProductError as error:
            failure = product_failure(error, token_issued=self._issued)
            forget = isinstance(error, product_errors.TokenRefused) and self._issued
            return await self._fail(failure, forget_token=forget)
        except Exception as error:
            # A defect, not a refusal: logged with its traceback (masked like every log line),
            # and retried by the backoff in status rather than by kopf at a fixed pace.
            logger.exception("%s/%s: unexpected error in a pass", self.namespace, self.name)
            return await self._fail(unexpected_failure(error))
        finally:
            if driver is not None:
                await driver.aclose()

    async def _with_driver(
        self,
        spec: SmartLicenseRegistrationSpec,
        account: AccountView,
        account_spec: SmartAccountSpec,
        driver: ProductDriver,
    ) -> Failure | None:
        sync_due = self.due in (Due.SCHEDULE, Due.REQUESTED)
        is_api = spec.cluster.driver.type is DriverType.API
        registered = is_true(self.status.conditions, c.REGISTERED)

        # The daily sync of a registered cluster: one call, whose answer is the new state.
        if sync_due and is_api and registered and not spec.suspend:
            try:
                renewed = await driver.renew_authorization()
            except product_errors.NotRegistered:
                logger.info("%s/%s: the cluster is no longer registered", self.namespace, self.name)
            else:
                assert renewed.status is not None
                renewal = observation_of(renewed.status)
                if not renewal.failed:
                    self._observed(spec, account, renewal, None, True)
                    return None
                # CSSM no longer knows the product instance: register again now, not at the
                # next sync. Status says so (unwritten) in case registering again fails too.
                logger.info("%s/%s: %s", self.namespace, self.name, renewal.failure_message)
                self.status = self._status_after(spec, account, renewal, None, False)

        observation = observation_of(await driver.status())
        action = decide.next_action(spec, observation, account_spec, sync_due=sync_due)

        if action is decide.Action.REFUSE_UNSUPPORTED_VERSION:
            return await self._fail(
                Failure(
                    c.UNSUPPORTED_VERSION,
                    f"the cluster runs Secure Workload {observation.version}; Smart Licensing "
                    "needs release 3.8 or later: upgrade the cluster",
                    condition=c.REGISTERED,
                )
            )
        if action is decide.Action.REFUSE_ALREADY_REGISTERED:
            where = "/".join(
                part for part in (observation.smart_account, observation.virtual_account) if part
            )
            return await self._fail(
                Failure(
                    c.ALREADY_REGISTERED,
                    f"the cluster is already registered{f' with {where}' if where else ''}; set "
                    "spec.forceRegister: true to replace that registration",
                    condition=c.REGISTERED,
                )
            )
        if action is decide.Action.OBSERVE:
            first = observation.registered and self.status.last_sync_time is None
            self._observed(spec, account, observation, None, first)
            return None
        if action is decide.Action.RENEW:
            if is_api:
                renewed = await driver.renew_authorization()
                assert renewed.status is not None
                observation = observation_of(renewed.status)
            self._observed(spec, account, observation, None, True)
            return None

        # Register: never for an object whose deletion has begun (asked again once the token,
        # which may take CSSM calls, is in hand).
        if self._deletion_begun():
            return None
        token = await self._token(spec)
        if self._deletion_begun():
            return None
        force = (spec.force_register and observation.registered) or action is decide.Action.MOVE
        if action is decide.Action.MOVE:
            logger.info(
                "%s/%s: cluster %s reports transport URL %s; registering it again with %s",
                self.namespace,
                self.name,
                spec.cluster.uuid,
                observation.transport_url,
                decide.transport_url(spec, account_spec),
            )
        result = await driver.register(
            SecretInput(token.value, token.source),
            decide.transport_url(spec, account_spec),
            force=force or observation.failed,
        )
        if result.instruction is not None:
            self._awaiting_user(result.instruction, token)
            return None
        assert result.status is not None
        logger.info("%s/%s: cluster %s registered", self.namespace, self.name, spec.cluster.uuid)
        if action is decide.Action.MOVE:
            # Registered stays True: without this Event the move would not show anywhere.
            kopf.info(
                self.body,
                reason=c.REGISTERED,
                message=f"registered again through {decide.transport_url(spec, account_spec)} "
                f"(it was {observation.transport_url})",
            )
        self._observed(spec, account, observation_of(result.status), token, True)
        return None

    def _deletion_begun(self) -> bool:
        # A timer's body is kopf's live view, so deletionTimestamp shows here as soon as the
        # watch delivers it, before the delete handler has started (and marked the object).
        begun = self.uid in self.runtime.deleting or bool(self.body.meta.get("deletionTimestamp"))
        if begun:
            logger.info("%s/%s: being deleted; not registering", self.namespace, self.name)
        return begun

    # --- gathering ------------------------------------------------------------------------

    async def cssm(self, account: SmartAccountSpec, account_name: str) -> cssm.CSSMClient:
        if self._cssm is None:
            self._cssm, _ = await self.runtime.cssm_client(
                self.namespace, account_name, account, fresh=self._fresh
            )
        return self._cssm

    async def _driver(
        self, spec: SmartLicenseRegistrationSpec, account: SmartAccountSpec
    ) -> ProductDriver:
        client = None
        if spec.cluster.driver.type is DriverType.MANUAL:
            client = await self.cssm(account, spec.account_ref.name)
        driver, _ = await self.runtime.driver(
            self.namespace, spec, account, client, fresh=self._fresh
        )
        return driver

    async def _token(self, spec: SmartLicenseRegistrationSpec) -> Token:
        secrets = self.runtime.secrets
        if spec.token.secret_ref is not None:
            ref = spec.token.secret_ref
            value = await kube.read_secret_key(secrets, self.namespace, ref.name, ref.key)
            return Token(
                value,
                SecretKeyRef(self.namespace, ref.name, ref.key),
                TokenStatus(secret_ref=ref, issued=False),
                c.TOKEN_FROM_SECRET,
            )

        issue = spec.token.issue
        assert issue is not None
        recorded = self.status.token
        if decide.token_reusable(recorded, self.now):
            assert recorded is not None
            assert recorded.secret_ref is not None
            ref = recorded.secret_ref
            try:
                value = await kube.read_secret_key(secrets, self.namespace, ref.name, ref.key)
            except (kube.SecretNotFound, kube.SecretKeyMissing):
                pass
            else:
                source = SecretKeyRef(self.namespace, ref.name, ref.key)
                return Token(value, source, recorded, c.TOKEN_ISSUED)

        account = lookup_account(self.accounts, self.namespace, spec)
        assert account is not None
        assert account.spec is not None
        client = await self.cssm(account.spec, spec.account_ref.name)
        description = decide.token_description(
            self.namespace, self.name, self.uid, issue.description
        )
        # Until this process asks CSSM for this object's token, a token with its description can
        # only be older than the process, and a listing already under way finds it as well.
        shared = self.uid not in self.runtime.tokens_requested
        found = await client.find_token(description, shared=shared)
        fresh = (
            found is not None
            and found.expiration_date is not None
            and found.expiration_date - decide.TOKEN_REUSE_MARGIN > self.now
        )
        if found is None or not fresh:
            self.runtime.tokens_requested.add(self.uid)
            found = await client.create_token(
                description,
                issue.expires_after_days,
                export_controlled=issue.export_controlled is ExportControl.ALLOWED,
            )
        secret_name = decide.token_secret_name(self.name)
        owner = kube.Owner(API_VERSION, KIND, self.name, self.uid)
        await kube.apply_owned_secret(
            secrets, self.namespace, secret_name, {decide.TOKEN_KEY: found.value}, owner
        )
        ref = TokenSecretReference(name=secret_name, key=decide.TOKEN_KEY)
        return Token(
            found.value,
            SecretKeyRef(self.namespace, secret_name, decide.TOKEN_KEY),
            TokenStatus(secret_ref=ref, expires_at=found.expiration_date, issued=True),
            c.TOKEN_ISSUED,
        )

    # --- recording ------------------------------------------------------------------------

    def _record(self, new: SmartLicenseRegistrationStatus) -> None:
        self.runtime.remember_status(self.uid, new)
        write_status(
            self.patch, self.body, self.body.status, new, kind=KIND, metrics=self.runtime.metrics
        )

    def _observed(
        self,
        spec: SmartLicenseRegistrationSpec,
        account: AccountView,
        observation: decide.ClusterObservation,
        token: Token | None,
        synced: bool,
    ) -> None:
        self.runtime.manual_polls.pop(self.uid, None)
        self._record(self._status_after(spec, account, observation, token, synced))

    def _status_after(
        self,
        spec: SmartLicenseRegistrationSpec,
        account: AccountView,
        observation: decide.ClusterObservation,
        token: Token | None,
        synced: bool,
    ) -> SmartLicenseRegistrationStatus:
        return decide.observed(
            self.status,
            spec=spec,
            observation=observation,
            account=account,
            token=token.status if token is not None else None,
            token_reason=token.reason if token is not None else None,
            generation=self.generation,
            now=self.now,
            synced=synced,
            spread=self.runtime.next_spread(),
            window=self.runtime.settings.schedule_window,
        )

    def _awaiting_user(self, instruction: str, token: Token) -> None:
        polls = self.runtime.manual_polls.get(self.uid, 0) + 1
        self.runtime.manual_polls[self.uid] = polls
        settings = self.runtime.settings
        policy = backoff.BackoffPolicy(
            base=timedelta(seconds=settings.manual_poll_base),
            cap=timedelta(seconds=max(settings.manual_poll_cap, settings.manual_poll_base)),
        )
        self._record(
            decide.awaiting_user(
                self.status,
                instruction=instruction,
                token=token.status,
                token_reason=token.reason,
                generation=self.generation,
                now=self.now,
                poll_after=backoff.delay(polls, _NO_JITTER, policy),
            )
        )

    async def _fail(self, failure: Failure, *, forget_token: bool = False) -> Failure:
        log = logger.warning if failure.is_permanent else logger.info
        log("%s/%s: %s: %s", self.namespace, self.name, failure.reason, failure.message)
        self._record(
            decide.failed(
                self.status,
                failure,
                generation=self.generation,
                now=self.now,
                jitter=backoff.jitter_for(self.uid, self.status.failed_attempts + 1),
                fingerprint=await registration_fingerprint(
                    self.runtime, self.namespace, self.body.spec, self.generation
                ),
                forget_token=forget_token,
            )
        )
        return failure


def _driver_secret(spec: SmartLicenseRegistrationSpec) -> str | None:
    """The Secret with the Api driver's key and secret, if the driver has one."""
    ref = spec.cluster.driver.credentials_secret_ref
    return ref.name if ref is not None else None


async def registration_fingerprint(
    runtime: Runtime, namespace: str, raw_spec: Mapping[str, Any], generation: int
) -> str:
    """The digest of what a permanent failure depends on: generation and Secret versions."""
    spec, _ = parse_spec(SmartLicenseRegistrationSpec, raw_spec)
    names: list[str] = []
    if spec is not None:
        if spec.token.secret_ref is not None:
            names.append(spec.token.secret_ref.name)
        driver_secret = _driver_secret(spec)
        if driver_secret is not None:
            names.append(driver_secret)
    versions = await runtime.secret_versions(namespace, names)
    return backoff.inputs_fingerprint(generation, versions)


# --- deletion ---------------------------------------------------------------------------------


@dataclass
class DeletionOutcome:
    """What a deletion did, for the Event that reports it."""

    deregistered: bool = False
    revoked: bool = False
    note: str = ""


async def deregister(
    runtime: Runtime,
    body: kopf.Body,
    accounts: Mapping[Any, Any],
) -> DeletionOutcome:
    """Carry out ``deletionPolicy``; raises the clients' errors for the handler to judge.

    "Already gone" is done: an unregistered cluster is not deregistered, a revoked or unknown
    token is not revoked again, a missing token Secret falls back to the token's description.
    Nothing the user owns is deleted.
    """
    namespace, name = str(body.meta.get("namespace")), str(body.meta.get("name"))
    uid = str(body.meta.get("uid"))
    spec, problems = parse_spec(SmartLicenseRegistrationSpec, body.spec)
    if spec is None:
        return DeletionOutcome(note=f"the spec is invalid ({describe(problems)}); nothing done")
    if spec.deletion_policy is RegistrationDeletionPolicy.ORPHAN:
        return DeletionOutcome(note="deletionPolicy Orphan: the registration is left as it is")
    status = SmartLicenseRegistrationStatus.model_validate(body.status or {})

    account = lookup_account(accounts, namespace, spec)
    if account is None or account.spec is None:
        return await _deregister_without_account(runtime, namespace, spec, status)
    account_spec = account.spec
    client_holder: list[cssm.CSSMClient] = []

    async def client() -> cssm.CSSMClient:
        if not client_holder:
            made, _ = await runtime.cssm_client(namespace, account.name, account_spec)
            client_holder.append(made)
        return client_holder[0]

    outcome = DeletionOutcome()
    manual = spec.cluster.driver.type is DriverType.MANUAL
    if spec.cluster.role is not ClusterRole.STANDBY:
        driver, _ = await runtime.driver(
            namespace, spec, account_spec, await client() if manual else None
        )
        try:
            observation = observation_of(await driver.status())
            plan = decide.deletion_plan(spec, status, observation, account_spec)
            if plan.deregister:
                outcome.deregistered = True
                outcome.note = await _deregister_cluster(driver, client, manual, spec)
        finally:
            await driver.aclose()

    plan = decide.deletion_plan(spec, status, None, account_spec)
    if plan.revoke_token:
        outcome.revoked = await _revoke(runtime, client, namespace, name, uid, spec, status)
    return outcome


async def _deregister_without_account(
    runtime: Runtime,
    namespace: str,
    spec: SmartLicenseRegistrationSpec,
    status: SmartLicenseRegistrationStatus,
) -> DeletionOutcome:
    """The SmartAccount is gone (e.g. its namespace is being deleted): what the cluster allows."""
    gone = f"SmartAccount {spec.account_ref.name} is gone or invalid"
    if spec.cluster.driver.type is not DriverType.API or spec.cluster.role is ClusterRole.STANDBY:
        return DeletionOutcome(
            note=f"{gone}: the cluster may stay registered; deregister it in the Secure "
            "Workload UI and remove its product instance in CSSM"
        )
    driver, _ = await runtime.driver(namespace, spec, None, None)
    try:
        observation = observation_of(await driver.status())
        plan = decide.deletion_plan(spec, status, observation, None)
        if plan.deregister:
            await driver.deregister()
    finally:
        await driver.aclose()
    revoke = "; an issued token could not be revoked" if plan.revoke_token else ""
    return DeletionOutcome(deregistered=plan.deregister, note=f"{gone}{revoke}")


async def _deregister_cluster(
    driver: ProductDriver,
    client: Callable[[], Awaitable[cssm.CSSMClient]],
    manual: bool,
    spec: SmartLicenseRegistrationSpec,
) -> str:
    if not manual:
        await driver.deregister()
        return ""
    instances = await client()
    instance = await instances.find_product_instance(spec.cluster.uuid)
    if instance is not None:
        await instances.remove_product_instance(instance)
    step = await driver.deregister()
    return f"the product instance was removed at CSSM; on the cluster: {step.instruction}"


async def _revoke(
    runtime: Runtime,
    client: Callable[[], Awaitable[cssm.CSSMClient]],
    namespace: str,
    name: str,
    uid: str,
    spec: SmartLicenseRegistrationSpec,
    status: SmartLicenseRegistrationStatus,
) -> bool:
    value: SecretStr | None = None
    recorded = status.token
    if recorded is not None and recorded.issued and recorded.secret_ref is not None:
        ref = recorded.secret_ref
        try:
            value = await kube.read_secret_key(runtime.secrets, namespace, ref.name, ref.key)
        except (kube.SecretNotFound, kube.SecretKeyMissing):
            value = None
    cssm_client = await client()
    if value is None:
        extra = spec.token.issue.description if spec.token.issue is not None else None
        found = await cssm_client.find_token(decide.token_description(namespace, name, uid, extra))
        if found is None:
            return False
        value = found.value
    results = await cssm_client.revoke_tokens([value])
    return any(result.revoked for result in results)
