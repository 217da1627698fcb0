"""``mailcheck roundtrip``: is mail flowing, and how fast? Submit a uniquely tagged message, poll the mailbox
over IMAP until it arrives or the deadline passes, read its trace and authentication results, and delete
exactly that message."""

import asyncio
import datetime as dt
import email.utils
import time
import uuid
from dataclasses import dataclass, field

from mailcheck.checks.message import headers as headers_check
from mailcheck.checks.transport import smtp as smtp_check
from mailcheck.checks.transport.connection import resolve_endpoints
from mailcheck.checks.transport.imap_session import open_mailbox
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.smtp import SmtpReply, command
from mailcheck.net.stream import LineConnection
from mailcheck.net.trust import trust_store
from mailcheck.runner import attempt, elapsed_ms
from mailcheck.secrets import Credentials

TOKEN_HEADER = "X-Mailcheck-Roundtrip"


@dataclass(frozen=True)
class RoundtripOptions:
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    imap_host: str
    imap_port: int
    imap_tls: str
    smtp_credentials: Credentials
    imap_credentials: Credentials
    mail_from: str
    rcpt_to: str
    deadline: float = 120.0
    poll_interval: float = 1.0


@dataclass
class RoundtripObservation:
    token: str
    submission: smtp_check.SessionObservation | ProbeError | None = None
    data_reply: SmtpReply | None = None
    submitted_at: float | None = None
    mailbox: ProbeError | None = None
    delivered_ms: int | None = None
    headers: bytes | None = None
    deleted: bool | None = None
    cleanup_error: str | None = None
    options: RoundtripOptions | None = field(default=None, repr=False)


def build_message(options: RoundtripOptions, token: str) -> list[str]:
    now = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    return [
        f"From: <{options.mail_from}>",
        f"To: <{options.rcpt_to}>",
        f"Subject: mailcheck roundtrip {token}",
        f"Date: {now}",
        f"Message-ID: <{token}@mailcheck.roundtrip>",
        f"{TOKEN_HEADER}: {token}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "This message was sent by mailcheck roundtrip to measure delivery; it is deleted once found.",
    ]


async def probe(options: RoundtripOptions, ctx: ProbeContext) -> RoundtripObservation:
    obs = RoundtripObservation(uuid.uuid4().hex, options=options)
    outcome = await attempt(submit(obs, options, ctx))
    if isinstance(outcome, ProbeError):
        obs.submission = outcome
        return obs
    if obs.data_reply is None or not obs.data_reply.ok:
        return obs
    failure = await attempt(poll_mailbox(obs, options, ctx))
    if isinstance(failure, ProbeError):
        obs.mailbox = failure
    return obs


async def submit(obs: RoundtripObservation, options: RoundtripOptions, ctx: ProbeContext) -> None:
    """The SMTP stages of smtp_check (connect … AUTH), then MAIL, RCPT and DATA."""
    endpoints = await resolve_endpoints(options.smtp_host, options.smtp_port, (4, 6), ctx)
    session = smtp_check.SessionObservation(endpoints[0], trust=trust_store(ctx.ca_file))
    obs.submission = session
    outcome = await attempt(submission_dialogue(session, obs, options, ctx))
    if isinstance(outcome, ProbeError):
        session.failure = outcome


async def submission_dialogue(
    session: smtp_check.SessionObservation, obs: RoundtripObservation, options: RoundtripOptions, ctx: ProbeContext
) -> None:
    smtp_options = smtp_check.SmtpOptions(
        port=options.smtp_port, tls_mode=options.smtp_tls, credentials=options.smtp_credentials, opportunistic=False
    )

    async def send_after_auth(conn: LineConnection) -> None:
        if session.auth is not None and session.auth.reply is not None and session.auth.reply.code == 235:
            await send_message(conn, session, obs, options)

    await smtp_check.dialogue(session, smtp_options, ctx, after_auth=send_after_auth)


async def send_message(
    conn: LineConnection, session: smtp_check.SessionObservation, obs: RoundtripObservation, options: RoundtripOptions
) -> None:
    for line in (f"MAIL FROM:<{options.mail_from}>", f"RCPT TO:<{options.rcpt_to}>"):
        reply = await command(conn, line, Stage.ENVELOPE)
        session.envelope.append((line, reply))
        if not reply.ok:
            return
    reply = await command(conn, "DATA", Stage.ENVELOPE)
    if reply.code != 354:
        obs.data_reply = reply
        return
    for line in build_message(options, obs.token):
        await conn.send_line("." + line if line.startswith(".") else line, Stage.ENVELOPE)
    obs.data_reply = await command(conn, ".", Stage.ENVELOPE)
    obs.submitted_at = time.monotonic()


async def poll_mailbox(obs: RoundtripObservation, options: RoundtripOptions, ctx: ProbeContext) -> None:
    assert options.imap_credentials is not None
    conn, dialect = await open_mailbox(
        options.imap_host, options.imap_port, options.imap_tls, options.imap_credentials, ctx, "SELECT INBOX"
    )
    try:
        assert obs.submitted_at is not None
        end = obs.submitted_at + options.deadline
        uid = None
        while uid is None:
            reply = await dialect.command(conn, f'UID SEARCH HEADER {TOKEN_HEADER} "{obs.token}"', Stage.AUTH)
            found = [w for line in reply.untagged if line.upper().startswith("* SEARCH") for w in line.split()[2:]]
            if found:
                uid = found[0]
                obs.delivered_ms = elapsed_ms(obs.submitted_at)
                break
            if time.monotonic() >= end:
                return
            await asyncio.sleep(min(options.poll_interval, max(end - time.monotonic(), 0)))
        obs.headers = await dialect.fetch_literal(conn, f"UID FETCH {uid} (BODY.PEEK[HEADER])", Stage.AUTH)
        stored = await dialect.command(conn, f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)", Stage.AUTH)
        expunged = await dialect.command(conn, f"UID EXPUNGE {uid}", Stage.AUTH)
        obs.deleted = stored.ok and expunged.ok
        if not obs.deleted:
            obs.cleanup_error = str(expunged if stored.ok else stored)
        await attempt(dialect.logout(conn))
    finally:
        await conn.close()


# --- evaluate ----------------------------------------------------------------------------------------------


def evaluate(obs: RoundtripObservation) -> list[CheckResult]:
    options = obs.options
    assert options is not None
    label = f"{options.smtp_host}:{options.smtp_port}"
    if isinstance(obs.submission, ProbeError):
        return [Subject("roundtrip.submit", label, obs.submission.stage).failed(obs.submission)]
    results: list[CheckResult] = []
    if obs.submission is not None:
        smtp_options = smtp_check.SmtpOptions(port=options.smtp_port, tls_mode=options.smtp_tls, opportunistic=False)
        results.extend(smtp_check.session_findings(obs.submission, smtp_options))
    data = Subject("roundtrip.data", label, Stage.ENVELOPE)
    if obs.data_reply is None:
        if (
            obs.submission is not None
            and obs.submission.failure is None
            and not any(r.status is Status.FAIL for r in results)
        ):
            results.append(
                data.result(
                    Status.FAIL, "the message was not sent", {}, ErrorInfo(Stage.ENVELOPE, "rejected", "not sent")
                )
            )
        return results
    if not obs.data_reply.ok:
        message = f"the message was refused: {obs.data_reply} — {obs.data_reply.gist()}"
        results.append(
            data.result(
                Status.FAIL,
                message,
                {"reply": obs.data_reply.to_dict()},
                ErrorInfo(Stage.ENVELOPE, "rejected", message),
            )
        )
        return results
    results.append(data.result(Status.PASS, f"message {obs.token} accepted: {obs.data_reply}", {"token": obs.token}))
    mailbox_label = f"{options.imap_host}:{options.imap_port}"
    delivery = Subject("roundtrip.delivery", mailbox_label, Stage.AUTH)
    if obs.mailbox is not None:
        results.append(delivery.failed(obs.mailbox, f"could not watch the mailbox: {obs.mailbox.message}"))
        return results
    if obs.delivered_ms is None:
        message = f"the message did not arrive within {options.deadline:g} s"
        results.append(
            delivery.result(Status.FAIL, message, {"token": obs.token}, ErrorInfo(Stage.AUTH, "timeout", message))
        )
        return results
    results.append(
        delivery.result(
            Status.PASS,
            f"delivered in {obs.delivered_ms / 1000:.1f} s",
            {"delivery_ms": obs.delivered_ms, "token": obs.token},
        )
    )
    if obs.headers is not None:
        results.extend(headers_check.evaluate(headers_check.analyse(obs.headers, f"message {obs.token}")))
    cleanup = Subject("roundtrip.cleanup", mailbox_label, Stage.AUTH)
    if obs.deleted:
        results.append(cleanup.result(Status.PASS, "the test message was deleted (only it)"))
    else:
        results.append(cleanup.result(Status.WARN, f"the test message could not be deleted: {obs.cleanup_error}"))
    return results
