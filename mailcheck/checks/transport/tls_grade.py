"""``--tls-grade``: one endpoint graded on the NCSC TLS guidelines (``tls_guideline``), as internet.nl grades
mail servers — with sslyze, the scanning library internet.nl itself is built on (its nassl ships OpenSSL builds
that still speak SSL 2/3, TLS 1.0/1.1, export and NULL suites, so a server is tested on what the system OpenSSL
refuses to offer). mailcheck resolves the name itself and hands sslyze the address; sslyze's types stay in this
module: the probe returns plain facts, the evaluation turns them into findings, one per item.

Items: protocol versions, cipher suites per version, key-exchange groups (ECDHE curves, DHE size), TLS
compression, secure renegotiation, client-initiated renegotiation, Extended Master Secret (RFC 7627), 0-RTT,
Heartbleed, CCS injection (CVE-2014-0224), ROBOT, TLS_FALLBACK_SCSV.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailcheck.checks.transport import starttls_injection, tls_scan
from mailcheck.checks.transport import tls_guideline as ncsc
from mailcheck.checks.transport.connection import Endpoint, TransportObservation
from mailcheck.checks.transport.tls_scan import Preamble
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.names import BadInput
from mailcheck.runner import attempt

EXTRA_NEEDED = "--tls-grade needs the tls extra (sslyze): pip install 'mailcheck-cli[tls]'"
VERSION_COMMANDS = {
    "SSL 2.0": "ssl_2_0_cipher_suites",
    "SSL 3.0": "ssl_3_0_cipher_suites",
    "TLS 1.0": "tls_1_0_cipher_suites",
    "TLS 1.1": "tls_1_1_cipher_suites",
    "TLS 1.2": "tls_1_2_cipher_suites",
    "TLS 1.3": "tls_1_3_cipher_suites",
}
CHECKS = (
    "tls_compression",
    "session_renegotiation",
    "tls_extended_master_secret",
    "tls_1_3_early_data",
    "heartbleed",
    "openssl_ccs_injection",
    "robot",
    "tls_fallback_scsv",
    "elliptic_curves",
)


@dataclass
class GradeObservation:
    """What sslyze found on one endpoint, as plain values."""

    endpoint: Endpoint
    suites: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # version → [(suite, key exchange)]
    key_exchange: dict[str, str] = field(default_factory=dict)  # "x25519" / "DH 2048" → level
    facts: dict[str, object] = field(default_factory=dict)  # compression, renegotiation, ems, … (None: not tested)
    errors: dict[str, str] = field(default_factory=dict)  # scan command → why it could not run
    failure: ProbeError | None = None
    certificate_key: tuple[str, int] | None = None  # the leaf's public key: ("RSA", 2048), ("EC", 256), …
    injection: bool | ProbeError | None = None  # SMTP STARTTLS command injection (None: not tested)
    injection_tested: bool = False
    profile: str = "ncsc"  # --tls-profile: ncsc, mozilla-intermediate or mozilla-modern
    profile_issues: dict[str, str] | None = None  # a Mozilla profile's issues (None: not checked)
    openssl_names: dict[str, str] = field(default_factory=dict)  # IANA name → OpenSSL name (TLS 1.2 suites)
    order: tuple[str, str, str] | None = None  # cipher order probe: (offered first, offered second, server's pick)


def require_sslyze() -> None:
    try:
        import sslyze  # noqa: F401
    except ImportError:
        raise BadInput(EXTRA_NEEDED) from None


def _scan(
    endpoint: Endpoint, protocol: str | None, timeout: float, per_host: int, profile: str = "ncsc"
) -> GradeObservation:
    """The blocking sslyze run (in a worker thread): every scan command against one address."""
    from sslyze import (
        ProtocolWithOpportunisticTlsEnum,
        ScanCommand,
        Scanner,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanStatusEnum,
    )

    obs = GradeObservation(endpoint, profile=profile)
    starttls = {
        "smtp": ProtocolWithOpportunisticTlsEnum.SMTP,
        "imap": ProtocolWithOpportunisticTlsEnum.IMAP,
        "pop3": ProtocolWithOpportunisticTlsEnum.POP3,
    }.get(protocol or "")
    name = endpoint.server_name or endpoint.address
    location = ServerNetworkLocation(name, endpoint.port, endpoint.address)
    config = ServerNetworkConfiguration(
        tls_server_name_indication=name,
        tls_opportunistic_encryption=starttls,
        smtp_ehlo_hostname="mailcheck.invalid",
        network_timeout=int(max(timeout, 1)),
        network_max_retries=1,
    )
    commands = {ScanCommand(c) for c in (*VERSION_COMMANDS.values(), *CHECKS)}
    if profile != "ncsc":
        commands.add(ScanCommand.CERTIFICATE_INFO)
    scanner = Scanner(per_server_concurrent_connections_limit=max(per_host, 1), concurrent_server_scans_limit=1)
    scanner.queue_scans([ServerScanRequest(location, config, commands)])
    for result in scanner.get_results():
        if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
            why = str(result.connectivity_error_trace or result.scan_status)[-300:]
            obs.failure = ProbeError(Stage.TLS, "no-handshake", f"sslyze could not reach TLS: {why}")
            return obs
        _read(obs, result.scan_result)
        if profile != "ncsc":
            obs.profile_issues = mozilla_issues(result, profile)
    return obs


def mozilla_issues(result: Any, profile: str) -> dict[str, str]:
    """What keeps the server from Mozilla's intermediate or modern configuration (sslyze's own checker, on
    Mozilla's published profile); certificate issues are left to mailcheck's own certificate check."""
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        ServerScanResultIncomplete,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )

    wanted = (
        TlsConfigurationEnum.MOZILLA_MODERN
        if profile == "mozilla-modern"
        else TlsConfigurationEnum.MOZILLA_INTERMEDIATE
    )
    try:
        check_server_against_tls_configuration(result, MozillaTlsConfiguration.get(wanted))
    except ServerNotCompliantWithTlsConfiguration as refused:
        return {k: str(v)[:300] for k, v in refused.issues.items() if "certificate" not in k.lower()}
    except ServerScanResultIncomplete as incomplete:
        return {"incomplete": str(incomplete)}
    return {}


def _read(obs: GradeObservation, scan: object) -> None:
    for version, command in VERSION_COMMANDS.items():
        attempt = getattr(scan, command)
        if attempt.result is None:
            obs.errors[command] = str(attempt.error_reason or "not run")
            continue
        accepted = []
        for suite in attempt.result.accepted_cipher_suites:
            key = suite.ephemeral_key
            exchange = ""
            if key is not None and getattr(key, "curve_name", None):
                exchange = str(key.curve_name)
                obs.key_exchange[exchange] = ncsc.curve_level(exchange)
            elif key is not None and getattr(key, "prime", None):
                exchange = f"DH {key.size}"
                obs.key_exchange[exchange] = ncsc.dh_level(int(key.size))
            accepted.append((suite.cipher_suite.name, exchange))
            if version == "TLS 1.2":
                obs.openssl_names[suite.cipher_suite.name] = suite.cipher_suite.openssl_name
        if accepted:
            obs.suites[version] = accepted
    readers: dict[str, Callable[[Any], dict[str, object]]] = {
        "tls_compression": lambda r: {"compression": r.supports_compression},
        "session_renegotiation": lambda r: {
            "secure_renegotiation": r.supports_secure_renegotiation,
            "client_renegotiation": r.is_vulnerable_to_client_renegotiation_dos,
        },
        "tls_extended_master_secret": lambda r: {"ems": r.supports_ems_extension},
        "tls_1_3_early_data": lambda r: {"early_data": r.supports_early_data},
        "heartbleed": lambda r: {"heartbleed": r.is_vulnerable_to_heartbleed},
        "openssl_ccs_injection": lambda r: {"ccs_injection": r.is_vulnerable_to_ccs_injection},
        "robot": lambda r: {
            "robot": str(r.robot_result.name),
            "robot_vulnerable": str(r.robot_result.name).startswith("VULNERABLE"),
        },
        "tls_fallback_scsv": lambda r: {"fallback_scsv": r.supports_fallback_scsv},
        "elliptic_curves": lambda r: {"curves": [c.name for c in r.supported_curves or []]},
    }
    for command, read in readers.items():
        attempt = getattr(scan, command)
        if attempt.result is None:
            obs.errors[command] = str(attempt.error_reason or "not run")
        else:
            obs.facts.update(read(attempt.result))
    curves = obs.facts.get("curves")
    for curve in curves if isinstance(curves, list) else []:
        obs.key_exchange.setdefault(str(curve), ncsc.curve_level(str(curve)))


async def grade(
    endpoint: Endpoint,
    protocol: str | None,
    ctx: ProbeContext,
    chain_der: tuple[bytes, ...] = (),
    profile: str = "ncsc",
    preamble: "Preamble | None" = None,
) -> GradeObservation:
    """Grade ENDPOINT (STARTTLS for PROTOCOL smtp/imap/pop3, or implicit TLS when None) within the per-host cap;
    CHAIN_DER, the certificates the session saw, gives the certificate key item."""
    async with ctx.host_gate(endpoint.address):
        obs = await asyncio.to_thread(_scan, endpoint, protocol, ctx.timeout, ctx.per_host, profile)
    obs.certificate_key = public_key(chain_der[0]) if chain_der else None
    if protocol == "smtp" and obs.failure is None:
        obs.injection_tested = True
        obs.injection = await attempt(starttls_injection.injectable(endpoint, ctx))
    if obs.failure is None:
        obs.order = await cipher_order(obs, preamble, ctx)
    return obs


async def cipher_order(
    obs: GradeObservation, preamble: "Preamble | None", ctx: ProbeContext
) -> tuple[str, str, str] | None:
    """Does the server choose by its own preference? Offer its worst TLS 1.2 suite first and its best second: a
    server that enforces its order picks the best. None when its suites are all of one level (order is moot)."""
    names = obs.openssl_names
    ranked = sorted(names, key=lambda n: ncsc.LEVELS.index(ncsc.suite_level(n)))
    if len(ranked) < 2 or ncsc.suite_level(ranked[0]) == ncsc.suite_level(ranked[-1]):
        return None
    best, worst = ranked[0], ranked[-1]
    probe = tls_scan.ScanProbe("cipher order", "NCSC", "info", ciphers=f"{names[worst]}:{names[best]}")
    outcome = await tls_scan.attempt_probe(obs.endpoint, probe, preamble, ctx)
    if outcome.state != "accepted":
        return None
    chosen = outcome.negotiated.split()[-1]
    picked = best if chosen == names[best] else worst if chosen == names[worst] else chosen
    return worst, best, picked


async def grade_sessions(
    sessions: "Sequence[TransportObservation]",
    protocol: str | None,
    ctx: ProbeContext,
    profile: str,
    preamble: "Preamble | None",
) -> list[GradeObservation]:
    """Grade the endpoint of every session that reached TLS (the chain it saw gives the certificate key;
    PREAMBLE is what comes before each own handshake on a STARTTLS port)."""
    reached = [s for s in sessions if s.tls is not None]
    return list(
        await asyncio.gather(
            *(grade(s.endpoint, protocol, ctx, s.tls.chain_der if s.tls else (), profile, preamble) for s in reached)
        )
    )


def public_key(der: bytes) -> tuple[str, int] | None:
    """The leaf's key as the guideline grades it: kind (RSA, EC, Ed25519, Ed448) and bits; None for others."""
    from cryptography import x509

    from mailcheck.checks.transport.certificate import key_description

    try:
        kind, bits = key_description(x509.load_der_x509_certificate(der))
    except ValueError:
        return None
    kind = kind.split()[0]  # "EC secp256r1" -> "EC"
    return (kind, bits) if kind in ("RSA", "EC", "Ed25519", "Ed448") and bits else None


# --- evaluate ----------------------------------------------------------------------------------------------

# (item, fact, the value that is a fault, level, words)
FLAGS = (
    ("compression", "compression", True, "insufficient", "TLS compression enabled (CRIME)"),
    ("renegotiation", "secure_renegotiation", False, "insufficient", "no secure renegotiation (RFC 5746)"),
    ("client-renegotiation", "client_renegotiation", True, "phase-out",
     "client-initiated renegotiation accepted (a cheap denial of service)"),
    ("ems", "ems", False, "phase-out", "no Extended Master Secret on TLS 1.2 (RFC 7627)"),
    ("0-rtt", "early_data", True, "insufficient", "0-RTT early data accepted (replayable)"),
    ("heartbleed", "heartbleed", True, "insufficient", "vulnerable to Heartbleed (CVE-2014-0160)"),
    ("ccs-injection", "ccs_injection", True, "insufficient", "vulnerable to CCS injection (CVE-2014-0224)"),
    ("robot", "robot_vulnerable", True, "insufficient", "vulnerable to ROBOT (Bleichenbacher's oracle)"),
    ("fallback-scsv", "fallback_scsv", False, "phase-out",
     "no TLS_FALLBACK_SCSV (RFC 7507): a downgrade is not refused"),
)  # fmt: skip


def findings(protocol: str, obs: GradeObservation, tls_required: bool) -> list[CheckResult]:
    """One strip per endpoint: the overall grade, then one finding per item below good."""
    check = f"{protocol}.tls-grade"
    label = obs.endpoint.label
    if obs.failure is not None:
        return [Subject(check, label, Stage.TLS).failed(obs.failure)]
    if obs.profile_issues is not None:
        return profile_findings(check, label, obs)
    items: list[tuple[str, str, str]] = []  # (item, level, words)
    for version in VERSION_COMMANDS:
        if version in obs.suites:
            items.append(("version", ncsc.VERSIONS[version], f"{version} accepted"))
    for version, suites in obs.suites.items():
        for suite, _exchange in suites:
            level = ncsc.suite_level(suite)
            if level != "good":
                items.append(("cipher", level, f"{suite} ({version})"))
    if obs.certificate_key is not None:
        kind, bits = obs.certificate_key
        items.append(("certificate-key", ncsc.key_level(kind, bits), f"certificate key {kind} {bits} bits"))
    for exchange, level in sorted(obs.key_exchange.items()):
        if level != "good" and level != "sufficient":
            items.append(("key-exchange", level, f"key exchange {exchange}"))
    facts = obs.facts
    for item, fact, bad, level, words in FLAGS:
        if item == "ems" and "TLS 1.2" not in obs.suites:
            continue  # EMS is a TLS 1.2 matter; TLS 1.3 has it built in
        if item == "fallback-scsv" and len(obs.suites) < 2:
            continue  # with one version there is nothing to fall back to
        if facts.get(fact) is bad:
            items.append((item, level, words))
    if obs.order is not None:
        worst, best, picked = obs.order
        if picked != best:
            words = f"the server follows the client's order: offered {worst} before {best}, it chose {picked}"
            items.append(("cipher-order", "phase-out", words))
    if obs.injection is True:
        items.append(("starttls-injection", "insufficient", "STARTTLS command injection (CVE-2011-0411)"))
    overall = ncsc.worst([level for _, level, _ in items] or ["good"])
    versions = ", ".join(v for v in VERSION_COMMANDS if v in obs.suites) or "none"
    details: dict[str, object] = {
        "guideline": "NCSC TLS guidelines 2.1",
        "level": overall,
        "versions": versions,
        "suites": {v: [s for s, _ in suites] for v, suites in obs.suites.items()},
        "key_exchange": obs.key_exchange,
        "facts": facts,
        "certificate_key": list(obs.certificate_key) if obs.certificate_key else None,
        "cipher_order": {"offered": [obs.order[0], obs.order[1]], "chosen": obs.order[2]} if obs.order else None,
        "not_tested": obs.errors,
    }
    below = [i for i in items if i[1] in ("phase-out", "insufficient") and i[0] != "starttls-injection"]
    summary = f"NCSC grade {overall}: {versions}" + (f"; {len(below)} item(s) below sufficient" if below else "")
    results = [
        Subject(check, label, Stage.TLS).result(
            ncsc.status_of(overall, tls_required) if overall != "sufficient" else Status.PASS, summary, details
        )
    ]
    if obs.injection_tested:
        results.append(starttls_injection.finding(protocol, obs.endpoint, obs.injection, tls_required))
    for item, level, words in below:
        status = ncsc.status_of(level, tls_required)
        message = f"{words}: {level} (NCSC)"
        results.append(
            Subject(check, label, Stage.TLS).result(
                status, message, {"item": item, "level": level}, ErrorInfo(Stage.TLS, f"grade-{item}", message)
            )
        )
    return results


def profile_findings(check: str, label: str, obs: GradeObservation) -> list[CheckResult]:
    """--tls-profile mozilla-*: compliant (one passing line), or one warning per issue Mozilla's profile finds."""
    issues = obs.profile_issues or {}
    name = obs.profile.replace("mozilla-", "Mozilla ")
    details: dict[str, object] = {"profile": obs.profile, "issues": issues}
    if not issues:
        return [
            Subject(check, label, Stage.TLS).result(Status.PASS, f"compliant with the {name} configuration", details)
        ]
    results = [Subject(check, label, Stage.TLS).result(
        Status.WARN, f"not compliant with the {name} configuration: {len(issues)} issue(s)", details)]  # fmt: skip
    for key, words in sorted(issues.items()):
        message = f"{name}: {key}: {words}"
        results.append(Subject(check, label, Stage.TLS).result(
            Status.WARN, message, {"issue": key}, ErrorInfo(Stage.TLS, "profile", message)))  # fmt: skip
    return results
