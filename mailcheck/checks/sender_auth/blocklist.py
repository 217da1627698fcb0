"""DNS blocklist lookups (RFC 5782): is an address or a domain listed, by which list, and why.

Every list is asked concurrently through the run's resolver; each list's test points are asked too, so a dead
list, or one refusing our resolver, is reported as "unanswered" rather than taken for "not listed".
"""

import asyncio
from dataclasses import dataclass, field

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.records.dnsbl import Answer, Blocklist, interpret, query_name, test_points
from mailcheck.runner import attempt

REFUSED_HINT = (
    "the list refused to answer this resolver (large lists refuse public resolvers and heavy users), so the "
    "item's listing is unknown and the domain is not at fault; query it through your own resolver with --resolver"
)


@dataclass
class ItemLookup:
    item: str
    answer: Answer | ProbeError
    reasons: list[str] = field(default_factory=list)  # the list's TXT records for a listing


@dataclass
class ListObservation:
    """One list: how its test points answered, and what it said of each item."""

    blocklist: Blocklist
    listed_point: Answer | ProbeError
    unlisted_point: Answer | ProbeError
    items: list[ItemLookup] = field(default_factory=list)

    @property
    def health(self) -> str | None:
        """Why the list's answers cannot be used (None when it works)."""
        positive, negative = test_points(self.blocklist)
        if isinstance(self.listed_point, ProbeError):
            return f"its test point {positive} was not answered ({self.listed_point.message})"
        if self.listed_point.state == "refused":
            return f"it refused to answer for its test point {positive} ({', '.join(self.listed_point.codes)})"
        if self.listed_point.state != "listed":
            return (
                f"it does not list its test point {positive}: the zone does not exist or no longer runs (RFC 5782 §5)"
            )
        if isinstance(self.unlisted_point, Answer) and self.unlisted_point.state == "listed":
            return f"it lists {negative}, which no list may list: it answers every query (RFC 5782 §5)"
        return None


async def _ask(blocklist: Blocklist, item: str, ctx: ProbeContext) -> Answer | ProbeError:
    lookup = await attempt(ctx.dns.lookup(query_name(item, blocklist.zone), "A"))
    if isinstance(lookup, ProbeError):
        return lookup
    return interpret(blocklist, [record.to_text() for record in lookup.records])


async def _ask_item(blocklist: Blocklist, item: str, ctx: ProbeContext) -> ItemLookup:
    answer = await _ask(blocklist, item, ctx)
    lookup = ItemLookup(item, answer)
    if isinstance(answer, Answer) and answer.state == "listed":
        reasons = await attempt(ctx.dns.lookup(query_name(item, blocklist.zone), "TXT"))
        if not isinstance(reasons, ProbeError):
            lookup.reasons = reasons.txt_values()[:3]
    return lookup


async def probe_list(blocklist: Blocklist, items: list[str], ctx: ProbeContext) -> ListObservation:
    positive, negative = test_points(blocklist)
    listed, unlisted, *lookups = await asyncio.gather(
        _ask(blocklist, positive, ctx),
        _ask(blocklist, negative, ctx),
        *(_ask_item(blocklist, item, ctx) for item in items),
    )
    return ListObservation(blocklist, listed, unlisted, list(lookups))  # type: ignore[arg-type]


async def probe(lists: list[Blocklist], items: list[str], ctx: ProbeContext) -> list[ListObservation]:
    """Ask every list about every item (and about its own test points), all at once."""
    return list(await asyncio.gather(*(probe_list(blocklist, items, ctx) for blocklist in lists)))


def evaluate(observations: list[ListObservation]) -> list[CheckResult]:
    results = []
    for obs in observations:
        for lookup in obs.items:
            results.append(item_finding(obs, lookup))
    return results


def item_finding(obs: ListObservation, lookup: ItemLookup) -> CheckResult:
    blocklist = obs.blocklist
    subject = Subject(f"blocklist.{blocklist.kind}", f"{lookup.item} on {blocklist.zone}", Stage.DNS)
    details: dict[str, object] = {"list": blocklist.name, "zone": blocklist.zone, "item": lookup.item}
    answer = lookup.answer
    if isinstance(answer, ProbeError):
        if answer.kind == "refused":  # the REFUSED rcode: the list's servers (or the resolver) refuse this vantage
            message = f"{blocklist.name} refused the query (REFUSED): {REFUSED_HINT}"
            return subject.result(Status.ERROR, message, details, ErrorInfo(Stage.DNS, "list-refused", message))
        return subject.failed(answer, f"{blocklist.name} did not answer: {answer.message}", details)
    if answer.state == "refused":
        message = f"{blocklist.name} answered {', '.join(answer.codes)}: {REFUSED_HINT}"
        return subject.result(Status.ERROR, message, details, ErrorInfo(Stage.DNS, "list-refused", message))
    health = obs.health
    if health is not None:
        message = f"{blocklist.name} cannot be used from here: {health}"
        details["answer"] = answer.state
        refusing = isinstance(obs.listed_point, Answer) and obs.listed_point.state == "refused"
        kind = "list-refused" if refusing else "list-unusable"
        return subject.result(Status.ERROR, message, details, ErrorInfo(Stage.DNS, kind, message))
    if answer.state == "listed":
        details.update({"codes": list(answer.codes), "meanings": list(answer.meanings), "reasons": lookup.reasons})
        reason = f"; the list says: {lookup.reasons[0]}" if lookup.reasons else ""
        message = f"listed on {blocklist.name} ({'; '.join(answer.meanings)}){reason}"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.DNS, "listed", message))
    return subject.result(Status.PASS, f"not listed on {blocklist.name}", details)
