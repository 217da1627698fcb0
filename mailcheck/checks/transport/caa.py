"""CAA for each MX host name (RFC 8659): the record set found by climbing from the name towards the root (the
first name with CAA records is the relevant one), its syntax, and at least one ``issue`` property — part of
``--tls-grade``, as internet.nl's mail test checks it."""

import asyncio
import re

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.runner import attempt

_PROPERTY = re.compile(r'^(\d{1,3}) ([A-Za-z0-9]{1,15}) "(.*)"$')
KNOWN_TAGS = {"issue", "issuewild", "iodef", "contactemail", "contactphone", "issuemail", "issuevmc"}

CaaFound = tuple[str, tuple[str, ...]] | None  # (the name the records are at, the records), None: none anywhere


async def relevant(host: str, ctx: ProbeContext) -> CaaFound:
    """RFC 8659 §3: the CAA RRset of HOST, else of its parent, and so on (the root excluded)."""
    name = host.rstrip(".").lower()
    while "." in name:
        answer = await ctx.dns.lookup(name, "CAA")
        if answer.records:
            return name, tuple(sorted(r.to_text() for r in answer.records))
        name = name.partition(".")[2]
    return None


async def probe(hosts: list[str], ctx: ProbeContext) -> dict[str, CaaFound | ProbeError]:
    found = await asyncio.gather(*(attempt(relevant(h, ctx)) for h in hosts))
    return dict(zip(hosts, found, strict=True))


def findings(protocol: str, found: dict[str, CaaFound | ProbeError]) -> list[CheckResult]:
    results = []
    for host, outcome in found.items():
        subject = Subject(f"{protocol}.caa", host, Stage.DNS)
        if isinstance(outcome, ProbeError):
            results.append(subject.failed(outcome))
            continue
        if outcome is None:
            message = f"no CAA record for {host} or any name above it: every CA may issue its certificates (RFC 8659)"
            results.append(subject.result(Status.INFO, message, {}))
            continue
        owner, records = outcome
        parsed = [_PROPERTY.match(r) for r in records]
        bad = [r for r, m in zip(records, parsed, strict=True) if m is None or m.group(2).lower() not in KNOWN_TAGS]
        issuers = [m.group(3) for m in parsed if m is not None and m.group(2).lower() == "issue"]
        details = {"at": owner, "records": list(records)}
        if bad:
            message = f"CAA at {owner} has records mailcheck cannot read as RFC 8659 properties: {', '.join(bad[:3])}"
            results.append(subject.result(Status.WARN, message, details, ErrorInfo(Stage.DNS, "caa-syntax", message)))
        elif not issuers:
            message = f"CAA at {owner} has no issue property: it does not say which CA may issue for {host}"
            results.append(subject.result(Status.WARN, message, details, ErrorInfo(Stage.DNS, "caa-no-issue", message)))
        else:
            results.append(
                subject.result(Status.PASS, f"CAA at {owner}: issue {', '.join(i or ';' for i in issuers)}", details)
            )
    return results
