"""DANE for SMTP (RFC 7672): TLSA records at _25._tcp.MX matched against the certificates each MX presented,
and whether the answers were DNSSEC-authenticated (without DNSSEC, DANE protects nothing)."""

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.dns import DnsAnswer
from mailcheck.net.dnssec import DnssecStatus, TrustAnchors
from mailcheck.runner import attempt, together


@dataclass(frozen=True)
class TlsaRecord:
    usage: int
    selector: int
    mtype: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()[:16]}…"


@dataclass(frozen=True)
class DaneObservation:
    host: str
    lookup: DnsAnswer | ProbeError
    dnssec: DnssecStatus | None = None  # mailcheck's own validation of the TLSA answer

    @property
    def records(self) -> list[TlsaRecord]:
        if not isinstance(self.lookup, DnsAnswer):
            return []
        return [TlsaRecord(r.usage, r.selector, r.mtype, r.cert) for r in self.lookup.records]  # type: ignore[attr-defined]


async def probe(hosts: list[str], ctx: ProbeContext, anchors: TrustAnchors | None = None) -> list[DaneObservation]:
    """TLSA at _25._tcp.HOST for each MX host; with ANCHORS, each TLSA answer validated by mailcheck."""

    from mailcheck.checks.routing.dnssec import ctx_validator

    lookups = await together(*(attempt(ctx.dns.lookup(f"_25._tcp.{h}", "TLSA")) for h in hosts))

    async def observe(host: str, lookup: DnsAnswer | ProbeError) -> DaneObservation:
        if anchors is None or not isinstance(lookup, DnsAnswer) or not lookup.records:
            return DaneObservation(host, lookup)
        status = await ctx_validator(ctx, anchors).status(f"_25._tcp.{host}", "TLSA")
        return DaneObservation(host, lookup, status)

    return await together(*(observe(h, lk) for h, lk in zip(hosts, lookups, strict=True)))


def _selected(cert: x509.Certificate, selector: int) -> bytes:
    if selector == 1:
        return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return cert.public_bytes(Encoding.DER)


def record_matches(record: TlsaRecord, chain_der: tuple[bytes, ...]) -> bool:
    """Usage 3 matches the leaf; usage 2 any certificate the server sent (a trust anchor in its chain)."""
    candidates = chain_der[:1] if record.usage in (1, 3) else chain_der
    for der in candidates:
        try:
            data = _selected(x509.load_der_x509_certificate(der), record.selector)
        except ValueError:
            continue
        digest = {0: data, 1: hashlib.sha256(data).digest(), 2: hashlib.sha512(data).digest()}.get(record.mtype)
        if digest is not None and digest == record.data:
            return True
    return False


def rollover_finding(host: str, records: "list[TlsaRecord] | tuple[TlsaRecord, ...]") -> CheckResult:
    """Rollover readiness (RFC 7671 §8, internet.nl's DANE test): a second DANE record ready for the next key
    (3 1 1 + 3 1 1 for the next key, or 3 1 1 + 2 1 1 for the issuing CA), so a key change needs no DNS change
    in the same minute."""
    subject = Subject("dane.rollover", f"_25._tcp.{host}", Stage.POLICY)
    usable = [r for r in records if r.usage in (2, 3)]
    details = {"records": [str(r) for r in usable]}
    if len(usable) >= 2:
        return subject.result(
            Status.PASS, f"{len(usable)} DANE records: a key change can roll over without an outage", details
        )
    message = (
        "one DANE record only: a new key or certificate breaks DANE delivery until a new TLSA record propagates; "
        "publish the next key's 3 1 1 beside it (or the issuing CA's 2 1 1)"
    )
    return subject.result(Status.INFO, message, details)


def evaluate(obs: DaneObservation, chains: list[tuple[str, tuple[bytes, ...]]]) -> list[CheckResult]:
    """``chains``: (endpoint label, chain) for each session with this MX host that reached TLS."""
    subject = Subject("dane.tlsa", f"_25._tcp.{obs.host}", Stage.POLICY)
    if isinstance(obs.lookup, ProbeError):
        return [subject.failed(obs.lookup)]
    records = obs.records
    if not records:
        return [subject.result(Status.INFO, "no TLSA records: no DANE for this MX", {"records": []})]
    authenticated = obs.lookup.authenticated
    validated = obs.dnssec
    decided_by = "mailcheck"
    if validated is None or validated.state == "indeterminate":
        # no chain reachable through this resolver: fall back on its AD bit, and say so
        decided_by = "the resolver's AD bit"
        state = "secure" if authenticated else "insecure"
    else:
        state = validated.state
    details: dict[str, object] = {
        "records": [str(r) for r in records],
        "dnssec": state == "secure",
        "dnssec_state": state,
        "dnssec_decided_by": decided_by,
        "dnssec_reason": validated.reason if validated is not None else None,
    }
    results = []
    if state == "bogus":
        assert validated is not None
        message = f"the TLSA answer fails DNSSEC validation: {validated.reason}; DANE senders will not deliver"
        results.append(subject.result(Status.FAIL, message, details, ErrorInfo(Stage.POLICY, "bogus", message)))
    elif state != "secure":
        message = (
            f"TLSA records published, but the answer is not DNSSEC-secure (decided by {decided_by}): DANE "
            "without DNSSEC gives no protection and senders ignore it; sign the zone"
            + ("" if decided_by == "mailcheck" else ", or use a resolver that passes DNSSEC records")
        )
        results.append(subject.result(Status.WARN, message, details, ErrorInfo(Stage.POLICY, "insecure", message)))
    else:
        results.append(
            subject.result(
                Status.PASS, f"{len(records)} TLSA record(s), DNSSEC-secure (decided by {decided_by})", details
            )
        )
    results.append(rollover_finding(obs.host, records))
    if any(r.usage in (0, 1) for r in records):
        results.append(
            subject.result(Status.WARN, "PKIX usages 0/1 are not for SMTP (RFC 7672 §3.1.3); use 3 1 1 or 2 1 1")
        )
    for label, chain in chains:
        match_subject = Subject("dane.match", label, Stage.POLICY)
        matched = [str(r) for r in records if r.usage in (2, 3) and record_matches(r, chain)]
        if matched:
            results.append(
                match_subject.result(Status.PASS, f"the certificate matches TLSA {matched[0]}", {"matched": matched})
            )
        else:
            message = "the certificate matches no DANE-TA/DANE-EE TLSA record: DANE senders will not deliver"
            results.append(
                match_subject.result(
                    Status.FAIL, message, {"matched": []}, ErrorInfo(Stage.POLICY, "tlsa-mismatch", message)
                )
            )
    return results
