"""DNSSEC status of the answers the checks rely on, validated by mailcheck (see :mod:`mailcheck.net.dnssec`).

secure → pass; insecure → info (the zone is not signed: DANE cannot apply); bogus → fail at the link that
broke; indeterminate → info, plainly the resolver's doing (it returned no signatures), not the domain's.
"""

import asyncio
from dataclasses import dataclass

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject
from mailcheck.net.dnssec import DnssecStatus, DnssecValidator, TrustAnchors

STATUS = {"secure": Status.PASS, "insecure": Status.INFO, "bogus": Status.FAIL, "indeterminate": Status.INFO}


@dataclass(frozen=True)
class DnssecObservation:
    answers: tuple[tuple[str, str, DnssecStatus], ...]  # (name, type, status)


async def probe(questions: list[tuple[str, str]], anchors: TrustAnchors, ctx: ProbeContext) -> DnssecObservation:
    validator = ctx_validator(ctx, anchors)
    found = await asyncio.gather(*(validator.status(name, rdtype) for name, rdtype in questions))
    return DnssecObservation(tuple((n, t, s) for (n, t), s in zip(questions, found, strict=True)))


def ctx_validator(ctx: ProbeContext, anchors: TrustAnchors) -> DnssecValidator:
    """One validator per run, so each zone's keys are validated once."""
    validator = ctx.extras.get("dnssec")
    if not isinstance(validator, DnssecValidator) or validator.anchors is not anchors:
        validator = ctx.extras["dnssec"] = DnssecValidator(ctx.dns, anchors)
    return validator


def answer_finding(name: str, rdtype: str, status: DnssecStatus) -> CheckResult:
    subject = Subject("dnssec.answer", f"{rdtype} {name}", Stage.DNS)
    details = {"state": status.state, "decided_by": status.decided_by, "zone": status.zone, "reason": status.reason}
    summary = f"{status.state}: {status.reason} (decided by {status.decided_by})"
    if status.state == "bogus":
        return subject.result(Status.FAIL, summary, details, ErrorInfo(Stage.DNS, "bogus", status.reason))
    if status.unanswered:
        # the resolver did not answer at all: not checked (a timeout is no verdict on the domain)
        return subject.result(Status.ERROR, summary, details, ErrorInfo(Stage.DNS, "timeout", status.reason))
    return subject.result(STATUS[status.state], summary, details)


def evaluate(obs: DnssecObservation) -> list[CheckResult]:
    return [answer_finding(name, rdtype, status) for name, rdtype, status in obs.answers]
