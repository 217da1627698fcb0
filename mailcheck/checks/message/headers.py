"""``mailcheck headers FILE|-``: where a message went, how long each hop took, whether each hop was
encrypted, and what the receivers concluded — offline, from the headers alone."""

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from email.utils import getaddresses

from mailcheck.headers.authresults import AuthResults, parse_authentication_results, parse_received_spf
from mailcheck.headers.block import HeaderBlock, looks_binary, read_block
from mailcheck.headers.bulk import unsubscribe_findings
from mailcheck.headers.dates import parse_date
from mailcheck.headers.filters import decode
from mailcheck.headers.junk import judge
from mailcheck.headers.received import ReceivedHop, parse_received
from mailcheck.headers.trace import TLS_ORDER, Hop, Trace, TraceContext, build_trace, duration_text
from mailcheck.headers.verdicts import Verdict
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject
from mailcheck.records.dkim_key import parse_tags

TRACE_FIELDS = ("received", "x-received")
BAR_WIDTH = 24


@dataclass
class HeadersObservation:
    source: str
    binary: bool
    block: HeaderBlock
    trace: Trace | None = None
    arc_results: list[AuthResults] = field(default_factory=list)
    received_spf: list[str] = field(default_factory=list)
    dkim_signatures: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)


def analyse(data: bytes, source: str) -> HeadersObservation:
    """Parse and analyse; pure, bounded, never raises on input."""
    if looks_binary(data):
        return HeadersObservation(source, True, HeaderBlock())
    block = read_block(data)
    obs = HeadersObservation(source, False, block)
    trace_fields = [(i, f) for i, f in enumerate(block.fields) if f.key in TRACE_FIELDS]
    received: list[ReceivedHop] = [parse_received(f.value, f.name) for _, f in trace_fields]
    origin = parse_date(block.first("Date") or "")
    auth_fields = [(i, f) for i, f in enumerate(block.fields) if f.key == "authentication-results"]
    auth = [parse_authentication_results(f.value) for _, f in auth_fields]
    obs.arc_results = [
        parse_authentication_results(f.value.split(";", 1)[-1]) for f in block.all("ARC-Authentication-Results")
    ]
    arc_instances = [_arc_instance(f.value) for f in block.all("ARC-Authentication-Results")]
    context = TraceContext(
        received_positions=tuple(i for i, _ in trace_fields),
        auth_positions=tuple(i for i, _ in auth_fields),
        recipient_domains=tuple(recipient_domains(block)),
        arc=tuple(zip(arc_instances, obs.arc_results, strict=True)),
    )
    obs.trace = build_trace(received, origin, auth, context)
    obs.received_spf = [f.value for f in block.all("Received-SPF")]
    obs.dkim_signatures = [f.value for f in block.all("DKIM-Signature")]
    positions = [i for i, _ in trace_fields]
    obs.verdicts = []
    for index, field_ in enumerate(block.fields):
        verdict = decode(field_.name, field_.value)
        if verdict is not None:
            # filters add their field above the Received field of the server they ran on
            # (below every Received field: added at final delivery, by the newest hop's server)
            below = bisect.bisect_right(positions, index)
            verdict.at = received[below].by if below < len(received) else received[0].by if received else None
            obs.verdicts.append(verdict)
    return obs


ENVELOPE_RECIPIENT_FIELDS = ("Delivered-To", "X-Original-To", "Envelope-To")
RECIPIENT_FIELDS = (*ENVELOPE_RECIPIENT_FIELDS, "To", "Cc")


def recipient_domains(block: HeaderBlock) -> list[str]:
    """Domains the message was addressed or delivered to, from the recipient header fields. Mail from a
    mailing list (List-Id) is addressed to the list, a relay on the way: only the envelope fields count."""
    found: list[str] = []
    for name in ENVELOPE_RECIPIENT_FIELDS if block.first("List-Id") else RECIPIENT_FIELDS:
        for field_ in block.all(name):
            for _, address in getaddresses([field_.value]):
                domain = address.rpartition("@")[2].strip().lower().rstrip(">")
                if domain and domain not in found:
                    found.append(domain)
    return found[:50]


def _arc_instance(value: str) -> int | None:
    match = re.match(r"\s*i\s*=\s*(\d+)", value)
    return int(match.group(1)) if match else None


async def probe(data: bytes, source: str) -> HeadersObservation:
    return analyse(data, source)


# --- evaluate ----------------------------------------------------------------------------------------------


def evaluate(obs: HeadersObservation) -> list[CheckResult]:
    subject = Subject("headers.input", obs.source, Stage.PARSE)
    if obs.binary:
        message = "the input is binary, not a message or its headers"
        return [subject.result(Status.FAIL, message, {}, ErrorInfo(Stage.PARSE, "binary", message))]
    block = obs.block
    if not block.fields:
        message = "no header fields found (expected lines like 'Received: ...')"
        found = {"unparsed": block.unparsed[:50]}
        return [subject.result(Status.FAIL, message, found, ErrorInfo(Stage.PARSE, "no-headers", message))]
    assert obs.trace is not None
    trace = obs.trace
    details: dict[str, object] = {
        "fields": len(block.fields),
        "received": len(trace.hops),
        "notes": block.notes,
        "unparsed": block.unparsed[:50],
        "truncated_fields": [f.name for f in block.fields if f.truncated],
    }
    summary = f"{len(block.fields)} header fields, {len(trace.hops)} trace hops"
    status = Status.WARN if block.notes or block.unparsed else Status.INFO
    if block.notes:
        summary += f"; {'; '.join(block.notes[:3])}"
    if trace.omitted:
        details["hops_omitted"] = trace.omitted
        half = len(trace.hops) // 2
        summary += (
            f"; an absurd chain of {len(trace.hops) + trace.omitted} hops: analysed only the oldest {half} and "
            f"newest {half}, {trace.omitted} in between left out"
        )
        status = Status.WARN
    results = [subject.result(status, summary, details), junk_finding(obs, trace)]
    results.extend(hop_findings(trace))
    results.extend(path_findings(trace))
    results.extend(auth_findings(trace, obs))
    results.extend(dkim_lint(obs, trace))
    results.extend(unsubscribe_findings(block))
    results.extend(verdict_findings(obs.verdicts))
    return results


def _bar(delay: dt.timedelta | None, longest: float) -> str:
    if delay is None or longest <= 0:
        return ""
    filled = max(1, round(BAR_WIDTH * delay.total_seconds() / longest)) if delay.total_seconds() > 0 else 0
    return "█" * filled


_TLS12_SUITE = re.compile(r"ECDHE|DHE[_-]|RSA[_-]WITH|_WITH_|CBC", re.I)


def _tls_text(hop: Hop) -> str:
    tls = hop.received.tls
    if tls is not None:
        if tls.version == "TLS 1.3" and tls.cipher and _TLS12_SUITE.search(tls.cipher):
            # Exim with GnuTLS names a TLS 1.2 suite on a TLS 1.3 session: the session is what counts
            return f"TLS 1.3 (the MTA wrote the TLS 1.2-style suite name {tls.cipher}: its mislabel)"
        return f"{tls.version or 'TLS'}" + (f" {tls.cipher}" if tls.cipher else "")
    return "no TLS" if hop.encrypted is False else "TLS unknown"


def hop_findings(trace: Trace) -> list[CheckResult]:
    longest = max((h.delay.total_seconds() for h in trace.hops if h.delay), default=0.0)
    external = {h.number for h in trace.external_hops()}
    results = []
    for hop in trace.hops:
        r = hop.received
        sender = r.sender_host or r.from_name or "?"
        where = f"{sender}{f' [{r.ip}]' if r.ip and r.ip != sender else ''} → {r.by or '?'}"
        subject = Subject("headers.hop", f"hop {hop.number}: {where}", Stage.PARSE)
        if hop.skew is not None:
            timing = f"clock skew {duration_text(hop.skew)} (this hop's clock is behind the previous one)"
        elif hop.delay is not None:
            timing = f"+{duration_text(hop.delay)} {_bar(hop.delay, longest)}".rstrip()
        else:
            timing = "delay unknown"
        marks = [m for m, on in (("internal", hop.internal), ("entry point", hop.border)) if on]
        protocol = r.protocol or "?"
        summary = f"{timing} | {protocol}, {_tls_text(hop)}" + (f" | {', '.join(marks)}" if marks else "")
        details = {
            **r.to_dict(),
            "number": hop.number,
            "delay_ms": round(hop.delay.total_seconds() * 1000) if hop.delay is not None else None,
            "skew_ms": round(hop.skew.total_seconds() * 1000) if hop.skew is not None else None,
            "internal": hop.internal,
            "entry_point": hop.border,
            "continuous": hop.continuous,
        }
        status = Status.INFO
        if hop.skew is not None or (hop.encrypted is False and hop.number in external):
            status = Status.WARN
        if r.date is None and r.date_text:
            summary += f" | unreadable date {r.date_text!r}"
        results.append(subject.result(status, summary, details))
    return results


def path_findings(trace: Trace) -> list[CheckResult]:
    results = []
    transit = Subject("headers.transit", "message", Stage.PARSE)
    total = trace.total
    since = trace.since_date
    details = {
        "first_to_last_hop_ms": round(total.total_seconds() * 1000) if total is not None else None,
        "date_header_to_last_hop_ms": round(since.total_seconds() * 1000) if since is not None else None,
        "receiving_organisation": trace.receiving_org,
    }
    if len(trace.hops) == 1:
        text = "one hop: the message went straight from its sender to this server"
    else:
        text = f"{duration_text(total)} from the first to the last hop"
    if since is not None:
        text += f"; {duration_text(since)} since the Date header"
    slowest = max((h for h in trace.hops if h.delay), key=lambda h: h.delay or dt.timedelta(0), default=None)
    if slowest is not None and slowest.delay and slowest.delay.total_seconds() >= 60:
        text += f"; slowest: hop {slowest.number} ({duration_text(slowest.delay)})"
    results.append(transit.result(Status.INFO, text, details))
    gaps = [(before, h) for before, h in zip(trace.hops, trace.hops[1:], strict=False) if h.continuous is False]
    chain = Subject("headers.chain", "message", Stage.PARSE)
    if gaps:
        listed = "; ".join(
            f"hop {h.number} claims to come from {h.received.sender_host or h.received.ip}, "
            f"but hop {before.number} handed it to {before.received.by}"
            for before, h in gaps
        )
        results.append(
            chain.result(
                Status.WARN,
                f"the chain is broken: {listed} (a hop is missing, or one was spliced in)",
                {"gaps": [h.number for _, h in gaps]},
            )
        )
    elif len(trace.hops) > 1:
        results.append(chain.result(Status.PASS, "each hop's sender matches the previous hop's receiver", {"gaps": []}))
    weakest = trace.weakest_external()
    tls = Subject("headers.tls", "message", Stage.PARSE)
    if weakest is not None:
        r = weakest.received
        name = f"hop {weakest.number} ({r.sender_host or r.ip} → {r.by})"
        if weakest.encrypted is False:
            results.append(
                tls.result(Status.WARN, f"weakest external hop: {name} without TLS", {"hop": weakest.number})
            )
        elif r.tls and TLS_ORDER.get(r.tls.version or "", 9) < TLS_ORDER["TLS 1.2"]:
            results.append(
                tls.result(Status.WARN, f"weakest external hop: {name} with {r.tls.version}", {"hop": weakest.number})
            )
        else:
            results.append(
                tls.result(
                    Status.PASS, f"every external hop used TLS 1.2 or newer (weakest: {name})", {"hop": weakest.number}
                )
            )
    return results


def _auth_summary(results: AuthResults) -> str:
    """``dkim=pass (example.com), spf=pass (a@example.com)``: each result with the identity it is about."""
    parts = []
    for r in results.results:
        identity = r.prop("header.d") or r.prop("header.from") or r.prop("smtp.mailfrom")
        parts.append(f"{r.method}={r.result}" + (f" ({identity})" if identity else ""))
    return ", ".join(parts) or "none"


TRUST_RULES = {
    "rfc8601": "its authserv-id is a server of the receiving organisation (RFC 8601 §5)",
    "microsoft-365": "Exchange Online's layout: no authserv-id, stamped inside the tenant above its border Received",
    "arc-receiving-org": "ARC results sealed by the receiving organisation",
}


def auth_findings(trace: Trace, obs: HeadersObservation) -> list[CheckResult]:
    results = []
    for index, header in enumerate(trace.auth):
        auth = header.results
        subject = Subject(
            "headers.auth",
            f"Authentication-Results #{index + 1} by {auth.authserv_id or 'unnamed server'}",
            Stage.PARSE,
        )
        details = {**auth.to_dict(), "trusted": header.trusted, "trust_rule": header.rule}
        summary = _auth_summary(auth)
        if not header.trusted:
            orgs = ", ".join(sorted(trace.receiving_orgs)) or "unknown"
            results.append(
                subject.result(
                    Status.INFO,
                    f"{summary} — not trusted: added outside the receiving organisation ({orgs}), "
                    "so anyone could have written it (RFC 8601 §5)",
                    details,
                )
            )
            continue
        failed = [
            r for r in auth.results if r.result in ("fail", "softfail", "permerror", "temperror", "neutral", "none")
        ]
        status = Status.WARN if failed else Status.PASS
        results.append(subject.result(status, f"{summary} (trusted: {TRUST_RULES[header.rule or '']})", details))
    for index, header in enumerate(trace.arc):
        arc = header.results
        trust = f"trusted: {TRUST_RULES[header.rule]}" if header.rule else "not trusted: not the receiving organisation"
        results.append(
            Subject("headers.arc", f"ARC-Authentication-Results #{index + 1}", Stage.PARSE).result(
                Status.INFO,
                f"i={header.arc_instance or '?'} {arc.authserv_id or '?'}: {_auth_summary(arc)} ({trust})",
                {
                    **arc.to_dict(),
                    "instance": header.arc_instance,
                    "trusted": header.trusted,
                    "trust_rule": header.rule,
                },
            )
        )
    for value in obs.received_spf:
        spf = parse_received_spf(value)
        status = Status.PASS if spf.result == "pass" else Status.WARN
        results.append(
            Subject("headers.received_spf", "Received-SPF", Stage.PARSE).result(
                status, f"spf={spf.result} {spf.comment}".strip(), spf.to_dict()
            )
        )
    return results


def dkim_lint(obs: HeadersObservation, trace: Trace) -> list[CheckResult]:
    """DKIM-Signature checks that need no crypto: l=, rsa-sha1, From not signed, x= expired when received."""
    received_at = next((h.received.date for h in reversed(trace.hops) if h.received.date), None)
    results = []
    for value in obs.dkim_signatures:
        tags = parse_tags(value)
        subject = Subject("headers.dkim", f"d={tags.get('d', '?')} s={tags.get('s', '?')}", Stage.PARSE)
        signed = [h.strip().lower() for h in tags.get("h", "").split(":")]
        problems = []
        if tags.get("l"):
            problems.append(f"l={tags['l']}: only part of the body is signed")
        if tags.get("a", "").lower() == "rsa-sha1":
            problems.append("rsa-sha1 is no longer accepted (RFC 8301)")
        if "from" not in signed:
            problems.append("From is not signed (h= lacks from)")
        expiry = tags.get("x", "")
        if expiry.isdigit() and received_at is not None and int(expiry) < received_at.timestamp():
            problems.append("x= had passed when the message was received")
        details = {k: tags.get(k) for k in ("d", "s", "a", "c", "l", "x", "t")} | {"h": signed}
        if problems:
            results.append(subject.result(Status.WARN, "; ".join(problems), details))
        else:
            results.append(
                subject.result(Status.PASS, f"{tags.get('a')} over {len(signed)} headers, From signed", details)
            )
    return results


def junk_finding(obs: HeadersObservation, trace: Trace) -> CheckResult:
    """One line at the top: junked or not, by whom, on what signal, and what to do."""
    list_id = obs.block.first("List-Id")
    if list_id and (bracketed := re.search(r"<([^<>]{1,200})>", list_id)):
        list_id = bracketed.group(1)
    verdict = judge(obs.verdicts, trace, obs.block.first("From"), list_id)
    details = {
        "junked": verdict.junked,
        "judge": verdict.judge,
        "signal": verdict.signal,
        "advice": verdict.advice,
        "filters": list(verdict.filters),
    }
    status = Status.WARN if verdict.junked else Status.INFO
    return Subject("headers.verdict", "message", Stage.PARSE).result(status, verdict.summary(), details)


def verdict_findings(verdicts: list[Verdict]) -> list[CheckResult]:
    results = []
    for verdict in verdicts:
        subject = Subject("headers.spam", verdict.header, Stage.PARSE)
        status = Status.WARN if verdict.spam else Status.INFO
        words = "; ".join(verdict.words) or "present"
        results.append(subject.result(status, f"{verdict.filter}: {words}", verdict.to_dict()))
    return results
