"""``mailcheck dkim verify FILE|-``: verify every DKIM-Signature of a message with dkimpy (keys fetched
through the configured resolvers) and validate its ARC chain; each failure named (body hash vs signature)."""

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.resolver

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject
from mailcheck.net.dns import sync_resolver
from mailcheck.records.dkim_key import parse_tags

MAX_SIGNATURES = 20  # each costs a key lookup and an RSA verification; real messages carry a few


@dataclass
class KeyLookups:
    """What the DNS said for each key name dkimpy asked for: the record text, None (no record) or an error."""

    resolver: dns.resolver.Resolver
    outcomes: dict[str, str | Exception | None] = field(default_factory=dict)

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        text = name.decode(errors="replace").rstrip(".")
        try:
            answer = self.resolver.resolve(text, "TXT", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            self.outcomes[text] = None
            return None
        except (dns.exception.DNSException, OSError) as exc:
            self.outcomes[text] = exc
            import dkim

            raise dkim.DnsTimeoutError(str(exc)) from None
        records = [b"".join(r.strings) for r in answer.rrset or ()]
        self.outcomes[text] = records[0].decode(errors="replace") if records else None
        return records[0] if records else None


@dataclass(frozen=True)
class SignatureObservation:
    index: int
    tags: dict[str, str]
    valid: bool
    failure: str | None
    key_asked: bool = False  # did dkimpy get as far as asking for the key?
    key_found: bool = False
    key_error: str | None = None


@dataclass(frozen=True)
class VerifyObservation:
    source: str
    signatures: tuple[SignatureObservation, ...]
    arc: dict[str, Any] | None
    checked_at: dt.datetime
    parse_error: str | None = None
    skipped: int = 0  # signatures beyond MAX_SIGNATURES, not verified


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("mailcheck.dkimpy")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def verify_message(message: bytes, nameservers: Sequence[tuple[str, int]] | None, timeout: float) -> VerifyObservation:
    """Synchronous: run in a worker thread. dkimpy does its own canonicalisation and crypto."""
    import dkim

    lookups = KeyLookups(sync_resolver(nameservers, timeout))
    now = dt.datetime.now(dt.UTC)
    try:
        headers, _body = dkim.rfc822_parse(message)
    except (dkim.MessageFormatError, ValueError, IndexError) as exc:
        return VerifyObservation("", (), None, now, f"not a message: {exc}")
    raw_signatures = [value for name, value in headers if name.lower() == b"dkim-signature"]
    skipped = max(len(raw_signatures) - MAX_SIGNATURES, 0)
    signatures = []
    for index, raw in enumerate(raw_signatures[:MAX_SIGNATURES]):
        tags = parse_tags(raw.decode("utf-8", errors="replace"))
        verifier = dkim.DKIM(message, logger=_quiet_logger(), timeout=timeout)
        failure = None
        try:
            valid = bool(verifier.verify(idx=index, dnsfunc=lookups))
        except dkim.DKIMException as exc:
            valid, failure = False, str(exc)
        key_name = f"{tags.get('s', '')}._domainkey.{tags.get('d', '')}"
        asked = key_name in lookups.outcomes
        outcome = lookups.outcomes.get(key_name)
        signatures.append(
            SignatureObservation(
                index,
                tags,
                valid,
                failure,
                key_asked=asked,
                key_found=isinstance(outcome, str),
                key_error=str(outcome) if isinstance(outcome, Exception) else None,
            )
        )
    arc = None
    if any(name.lower() == b"arc-seal" for name, _ in headers):
        try:
            cv, instances, comment = dkim.arc_verify(message, logger=_quiet_logger(), dnsfunc=lookups, timeout=timeout)
            arc = {"cv": cv.decode() if isinstance(cv, bytes) else str(cv), "instances": instances, "comment": comment}
        except dkim.DKIMException as exc:
            arc = {"cv": "fail", "instances": [], "comment": str(exc)}
    return VerifyObservation("", tuple(signatures), arc, now, skipped=skipped)


async def probe(message: bytes, source: str, ctx: ProbeContext) -> VerifyObservation:
    obs = await asyncio.to_thread(verify_message, message, ctx.dns.nameservers, ctx.timeout)
    return dataclasses.replace(obs, source=source)


# --- evaluate ----------------------------------------------------------------------------------------------


def failure_kind(sig: SignatureObservation) -> tuple[str, str]:
    """A stable kind and a sentence for a signature that did not verify."""
    text = (sig.failure or "").lower()
    if sig.key_error is not None:
        return "temperror", f"the key lookup failed: {sig.key_error}"
    if "body hash mismatch" in text:
        return (
            "body-hash-mismatch",
            "the body was changed after signing (body hash mismatch): a footer, a list, a relay",
        )
    if "expired" in text:
        return "expired", f"the signature has expired: {sig.failure}"
    if "from field not signed" in text:
        return "from-not-signed", "the From header is not covered by h=, so the signature proves nothing about it"
    if sig.key_asked and not sig.key_found:
        return "key-not-found", "no key published at the selector (s=) of the signing domain (d=)"
    if "key" in text:
        return "key-error", f"the published key cannot be used: {sig.failure}"
    if text:
        return "syntax", f"the signature is malformed: {sig.failure}"
    return "signature-invalid", "the header signature does not verify: signed headers were changed, or the wrong key"


def signature_finding(sig: SignatureObservation, checked_at: dt.datetime) -> CheckResult:
    tags = sig.tags
    subject = Subject("dkim.signature", f"d={tags.get('d', '?')} s={tags.get('s', '?')}", Stage.PARSE)
    signed = [h.strip().lower() for h in tags.get("h", "").split(":") if h.strip()]
    details: dict[str, object] = {
        "index": sig.index,
        "d": tags.get("d"),
        "s": tags.get("s"),
        "a": tags.get("a"),
        "c": tags.get("c", "simple/simple"),
        "h": signed,
        "from_signed": "from" in signed,
        "l": tags.get("l"),
        "x": tags.get("x"),
        "valid": sig.valid,
    }
    if not sig.valid:
        kind, message = failure_kind(sig)
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.PARSE, kind, message))
    notes = []
    status = Status.PASS
    if tags.get("l"):
        status = Status.WARN
        notes.append(f"l={tags['l']}: only part of the body is signed, so anyone can append content")
    if tags.get("a", "").lower() == "rsa-sha1":
        status = Status.WARN
        notes.append("rsa-sha1 is no longer accepted by verifiers (RFC 8301); sign with rsa-sha256")
    expiry = tags.get("x", "")
    if expiry.isdigit():
        left = dt.datetime.fromtimestamp(int(expiry), dt.UTC) - checked_at
        notes.append(f"expires in {left.days} days (x=)")
    summary = f"valid signature by {tags.get('d')} ({tags.get('a')}, c={details['c']})"
    return subject.result(status, summary + (f"; {'; '.join(notes)}" if notes else ""), details)


def arc_findings(arc: dict[str, Any]) -> list[CheckResult]:
    subject = Subject("arc.chain", "ARC", Stage.PARSE)
    cv = arc["cv"]
    instances = arc.get("instances") or []
    details = {
        "cv": cv,
        "instances": [{k: (v.decode() if isinstance(v, bytes) else v) for k, v in i.items()} for i in instances],
    }
    if cv == "pass":
        return [subject.result(Status.PASS, f"ARC chain of {len(instances)} instance(s) validates (cv=pass)", details)]
    message = f"ARC chain does not validate (cv={cv}): {arc.get('comment')}"
    return [subject.result(Status.FAIL, message, details, ErrorInfo(Stage.PARSE, "arc-" + str(cv), message))]


def evaluate(obs: VerifyObservation) -> list[CheckResult]:
    subject = Subject("dkim.signature", obs.source, Stage.PARSE)
    if obs.parse_error:
        return [subject.result(Status.FAIL, obs.parse_error, {}, ErrorInfo(Stage.PARSE, "syntax", obs.parse_error))]
    results = [signature_finding(sig, obs.checked_at) for sig in obs.signatures]
    if not results:
        message = "the message has no DKIM-Signature: DMARC can only pass on aligned SPF"
        results.append(subject.result(Status.FAIL, message, {}, ErrorInfo(Stage.PARSE, "not-signed", message)))
    if obs.skipped:
        results.append(
            subject.result(
                Status.WARN, f"{obs.skipped} more DKIM-Signature headers were not verified (limit {MAX_SIGNATURES})"
            )
        )
    if obs.arc is not None:
        results.extend(arc_findings(obs.arc))
    return results
