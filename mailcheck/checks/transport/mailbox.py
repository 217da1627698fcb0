"""``mailcheck imap`` and ``mailcheck pop3``: one mailbox-access session per address, stage by stage.

The session is the same for both protocols; :class:`~mailcheck.net.mailbox.MailboxDialect` supplies the words.
Transport (connect, TLS, certificate) is shared with SMTP through :mod:`mailcheck.checks.transport.connection`.
On these ports TLS is never opportunistic: a certificate fault is a fail (RFC 8314).
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from mailcheck.checks.transport import starttls_injection, tls_grade, tls_scan
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
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net import sasl
from mailcheck.net.mailbox import Greeting, MailboxDialect, MailboxReply
from mailcheck.net.sasl import AuthRequest
from mailcheck.net.stream import LineConnection
from mailcheck.net.tls import client_context
from mailcheck.net.trust import NO_TRUST, TrustStore, trust_store
from mailcheck.replycodes import explain_mailbox_code
from mailcheck.runner import attempt, elapsed_ms
from mailcheck.secrets import Credentials


@dataclass(frozen=True)
class MailboxOptions:
    port: int
    tls_mode: str = "starttls"  # starttls | implicit | none
    families: tuple[int, ...] = (4, 6)
    insecure: bool = False
    credentials: Credentials | None = None
    allow_plaintext_auth: bool = False
    tls_scan: bool = False
    tls_grade: bool = False  # --tls-grade: every item of the NCSC TLS guidelines, with sslyze
    tls_profile: str = "ncsc"  # --tls-profile: ncsc, mozilla-intermediate, mozilla-modern


@dataclass
class MailboxSession(TransportObservation):
    protocol: str = ""
    greeting: Greeting | None = None
    greeting_ms: int | None = None
    capabilities: tuple[str, ...] | None = None
    plaintext_login_before_tls: bool = False
    starttls_reply: MailboxReply | None = None
    capabilities_tls: tuple[str, ...] | None = None
    auth_mechanism: str | None = None
    auth_reply: MailboxReply | None = None
    auth_refused_plaintext: bool = False
    auth_withheld: str | None = None  # why the credentials were not sent: a certificate not trusted for the name
    facts: dict[str, object] | None = None


@dataclass(frozen=True)
class MailboxObservation:
    host: str
    protocol: str
    options: MailboxOptions
    sessions: tuple[MailboxSession, ...]
    scans: tuple[tls_scan.ScanObservation, ...] = ()
    grades: tuple[tls_grade.GradeObservation, ...] = ()


async def probe(
    host: str, options: MailboxOptions, dialect_factory: Callable[[], MailboxDialect], ctx: ProbeContext
) -> MailboxObservation:
    endpoints = await resolve_endpoints(host, options.port, options.families, ctx)
    trust = trust_store(ctx.ca_file) if options.tls_mode != "none" else NO_TRUST
    protocol = dialect_factory().protocol
    sessions = await asyncio.gather(*(probe_session(e, options, dialect_factory(), ctx, trust) for e in endpoints))
    scans: list[tls_scan.ScanObservation] = []
    if options.tls_scan:
        preamble = None if options.tls_mode == "implicit" else starttls_preamble(dialect_factory)
        reached = [s.endpoint for s in sessions if tls_scan.worth_scanning(s)]
        scans = await asyncio.gather(*(tls_scan.scan(e, preamble, ctx) for e in reached))
    grades: list[tls_grade.GradeObservation] = []
    if options.tls_grade:
        starttls = None if options.tls_mode == "implicit" else protocol
        preamble = None if starttls is None else starttls_preamble(dialect_factory)
        opening = None if starttls is None else injection_opening(dialect_factory)
        grades = await tls_grade.grade_sessions(
            sessions, starttls, ctx, options.tls_profile, preamble, injection=opening
        )
    return MailboxObservation(host, protocol, options, tuple(sessions), tuple(scans), tuple(grades))


def starttls_preamble(dialect_factory: Callable[[], MailboxDialect]) -> tls_scan.Preamble:
    """Greeting and STARTTLS/STLS: what a TLS scan probe does before each handshake on a clear-text port."""

    async def preamble(conn: LineConnection) -> None:
        dialect = dialect_factory()
        greeting = await dialect.greeting(conn)
        if not greeting.ok:
            raise ProbeError(Stage.GREETING, "rejected", f"the server refused the session: {greeting.text}")
        reply = await dialect.starttls(conn)
        if not reply.ok:
            raise ProbeError(Stage.STARTTLS, "rejected", f"{dialect.starttls_verb} refused: {reply}")

    return preamble


def injection_opening(dialect_factory: Callable[[], MailboxDialect]) -> starttls_injection.Opening:
    """Greeting, then STARTTLS/STLS and NOOP in one write: the STARTTLS injection test's opening."""

    async def opening(conn: LineConnection) -> bool:
        dialect = dialect_factory()
        if not (await dialect.greeting(conn)).ok:
            return False
        return (await dialect.starttls(conn, pipelined=starttls_injection.PIPELINED)).ok

    return opening


async def probe_session(
    endpoint: Endpoint,
    options: MailboxOptions,
    dialect: MailboxDialect,
    ctx: ProbeContext,
    trust: TrustStore,
) -> MailboxSession:
    obs = MailboxSession(endpoint, trust=trust, protocol=dialect.protocol)
    async with ctx.limit:
        outcome = await attempt(dialogue(obs, options, dialect, ctx))
    if isinstance(outcome, ProbeError):
        obs.failure = outcome
    return obs


async def dialogue(obs: MailboxSession, options: MailboxOptions, dialect: MailboxDialect, ctx: ProbeContext) -> None:
    tls_context = client_context()
    conn = await open_transport(obs, ctx, tls_context if options.tls_mode == "implicit" else None)
    try:
        start = time.monotonic()
        obs.greeting = await dialect.greeting(conn)
        obs.greeting_ms = elapsed_ms(start)
        if not obs.greeting.ok:
            raise ProbeError(Stage.GREETING, "rejected", f"the server refused the session: {obs.greeting.text}")
        obs.capabilities = await dialect.capabilities(conn)
        if obs.tls is None:
            obs.plaintext_login_before_tls = dialect.plaintext_login_offered(obs.capabilities)
        if options.tls_mode == "starttls":
            if not dialect.starttls_offered(obs.capabilities):
                raise ProbeError(
                    Stage.STARTTLS, "not-offered", f"{dialect.starttls_verb} not offered in the capabilities"
                )
            obs.starttls_reply = await dialect.starttls(conn)
            if not obs.starttls_reply.ok:
                raise ProbeError(Stage.STARTTLS, "rejected", f"{dialect.starttls_verb} refused: {obs.starttls_reply}")
            await upgrade_transport(obs, conn, tls_context)
            # RFC 2595 §3.1 / RFC 9051 §6.2.1: capabilities must be asked again after TLS.
            obs.capabilities_tls = await dialect.capabilities(conn)
        creds = options.credentials
        if creds is not None:
            name = obs.endpoint.server_name or obs.endpoint.address
            withheld = None
            if obs.tls is not None and not options.insecure:
                withheld = withheld_reason(obs.tls.chain_der, name, obs.trust, obs.checked_at)
            if obs.tls is None and not options.allow_plaintext_auth:
                obs.auth_refused_plaintext = True
            elif withheld is not None:
                obs.auth_withheld = withheld
            else:
                latest = obs.capabilities_tls if obs.capabilities_tls is not None else obs.capabilities
                login = AuthRequest(
                    creds,
                    binding=sasl.server_end_point(obs.tls.chain_der[0]) if obs.tls and obs.tls.chain_der else None,
                    host=obs.endpoint.server_name or obs.endpoint.address,
                    port=obs.endpoint.port,
                )
                obs.auth_mechanism, obs.auth_reply = await dialect.login(conn, login, latest, ctx.transcript)
                if obs.auth_reply.ok:
                    obs.facts = await dialect.mailbox_facts(conn)
        await attempt(dialect.logout(conn))
    finally:
        await conn.close()


# --- evaluate ----------------------------------------------------------------------------------------------


def evaluate(obs: MailboxObservation) -> list[CheckResult]:
    results: list[CheckResult] = []
    for session in obs.sessions:
        results.extend(session_findings(session, obs.options))
    asked = (obs.options.tls_scan, obs.options.tls_grade)
    results.extend(tls_grade.session_tls_findings(obs.protocol, obs.sessions, obs.scans, obs.grades, asked, True))
    return results


def session_findings(session: MailboxSession, options: MailboxOptions) -> list[CheckResult]:
    p = session.protocol
    found: list[CheckResult | None] = [connect_finding(p, session)]
    if options.tls_mode == "implicit":
        found += [
            tls_finding(p, session),
            *certificate_finding(p, session, opportunistic=False, insecure=options.insecure),
        ]
    found += [greeting_finding(session), capabilities_finding(session, options)]
    if options.tls_mode == "starttls":
        found += [
            starttls_finding(session),
            tls_finding(p, session),
            *certificate_finding(p, session, opportunistic=False, insecure=options.insecure),
            capabilities_tls_finding(session),
        ]
    token = token_finding(session.protocol, session.endpoint.label, options.credentials, session.checked_at)
    found += [token, auth_finding(session), facts_finding(session)]
    failure = session.failure
    if failure is not None and failure.stage not in (Stage.CONNECT, Stage.TLS):
        stage_id = (
            "capabilities_tls"
            if failure.stage is Stage.CAPABILITIES and session.starttls_reply
            else failure.stage.value
        )
        hint = silent_greeting_hint(failure, options.tls_mode, 993 if p == "imap" else 995, options.port)
        subject = Subject(f"{p}.{stage_id}", session.endpoint.label, failure.stage)
        found.append(subject.failed(failure, failure.message + hint))
    return [f for f in found if f is not None]


def greeting_finding(session: MailboxSession) -> CheckResult | None:
    greeting = session.greeting
    if greeting is None or not greeting.ok:
        return None
    subject = Subject(f"{session.protocol}.greeting", session.endpoint.label, Stage.GREETING, session.greeting_ms)
    details = {"text": greeting.text, "preauth": greeting.preauth, "capabilities": list(greeting.capabilities or ())}
    if greeting.preauth:
        return subject.result(
            Status.WARN, f"PREAUTH: the server logged the connection in without credentials: {greeting.text}", details
        )
    return subject.result(Status.PASS, f"ready in {session.greeting_ms} ms: {greeting.text}", details)


def capabilities_finding(session: MailboxSession, options: MailboxOptions) -> CheckResult | None:
    caps = session.capabilities
    if caps is None:
        return None
    subject = Subject(f"{session.protocol}.capabilities", session.endpoint.label, Stage.CAPABILITIES)
    details = {"capabilities": list(caps)}
    shown = ", ".join(caps) or "none (CAPA not supported)"
    if session.plaintext_login_before_tls and options.tls_mode != "none":
        return subject.result(
            Status.WARN,
            f"{shown}; login with a password is offered before TLS, inviting clients to send it in clear "
            "(advertise LOGINDISABLED / withhold USER until TLS)",
            details,
        )
    return subject.result(Status.PASS, shown, details)


def starttls_finding(session: MailboxSession) -> CheckResult | None:
    reply = session.starttls_reply
    if reply is None or not reply.ok:
        return None
    subject = Subject(f"{session.protocol}.starttls", session.endpoint.label, Stage.STARTTLS)
    details: dict[str, object] = {"reply": str(reply), "discarded_plaintext_bytes": session.discarded_plaintext}
    implicit_port = 993 if session.protocol == "imap" else 995
    note = f" (RFC 8314 recommends implicit TLS on port {implicit_port} for mail access)"
    return injection_warning(subject, session, details) or subject.result(
        Status.PASS, f"offered and accepted: {reply}{note}", details
    )


def capabilities_tls_finding(session: MailboxSession) -> CheckResult | None:
    if session.capabilities_tls is None or session.capabilities is None:
        return None
    subject = Subject(f"{session.protocol}.capabilities_tls", session.endpoint.label, Stage.CAPABILITIES)
    before, after = set(session.capabilities), set(session.capabilities_tls)
    gained, lost = sorted(after - before), sorted(before - after - {"STARTTLS", "STLS", "LOGINDISABLED"})
    details = {"capabilities": list(session.capabilities_tls), "gained": gained, "lost": lost}
    changes = "; ".join(
        part
        for part in (f"gained {', '.join(gained)}" if gained else "", f"lost {', '.join(lost)}" if lost else "")
        if part
    )
    return subject.result(
        Status.PASS,
        f"after TLS: {', '.join(session.capabilities_tls) or 'none'}" + (f" ({changes})" if changes else ""),
        details,
    )


def auth_finding(session: MailboxSession) -> CheckResult | None:
    subject = Subject(f"{session.protocol}.auth", session.endpoint.label, Stage.AUTH)
    if session.auth_refused_plaintext:
        message = "refused to send credentials without TLS (pass --allow-plaintext-auth to allow it)"
        return subject.result(Status.FAIL, message, {}, ErrorInfo(Stage.AUTH, "plaintext-refused", message))
    if session.auth_withheld:
        message = session.auth_withheld
        return subject.result(Status.FAIL, message, {}, ErrorInfo(Stage.AUTH, "withheld", message))
    reply = session.auth_reply
    if reply is None:
        return None
    details: dict[str, object] = {"mechanism": session.auth_mechanism, "reply": str(reply), "code": reply.code}
    outcome = reply.sasl
    if outcome is not None and outcome.error is not None:
        details["server_error"] = outcome.error
    if outcome is not None and outcome.fault:
        return subject.result(Status.FAIL, outcome.fault, details, ErrorInfo(Stage.AUTH, "sasl-fault", outcome.fault))
    if reply.code == "NOT-OFFERED":
        return subject.result(Status.FAIL, reply.text, details, ErrorInfo(Stage.AUTH, "not-offered", reply.text))
    if reply.ok:
        mechanism = (session.auth_mechanism or "").split()[-1]
        return subject.result(
            Status.PASS, f"{session.auth_mechanism} accepted: {reply.text}{sasl.legacy_note(mechanism)}", details
        )
    kind, meaning = explain_mailbox_code(reply.code)
    message = f"{session.auth_mechanism} rejected: {reply}" + (f" ({meaning})" if meaning else "")
    if outcome is not None:
        message += outcome.error_note()
    return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.AUTH, kind, message))


def facts_finding(session: MailboxSession) -> CheckResult | None:
    if session.facts is None:
        return None
    subject = Subject(f"{session.protocol}.mailbox", session.endpoint.label, Stage.AUTH)
    facts = session.facts
    if "messages" in facts:
        return subject.result(
            Status.INFO, f"{facts['mailbox']} holds {facts['messages']} messages (looked at read-only)", facts
        )
    return subject.result(
        Status.WARN, f"could not read the {facts['mailbox']}: {facts.get('error', 'no count given')}", facts
    )
