"""One finding per fact: findings that say the same thing (same check, status, kind and meaning) about several
endpoints, hosts or names are printed once with the places they apply to. Pure; the report renders the groups,
JSON keeps one check per endpoint."""

import re
from dataclasses import dataclass

from mailcheck.model import ENDPOINT_TARGET, CheckResult, target_host

SHOWN_PLACES = 2
_ADDRESS = re.compile(r"\[?\b(?:\d{1,3}\.){3}\d{1,3}\b\]?|\[?\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b\]?", re.I)
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")
_TIMING = re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b")
MASK = "…"
_MASKS = re.compile(re.escape(MASK) + r"(?:[:./ -]*" + re.escape(MASK) + ")+")  # "…:…" reads as one "…"


@dataclass(frozen=True)
class FindingGroup:
    checks: tuple[CheckResult, ...]
    said: str | None = None  # the words for a group merged from facts with one consequence

    @property
    def first(self) -> CheckResult:
        return self.checks[0]

    @property
    def places(self) -> list[str]:
        return list(dict.fromkeys(c.target for c in self.checks))

    @property
    def summary(self) -> str:
        """The members' summary when they all say it in the same words, else what they share (the parts that
        name each place masked)."""
        if self.said is not None:
            return self.said
        summaries = {c.summary for c in self.checks}
        return self.first.summary if len(summaries) == 1 else _MASKS.sub(MASK, meaning(self.first))

    @property
    def certificate(self) -> str | None:
        """The one certificate every member is about, named with its fingerprint; None when several."""
        prints = {c.details.get("fingerprint_sha256") for c in self.checks}
        if len(prints) != 1 or None in prints:
            return None
        fingerprint = str(next(iter(prints)))
        return f"{self.first.details.get('certificate')} (SHA-256 {fingerprint[:16]}…)"


def meaning(check: CheckResult) -> str:
    """CHECK's summary without what names its place: its host, addresses, ports and timings."""
    text = check.summary
    host = target_host(check.target)
    if host:
        text = re.sub(re.escape(host) + r"(?::\d+)?", MASK, text, flags=re.I)
    text = _ADDRESS.sub(MASK, text)
    text = _TIMING.sub(MASK, text)
    return _NUMBER.sub(MASK, text)  # an MX preference, a count of days: the same fact about each place


def _key(check: CheckResult) -> tuple[str, str, str, str]:
    name = check.id.split(".", 1)[-1]
    kind = check.error.kind if check.error is not None else ""
    return name, check.status.value, kind, meaning(check)


def group_findings(checks: list[CheckResult]) -> list[FindingGroup]:
    """CHECKS grouped by fact, in the order each fact first appears; facts of one check on the same places
    that end in the same consequence ("…: strict clients refuse the chain") are said together."""
    groups: dict[tuple[str, str, str, str], list[CheckResult]] = {}
    for check in checks:
        groups.setdefault(_key(check), []).append(check)
    found = [FindingGroup(tuple(members)) for members in groups.values()]
    merged: list[FindingGroup] = []
    for group in found:
        partner = next((m for m in merged if _same_consequence(m, group)), None)
        if partner is None:
            merged.append(group)
            continue
        causes = "; ".join(_cause(g) for g in (partner, group))
        said = f"{causes}: {_consequence(group)}"
        merged[merged.index(partner)] = FindingGroup(partner.checks + group.checks, said)
    return merged


def _cause(group: FindingGroup) -> str:
    return group.summary.partition(": ")[0] if group.said is None else group.said.rpartition(": ")[0]


def _consequence(group: FindingGroup) -> str:
    return group.summary.partition(": ")[2]


def _same_consequence(first: FindingGroup, second: FindingGroup) -> bool:
    a, b = first.first, second.first
    return (
        len(first.checks) > 1
        and a.id.split(".", 1)[-1] == b.id.split(".", 1)[-1]
        and a.status is b.status
        and set(first.places) == set(second.places)
        and len(_consequence(second)) > 30
        and (first.said or first.summary).endswith(": " + _consequence(second))
    )


def places_text(group: FindingGroup, show_all: bool = False) -> str:
    """``on 10 endpoints: a, b, c, … (--all lists each)``."""
    places = group.places
    # the address in "host:port (address)" only tells apart the addresses of one host: said once a place
    short = [p.split(" (", 1)[0] for p in places]
    if len(set(short)) == len(short):
        places = short
    shown = places if show_all else places[:SHOWN_PLACES]
    more = "" if len(shown) == len(places) else ", … (--all lists each)"
    return f"on {len(places)} {_noun(places)}: {', '.join(shown)}{more}"


def _noun(places: list[str]) -> str:
    if all(ENDPOINT_TARGET.match(p) for p in places):
        return "endpoints"
    if all(_ADDRESS.fullmatch(p) for p in places):
        return "addresses"
    if all(_NAME.fullmatch(p) for p in places):
        return "names"
    return "places"
