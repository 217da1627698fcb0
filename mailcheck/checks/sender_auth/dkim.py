"""``mailcheck dkim DOMAIN``: DKIM key records at SELECTOR._domainkey.DOMAIN, or discovery of common
selectors (best effort: selectors cannot be listed from DNS)."""

import asyncio
from dataclasses import dataclass

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.dns import DnsAnswer
from mailcheck.records.dkim_key import COMMON_SELECTORS, DkimKey, parse_key
from mailcheck.runner import attempt


@dataclass(frozen=True)
class SelectorObservation:
    selector: str
    name: str
    lookup: DnsAnswer | ProbeError


@dataclass(frozen=True)
class DkimObservation:
    domain: str
    discovered: bool  # True when no selector was given and the common list was tried
    selectors: tuple[SelectorObservation, ...]


async def probe(domain: str, selectors: tuple[str, ...], ctx: ProbeContext) -> DkimObservation:
    wanted = selectors or COMMON_SELECTORS
    names = [f"{s}._domainkey.{domain}" for s in wanted]
    lookups = await asyncio.gather(*(attempt(ctx.dns.lookup(n, "TXT")) for n in names))
    found = tuple(SelectorObservation(s, n, lk) for s, n, lk in zip(wanted, names, lookups, strict=True))
    return DkimObservation(domain, not selectors, found)


def evaluate(obs: DkimObservation) -> list[CheckResult]:
    results = []
    for sel in obs.selectors:
        absent = isinstance(sel.lookup, DnsAnswer) and not sel.lookup.txt_values()
        if obs.discovered and absent:
            continue
        results.append(key_finding(sel))
    if obs.discovered:
        found = [r.details.get("selector") for r in results if r.status is not Status.ERROR]
        subject = Subject("dkim.discovery", obs.domain, Stage.RECORD)
        failures = [s.lookup for s in obs.selectors if isinstance(s.lookup, ProbeError)]
        if failures and not found:
            return [subject.failed(failures[0], f"selector discovery failed: {failures[0].message}")]
        note = (
            "selectors cannot be listed from DNS; tried "
            f"{len(obs.selectors)} common ones — give --selector S (the s= of a DKIM-Signature) to check yours"
        )
        if found:
            results.insert(0, subject.result(Status.INFO, f"found selector(s) {', '.join(map(str, found))}; {note}"))
        else:
            results.insert(0, subject.result(Status.WARN, f"no key found at any common selector; {note}"))
    return results


def key_finding(sel: SelectorObservation) -> CheckResult:
    subject = Subject("dkim.key", sel.name, Stage.RECORD)
    if isinstance(sel.lookup, ProbeError):
        return subject.failed(sel.lookup)
    texts = sel.lookup.txt_values()
    details: dict[str, object] = {"selector": sel.selector}
    if sel.lookup.aliased:
        details["cname"] = sel.lookup.canonical_name
    if not texts:
        message = f"no key at {sel.name}" + (" (NXDOMAIN)" if sel.lookup.nxdomain else "")
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "not-found", message))
    if len(texts) > 1:
        return subject.too_many_records(texts, "key", "verifiers may pick either")
    key = parse_key(texts[0])
    details.update({"record": key.text, "k": key.key_type, "bits": key.bits, "tags": key.tags})
    return key_verdict(subject, key, details, sel.lookup)


def key_verdict(subject: Subject, key: DkimKey, details: dict[str, object], lookup: DnsAnswer) -> CheckResult:
    via = f" (via CNAME {lookup.canonical_name})" if lookup.aliased else ""
    if key.revoked:
        message = f"key revoked (empty p=){via}: signatures with this selector fail"
        return subject.result(Status.WARN, message, details, ErrorInfo(Stage.RECORD, "revoked", message))
    if key.bits is None:
        message = "; ".join(key.problems) or "unusable key record"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "syntax", message))
    described = f"{key.key_type.upper() if key.key_type == 'rsa' else 'Ed25519'} {key.bits}-bit key{via}"
    notes = list(key.problems)
    status = Status.PASS
    if key.key_type == "rsa" and key.bits < 1024:
        message = f"{described}: under 1024 bits, verifiers reject it (RFC 8301); publish a 2048-bit key"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "weak-key", message))
    if key.key_type == "rsa" and key.bits < 2048:
        status = Status.WARN
        notes.append("1024-bit RSA is the minimum; use 2048 bits")
    if key.testing:
        status = Status.WARN
        notes.append("t=y: testing mode, verifiers may treat failures as passes; remove t=y")
    if key.hashes == ["sha1"]:
        status = Status.WARN
        notes.append("h=sha1 only: SHA-1 signatures are no longer accepted (RFC 8301)")
    if key.strict_subdomains:
        notes.append("t=s: the i= domain must equal d=")
    if notes and status is Status.PASS:
        status = Status.WARN if key.problems else Status.PASS
    summary = described + (f"; {'; '.join(notes)}" if notes else "")
    return subject.result(status, summary, details)
