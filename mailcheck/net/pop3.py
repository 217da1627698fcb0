"""The POP3 dialogue (RFC 1939, CAPA per RFC 2449, STLS per RFC 2595, AUTH per RFC 5034, codes per RFC 3206)."""

import time

from mailcheck.model import ProbeError, Stage
from mailcheck.net import sasl
from mailcheck.net.mailbox import Greeting, MailboxDialect, MailboxReply, MailboxSasl, response_code, sasl_reply
from mailcheck.net.sasl import AuthRequest, Turn
from mailcheck.net.stream import LineConnection
from mailcheck.transcript import Transcript

MAX_MULTILINE = 2000


def _reply(line: str) -> MailboxReply:
    if line.startswith("+OK"):
        code, text = response_code(line[3:].strip())
        return MailboxReply(True, text, code)
    if line.startswith("-ERR"):
        code, text = response_code(line[4:].strip())
        return MailboxReply(False, text, code)
    if line.startswith("+"):
        return MailboxReply(True, line[1:].strip(), "CONTINUE")
    raise ProbeError(Stage.CAPABILITIES, "syntax", f"not a POP3 reply: {line[:80]!r}")


class Pop3Dialect(MailboxDialect):
    protocol = "pop3"
    starttls_verb = "STLS"
    implicit_tls_port = 995

    async def greeting(self, conn: LineConnection) -> Greeting:
        line = await conn.read_line(Stage.GREETING)
        if not line.startswith(("+OK", "-ERR")):
            raise ProbeError(Stage.GREETING, "syntax", f"not a POP3 greeting: {line[:80]!r}")
        reply = _reply(line)
        return Greeting(reply.ok, reply.text)

    async def command(self, conn: LineConnection, line: str, stage: Stage, shown: str | None = None) -> MailboxReply:
        await conn.send_line(line, stage, shown)
        return _reply(await conn.read_line(stage))

    async def capabilities(self, conn: LineConnection) -> tuple[str, ...]:
        reply = await self.command(conn, "CAPA", Stage.CAPABILITIES)
        if not reply.ok:
            return ()  # RFC 2449 is optional: a server without CAPA still speaks RFC 1939
        deadline = time.monotonic() + conn.timeout
        lines: list[str] = []
        while len(lines) < MAX_MULTILINE:
            line = await conn.read_line(Stage.CAPABILITIES, deadline)
            if line == ".":
                return tuple(lines)
            lines.append(line[1:] if line.startswith("..") else line)
        raise ProbeError(Stage.CAPABILITIES, "reply-too-long", f"CAPA listed more than {MAX_MULTILINE} lines")

    async def starttls(self, conn: LineConnection, pipelined: str | None = None) -> MailboxReply:
        if pipelined is None:
            return await self.command(conn, "STLS", Stage.STARTTLS)
        shown = f"STLS + {pipelined} (one write: the injection test)"
        return await self.command(conn, f"STLS\r\n{pipelined}", Stage.STARTTLS, shown)

    def starttls_offered(self, capabilities: tuple[str, ...]) -> bool:
        return any(c.upper() == "STLS" for c in capabilities)

    def plaintext_login_offered(self, capabilities: tuple[str, ...]) -> bool:
        return not capabilities or any(c.upper().split()[0] in ("USER", "SASL") for c in capabilities if c.strip())

    async def login(
        self, conn: LineConnection, login: AuthRequest, capabilities: tuple[str, ...], transcript: Transcript
    ) -> tuple[str, MailboxReply]:
        """AUTH with the strongest SASL mechanism both sides have (or --auth-mech); USER/PASS only when the
        server offers no mechanism that fits a password."""
        offered = next((c.upper().split()[1:] for c in capabilities if c.upper().startswith("SASL")), [])
        name, why = login.mechanism(offered, True)
        creds = login.credentials
        if name is None:
            if creds.mechanism or creds.token:
                return creds.mechanism or "none", MailboxReply(False, why, "NOT-OFFERED")
            transcript.add_secret(creds.password)
            reply = await self.command(conn, f"USER {creds.user}", Stage.AUTH)
            if not reply.ok:
                return "USER/PASS", reply
            return "USER/PASS", await self.command(conn, f"PASS {creds.password}", Stage.AUTH, "PASS ********")
        carrier = Pop3Sasl(conn)
        outcome = await sasl.exchange(login.make(name), carrier, True, transcript.add_secret)
        return f"AUTH {name}", sasl_reply(carrier.last, outcome)

    async def mailbox_facts(self, conn: LineConnection) -> dict[str, object]:
        reply = await self.command(conn, "STAT", Stage.AUTH)
        facts: dict[str, object] = {"mailbox": "maildrop", "read_only": True}
        parts = reply.text.split()
        if reply.ok and len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            facts["messages"] = int(parts[0])
            facts["octets"] = int(parts[1])
        elif not reply.ok:
            facts["error"] = str(reply)
        return facts

    async def logout(self, conn: LineConnection) -> None:
        # QUIT in the AUTHORIZATION state deletes nothing; after login it would enter UPDATE, but we marked
        # nothing deleted, so nothing is removed (RFC 1939 §6).
        await self.command(conn, "QUIT", Stage.AUTH)


class Pop3Sasl(MailboxSasl):
    """SASL over POP3 AUTH (RFC 5034): "+ " carries a challenge, +OK or -ERR ends it."""

    def __init__(self, conn: LineConnection) -> None:
        self.conn = conn

    async def _turn(self) -> Turn:
        return self.turn(_reply(await self.conn.read_line(Stage.AUTH)))

    async def start(self, name: str, initial: str | None, shown: str) -> Turn:
        line = f"AUTH {name}" + (f" {initial}" if initial is not None else "")
        await self.conn.send_line(line, Stage.AUTH, f"AUTH {shown}")
        return await self._turn()

    async def send(self, line: str, shown: str) -> Turn:
        await self.conn.send_line(line, Stage.AUTH, shown if shown != line else None)
        return await self._turn()
