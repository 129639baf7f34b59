"""How many objects are in which state, for the ``smartlicensing_registrations`` and
``smartlicensing_ready`` gauges.

kopf keeps an index of every object it watches: it adds an object when it is listed or
created, moves it when it changes and drops it when it is deleted, and rebuilds the whole index
from the listing after a restart. Each object is filed under its state (the registration state
of the ``REGISTRATION`` printer column and the status of its Ready condition), and
:func:`counts` reads the sizes at scrape time, so the gauges cannot drift: there is no
bookkeeping of their own to miss a deletion. A SmartAccount is filed in an index of its own
(:func:`account_census`); a registration's entry (:func:`registration_census`) goes into the
one index of registrations, ``registration_index`` of :mod:`.registrations`, beside its cluster
claim: kopf runs every index function on every watch event, and one function costs less than
two.

The index functions run on every watch event of every object, so they are kept trivial: a few
dictionary look-ups on the raw status, no model parsing, and ``async`` so kopf calls them on
the event loop instead of handing each call to its thread pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from typing import Any, Final

import kopf

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import GROUP, VERSION, ConditionStatus
from smartlicensing.api.registration import RegistrationState
from smartlicensing.handlers.status import raw_condition
from smartlicensing.observability.metrics import ObjectCounts

REGISTRATION: Final = "SmartLicenseRegistration"
ACCOUNT: Final = "SmartAccount"
#: The state of an object whose status does not say (yet): the printer column is empty.
UNKNOWN: Final = "Unknown"

_STATES: Final = (*(state.value for state in RegistrationState), UNKNOWN)
_READY: Final = tuple(status.value for status in ConditionStatus)

#: The kwargs (index ids) under which kopf hands the indexes to handlers.
REGISTRATION_INDEX: Final = "registration_index"
ACCOUNT_INDEX: Final = "account_census"


def install(registry: kopf.OperatorRegistry) -> None:
    """Register the accounts' census index in ``registry`` (the registrations' census is part
    of ``registration_index``, installed with the registration handlers)."""
    kopf.index(GROUP, VERSION, "smartaccounts", registry=registry)(account_census)


def registration_census(status: kopf.Status) -> dict[tuple[str, str], bool]:
    """A registration filed under (its registration state, its Ready status)."""
    registration = status.get("registration")
    state = registration.get("state") if isinstance(registration, dict) else None
    known = state if state in _STATES else UNKNOWN
    return {(known, _ready(status)): True}


async def account_census(status: kopf.Status, **_: Any) -> dict[str, bool]:
    """A SmartAccount filed under its Ready status."""
    return {_ready(status): True}


def _ready(status: kopf.Status) -> str:
    value = raw_condition(status, c.READY).get("status")
    return value if value in _READY else ConditionStatus.UNKNOWN.value


def counts(registrations: Mapping[Any, Sized], accounts: Mapping[str, Sized]) -> ObjectCounts:
    """The gauges' values from the two indexes; every state and Ready status, zeros included.

    Keys of ``registrations`` other than (state, Ready status) pairs (the cluster claims that
    share the index) are passed over.

    Zeros are written out so that a series does not vanish when its last object leaves it (an
    alert on ``smartlicensing_ready{ready="False"} > 0`` then sees 0, not "no data").
    """
    by_state = dict.fromkeys(_STATES, 0)
    ready = {(kind, status): 0 for kind in (ACCOUNT, REGISTRATION) for status in _READY}
    # NB: list() first: a scrape from another thread must not see the index change mid-loop.
    for key in list(registrations):
        if not isinstance(key, tuple):
            continue
        state, status = key
        size = _size(registrations, key)
        by_state[state] += size
        ready[REGISTRATION, status] += size
    for status in list(accounts):
        ready[ACCOUNT, status] += _size(accounts, status)
    return ObjectCounts(registrations=by_state, ready=ready)


def _size(index: Mapping[Any, Sized], key: object) -> int:
    store = index.get(key)
    return len(store) if store is not None else 0
