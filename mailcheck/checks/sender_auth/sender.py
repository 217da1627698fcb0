"""``mailcheck sender IP --domain DOMAIN``: can this address send mail for this domain?

Reverse DNS and its forward confirmation, the HELO name resolving back to the address, SPF check_host() for
the address and the domain, a DMARC policy, and the DNS blocklists — each line saying which receivers demand
it (Gmail and Yahoo since February 2024, Microsoft since May 2025, for bulk senders; forward-confirmed
reverse DNS and SPF or DKIM from every sender).
"""

import asyncio
import ipaddress
from dataclasses import dataclass, field

from mailcheck.checks.routing import mx as mx_check
from mailcheck.checks.sender_auth import blocklist as blocklist_check
from mailcheck.checks.sender_auth import dmarc as dmarc_check
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.dns import DnsAnswer
from mailcheck.records.dnsbl import Blocklist
from mailcheck.records.spf_eval import Evaluator, SpfVerdict
from mailcheck.runner import attempt

BULK_RULES = "Gmail and Yahoo (February 2024) and Microsoft (May 2025) require it of bulk senders"
EVERY_SENDER = "Gmail requires it of every sender"


@dataclass
class SenderObservation:
    ip: str
    domain: str
    helo: str | None
    reverse: mx_check.ReverseObservation | None = None  # PTR names and their forward lookups
    helo_addresses: list[str] | ProbeError | None = None
    spf: SpfVerdict | None = None
    dmarc: dmarc_check.DmarcObservation | ProbeError | None = None
    lists: list[blocklist_check.ListObservation] = field(default_factory=list)


async def addresses_of(name: str, ctx: ProbeContext) -> list[str] | ProbeError:
    """A and AAAA of NAME (an error only when neither could be asked)."""
    found: list[str] = []
    failures = []
    for rdtype in ("A", "AAAA"):
        answer = await attempt(ctx.dns.lookup(name, rdtype))
        if isinstance(answer, ProbeError):
            failures.append(answer)
        else:
            found.extend(record.to_text() for record in answer.records)
    return failures[0] if len(failures) == 2 else found


async def probe(
    ip: str,
    domain: str,
    helo: str | None,
    ip_lists: list[Blocklist],
    domain_lists: list[Blocklist],
    ctx: ProbeContext,
) -> SenderObservation:
    obs = SenderObservation(ip, domain, helo)

    async def reverse() -> None:
        obs.reverse = await mx_check.reverse_lookup(ip, ctx)

    async def helo_lookup() -> None:
        if helo:
            obs.helo_addresses = await addresses_of(helo, ctx)

    async def spf() -> None:
        obs.spf = await Evaluator(ctx.dns, ip, f"postmaster@{domain}", helo or domain).check_host(domain)

    async def dmarc() -> None:
        obs.dmarc = await attempt(dmarc_check.probe(domain, ctx))

    async def lists() -> None:
        names = [domain, *([helo] if helo and helo != domain else [])]
        ip_part, domain_part = await asyncio.gather(
            blocklist_check.probe(ip_lists, [ip], ctx), blocklist_check.probe(domain_lists, names, ctx)
        )
        obs.lists = ip_part + domain_part

    await asyncio.gather(reverse(), helo_lookup(), spf(), dmarc(), lists())
    return obs


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


def ptr_finding(obs: SenderObservation) -> CheckResult:
    subject = Subject("sender.ptr", obs.ip, Stage.DNS)
    rev = obs.reverse
    assert rev is not None
    if isinstance(rev.ptr, ProbeError):
        return subject.failed(rev.ptr, f"reverse DNS of {obs.ip} could not be read: {rev.ptr.message}")
    names = [name for name, _ in rev.forward]
    details: dict[str, object] = {
        "ptr": names,
        "forward": {n: [r.to_text() for r in f.records] for n, f in rev.forward if isinstance(f, DnsAnswer)},
    }
    if not names:
        message = f"{obs.ip} has no reverse DNS (PTR): receivers reject or junk its mail; {EVERY_SENDER}"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.DNS, "no-ptr", message))
    confirmed = mx_check.confirmed_names(rev)
    details["forward_confirmed"] = confirmed
    if not confirmed:
        message = (
            f"{obs.ip} has reverse DNS {', '.join(names)}, but no such name resolves back to {obs.ip} (not "
            f"forward-confirmed); {EVERY_SENDER}"
        )
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.DNS, "ptr-mismatch", message))
    return subject.result(Status.PASS, f"{obs.ip} ↔ {confirmed[0]}: forward-confirmed reverse DNS", details)


def helo_finding(obs: SenderObservation) -> CheckResult | None:
    if not obs.helo:
        return None
    subject = Subject("sender.helo", obs.helo, Stage.DNS)
    found = obs.helo_addresses
    if isinstance(found, ProbeError):
        return subject.failed(found, f"the HELO name {obs.helo} could not be resolved: {found.message}")
    details = {"addresses": found or []}
    if found and any(_same_address(a, obs.ip) for a in found):
        return subject.result(Status.PASS, f"the HELO name {obs.helo} resolves to {obs.ip}", details)
    why = "does not resolve" if not found else f"resolves to {', '.join(found)}, not {obs.ip}"
    message = f"the HELO name {obs.helo} {why}: many receivers score or reject such a greeting"
    return subject.result(Status.WARN, message, details, ErrorInfo(Stage.DNS, "helo-mismatch", message))


def spf_finding(obs: SenderObservation) -> CheckResult:
    subject = Subject("sender.spf", f"{obs.ip} for {obs.domain}", Stage.RECORD)
    verdict = obs.spf
    assert verdict is not None
    details = {"result": verdict.result, "mechanism": verdict.mechanism, "reason": verdict.reason}
    if verdict.result == "pass":
        return subject.result(Status.PASS, f"SPF passes ({verdict.reason}); {BULK_RULES}", details)
    status = Status.ERROR if verdict.result == "temperror" else Status.FAIL
    message = f"SPF of {obs.domain} gives {verdict.result} for {obs.ip} ({verdict.reason}); {BULK_RULES}"
    return subject.result(status, message, details, ErrorInfo(Stage.RECORD, f"spf-{verdict.result}", message))


def dmarc_finding(obs: SenderObservation) -> CheckResult:
    subject = Subject("sender.dmarc", obs.domain, Stage.RECORD)
    dmarc = obs.dmarc
    if isinstance(dmarc, ProbeError) or dmarc is None:
        err = dmarc or ProbeError(Stage.RECORD, "not-found", "not looked up")
        return subject.failed(err)
    step = dmarc.policy_step()
    if step is None or not step.records:
        message = f"{obs.domain} has no DMARC policy; {BULK_RULES} (p=none at least)"
        return subject.result(Status.FAIL, message, {}, ErrorInfo(Stage.RECORD, "not-found", message))
    record = dmarc_check.parse_dmarc(step.records[0])
    policy = record.tags.get("p", "none")
    return subject.result(
        Status.PASS, f"DMARC p={policy} at _dmarc.{step.name}; {BULK_RULES}", {"record": step.records[0]}
    )


def dkim_reminder(obs: SenderObservation) -> CheckResult:
    return Subject("sender.dkim", obs.domain, Stage.RECORD).result(
        Status.INFO,
        f"DKIM signing (aligned with {obs.domain}) cannot be seen from DNS alone: check a signed message with "
        f"`mailcheck dmarc evaluate`; {BULK_RULES}",
    )


def evaluate(obs: SenderObservation) -> list[CheckResult]:
    found = [ptr_finding(obs), helo_finding(obs), spf_finding(obs), dmarc_finding(obs), dkim_reminder(obs)]
    return [r for r in found if r is not None] + blocklist_check.evaluate(obs.lists)
