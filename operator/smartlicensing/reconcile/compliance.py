"""Compliance from the virtual account's license table: is every license in use covered?

CSSM marks each license line ``In Compliance`` or ``Out Of Compliance``; a line is also taken as
out of compliance when more licenses are in use than owned, whatever the label says, because
that is what the label means and the two can disagree between CSSM's own refreshes. The
message names each over-used license with its counts, which is what a person needs to act.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import ConditionStatus
from smartlicensing.api.registration import LicenseUsage
from smartlicensing.api.smartaccount import License, LicenseStatus


@dataclass(frozen=True)
class Compliance:
    """The ``Compliant`` condition's status, reason and message."""

    status: ConditionStatus
    reason: str
    message: str


def over_utilized(line: License) -> bool:
    """Whether a license line is out of compliance."""
    return line.status is LicenseStatus.OUT_OF_COMPLIANCE or line.in_use > line.quantity


def _shortfall(line: License) -> str:
    return f"{line.name}: {line.in_use} in use, {line.quantity} entitled"


def assess_account(licenses: Sequence[License]) -> Compliance:
    """Compliance of a virtual account from its license table."""
    if not licenses:
        return Compliance(
            ConditionStatus.UNKNOWN, c.NO_LICENSE_DATA, "the license table has not been read yet"
        )
    over = [line for line in licenses if over_utilized(line)]
    if over:
        return Compliance(
            ConditionStatus.FALSE, c.OVER_UTILIZED, "; ".join(_shortfall(line) for line in over)
        )
    return Compliance(
        ConditionStatus.TRUE,
        c.IN_COMPLIANCE,
        f"all {len(licenses)} licenses in use are covered",
    )


def assess_cluster(usage: Sequence[LicenseUsage], licenses: Sequence[License]) -> Compliance:
    """Compliance of one cluster: the licenses it uses are all in compliance at the account."""
    if not licenses:
        return Compliance(
            ConditionStatus.UNKNOWN, c.NO_LICENSE_DATA, "the account's license table is not known"
        )
    by_name = {line.name: line for line in licenses}
    used = [entry for entry in usage if entry.in_use > 0]
    unlicensed = [entry.license for entry in used if entry.license not in by_name]
    covered = [by_name[entry.license] for entry in used if entry.license in by_name]
    over = [line for line in covered if over_utilized(line)]
    if not unlicensed and not over:
        return Compliance(
            ConditionStatus.TRUE, c.IN_COMPLIANCE, "every license this cluster uses is covered"
        )
    problems = [_shortfall(line) for line in over]
    problems += [f"{name}: in use, none entitled" for name in unlicensed]
    return Compliance(ConditionStatus.FALSE, c.OVER_UTILIZED, "; ".join(problems))
