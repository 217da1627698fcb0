"""What SMTP, IMAP and POP3 share below their dialogue: the server's addresses, the TCP connection, TLS and
the certificate. Findings here are named ``<protocol>.connect``, ``<protocol>.tls``, ``<protocol>.certificate``."""

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from mailcheck.checks.transport.certificate import certificate_result
from mailcheck.context import ProbeContext
from mailcheck.model import CLEAR_TEXT_PORTS, CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.names import is_ip_address
from mailcheck.net.dns import DnsAnswer
from mailcheck.net.stream import LineConnection
from mailcheck.net.tls import TlsFacts
from mailcheck.net.trust import NO_TRUST, TrustStore
from mailcheck.runner import attempt, elapsed_ms

MODERN_TLS = ("TLSv1.2", "TLSv1.3")


@dataclass(frozen=True)
class Endpoint:
    """One server address to probe: the name the user gave, the port and one of its addresses."""

    host: str
    port: int
    address: str

    @property
    def label(self) -> str:
        """``mx1.example.com:25 (192.0.2.10)``, or ``192.0.2.10:25`` for an IP literal."""
        if self.host == self.address:
            return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"
        return f"{self.host}:{self.port} ({self.address})"

    @property
    def server_name(self) -> str | None:
        """The name for SNI and certificate checks (None for an IP literal: SNI carries no addresses)."""
        return None if is_ip_address(self.host) else self.host


async def resolve_endpoints(host: str, port: int, families: Sequence[int], ctx: ProbeContext) -> list[Endpoint]:
    """Every address of ``host`` in the wanted families (4, 6); an IP literal is its own address.

    Raises ProbeError (stage ``dns``) when no address is found, with the most telling reason.
    """
    bare = host.strip("[]")
    if is_ip_address(bare):
        return [Endpoint(bare, port, bare)]
    wanted = [("A", 4), ("AAAA", 6)]
    lookups = await asyncio.gather(
        *(attempt(ctx.dns.lookup(host, rdtype)) for rdtype, fam in wanted if fam in families)
    )
    addresses: list[str] = []
    errors: list[ProbeError] = []
    nxdomain = True
    for lookup in lookups:
        if isinstance(lookup, ProbeError):
            errors.append(lookup)
            nxdomain = False
            continue
        assert isinstance(lookup, DnsAnswer)
        nxdomain = nxdomain and lookup.nxdomain
        addresses.extend(r.to_text() for r in lookup.records)
    if addresses:
        return [Endpoint(host, port, address) for address in addresses]
    if errors:
        raise errors[0]
    families_text = " or ".join({4: "A", 6: "AAAA"}[f] for f in families)
    if nxdomain:
        raise ProbeError(Stage.DNS, "nxdomain", f"{host} does not exist (NXDOMAIN)")
    raise ProbeError(Stage.DNS, "nodata", f"{host} has no {families_text} records")


@dataclass
class TransportObservation:
    """Connection and TLS facts of one session, whatever the protocol on top."""

    endpoint: Endpoint
    connect_ms: int | None = None
    tls: TlsFacts | None = None
    discarded_plaintext: int = 0
    failure: ProbeError | None = None
    trust: TrustStore = field(default=NO_TRUST, repr=False)
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    egress_weighed: bool = False  # a connect timeout was weighed against a reference MX (checks/transport/egress)


async def open_transport(
    obs: TransportObservation, ctx: ProbeContext, implicit_tls: ssl.SSLContext | None
) -> LineConnection:
    """Connect to the observation's endpoint (timing it) and, for implicit TLS, do the handshake at once."""
    endpoint = obs.endpoint
    start = time.monotonic()
    conn = await LineConnection.open(endpoint.address, endpoint.port, ctx.timeout, ctx.transcript)
    obs.connect_ms = elapsed_ms(start)
    if implicit_tls is not None:
        try:
            obs.tls = await conn.start_tls(implicit_tls, endpoint.server_name)
        except ProbeError:
            await conn.close()
            raise
    return conn


async def upgrade_transport(obs: TransportObservation, conn: LineConnection, context: ssl.SSLContext) -> None:
    """The TLS handshake after a STARTTLS/STLS reply, recording plaintext the server pipelined before it."""
    obs.tls = await conn.start_tls(context, obs.endpoint.server_name)
    obs.discarded_plaintext = conn.discarded_plaintext


def silent_greeting_hint(failure: ProbeError, tls_mode: str, implicit_port: int, port: int) -> str:
    """What a greeting that never came most often means: on a port that speaks clear text first, an
    overloaded or tarpitting server; elsewhere, a port that expects implicit TLS."""
    if failure.stage is not Stage.GREETING or failure.kind != "timeout" or tls_mode == "implicit":
        return ""
    if port in CLEAR_TEXT_PORTS:
        return "; the server accepted the connection but never greeted: overloaded, tarpitting, or a broken proxy"
    return f"; a server expecting implicit TLS (port {implicit_port}) waits silently for the client: try --tls implicit"


def connect_finding(protocol: str, obs: TransportObservation) -> CheckResult | None:
    subject = Subject(f"{protocol}.connect", obs.endpoint.label, Stage.CONNECT, obs.connect_ms)
    failure = obs.failure
    if failure is not None and failure.stage is Stage.CONNECT:
        message = failure.message
        if failure.kind == "timeout" and obs.endpoint.port == 25 and not obs.egress_weighed:
            message += (
                "; outbound port 25 is often blocked by ISPs and cloud providers, so this may be on your side: "
                "try from another network"
            )
        return subject.failed(failure, message)
    if obs.connect_ms is None:
        return None
    return subject.result(Status.PASS, f"connected in {obs.connect_ms} ms")


def tls_finding(protocol: str, obs: TransportObservation) -> CheckResult | None:
    subject = Subject(f"{protocol}.tls", obs.endpoint.label, Stage.TLS, obs.tls.handshake_ms if obs.tls else None)
    if obs.failure is not None and obs.failure.stage is Stage.TLS:
        return subject.failed(obs.failure)
    if obs.tls is None:
        return None
    facts = obs.tls
    details = facts.to_dict()
    summary = f"{facts.version}, {facts.cipher}" + (f" ({facts.bits} bits)" if facts.bits else "")
    if facts.version not in MODERN_TLS:
        return subject.result(
            Status.WARN, f"{summary}: TLS older than 1.2 is deprecated (RFC 8996); enable TLS 1.2 and 1.3", details
        )
    return subject.result(Status.PASS, summary, details)


def certificate_finding(
    protocol: str, obs: TransportObservation, *, opportunistic: bool, insecure: bool
) -> list[CheckResult]:
    """The certificate finding and its stricter-profile lint (none when there was no TLS)."""
    if obs.tls is None:
        return []
    subject = Subject(f"{protocol}.certificate", obs.endpoint.label, Stage.CERTIFICATE)
    return certificate_result(
        subject,
        obs.tls.chain_der,
        obs.endpoint.server_name or obs.endpoint.address,
        obs.trust,
        obs.checked_at,
        opportunistic=opportunistic,
        insecure=insecure,
    )


def injection_warning(subject: Subject, obs: TransportObservation, details: dict[str, object]) -> CheckResult | None:
    """The STARTTLS/STLS finding when the server pipelined plaintext after its go-ahead (discarded before the
    handshake): a buggy server, or an attempt at command injection (CVE-2011-0411)."""
    if not obs.discarded_plaintext:
        return None
    return subject.result(
        Status.WARN,
        f"TLS upgrade accepted, but the server sent {obs.discarded_plaintext} bytes of plaintext after its reply "
        "and before the handshake (discarded: a sign of a buggy server or of command injection, CVE-2011-0411)",
        details,
        ErrorInfo(Stage.STARTTLS, "plaintext-injection", "plaintext pipelined after the STARTTLS reply"),
    )
