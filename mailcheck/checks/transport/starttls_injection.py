"""STARTTLS command injection (CVE-2011-0411, RFC 3207 §4.2 "the client MUST discard any knowledge obtained from
the server before the TLS negotiation", and the server likewise; RFC 2595 §3.1 for IMAP and POP3): the client sends
the upgrade command (SMTP and IMAP ``STARTTLS``, POP3 ``STLS``) and ``NOOP`` in one write, before TLS; a server
that keeps the buffered ``NOOP`` and answers it inside TLS would let a man-in-the-middle inject commands into the
protected session. A fixed server (Postfix since 2.8.4, Dovecot, Exim) discards what arrived before the handshake,
so nothing comes after it. Each protocol brings its own opening (the dialogue up to and including the pipelined
upgrade); what follows the upgrade is the same for all."""

import time
from collections.abc import Awaitable, Callable

from mailcheck.checks.transport.connection import Endpoint
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.smtp import command, read_reply
from mailcheck.net.stream import LineConnection
from mailcheck.net.tls import client_context
from mailcheck.runner import attempt

ANSWER_WAIT = 2.0  # seconds after the handshake in which an injected command's reply would arrive
PIPELINED = "NOOP"  # the command sent in the same write as the upgrade: harmless in every protocol
# an opening: the dialogue up to the pipelined upgrade; True when the server agreed to start TLS
Opening = Callable[[LineConnection], Awaitable[bool]]


async def smtp_opening(conn: LineConnection) -> bool:
    """Greeting, EHLO, then ``STARTTLS`` and ``NOOP`` in one write."""
    greeting = await read_reply(conn, Stage.GREETING)
    if greeting.code != 220:
        return False
    ehlo = await command(conn, "EHLO mailcheck.invalid", Stage.CAPABILITIES)
    if not ehlo.ok or "STARTTLS" not in ehlo.text.upper():
        return False
    shown = f"STARTTLS + {PIPELINED} (one write: the injection test)"
    await conn.send_line(f"STARTTLS\r\n{PIPELINED}", Stage.STARTTLS, shown)
    return (await read_reply(conn, Stage.STARTTLS)).code == 220


# what the server did with the command pipelined after the upgrade
ANSWERED = "answered"  # answered it inside TLS: vulnerable
DISCARDED = "discarded"  # dropped it, and TLS went on (RFC 3207 §4.2)
BROKE_OFF = "broke-off"  # took it for the start of the handshake, which failed: nothing can be injected


async def injectable(endpoint: Endpoint, ctx: ProbeContext, opening: Opening) -> str | None:
    """What the server did with the pipelined command (ANSWERED, DISCARDED or BROKE_OFF); None when the test
    could not be made (no STARTTLS, refused). Only endpoints whose own handshake succeeded are tested, so a
    handshake that fails here failed because of the pipelined bytes (Dovecot reads them as TLS)."""
    async with ctx.host_gate(endpoint.address):
        conn = await LineConnection.open(endpoint.address, endpoint.port, ctx.timeout, ctx.transcript)
        try:
            if not await opening(conn):
                return None
            if isinstance(
                await attempt(conn.start_tls(client_context(), endpoint.server_name or endpoint.address)), ProbeError
            ):
                return BROKE_OFF
            answered = await attempt(conn.read_line(Stage.TLS, time.monotonic() + ANSWER_WAIT))
            return ANSWERED if not isinstance(answered, ProbeError) and answered.strip() else DISCARDED
        finally:
            await conn.close()


def finding(protocol: str, endpoint: Endpoint, verdict: str | ProbeError | None, tls_required: bool) -> CheckResult:
    subject = Subject(f"{protocol}.tls-grade", endpoint.label, Stage.STARTTLS)
    if isinstance(verdict, ProbeError) or verdict is None:
        why = verdict.message if isinstance(verdict, ProbeError) else "the server did not take STARTTLS"
        return subject.result(Status.INFO, f"STARTTLS injection not tested: {why}", {"item": "starttls-injection"})
    details = {"item": "starttls-injection", "verdict": verdict}
    if verdict == ANSWERED:
        message = (
            "STARTTLS command injection (CVE-2011-0411): a command sent before TLS was answered inside TLS, so a "
            "man-in-the-middle can inject commands into the protected session: insufficient (NCSC)"
        )
        status = Status.FAIL if tls_required else Status.WARN
        details["level"] = "insufficient"
        return subject.result(status, message, details, ErrorInfo(Stage.STARTTLS, "grade-starttls-injection", message))
    if verdict == BROKE_OFF:
        message = (
            "no STARTTLS command injection: a command sent with the upgrade broke off the handshake (the server read "
            "it as TLS), so nothing sent before TLS can reach the protected session"
        )
        return subject.result(Status.PASS, message, details)
    return subject.result(Status.PASS, "no STARTTLS command injection: what was sent before TLS was discarded", details)
