"""``mailcheck smtp``: one SMTP session per address, walked stage by stage (RFC 5321, RFC 3207 STARTTLS,
RFC 8314 implicit TLS, RFC 4954 AUTH). Never sends DATA: the probe sends no mail."""

import asyncio
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mailcheck.checks.transport import egress, starttls_injection, tls_grade, tls_scan
from mailcheck.checks.transport.auth_token import token_finding
from mailcheck.checks.transport.certificate import withheld_reason
from mailcheck.checks.transport.connection import (
    Endpoint,
    TransportObservation,
    certificate_finding,
    connect_finding,
    injection_warning,
    open_transport,
    resolve_endpoints,
    silent_greeting_hint,
    tls_finding,
    upgrade_transport,
)
from mailcheck.checks.transport.vantage import said_once
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net import sasl
from mailcheck.net.dns import DnsAnswer
from mailcheck.net.sasl import AuthRequest
from mailcheck.net.smtp import SmtpReply, SmtpSasl, auth_mechanisms, command, ehlo_keywords, read_reply
from mailcheck.net.stream import LineConnection
from mailcheck.net.tls import client_context
from mailcheck.net.trust import NO_TRUST, TrustStore, trust_store
from mailcheck.runner import attempt, elapsed_ms
from mailcheck.secrets import Credentials

SUBMISSION_PORTS = (465, 587)
REPORTED_EXTENSIONS = (
    "SIZE",
    "PIPELINING",
    "STARTTLS",
    "AUTH",
    "8BITMIME",
    "SMTPUTF8",
    "CHUNKING",
    "ENHANCEDSTATUSCODES",
    "REQUIRETLS",
    "DSN",
)


@dataclass(frozen=True)
class SmtpOptions:
    port: int = 25
    tls_mode: str = "starttls"  # starttls | implicit | none
    helo: str | None = None
    families: tuple[int, ...] = (4, 6)
    insecure: bool = False
    opportunistic: bool | None = None  # None: opportunistic on port 25
    credentials: Credentials | None = None
    allow_plaintext_auth: bool = False
    mail_from: str | None = None
    rcpt_to: tuple[str, ...] = ()
    relay_test: bool = False
    tls_scan: bool = False
    tls_grade: bool = False  # --tls-grade: every item of the NCSC TLS guidelines, with sslyze
    tls_profile: str = "ncsc"  # --tls-profile: ncsc, mozilla-intermediate, mozilla-modern
    egress_check: bool = False  # on connect timeouts, ask a reference MX whether the port is blocked from here
    reference_mx: tuple[tuple[str, int], ...] = ()  # --reference-mx (host, port or 0); () = the default providers
    retries: int = 1  # --retries: sessions asked again (after a backoff) when the server throttles this client

    @property
    def shareable(self) -> bool:
        """A session with nothing user-specific in it (no AUTH, envelope or relay test) can be shared by
        every domain whose MX is this server."""
        return self.credentials is None and self.mail_from is None and not self.rcpt_to and not self.relay_test

    @property
    def is_opportunistic(self) -> bool:
        return self.port == 25 if self.opportunistic is None else self.opportunistic


@dataclass
class AuthObservation:
    offered: list[str]
    mechanism: str | None = None
    reply: SmtpReply | None = None
    refused_plaintext: bool = False
    not_offered: str = ""  # why no mechanism fits, in words
    withheld: str = ""  # why the credentials were not sent (a certificate not trusted for the server's name)
    sasl: "sasl.Outcome | None" = None  # the exchange's details: the decoded error, a client-side fault


@dataclass
class SessionObservation(TransportObservation):
    """What one SMTP session to one address showed, stage by stage, up to where it stopped."""

    helo_name: str = ""
    ptr_names: tuple[str, ...] = ()
    greeting: SmtpReply | None = None
    greeting_ms: int | None = None
    ehlo: SmtpReply | None = None
    helo_fallback: bool = False
    ehlo_ms: int | None = None
    starttls: SmtpReply | None = None
    starttls_ms: int | None = None
    ehlo_tls: SmtpReply | None = None
    throttled: tuple[str, ...] = ()  # the throttling replies of earlier attempts, when a retry got through
    auth: AuthObservation | None = None
    envelope: list[tuple[str, SmtpReply]] = field(default_factory=list)
    relay: list[tuple[str, SmtpReply]] = field(default_factory=list)  # the --relay-test dialogue


@dataclass(frozen=True)
class SmtpObservation:
    host: str
    options: SmtpOptions
    sessions: tuple[SessionObservation, ...]
    scans: tuple[tls_scan.ScanObservation, ...] = ()
    grades: tuple[tls_grade.GradeObservation, ...] = ()


# --- probe -------------------------------------------------------------------------------------------------


async def probe(host: str, options: SmtpOptions, ctx: ProbeContext) -> SmtpObservation:
    """Resolve ``host`` and run one session per address, concurrently."""
    endpoints = await resolve_endpoints(host, options.port, options.families, ctx)
    trust = trust_store(ctx.ca_file) if options.tls_mode != "none" else NO_TRUST

    async def limited(endpoint: Endpoint) -> SessionObservation:
        async with ctx.host_gate(endpoint.address):
            obs = await probe_session(endpoint, options, ctx, trust)
        if options.egress_check:
            await weigh_connect_timeout(obs, options, ctx)
        return obs

    async def session(endpoint: Endpoint) -> SessionObservation:
        if not options.shareable:
            return await limited(endpoint)
        key = ("smtp", endpoint.label, options.tls_mode, options.helo)
        return await ctx.once(key, lambda: limited(endpoint))

    sessions = await asyncio.gather(*(session(e) for e in endpoints))
    scans: list[tls_scan.ScanObservation] = []
    if options.tls_scan:
        preamble = None if options.tls_mode == "implicit" else starttls_preamble
        reached = [s.endpoint for s in sessions if tls_scan.worth_scanning(s)]

        async def scan(endpoint: Endpoint) -> tls_scan.ScanObservation:
            key = ("tls-scan", endpoint.label, options.tls_mode)
            return await ctx.once(key, lambda: tls_scan.scan(endpoint, preamble, ctx))

        scans = list(await asyncio.gather(*(scan(e) for e in reached)))
    grades: list[tls_grade.GradeObservation] = []
    if options.tls_grade:
        starttls = None if options.tls_mode == "implicit" else "smtp"
        preamble = None if starttls is None else starttls_preamble
        opening = None if starttls is None else starttls_injection.smtp_opening
        grades = await tls_grade.grade_sessions(
            sessions, starttls, ctx, options.tls_profile, preamble, options.retries, opening
        )
    return SmtpObservation(host, options, tuple(sessions), tuple(scans), tuple(grades))


async def weigh_connect_timeout(session: SessionObservation, options: SmtpOptions, ctx: ProbeContext) -> None:
    """A connect timeout told apart: this network blocks the port (a reference MX, asked once per run, times
    out too: an error of the vantage point) or the server is down (a reference answers: the failure stands, and
    says so). Part of the session's shared probe, so a session that many domains share is weighed once."""
    failure = session.failure
    if failure is None or failure.stage is not Stage.CONNECT or failure.kind != "timeout":
        return
    verdict = await egress.port_verdict(options.port, options.reference_mx, ctx)
    session.egress_weighed = verdict.state != "unknown"
    if verdict.blocked:
        session.failure = egress.egress_error(failure, verdict)
    elif verdict.state == "reachable":
        session.failure = ProbeError(Stage.CONNECT, "timeout", failure.message + egress.server_down_note(verdict))


async def starttls_preamble(conn: LineConnection) -> None:
    """Greeting, EHLO and STARTTLS: what a TLS scan probe does before each handshake on a STARTTLS port."""
    greeting = await read_reply(conn, Stage.GREETING)
    if greeting.code != 220:
        raise greeting_refusal(greeting)
    await greet(conn, default_helo(conn))
    reply = await command(conn, "STARTTLS", Stage.STARTTLS)
    if reply.code != 220:
        raise ProbeError(Stage.STARTTLS, "rejected", f"STARTTLS refused: {reply}")


RETRY_BACKOFF = 2.0  # seconds before the first retry of a throttled session; doubled for each further one


async def probe_session(
    endpoint: Endpoint, options: SmtpOptions, ctx: ProbeContext, trust: TrustStore
) -> SessionObservation:
    """One session to ENDPOINT; a session the server throttles is asked again up to ``options.retries`` times,
    after a backoff that stays within the --timeout budget (RFC 5321 §4.5.4.1: clients wait before retrying)."""
    ptr = asyncio.ensure_future(attempt(ctx.dns.reverse(endpoint.address)))
    throttled: list[str] = []
    for retry in range(options.retries + 1):
        obs = SessionObservation(endpoint, trust=trust)
        async with ctx.limit:
            outcome = await attempt(dialogue(obs, options, ctx))
        if isinstance(outcome, ProbeError):
            obs.failure = outcome
        if obs.failure is None or obs.failure.kind != "rate-limited" or retry == options.retries:
            break
        throttled.append(obs.failure.message.split("; it is up")[0])
        await asyncio.sleep(min(RETRY_BACKOFF * 2**retry, ctx.timeout))
    if throttled and obs.failure is not None and obs.failure.kind == "rate-limited":
        tries = len(throttled) + 1
        message = f"{obs.failure.message} (throttled on all {tries} attempts, the last after a backoff)"
        obs.failure = ProbeError(obs.failure.stage, "rate-limited", message, unknown=True)
    else:
        obs.throttled = tuple(throttled)
    answer = await ptr
    if isinstance(answer, DnsAnswer):
        obs.ptr_names = tuple(r.to_text().rstrip(".").lower() for r in answer.records)
    return obs


def default_helo(conn: LineConnection) -> str:
    """An address literal of our own end of the connection: always valid EHLO syntax (RFC 5321 §4.1.3),
    and honest, unlike a made-up host name. Looking up our own FQDN could block on a slow resolver."""
    local = conn.writer.get_extra_info("sockname")
    address = str(local[0]) if local else "127.0.0.1"
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


AfterAuth = Callable[[LineConnection], Awaitable[None]]


async def dialogue(
    obs: SessionObservation, options: SmtpOptions, ctx: ProbeContext, after_auth: AfterAuth | None = None
) -> None:
    """connect → greeting → EHLO → STARTTLS → EHLO → AUTH, then ``after_auth`` (roundtrip sends its message
    there) or the envelope test, then QUIT."""
    tls_context = client_context()
    conn = await open_transport(obs, ctx, tls_context if options.tls_mode == "implicit" else None)
    try:
        start = time.monotonic()
        obs.greeting = await read_reply(conn, Stage.GREETING)
        obs.greeting_ms = elapsed_ms(start)
        if obs.greeting.code != 220:
            raise greeting_refusal(obs.greeting)
        obs.helo_name = options.helo or default_helo(conn)
        start = time.monotonic()
        obs.ehlo, obs.helo_fallback = await greet(conn, obs.helo_name)
        obs.ehlo_ms = elapsed_ms(start)
        if options.tls_mode == "starttls":
            await starttls(conn, obs, tls_context)
        if options.credentials is not None:
            obs.auth = await authenticate(conn, obs, options, ctx)
        if after_auth is not None:
            await after_auth(conn)
        elif options.relay_test:
            await relay_probe(conn, obs)
        elif options.mail_from is not None or options.rcpt_to:
            await envelope(conn, obs, options)
        await attempt(command(conn, "QUIT", Stage.ENVELOPE))
    finally:
        await conn.close()


# How providers say "not now, not you" at the greeting: Gmail 421-4.7.28 and 421 4.7.0, Microsoft 451 4.7.500
# "Server busy", Postfix 421 4.7.0 "Too many connections", and throttling phrased in words under other codes.
# Deferrals of a first-time sender: greylisting (RFC 6647) and postscreen's "450 4.3.2 Service currently
# unavailable"; not a broken server.
_DEFERRAL = re.compile(r"4\.2\.0|4\.3\.2|grey|gray|greylist|try again later|come back|postscreen|"
                       r"currently unavailable|deferred", re.I)  # fmt: skip
_AUTH_FIRST = re.compile(r"5\.7\.0|5\.7\.1|auth|log ?in|must issue", re.I)
_THROTTLE_WORDS = re.compile(r"too many|rate.?limit|busy|throttl|try (again )?later|too fast|slow down", re.I)


def throttling(reply: SmtpReply, stage: Stage) -> ProbeError | None:
    """A 421/450/451 that throttles this client (a 4.7.x code, or words such as "too many connections", "server
    busy", "try again later"): ``rate-limited``, an error of the vantage point: the server is up and says "not
    now". None for any other reply."""
    enhanced = reply.enhanced or ""
    if reply.code in (421, 450, 451) and (enhanced.startswith("4.7.") or _THROTTLE_WORDS.search(reply.text)):
        return ProbeError(
            stage,
            "rate-limited",
            f"the server is throttling this client: {reply}; it is up, and the domain is not at fault: try again "
            "later, or with --per-host 1",
            unknown=True,
        )
    return None


def greeting_refusal(reply: SmtpReply) -> ProbeError:
    """A greeting other than 220: throttling (``rate-limited``) or a refusal of the session (``rejected``)."""
    return throttling(reply, Stage.GREETING) or ProbeError(
        Stage.GREETING, "rejected", f"the server refused the session: {reply}"
    )


async def greet(conn: LineConnection, helo: str) -> tuple[SmtpReply, bool]:
    """EHLO, falling back to HELO only when EHLO is rejected as unknown (5xx)."""
    reply = await command(conn, f"EHLO {helo}", Stage.CAPABILITIES)
    if reply.ok:
        return reply, False
    throttled = throttling(reply, Stage.CAPABILITIES)
    if throttled is not None:
        raise throttled
    if 500 <= reply.code <= 504:
        fallback = await command(conn, f"HELO {helo}", Stage.CAPABILITIES)
        if fallback.ok:
            return fallback, True
        reply = fallback
    raise ProbeError(Stage.CAPABILITIES, "rejected", f"the server rejected EHLO and HELO: {reply}")


async def starttls(conn: LineConnection, obs: SessionObservation, tls_context: ssl.SSLContext) -> None:
    assert obs.ehlo is not None
    if "STARTTLS" not in ehlo_keywords(obs.ehlo):
        raise ProbeError(Stage.STARTTLS, "not-offered", "STARTTLS not offered in the EHLO reply")
    start = time.monotonic()
    obs.starttls = await command(conn, "STARTTLS", Stage.STARTTLS)
    obs.starttls_ms = elapsed_ms(start)
    if obs.starttls.code != 220:
        kind = "unavailable" if obs.starttls.code == 454 else "rejected"
        raise ProbeError(Stage.STARTTLS, kind, f"STARTTLS refused: {obs.starttls} — {obs.starttls.gist()}")
    await upgrade_transport(obs, conn, tls_context)
    # RFC 3207 §4.2: the client must forget what it knew and ask again.
    obs.ehlo_tls = await command(conn, f"EHLO {obs.helo_name}", Stage.CAPABILITIES)
    if not obs.ehlo_tls.ok:
        raise ProbeError(Stage.CAPABILITIES, "rejected", f"EHLO after STARTTLS rejected: {obs.ehlo_tls}")


async def authenticate(
    conn: LineConnection, obs: SessionObservation, options: SmtpOptions, ctx: ProbeContext
) -> AuthObservation:
    """AUTH with the strongest SASL mechanism both sides have (or --auth-mech), secrets masked in the
    transcript; refuses to send credentials without TLS unless the user allowed plaintext credentials."""
    creds = options.credentials
    assert creds is not None
    latest = obs.ehlo_tls or obs.ehlo
    assert latest is not None
    offered = auth_mechanisms(ehlo_keywords(latest))
    if obs.tls is None and not options.allow_plaintext_auth:
        return AuthObservation(offered, refused_plaintext=True)
    chain = obs.tls.chain_der if obs.tls else ()
    server = obs.endpoint.server_name or obs.endpoint.address
    if obs.tls is not None and not options.insecure:
        withheld = withheld_reason(chain, server, obs.trust, obs.checked_at)
        if withheld is not None:
            return AuthObservation(offered, withheld=withheld)
    login = AuthRequest(creds, sasl.server_end_point(chain[0]) if chain else None, obs.endpoint.host, obs.endpoint.port)
    mechanism, why = login.mechanism(offered, True)
    if mechanism is None:
        return AuthObservation(offered, not_offered=why)
    carrier = SmtpSasl(conn)
    outcome = await sasl.exchange(login.make(mechanism), carrier, True, ctx.transcript.add_secret)
    return AuthObservation(offered, mechanism, carrier.last, sasl=outcome)


async def envelope(conn: LineConnection, obs: SessionObservation, options: SmtpOptions) -> None:
    """MAIL FROM and each RCPT TO, then RSET: the server tells whether it would take the mail; no DATA."""
    sender = options.mail_from or ""
    mail = f"MAIL FROM:<{sender}>"
    reply = await command(conn, mail, Stage.ENVELOPE)
    obs.envelope.append((mail, reply))
    if reply.ok:
        for rcpt in options.rcpt_to:
            line = f"RCPT TO:<{rcpt}>"
            obs.envelope.append((line, await command(conn, line, Stage.ENVELOPE)))
    await command(conn, "RSET", Stage.ENVELOPE)


# RFC 2606 names: a sender and a recipient at domains no real server is responsible for
RELAY_SENDER = "relay-test@mailcheck.example"
RELAY_RECIPIENT = "relay-test@relay-check.example.net"


async def relay_probe(conn: LineConnection, obs: SessionObservation) -> None:
    """Would the server relay for a stranger? MAIL FROM and RCPT TO foreign addresses, never DATA, then RSET."""
    mail = f"MAIL FROM:<{RELAY_SENDER}>"
    reply = await command(conn, mail, Stage.ENVELOPE)
    obs.relay.append((mail, reply))
    if reply.ok:
        rcpt = f"RCPT TO:<{RELAY_RECIPIENT}>"
        obs.relay.append((rcpt, await command(conn, rcpt, Stage.ENVELOPE)))
    await command(conn, "RSET", Stage.ENVELOPE)


def relay_finding(session: SessionObservation) -> CheckResult | None:
    if not session.relay:
        return None
    subject = Subject("smtp.relay", session.endpoint.label, Stage.ENVELOPE)
    sent, reply = session.relay[-1]
    details = {"dialogue": [{"command": c, "reply": r.to_dict()} for c, r in session.relay]}
    if sent.startswith("RCPT") and reply.ok:
        message = (
            f"open relay: the server accepted {sent} for a domain it does not serve ({reply}); spammers will use it "
            "and blocklists will list it — allow relaying only to authenticated clients and your own networks"
        )
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.ENVELOPE, "open-relay", message))
    if sent.startswith("RCPT"):
        return subject.result(Status.PASS, f"relaying refused: {sent} answered {reply}", details)
    if reply.code in (530, 550, 553, 554) and _AUTH_FIRST.search(f"{reply.enhanced} {reply}"):
        # OpenSMTPD: "530 5.5.1 Invalid command: Must issue an AUTH command first"; a stranger gets nothing
        refused = f"relaying refused: strangers must log in first ({sent} answered {reply})"
        return subject.result(Status.PASS, refused, details)
    message = f"the relay test could not start: {sent} answered {reply}"
    return subject.result(Status.INFO, message, details)


# --- evaluate ----------------------------------------------------------------------------------------------


def evaluate(obs: SmtpObservation) -> list[CheckResult]:
    results: list[CheckResult] = []
    for session in obs.sessions:
        results.extend(session_findings(session, obs.options))
    asked = (obs.options.tls_scan, obs.options.tls_grade)
    required = not obs.options.is_opportunistic
    results.extend(tls_grade.session_tls_findings("smtp", obs.sessions, obs.scans, obs.grades, asked, required))
    return said_once(results)


def failure_id(session: SessionObservation) -> str:
    """Which check a failure belongs to: the stage, told apart for the EHLO after STARTTLS."""
    assert session.failure is not None
    stage = session.failure.stage
    if stage is Stage.CAPABILITIES:
        return "smtp.ehlo_tls" if session.starttls is not None else "smtp.ehlo"
    return {
        Stage.GREETING: "smtp.greeting",
        Stage.STARTTLS: "smtp.starttls",
        Stage.AUTH: "smtp.auth",
        Stage.ENVELOPE: "smtp.envelope",
    }.get(stage, f"smtp.{stage.value}")


def session_findings(session: SessionObservation, options: SmtpOptions) -> list[CheckResult]:
    found: list[CheckResult | None] = [connect_finding("smtp", session)]
    if options.tls_mode == "implicit":
        found.append(tls_finding("smtp", session))
        found.extend(certificate_finding("smtp", session, opportunistic=False, insecure=options.insecure))
    found.append(greeting_finding(session, options))
    found.append(ehlo_finding(session, options))
    if options.tls_mode == "starttls":
        found.append(starttls_finding(session))
        found.append(tls_finding("smtp", session))
        found.extend(
            certificate_finding("smtp", session, opportunistic=options.is_opportunistic, insecure=options.insecure)
        )
        found.append(ehlo_tls_finding(session, options))
    found.append(token_finding("smtp", session.endpoint.label, options.credentials, session.checked_at))
    found.append(auth_finding(session))
    found.extend(envelope_findings(session))
    found.append(relay_finding(session))
    failure = session.failure
    if failure is not None and failure.stage not in (Stage.CONNECT, Stage.TLS):
        found.append(stage_failure(session, options))
    return [f for f in found if f is not None]


def stage_failure(session: SessionObservation, options: SmtpOptions) -> CheckResult:
    failure = session.failure
    assert failure is not None
    subject = Subject(failure_id(session), session.endpoint.label, failure.stage)
    message = failure.message
    details: dict[str, object] = {}
    if failure.stage is Stage.GREETING and session.greeting is not None:
        details["reply"] = session.greeting.to_dict()
        message = f"{message} — {session.greeting.gist()}"
    message += silent_greeting_hint(failure, options.tls_mode, 465, options.port)
    return subject.failed(failure, message, details)


def _banner_host(reply: SmtpReply) -> str:
    return reply.lines[0].split(" ", 1)[0].lower().rstrip(".") if reply.lines and reply.lines[0] else ""


def greeting_finding(session: SessionObservation, options: SmtpOptions) -> CheckResult | None:
    reply = session.greeting
    if reply is None or reply.code != 220:
        return None
    subject = Subject("smtp.greeting", session.endpoint.label, Stage.GREETING, session.greeting_ms)
    banner_host = _banner_host(reply)
    details = {
        "reply": reply.to_dict(),
        "banner_host": banner_host,
        "ptr": list(session.ptr_names),
        "time_to_banner_ms": session.greeting_ms,
    }
    summary = f"220 in {session.greeting_ms} ms: {reply.lines[0]}" + _screening_note(session)
    if session.throttled:
        summary += f" (after a backoff: the first attempt was throttled: {session.throttled[0]})"
        details["throttled_first"] = list(session.throttled)
    details["greeting_delayed"] = bool(session.greeting_ms and session.greeting_ms >= SCREENING_MS)
    names = {session.endpoint.host.lower(), *session.ptr_names}
    if banner_host and session.endpoint.host == session.endpoint.address and not session.ptr_names:
        # asked by address, and the address has no PTR: nothing to compare the banner with; that is the fact
        details["ptr_missing"] = True
        return subject.result(
            Status.PASS, f"{summary} (the address has no PTR record to match the banner with)", details
        )
    if banner_host and banner_host not in names:
        known = ", ".join(sorted(names - {session.endpoint.address}))
        return subject.result(
            Status.INFO,
            f"{summary} (banner names {banner_host}, not {known or 'the host'}; RFC 5321 §4.3.1 expects the "
            "server's own name, though load balancers often differ)",
            details,
        )
    return subject.result(Status.PASS, summary, details)


SCREENING_MS = 1500  # a greeting this late is held on purpose (screening) or by load, not lost


def _screening_note(session: SessionObservation) -> str:
    """A late greeting, said as what it most often is: Postfix postscreen (or a similar screen) sends a 220-
    line, holds the rest back for a few seconds and rejects clients that talk first; mailcheck waited."""
    if session.greeting is None or not session.greeting_ms or session.greeting_ms < SCREENING_MS:
        return ""
    seconds = f"{session.greeting_ms / 1000:.1f}"
    if len(session.greeting.lines) > 1:
        why = "postscreen-style screening: the end of a multi-line 220 held back to catch clients that talk first"
    else:
        why = "the server waits before greeting: screening or load"
    return f" (greeting delayed {seconds} s: {why}; mailcheck waited and did not talk first)"


def _extension_summary(extensions: dict[str, str]) -> str:
    shown = [f"{k} {extensions[k]}".strip() for k in REPORTED_EXTENSIONS if k in extensions]
    others = sorted(set(extensions) - set(REPORTED_EXTENSIONS))
    return ", ".join(shown + others) or "no extensions"


def ehlo_finding(session: SessionObservation, options: SmtpOptions) -> CheckResult | None:
    reply = session.ehlo
    if reply is None:
        return None
    subject = Subject("smtp.ehlo", session.endpoint.label, Stage.CAPABILITIES, session.ehlo_ms)
    extensions = ehlo_keywords(reply) if not session.helo_fallback else {}
    details = {"helo": session.helo_name, "extensions": extensions, "helo_fallback": session.helo_fallback}
    if session.helo_fallback:
        return subject.result(
            Status.WARN,
            "EHLO rejected, HELO accepted: the server speaks no ESMTP, so no STARTTLS, SIZE or AUTH",
            details,
        )
    summary = f"EHLO {session.helo_name}: {_extension_summary(extensions)}"
    # In STARTTLS and plain modes the first EHLO is always in clear; with implicit TLS it is inside TLS.
    if "AUTH" in extensions and options.tls_mode != "implicit":
        return subject.result(
            Status.WARN,
            f"{summary}; AUTH is offered before TLS, inviting clients to send passwords in clear (RFC 8314 §3)",
            details,
        )
    return subject.result(Status.PASS, summary, details)


def starttls_finding(session: SessionObservation) -> CheckResult | None:
    reply = session.starttls
    if reply is None or reply.code != 220:
        return None
    subject = Subject("smtp.starttls", session.endpoint.label, Stage.STARTTLS, session.starttls_ms)
    details = {"reply": reply.to_dict(), "discarded_plaintext_bytes": session.discarded_plaintext}
    return injection_warning(subject, session, details) or subject.result(
        Status.PASS, f"STARTTLS offered and accepted: {reply}", details
    )


def ehlo_tls_finding(session: SessionObservation, options: SmtpOptions) -> CheckResult | None:
    if session.ehlo_tls is None or session.ehlo is None:
        return None
    subject = Subject("smtp.ehlo_tls", session.endpoint.label, Stage.CAPABILITIES)
    before, after = ehlo_keywords(session.ehlo), ehlo_keywords(session.ehlo_tls)
    gained = sorted(set(after) - set(before))
    lost = sorted(set(before) - set(after) - {"STARTTLS"})
    details = {"extensions": after, "gained": gained, "lost": lost}
    changes = []
    if gained:
        changes.append(f"gained {', '.join(gained)}")
    if lost:
        changes.append(f"lost {', '.join(lost)}")
    summary = f"after TLS: {_extension_summary(after)}" + (f" ({'; '.join(changes)})" if changes else "")
    if "STARTTLS" in after:
        return subject.result(Status.WARN, f"{summary}; STARTTLS still offered inside TLS (RFC 3207 §4.2)", details)
    if options.port in SUBMISSION_PORTS and "AUTH" not in after and options.credentials is None:
        return subject.result(Status.INFO, f"{summary}; no AUTH offered on a submission port", details)
    if "AUTH" in gained:
        summary += "; AUTH offered only inside TLS, as it should be"
    return subject.result(Status.PASS, summary, details)


AUTH_REPLIES = {
    535: ("auth-failed", "the server rejected the user name or password"),
    534: ("mechanism-too-weak", "the server wants a stronger authentication mechanism"),
    538: ("encryption-required", "the server requires encryption for this mechanism"),
    454: ("temporary", "temporary authentication failure on the server; try again later"),
    504: ("not-offered", "the server does not implement this mechanism"),
    530: ("auth-failed", "authentication required"),
}


def auth_finding(session: SessionObservation) -> CheckResult | None:
    auth = session.auth
    if auth is None:
        return None
    subject = Subject("smtp.auth", session.endpoint.label, Stage.AUTH)
    details: dict[str, object] = {"offered": auth.offered, "mechanism": auth.mechanism}
    if auth.refused_plaintext:
        message = "refused to send credentials without TLS (pass --allow-plaintext-auth to allow it)"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.AUTH, "plaintext-refused", message))
    if auth.withheld:
        return subject.result(Status.FAIL, auth.withheld, details, ErrorInfo(Stage.AUTH, "withheld", auth.withheld))
    if auth.mechanism is None or auth.reply is None:
        message = auth.not_offered or f"no AUTH mechanism offered ({', '.join(auth.offered) or 'AUTH not offered'})"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.AUTH, "not-offered", message))
    reply = auth.reply
    details["reply"] = reply.to_dict()
    outcome = auth.sasl
    if outcome is not None and outcome.error is not None:
        details["server_error"] = outcome.error
    if outcome is not None and outcome.fault:
        return subject.result(Status.FAIL, outcome.fault, details, ErrorInfo(Stage.AUTH, "sasl-fault", outcome.fault))
    if reply.code == 235:
        legacy = sasl.legacy_note(auth.mechanism)
        return subject.result(Status.PASS, f"AUTH {auth.mechanism} accepted: {reply}{legacy}", details)
    kind, words = AUTH_REPLIES.get(reply.code, ("auth-failed", reply.meaning()))
    message = f"AUTH {auth.mechanism}: {reply} ({words})"
    if outcome is not None:
        message += outcome.error_note()
    return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.AUTH, kind, message))


def envelope_findings(session: SessionObservation) -> list[CheckResult]:
    results = []
    for sent, reply in session.envelope:
        subject = Subject("smtp.envelope", session.endpoint.label, Stage.ENVELOPE)
        details = {"command": sent, "reply": reply.to_dict()}
        if reply.ok:
            results.append(subject.result(Status.PASS, f"{sent}: {reply}", details))
            continue
        message = f"{sent}: {reply} — {reply.gist()}"
        if reply.code in (450, 451) and sent.startswith("RCPT") and _DEFERRAL.search(f"{reply.enhanced} {reply}"):
            deferred = (
                f"{sent}: {reply}: the server defers this sender for now, by greylisting or screening (Postfix "
                "postscreen answers 450 4.3.2 until the client comes back): a real sender retries and gets "
                "through; not a fault of the server or the domain"
            )
            results.append(
                subject.result(Status.INFO, deferred, details, ErrorInfo(Stage.ENVELOPE, "greylisted", deferred))
            )
            continue
        if 400 <= reply.code < 500:
            hint = " (greylisting: a real sender retries later and gets through)" if reply.code in (450, 451) else ""
            results.append(
                subject.result(Status.WARN, message + hint, details, ErrorInfo(Stage.ENVELOPE, "temporary", message))
            )
        else:
            results.append(
                subject.result(Status.FAIL, message, details, ErrorInfo(Stage.ENVELOPE, "rejected", message))
            )
    return results
