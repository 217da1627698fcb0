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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mailcheck.checks.transport import starttls_injection, tls_scan
from mailcheck.checks.transport import tls_guideline as ncsc
from mailcheck.checks.transport.connection import Endpoint, TransportObservation
from mailcheck.checks.transport.software import of_endpoint
from mailcheck.checks.transport.tls_scan import Preamble
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.names import BadInput
from mailcheck.runner import attempt

INSTALL_EXTRA = "pip install 'mailcheck-cli[tls]'"
EXTRA_NEEDED = f"--tls-grade and --tls-profile need the tls extra (sslyze): {INSTALL_EXTRA}"
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
    injection: str | ProbeError | None = None  # STARTTLS command injection's verdict (None: not tested)
    injection_tested: bool = False
    profile: str = "ncsc"  # --tls-profile: ncsc, mozilla-intermediate or mozilla-modern
    profile_issues: dict[str, str] | None = None  # a Mozilla profile's issues (None: not checked)
    openssl_names: dict[str, str] = field(default_factory=dict)  # IANA name → OpenSSL name (TLS 1.2 suites)
    order: "CipherOrder | None" = None  # the cipher order probe (None: moot or not made)


def sslyze_available() -> bool:
    """Is the tls extra installed (sslyze importable)?"""
    try:
        import sslyze  # noqa: F401
    except ImportError:
        return False
    return True


def depth(scan: bool, grade: bool, profile: str) -> tuple[bool, bool]:
    """Which TLS look the command line asks for, as (built-in scan, full grade). ``--tls-scan`` grades every
    NCSC item when the tls extra is installed, and falls back to the built-in scan (versions and weak cipher
    classes, which say the extra is missing) when it is not; ``--tls-grade`` and a Mozilla ``--tls-profile``
    grade or stop with a one-line error naming the extra."""
    if grade or profile != "ncsc":
        if not sslyze_available():
            raise BadInput(EXTRA_NEEDED)
        return False, True
    if scan:
        return (False, True) if sslyze_available() else (True, False)
    return False, False


THROTTLED = re.compile(r"too many|try again later|\b421\b|throttl|rate.?limit", re.IGNORECASE)
RETRY_BACKOFF = 3.0  # seconds before the items a throttling server refused are asked again, one connection at a time


def _why(trace: object) -> str:
    """What sslyze's error says, without its traceback or its "host:port -> " prefix: one short line."""
    format_only = getattr(trace, "format_exception_only", None)
    text = "".join(format_only()) if callable(format_only) else str(trace)
    last = text.strip().splitlines()[-1] if text.strip() else "not run"
    return last.split(" -> ", 1)[-1].strip().strip('".')[-240:]


def _scan(
    endpoint: Endpoint,
    protocol: str | None,
    timeout: float,
    per_host: int,
    profile: str = "ncsc",
    retries: int = 1,
) -> GradeObservation:
    """The blocking sslyze run (in a worker thread): every scan command against one address. Items whose
    connections the server refused (a server that caps its connections, as Exim's
    smtp_accept_max) are asked again up to RETRIES times, one connection at a time, after a backoff."""
    import time

    from sslyze import (
        ProtocolWithOpportunisticTlsEnum,
        ScanCommand,
        Scanner,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanStatusEnum,
    )
    from sslyze.server_connectivity import ServerConnectivityInfo

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
        network_timeout=int(max(timeout, 1)),
        network_max_retries=1,
        # sslyze takes an EHLO name only for SMTP (and refuses the configuration otherwise)
        **({"smtp_ehlo_hostname": "mailcheck.invalid"} if protocol == "smtp" else {}),
    )
    wanted = [*VERSION_COMMANDS.values(), *CHECKS] + (["certificate_info"] if profile != "ncsc" else [])
    attempts: dict[str, Any] = {}
    probing = None  # sslyze's connectivity result: what the key-exchange hash probe builds its handshakes on
    connections = max(per_host, 1)
    for round_ in range(max(retries, 0) + 1):
        missing = [c for c in wanted if c not in attempts or attempts[c].result is None]
        if not missing:
            break
        if round_:
            time.sleep(RETRY_BACKOFF * 2 ** (round_ - 1))
            connections = 1
        scanner = Scanner(per_server_concurrent_connections_limit=connections, concurrent_server_scans_limit=1)
        scanner.queue_scans([ServerScanRequest(location, config, {ScanCommand(c) for c in missing})])
        for result in scanner.get_results():
            if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
                why = _why(result.connectivity_error_trace or result.scan_status)
                if round_ and attempts:
                    break  # what the first round got stands; the rest is said not tested below
                obs.failure = _unreached(why)
                return obs
            probing = probing or result.connectivity_result
            for command in missing:
                attempts[command] = getattr(result.scan_result, command)
            if profile != "ncsc" and not round_:
                obs.profile_issues = mozilla_issues(result, profile)
    _read(obs, attempts)
    server = ServerConnectivityInfo(location, config, probing) if probing is not None else None
    if server is not None and retries > 0:
        enumerate_throttled(obs, server)
    if server is not None and "TLS 1.2" in obs.suites:
        kex_hash(obs, server)
    return obs


def enumerate_throttled(obs: GradeObservation, server: Any) -> None:
    """The versions whose suite scan a capped server turned away even one connection at a time, enumerated
    instead in as many handshakes as the server accepts suites, plus one, paced (``tls_suites``)."""
    from sslyze import TlsVersionEnum

    from mailcheck.checks.transport import tls_suites

    for version, command in VERSION_COMMANDS.items():
        if not THROTTLED.search(obs.errors.get(command, "")):
            continue
        found = tls_suites.accepted(server, TlsVersionEnum[command.removesuffix("_cipher_suites").upper()])
        if isinstance(found, str):
            obs.errors[command] = _why(found)
            continue
        del obs.errors[command]
        read_suites(obs, version, found)


def _unreached(why: str) -> ProbeError:
    """Why sslyze could not reach TLS at all: a server turning this client away or not answering in time leaves
    the truth unknown (an error of the vantage point); no version and suite that works is the server's fault."""
    if THROTTLED.search(why):
        return ProbeError(Stage.GREETING, "rate-limited", f"the server refused the grade: {why}", unknown=True)
    if re.search(r"timed? ?out", why, re.IGNORECASE):
        return ProbeError(Stage.TLS, "timeout", f"the grade timed out: {why}", unknown=True)
    if "could not find a tls version and cipher suite" in why.lower():
        return ProbeError(Stage.TLS, "no-handshake", f"no handshake could be graded: {why}")
    return ProbeError(Stage.TLS, "not-tested", f"the grade could not reach TLS: {why}", unknown=True)


def kex_hash(obs: GradeObservation, server: Any) -> None:
    """The hash that signs a TLS 1.2 key exchange (NCSC 2.1 table 5, as internet.nl tested it against 2.1): the
    server must sign with SHA-2 when the client offers only SHA-2 (else insufficient), and signing with SHA-1
    when a client offers only SHA-1 is phase-out. Each is one handshake on nassl's own OpenSSL, which can still
    offer SHA-1; a server that could not be reached leaves the item not tested."""
    from nassl.ephemeral_key_info import OpenSslEvpPkeyEnum
    from nassl.ssl_client import OpenSslDigestNidEnum as Digest

    keys = (OpenSslEvpPkeyEnum.RSA, OpenSslEvpPkeyEnum.EC)
    sha2 = (Digest.SHA256, Digest.SHA384, Digest.SHA512)
    signed = _signed_with(server, [(digest, key) for digest in sha2 for key in keys])
    if isinstance(signed, str):
        obs.errors["kex_hash"] = signed
        return
    if signed not in sha2:
        obs.facts["kex_hash"] = "no SHA-2"
        return
    sha1 = _signed_with(server, [(Digest.SHA1, key) for key in keys])
    obs.facts["kex_hash"] = "SHA-2, and SHA-1 when asked" if sha1 == Digest.SHA1 else "SHA-2"


def _signed_with(server: Any, sigalgs: list[tuple[Any, Any]]) -> Any:
    """One TLS 1.2 handshake offering only SIGALGS: the digest the server signed its key exchange with, None when
    it refused the handshake, or why it could not be reached (a string)."""
    from sslyze import TlsVersionEnum
    from sslyze.errors import ConnectionToServerFailed, TlsHandshakeFailed

    connection = server.get_preconfigured_tls_connection(
        override_tls_version=TlsVersionEnum.TLS_1_2, should_use_legacy_openssl=False
    )
    connection.ssl_client.set_signature_algorithms(sigalgs)
    try:
        connection.connect()
        return connection.ssl_client.get_peer_signature_nid()
    except TlsHandshakeFailed:
        return None
    except ConnectionToServerFailed as failed:
        return _why(str(failed))
    except Exception:  # nassl's OpenSSLError and the like: the handshake did not complete
        return None
    finally:
        connection.close()


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


def read_suites(obs: GradeObservation, version: str, found: list[tuple[str, str, Any]]) -> None:
    """The suites accepted at VERSION, as (IANA name, OpenSSL name, ephemeral key), with their key exchange."""
    accepted = []
    for name, openssl_name, key in found:
        exchange = ""
        if key is not None and getattr(key, "curve_name", None):
            exchange = str(key.curve_name)
            obs.key_exchange[exchange] = ncsc.curve_level(exchange)
        elif key is not None and getattr(key, "prime", None):
            exchange, level = ncsc.dh_group(int.from_bytes(bytes(key.prime), "big"), int(key.size))
            obs.key_exchange[exchange] = level
        accepted.append((name, exchange))
        if version == "TLS 1.2":
            obs.openssl_names[name] = openssl_name
    if accepted:
        obs.suites[version] = accepted


def _read(obs: GradeObservation, attempts: dict[str, Any]) -> None:
    """Each scan command's attempt (sslyze's ScanCommandAttempt) as plain facts; one that failed is kept as
    why it could not run."""
    for version, command in VERSION_COMMANDS.items():
        attempt = attempts[command]
        if attempt.result is None:
            obs.errors[command] = _why(attempt.error_trace or attempt.error_reason)
            continue
        found = [(s.cipher_suite.name, s.cipher_suite.openssl_name, s.ephemeral_key)
                 for s in attempt.result.accepted_cipher_suites]  # fmt: skip
        read_suites(obs, version, found)
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
        attempt = attempts[command]
        if attempt.result is None:
            obs.errors[command] = _why(attempt.error_trace or attempt.error_reason)
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
    retries: int = 1,
    injection: "starttls_injection.Opening | None" = None,
) -> GradeObservation:
    """Grade ENDPOINT (STARTTLS for PROTOCOL smtp/imap/pop3, or implicit TLS when None) within the per-host cap;
    CHAIN_DER, the certificates the session saw, gives the certificate key item."""
    async with ctx.host_gate(endpoint.address):
        try:
            obs = await asyncio.to_thread(_scan, endpoint, protocol, ctx.timeout, ctx.per_host, profile, retries)
        # a fault inside sslyze or nassl: this endpoint's grade is an error, not the run's end
        except Exception as crashed:
            obs = GradeObservation(endpoint, profile=profile)
            why = f"{type(crashed).__name__}: {crashed}"[:240]
            message = f"the grade could not run (sslyze: {why})"
            obs.failure = ProbeError(Stage.TLS, "not-tested", message, unknown=True)
    obs.certificate_key = public_key(chain_der[0]) if chain_der else None
    if injection is not None and obs.failure is None:
        obs.injection_tested = True
        obs.injection = await attempt(starttls_injection.injectable(endpoint, ctx, injection))
    if obs.failure is None:
        obs.order = await cipher_order(obs, preamble, ctx)
    return obs


@dataclass(frozen=True)
class CipherOrder:
    """The cipher order probe: its worst and best TLS 1.2 suites, and whose order decided."""

    worst: str
    best: str
    decides: str  # "server" (the best is chosen whatever the client's order), "server, weaker first" or "client"

    def as_details(self) -> dict[str, str]:
        return {"worst": self.worst, "best": self.best, "decides": self.decides}


async def cipher_order(obs: GradeObservation, preamble: "Preamble | None", ctx: ProbeContext) -> CipherOrder | None:
    """Does the server choose by its own preference, good before sufficient before phase-out? Offer its worst TLS 1.2
    suite first and its best second: a server that enforces a good order picks the best. One that picks the worst
    is asked again with the best first: picking the worst again, it enforces an order that puts a weaker suite
    first (testssl.sh still says "server"); else it follows the client. None when its suites are all of one level
    (order is moot) or a probe could not complete."""
    names = obs.openssl_names
    ranked = sorted(names, key=lambda n: ncsc.LEVELS.index(ncsc.suite_level(n)))
    if len(ranked) < 2 or ncsc.suite_level(ranked[0]) == ncsc.suite_level(ranked[-1]):
        return None
    best, worst = ranked[0], ranked[-1]

    async def chosen(first: str, second: str) -> str | None:
        probe = tls_scan.ScanProbe("cipher order", "NCSC", "info", ciphers=f"{names[first]}:{names[second]}")
        outcome = await tls_scan.attempt_probe(obs.endpoint, probe, preamble, ctx)
        if outcome.state != "accepted":
            return None
        picked = outcome.negotiated.split()[-1]
        return best if picked == names[best] else worst if picked == names[worst] else None

    first = await chosen(worst, best)
    if first is None:
        return None
    if first == best:
        return CipherOrder(worst, best, "server")
    again = await chosen(best, worst)
    if again is None:
        return None
    return CipherOrder(worst, best, "server, weaker first" if again == worst else "client")


async def grade_sessions(
    sessions: "Sequence[TransportObservation]",
    protocol: str | None,
    ctx: ProbeContext,
    profile: str,
    preamble: "Preamble | None",
    retries: int = 1,
    injection: "starttls_injection.Opening | None" = None,
) -> list[GradeObservation]:
    """Grade the endpoint of every session that reached TLS or failed in its handshake (the grade then says
    whether any handshake can succeed); the chain a session saw gives the certificate key, PREAMBLE is what
    comes before each own handshake on a STARTTLS port, INJECTION the opening of the STARTTLS injection test."""
    reached = [s for s in sessions if tls_scan.worth_scanning(s)]
    return list(
        await asyncio.gather(
            *(
                grade(
                    s.endpoint, protocol, ctx, s.tls.chain_der if s.tls else (), profile, preamble, retries, injection
                )
                for s in reached
            )
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

# sslyze's scan commands as the grade's items are named
ITEM_NAMES = {command: version for version, command in VERSION_COMMANDS.items()} | {
    "tls_compression": "compression",
    "session_renegotiation": "renegotiation",
    "tls_extended_master_secret": "Extended Master Secret",
    "tls_1_3_early_data": "0-RTT",
    "heartbleed": "Heartbleed",
    "openssl_ccs_injection": "CCS injection",
    "robot": "ROBOT",
    "tls_fallback_scsv": "TLS_FALLBACK_SCSV",
    "elliptic_curves": "ECDHE curves",
    "certificate_info": "certificate",
    "kex_hash": "key-exchange hash",
}
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


def session_tls_findings(
    protocol: str,
    sessions: "Sequence[TransportObservation]",
    scans: "Sequence[tls_scan.ScanObservation]",
    grades: Sequence[GradeObservation],
    asked: tuple[bool, bool],
    tls_required: bool,
) -> list[CheckResult]:
    """What smtp and the mailbox commands say of their sessions' TLS beyond the session itself: the built-in
    scan's and the grade's findings for each endpoint looked at, with the software its greeting named, and for
    each one not looked at, why; ASKED is (built-in scan, grade) as the command line asked."""
    scanned, graded = asked
    results: list[CheckResult] = []
    for scan in scans:
        named = of_endpoint(sessions, scan.endpoint.label)
        results.extend(tls_scan.findings(protocol, scan, tls_required, named))
    if scanned:
        results.extend(tls_scan.unscanned(f"{protocol}.tls-scan", sessions, {s.endpoint.label for s in scans}))
    if graded:
        results.extend(tls_scan.unscanned(f"{protocol}.tls-grade", sessions, {g.endpoint.label for g in grades}))
    for grade_obs in grades:
        named = of_endpoint(sessions, grade_obs.endpoint.label)
        results.extend(findings(protocol, grade_obs, tls_required, named))
    return results


def findings(
    protocol: str, obs: GradeObservation, tls_required: bool, software: str | None = None
) -> list[CheckResult]:
    """One strip per endpoint: the overall grade, then one finding per item below sufficient (with the SOFTWARE
    the greeting named, so the advice quotes that software's settings)."""
    check = f"{protocol}.tls-grade"
    label = obs.endpoint.label
    if obs.failure is not None:
        failed = Subject(check, label, Stage.TLS).failed(obs.failure)
        if obs.failure.kind == "no-handshake" and not tls_required:
            failed = replace(failed, status=Status.WARN)  # on opportunistic port 25 a sender falls back to clear text
        return [failed]
    if obs.profile_issues is not None:
        return profile_findings(check, label, obs)
    items: list[tuple[str, str, str]] = []  # (item, level, words)
    for version in VERSION_COMMANDS:
        if version in obs.suites:
            items.append(("version", ncsc.VERSIONS[version], f"{version} accepted"))
    taken_at: dict[str, list[str]] = {}  # each suite, with the versions that accept it
    for version, suites in obs.suites.items():
        for suite, _exchange in suites:
            taken_at.setdefault(suite, []).append(version)
    for suite, taking in taken_at.items():
        level = ncsc.suite_level(suite)
        if level != "good":
            items.append(("cipher", level, f"{suite} ({', '.join(taking)})"))
    if obs.certificate_key is not None:
        kind, bits = obs.certificate_key
        items.append(("certificate-key", ncsc.key_level(kind, bits), f"certificate key {kind} {bits} bits"))
    for exchange, level in sorted(obs.key_exchange.items()):
        if level != "good" and level != "sufficient":
            items.append(("key-exchange", level, f"key exchange {exchange}"))
    facts = obs.facts
    if facts.get("kex_hash") == "no SHA-2":
        items.append(
            ("kex-hash", "insufficient", "TLS 1.2 key exchange not signed with SHA-2 when a client offers only SHA-2")
        )
    elif facts.get("kex_hash") == "SHA-2, and SHA-1 when asked":
        items.append(("kex-hash", "phase-out", "TLS 1.2 key exchange signed with SHA-1 when a client asks for it"))
    for item, fact, bad, level, words in FLAGS:
        if item == "ems" and "TLS 1.2" not in obs.suites:
            continue  # EMS is a TLS 1.2 matter; TLS 1.3 has it built in
        if item == "fallback-scsv" and len(obs.suites) < 2:
            continue  # with one version there is nothing to fall back to
        if facts.get(fact) is bad:
            items.append((item, level, words))
    order = obs.order
    if order is not None and order.decides == "client":
        words = f"the server follows the client's order: offered {order.worst} before {order.best}, it chose the first"
        items.append(("cipher-order", "phase-out", words))
    elif order is not None and order.decides != "server":
        words = f"the server's own order puts {order.worst} before {order.best} (not good before sufficient)"
        items.append(("cipher-order", "phase-out", words))
    if obs.injection == starttls_injection.ANSWERED:
        items.append(("starttls-injection", "insufficient", "STARTTLS command injection (CVE-2011-0411)"))
    # no protocol version could be tested (the server turned the scan away): no grade, never "good" by omission
    overall = ncsc.worst([level for _, level, _ in items] or ["good"]) if obs.suites or not obs.errors else "unknown"
    versions = ", ".join(v for v in VERSION_COMMANDS if v in obs.suites) or "none"
    details: dict[str, object] = {
        "guideline": "NCSC TLS guidelines 2.1",
        "level": overall,
        "versions": versions,
        "suites": {v: [s for s, _ in suites] for v, suites in obs.suites.items()},
        "key_exchange": obs.key_exchange,
        "facts": facts,
        "certificate_key": list(obs.certificate_key) if obs.certificate_key else None,
        "cipher_order": order.as_details() if order else None,
        "not_tested": obs.errors,
    }
    if software:
        details["software"] = software
    below = [i for i in items if i[1] in ("phase-out", "insufficient") and i[0] != "starttls-injection"]
    items_below = len({(item, level) for item, level, _ in below})
    summary = f"NCSC grade {overall}: {versions}" + (f"; {items_below} item(s) below sufficient" if below else "")
    untested = [ITEM_NAMES.get(command, command) for command in obs.errors]
    if untested:
        summary += f"; not graded: {', '.join(untested)}"
    details["complete"] = not untested
    status = _strip_status(overall, tls_required)
    if untested and status is Status.PASS:
        status = Status.INFO  # a grade with items untested passes nothing: the error beside it says what is missing
    results = [Subject(check, label, Stage.TLS).result(status, summary, details)]
    if untested:
        results.append(incomplete(check, label, obs.errors))
    if obs.injection_tested:
        results.append(starttls_injection.finding(protocol, obs.endpoint, obs.injection, tls_required))
    for item, level, words, members in merged(below):
        status = ncsc.status_of(level, tls_required)
        message = f"{words}: {level} (NCSC)"
        item_details: dict[str, object] = {"item": item, "level": level, "members": members}
        if software:
            item_details["software"] = software
        results.append(
            Subject(check, label, Stage.TLS).result(
                status, message, item_details, ErrorInfo(Stage.TLS, f"grade-{item}", message)
            )
        )
    return results


def merged(below: list[tuple[str, str, str]]) -> list[tuple[str, str, str, list[str]]]:
    """One finding per item and level, not one per cipher suite: (item, level, words, members), the suites
    named once each with the versions that accept them, at most a few in the words (all in the members)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for item, level, words in below:
        grouped.setdefault((item, level), []).append(words)
    found = []
    for (item, level), members in grouped.items():
        if item == "cipher":  # each member is a suite with the versions that accept it
            shown = "; ".join(members[:3]) + (f"; and {len(members) - 3} more" if len(members) > 3 else "")
            words = f"{len(members)} cipher suite{'s' if len(members) > 1 else ''}: {shown}"
        elif item == "version":
            words = ", ".join(m.removesuffix(" accepted") for m in members) + " accepted"
        else:
            words = "; ".join(members)
        found.append((item, level, words, members))
    return found


def _strip_status(overall: str, tls_required: bool) -> Status:
    """The grade strip's status: its level's; "unknown" (nothing graded) is information, the error beside it
    says why."""
    if overall == "unknown":
        return Status.INFO
    return Status.PASS if overall == "sufficient" else ncsc.status_of(overall, tls_required)


def incomplete(check: str, label: str, errors: dict[str, str]) -> CheckResult:
    """The items sslyze could not test, and why: an error (the truth is unknown), of the vantage point when the
    server refused this client's connections (a cap on connections per client), never a pass by omission."""
    names = ", ".join(ITEM_NAMES.get(command, command) for command in errors)
    reasons = sorted(set(errors.values()))
    if any(THROTTLED.search(why) for why in reasons):
        why = next(w for w in reasons if THROTTLED.search(w))
        message = (
            f"not graded: {names}: the server turned this client's connections away ({why}): a limit on "
            "connections per client, not a TLS fault; grade again later (--retries paces more) or from elsewhere"
        )
        kind = "rate-limited"
    else:
        message = f"not graded: {names} ({'; '.join(reasons)[:240]})"
        kind = "not-tested"
    return Subject(check, label, Stage.TLS).result(
        Status.ERROR, message, {"not_tested": errors}, ErrorInfo(Stage.TLS, kind, message)
    )


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
