"""Records that report on or present mail: TLS-RPT (RFC 8460, _smtp._tls) and BIMI (default._bimi)."""

import asyncio
from dataclasses import dataclass

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.dns import DnsAnswer
from mailcheck.runner import attempt


def _tags(text: str) -> dict[str, str]:
    tags = {}
    for part in text.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            tags[name.strip().lower()] = value.strip()
    return tags


@dataclass(frozen=True)
class ReportingObservation:
    domain: str
    tlsrpt: DnsAnswer | ProbeError
    bimi: DnsAnswer | ProbeError


async def probe(domain: str, ctx: ProbeContext) -> ReportingObservation:
    tlsrpt, bimi = await asyncio.gather(
        attempt(ctx.dns.lookup(f"_smtp._tls.{domain}", "TXT")),
        attempt(ctx.dns.lookup(f"default._bimi.{domain}", "TXT")),
    )
    return ReportingObservation(domain, tlsrpt, bimi)


def _records(lookup: DnsAnswer, prefix: str) -> list[str]:
    return [t for t in lookup.txt_values() if t.replace(" ", "").lower().startswith(prefix.lower())]


def tlsrpt_findings(obs: ReportingObservation) -> list[CheckResult]:
    subject = Subject("tlsrpt.record", f"_smtp._tls.{obs.domain}", Stage.RECORD)
    if isinstance(obs.tlsrpt, ProbeError):
        return [subject.failed(obs.tlsrpt)]
    records = _records(obs.tlsrpt, "v=TLSRPTv1")
    if not records:
        return [subject.result(Status.INFO, "no TLS-RPT record: senders cannot report TLS failures to you (RFC 8460)")]
    if len(records) > 1:
        return [subject.too_many_records(records, "TLS-RPT", "senders ignore them all (RFC 8460 §3)")]
    tags = _tags(records[0])
    uris = [u.strip() for u in tags.get("rua", "").split(",") if u.strip()]
    bad = [u for u in uris if not u.lower().startswith(("mailto:", "https:"))]
    if not uris or bad:
        message = "rua= must list mailto: or https: destinations" + (
            f" (not: {', '.join(bad)})" if bad else " (none given)"
        )
        return [
            subject.result(Status.FAIL, message, {"record": records[0]}, ErrorInfo(Stage.RECORD, "syntax", message))
        ]
    return [subject.result(Status.PASS, f"TLS reports go to {', '.join(uris)}", {"record": records[0], "rua": uris})]


def bimi_findings(obs: ReportingObservation, dmarc_policy: str | None) -> list[CheckResult]:
    subject = Subject("bimi.record", f"default._bimi.{obs.domain}", Stage.RECORD)
    if isinstance(obs.bimi, ProbeError):
        return [subject.failed(obs.bimi)]
    records = _records(obs.bimi, "v=BIMI1")
    if not records:
        return [subject.result(Status.INFO, "no BIMI record (optional: a brand logo in supporting mailboxes)")]
    if len(records) > 1:
        return [subject.too_many_records(records, "BIMI", "mailboxes show no logo")]
    tags = _tags(records[0])
    logo, evidence = tags.get("l", ""), tags.get("a", "")
    problems = []
    if logo and not logo.lower().startswith("https://"):
        problems.append("l= must be an https: URL of an SVG logo")
    if evidence and not evidence.lower().startswith("https://"):
        problems.append("a= must be an https: URL of a mark certificate")
    if problems:
        message = "; ".join(problems)
        return [
            subject.result(Status.FAIL, message, {"record": records[0]}, ErrorInfo(Stage.RECORD, "syntax", message))
        ]
    if dmarc_policy not in ("quarantine", "reject"):
        return [
            subject.result(
                Status.WARN,
                "BIMI is shown only when DMARC is enforced (p=quarantine or reject)",
                {"record": records[0]},
            )
        ]
    return [
        subject.result(
            Status.PASS,
            f"logo {logo or '(declined)'}" + (", with a mark certificate" if evidence else ""),
            {"record": records[0]},
        )
    ]
