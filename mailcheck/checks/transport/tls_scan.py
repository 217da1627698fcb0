"""``--tls-scan`` without the tls extra: what else a TLS server accepts beside what it negotiated with us (with
the extra, ``--tls-scan`` grades every NCSC item in ``tls_grade``, whose cipher-order probe uses this module's
handshakes).

One short handshake per protocol version the local OpenSSL can speak and per weak cipher class, each on its
own connection, over STARTTLS or implicit TLS as the port needs, at security level 0 (for these probes only:
a server that offers RC4 must be asked with RC4). A handshake that completes is "accepted"; an alert, reset
or close during it is "refused", never an error. Probes of one endpoint run concurrently within the
per-host cap, each bounded by --timeout. What the local OpenSSL cannot offer (SSLv3, RC4 and EXPORT in
OpenSSL 3) is reported as not tested.
"""

import asyncio
import ssl
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from mailcheck.checks.transport.connection import Endpoint, TransportObservation
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.stream import LineConnection
from mailcheck.runner import attempt

Preamble = Callable[[LineConnection], Awaitable[None]]
# the built-in scan runs where the tls extra is missing; the grade of every NCSC item needs it
FULL_GRADE = "versions and weak cipher classes only: the full NCSC grade needs pip install 'mailcheck-cli[tls]'"


@dataclass(frozen=True)
class ScanProbe:
    """One handshake to try: a protocol version, or a cipher class (offered alone, at TLS 1.2 and below)."""

    name: str
    rfc: str
    severity: str  # what acceptance means: "fail", "warn" (fail where TLS is required), "info", "good"
    version: str | None = None  # ssl.TLSVersion member name
    ciphers: str | None = None  # OpenSSL cipher string
    why: str = ""
    required_fails: bool = False  # a "warn" that fails where TLS is required (submission, mailbox, MTA-STS)


PROBES = (
    ScanProbe("SSLv3", "RFC 7568", "fail", version="SSLv3", why="SSLv3 is broken (POODLE) and prohibited"),
    ScanProbe("TLS 1.0", "RFC 8996", "warn", version="TLSv1", why="TLS 1.0 is deprecated", required_fails=True),
    ScanProbe("TLS 1.1", "RFC 8996", "warn", version="TLSv1_1", why="TLS 1.1 is deprecated", required_fails=True),
    ScanProbe("TLS 1.2", "RFC 9325", "good", version="TLSv1_2"),
    ScanProbe("TLS 1.3", "RFC 8446", "good", version="TLSv1_3"),
    ScanProbe(
        "no forward secrecy", "RFC 9325 §4.1", "warn", ciphers="kRSA", why="RSA key exchange has no forward secrecy"
    ),
    # OpenSSL has no AEAD alias: the AEAD families are left out by name
    ScanProbe(
        "CBC only",
        "RFC 9325 §4.2",
        "info",
        ciphers="ALL:!AESGCM:!AESCCM:!CHACHA20:!ARIAGCM:!eNULL:!aNULL",
        why="CBC-mode suites (not AEAD)",
    ),
    ScanProbe("3DES", "RFC 9325 §4.1", "warn", ciphers="3DES", why="3DES has 64-bit blocks (Sweet32)"),
    ScanProbe("RC4", "RFC 7465", "fail", ciphers="RC4", why="RC4 is prohibited"),
    ScanProbe("NULL", "RFC 9325 §4.1", "fail", ciphers="eNULL", why="NULL suites do not encrypt"),
    ScanProbe("EXPORT", "RFC 9325 §4.1", "fail", ciphers="EXP", why="export suites are trivially broken"),
    # Postfix allows anonymous suites for opportunistic TLS on port 25 by design (a sender that does not
    # verify gains nothing from a certificate); where TLS is required they are a failure.
    ScanProbe(
        "anonymous",
        "RFC 9325 §4.1",
        "warn",
        ciphers="aNULL",
        why="anonymous suites authenticate nobody (senders that verify never choose them)",
        required_fails=True,
    ),
)


def probe_context(probe: ScanProbe) -> ssl.SSLContext | None:
    """A context that offers only what the probe asks for; None when the local OpenSSL cannot offer it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        # Python deprecates choosing TLS 1.0/1.1; asking a server whether it still takes them is the point
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if probe.version is not None:
                if probe.version == "SSLv3" and not ssl.HAS_SSLv3:
                    return None
                version = ssl.TLSVersion[probe.version]
                context.minimum_version = context.maximum_version = version
                context.set_ciphers("ALL:@SECLEVEL=0")
            else:
                context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                context.maximum_version = ssl.TLSVersion.TLSv1_2
                context.set_ciphers(f"{probe.ciphers}:@SECLEVEL=0")
    except (ssl.SSLError, ValueError, KeyError):
        return None
    return context


_AEAD = ("GCM", "CCM", "CHACHA20", "POLY1305")
OPENSSL_VERSION_NAMES = {"SSLv3": "SSLv3", "TLSv1": "TLSv1", "TLSv1_1": "TLSv1.1", "TLSv1_2": "TLSv1.2",
                         "TLSv1_3": "TLSv1.3"}  # fmt: skip


def in_class(probe: ScanProbe, version: str, cipher: str) -> bool:
    """Is the negotiated VERSION/CIPHER (OpenSSL names) one of what PROBE asks about?"""
    name = cipher.upper()
    if probe.version is not None:
        return version == OPENSSL_VERSION_NAMES[probe.version]
    checks = {
        "kRSA": lambda: "DH" not in name and "PSK" not in name and "SRP" not in name,
        "3DES": lambda: "DES-CBC3" in name or "3DES" in name,
        "RC4": lambda: "RC4" in name,
        "eNULL": lambda: "NULL" in name,
        "EXP": lambda: "EXP" in name,
        "aNULL": lambda: name.startswith(("ADH", "AECDH")) or "ANON" in name,
    }
    if probe.ciphers in checks:
        return checks[probe.ciphers]()
    if probe.name == "CBC only":
        return version != "TLSv1.3" and not any(mode in name for mode in _AEAD)
    return True


@dataclass
class ProbeOutcome:
    probe: ScanProbe
    state: str  # "accepted", "refused", "not-tested", "unreachable"
    negotiated: str = ""  # version and cipher, when accepted
    reason: str = ""


@dataclass
class ScanObservation:
    endpoint: Endpoint
    outcomes: list[ProbeOutcome] = field(default_factory=list)


async def attempt_probe(
    endpoint: Endpoint, probe: ScanProbe, preamble: Preamble | None, ctx: ProbeContext
) -> ProbeOutcome:
    """One handshake offering only what PROBE asks for (also used by --tls-grade's cipher-order probe)."""
    async with ctx.host_gate(endpoint.address):
        return await _try(endpoint, probe, preamble, ctx)


async def _try(endpoint: Endpoint, probe: ScanProbe, preamble: Preamble | None, ctx: ProbeContext) -> ProbeOutcome:
    context = probe_context(probe)
    if context is None:
        return ProbeOutcome(probe, "not-tested", reason="the local OpenSSL cannot offer it")
    try:
        conn = await LineConnection.open(endpoint.address, endpoint.port, ctx.timeout, ctx.transcript)
    except ProbeError as err:
        return ProbeOutcome(probe, "unreachable", reason=err.message)
    try:
        if preamble is not None:
            outcome = await attempt(preamble(conn))
            if isinstance(outcome, ProbeError):
                return ProbeOutcome(probe, "unreachable", reason=outcome.message)
        facts = await attempt(conn.start_tls(context, endpoint.server_name))
        if isinstance(facts, ProbeError):
            return ProbeOutcome(probe, "refused", reason=facts.message)
        negotiated = f"{facts.version} {facts.cipher}"
        if not in_class(probe, facts.version, facts.cipher):
            # what was negotiated decides, not that a handshake completed: never quote a suite outside the class
            return ProbeOutcome(probe, "refused", reason=f"negotiated {negotiated}, which is not {probe.name}")
        return ProbeOutcome(probe, "accepted", negotiated)
    finally:
        await conn.close()


async def scan(endpoint: Endpoint, preamble: Preamble | None, ctx: ProbeContext) -> ScanObservation:
    """Every probe against one endpoint, concurrently within the per-host cap."""
    outcomes = await asyncio.gather(*(attempt_probe(endpoint, p, preamble, ctx) for p in PROBES))
    return ScanObservation(endpoint, list(outcomes))


def findings(protocol: str, obs: ScanObservation, tls_required: bool, software: str | None = None) -> list[CheckResult]:
    """A summary per endpoint, then one finding per weak thing the server accepted (with the SOFTWARE its
    greeting named, so the advice quotes that software's settings)."""
    subject = Subject(f"{protocol}.tls-scan", obs.endpoint.label, Stage.TLS)
    by_state: dict[str, list[str]] = {}
    for outcome in obs.outcomes:
        by_state.setdefault(outcome.state, []).append(outcome.probe.name)
    details: dict[str, object] = {
        "probes": [
            {"probe": o.probe.name, "state": o.state, "negotiated": o.negotiated or None, "reason": o.reason or None}
            for o in obs.outcomes
        ]
    }
    if software:
        details["software"] = software
    parts = [f"{state}: {', '.join(names)}" for state, names in by_state.items()]
    results = []
    unreachable = by_state.get("unreachable", [])
    tested = [o for o in obs.outcomes if o.state in ("accepted", "refused")]
    if tested and all(o.state == "refused" for o in tested):
        message = (
            f"every handshake was refused ({len(tested)} probes: each TLS version and cipher class offered): the "
            "server cannot complete TLS with what clients offer (a broken TLS setup, or a TLS library mismatch)"
        )
        status = Status.FAIL if tls_required else Status.WARN
        results.append(subject.result(status, message, details, ErrorInfo(Stage.TLS, "no-handshake", message)))
        return results
    status = Status.ERROR if len(unreachable) == len(obs.outcomes) else Status.INFO
    details["full_grade"] = FULL_GRADE
    results.append(subject.result(status, "; ".join(parts) + f" ({FULL_GRADE})", details))
    for outcome in obs.outcomes:
        probe = outcome.probe
        if outcome.state != "accepted" or probe.severity == "good":
            continue
        severity = probe.severity
        if severity == "warn" and tls_required and probe.required_fails:
            severity = "fail"
        status = {"fail": Status.FAIL, "warn": Status.WARN, "info": Status.INFO}[severity]
        message = f"accepts {probe.name} ({outcome.negotiated}): {probe.why} ({probe.rfc})"
        kind = "weak-" + ("protocol" if probe.version else "cipher")
        error = ErrorInfo(Stage.TLS, kind, message) if status in (Status.FAIL, Status.WARN) else None
        results.append(
            Subject(f"{protocol}.tls-scan", obs.endpoint.label, Stage.TLS).result(status, message, details, error)
        )
    return results


def worth_scanning(session: TransportObservation) -> bool:
    """A session that reached TLS, or whose handshake failed (the scan then says whether any can succeed)."""
    return session.tls is not None or (session.failure is not None and session.failure.stage is Stage.TLS)


def unscanned(check: str, sessions: Sequence[TransportObservation], scanned: set[str]) -> list[CheckResult]:
    """A CHECK finding for each session whose endpoint label is not in SCANNED, saying why (so neither the scan
    nor the grade ever silently skips one)."""
    found = []
    for session in sessions:
        if session.endpoint.label in scanned:
            continue
        failure = session.failure
        why = f"the session stopped at {failure.stage.value} ({failure.message})" if failure else "no TLS was offered"
        subject = Subject(check, session.endpoint.label, Stage.TLS)
        found.append(subject.result(Status.INFO, f"not scanned: {why}", {"scanned": False}))
    return found
