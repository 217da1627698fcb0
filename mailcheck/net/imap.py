"""The IMAP dialogue (RFC 9051, RFC 3501): tagged commands, untagged data, bracketed response codes (RFC 5530)."""

import asyncio
import time

from mailcheck.model import ProbeError, Stage
from mailcheck.net import sasl
from mailcheck.net.mailbox import Greeting, MailboxDialect, MailboxReply, MailboxSasl, response_code, sasl_reply
from mailcheck.net.sasl import AuthRequest, Turn
from mailcheck.net.stream import LineConnection
from mailcheck.transcript import Transcript

MAX_RESPONSE_LINES = 2000
MAX_LITERAL = 64 * 1024


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapDialect(MailboxDialect):
    protocol = "imap"
    starttls_verb = "STARTTLS"
    implicit_tls_port = 993

    def __init__(self) -> None:
        self._tag = 0

    def _next_tag(self) -> str:
        self._tag += 1
        return f"mc{self._tag}"

    async def greeting(self, conn: LineConnection) -> Greeting:
        line = await conn.read_line(Stage.GREETING)
        status, _, rest = line.removeprefix("* ").partition(" ")
        if not line.startswith("* ") or status.upper() not in ("OK", "PREAUTH", "BYE"):
            raise ProbeError(Stage.GREETING, "syntax", f"not an IMAP greeting: {line[:80]!r}")
        code, _ = response_code(rest)
        capabilities = None
        if code == "CAPABILITY":
            capabilities = tuple(rest[1 : rest.index("]")].split()[1:])
        return Greeting(status.upper() != "BYE", rest, status.upper() == "PREAUTH", capabilities)

    async def command(self, conn: LineConnection, line: str, stage: Stage, shown: str | None = None) -> MailboxReply:
        """Send a tagged command and read to its tagged completion, keeping the untagged lines."""
        tag = self._next_tag()
        await conn.send_line(f"{tag} {line}", stage, f"{tag} {shown}" if shown else None)
        return await self.completion(conn, tag, stage)

    async def completion(self, conn: LineConnection, tag: str, stage: Stage) -> MailboxReply:
        deadline = time.monotonic() + conn.timeout
        untagged: list[str] = []
        while len(untagged) < MAX_RESPONSE_LINES:
            line = await conn.read_line(stage, deadline)
            if line.startswith(f"{tag} "):
                status, _, rest = line[len(tag) + 1 :].partition(" ")
                code, text = response_code(rest)
                return MailboxReply(status.upper() == "OK", text, code, tuple(untagged))
            if line.startswith("+"):
                return MailboxReply(True, line[1:].strip(), "CONTINUE", tuple(untagged))
            untagged.append(line)
            await self._skip_literal(conn, line, stage)
        raise ProbeError(stage, "reply-too-long", f"more than {MAX_RESPONSE_LINES} untagged lines without completion")

    async def _skip_literal(self, conn: LineConnection, line: str, stage: Stage) -> None:
        """A line ending in ``{n}`` announces n octets of literal data; read past them to stay in step."""
        if not line.endswith("}") or "{" not in line:
            return
        size_text = line[line.rindex("{") + 1 : -1].rstrip("+")
        if not size_text.isdigit():
            return
        size = int(size_text)
        if size > MAX_LITERAL:
            raise ProbeError(stage, "reply-too-long", f"the server announced a {size}-byte literal")
        while size > 0:
            size -= len(await conn.read_line(stage)) + 2

    async def fetch_literal(self, conn: LineConnection, line: str, stage: Stage, limit: int = 1024 * 1024) -> bytes:
        """Send a command whose answer carries one literal (``UID FETCH n (BODY.PEEK[HEADER])``); return it."""
        tag = self._next_tag()
        await conn.send_line(f"{tag} {line}", stage)
        deadline = time.monotonic() + conn.timeout
        data = b""
        while True:
            reply = await conn.read_line(stage, deadline)
            if reply.startswith(f"{tag} "):
                if not reply[len(tag) + 1 :].upper().startswith("OK"):
                    raise ProbeError(stage, "rejected", f"{line.split()[0]} refused: {reply}")
                return data
            size_text = reply[reply.rindex("{") + 1 : -1] if reply.endswith("}") and "{" in reply else ""
            if size_text.isdigit():
                size = int(size_text)
                if size > limit:
                    raise ProbeError(stage, "reply-too-long", f"the server announced a {size}-byte literal")
                try:
                    data = await asyncio.wait_for(
                        conn.reader.readexactly(size), max(deadline - time.monotonic(), 0.001)
                    )
                except (TimeoutError, asyncio.IncompleteReadError):
                    raise ProbeError(stage, "timeout", "the literal did not arrive in time") from None

    async def capabilities(self, conn: LineConnection) -> tuple[str, ...]:
        reply = await self.command(conn, "CAPABILITY", Stage.CAPABILITIES)
        if not reply.ok:
            raise ProbeError(Stage.CAPABILITIES, "rejected", f"CAPABILITY refused: {reply}")
        for line in reply.untagged:
            if line.upper().startswith("* CAPABILITY "):
                return tuple(line.split()[2:])
        return ()

    async def starttls(self, conn: LineConnection, pipelined: str | None = None) -> MailboxReply:
        if pipelined is None:
            return await self.command(conn, "STARTTLS", Stage.STARTTLS)
        tag, follower = self._next_tag(), self._next_tag()
        shown = f"{tag} STARTTLS + {follower} {pipelined} (one write: the injection test)"
        await conn.send_line(f"{tag} STARTTLS\r\n{follower} {pipelined}", Stage.STARTTLS, shown)
        return await self.completion(conn, tag, Stage.STARTTLS)

    def plaintext_login_offered(self, capabilities: tuple[str, ...]) -> bool:
        upper = {c.upper() for c in capabilities}
        return "LOGINDISABLED" not in upper

    async def login(
        self, conn: LineConnection, login: AuthRequest, capabilities: tuple[str, ...], transcript: Transcript
    ) -> tuple[str, MailboxReply]:
        """AUTHENTICATE with the strongest SASL mechanism both sides have (or --auth-mech); the LOGIN command
        only when the server offers no mechanism that fits a password."""
        upper = {c.upper() for c in capabilities}
        offered = sorted(c[5:] for c in upper if c.startswith("AUTH="))
        name, why = login.mechanism(offered, "SASL-IR" in upper)
        creds = login.credentials
        if name is None:
            if creds.mechanism or creds.token or "LOGINDISABLED" in upper:
                return creds.mechanism or "none", MailboxReply(False, why, "NOT-OFFERED")
            transcript.add_secret(creds.password)
            transcript.add_secret(quoted(creds.password))
            line = f"LOGIN {quoted(creds.user)} {quoted(creds.password)}"
            return "LOGIN", await self.command(conn, line, Stage.AUTH, f"LOGIN {quoted(creds.user)} ********")
        carrier = ImapSasl(self, conn)
        outcome = await sasl.exchange(login.make(name), carrier, "SASL-IR" in upper, transcript.add_secret)
        return f"AUTHENTICATE {name}", sasl_reply(carrier.last, outcome)

    async def mailbox_facts(self, conn: LineConnection) -> dict[str, object]:
        reply = await self.command(conn, "EXAMINE INBOX", Stage.AUTH)
        facts: dict[str, object] = {"mailbox": "INBOX", "read_only": True}
        if not reply.ok:
            facts["error"] = str(reply)
            return facts
        for line in reply.untagged:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "*" and parts[2].upper() == "EXISTS" and parts[1].isdigit():
                facts["messages"] = int(parts[1])
        return facts

    async def logout(self, conn: LineConnection) -> None:
        await self.command(conn, "LOGOUT", Stage.AUTH)


class ImapSasl(MailboxSasl):
    """SASL over IMAP AUTHENTICATE (RFC 9051 §6.2.2): "+" carries a challenge, the tagged reply ends it."""

    def __init__(self, dialect: ImapDialect, conn: LineConnection) -> None:
        self.dialect, self.conn, self.tag = dialect, conn, ""

    async def start(self, name: str, initial: str | None, shown: str) -> Turn:
        self.tag = self.dialect._next_tag()
        line = f"{self.tag} AUTHENTICATE {name}" + (f" {initial}" if initial is not None else "")
        await self.conn.send_line(line, Stage.AUTH, f"{self.tag} AUTHENTICATE {shown}")
        return self.turn(await self.dialect.completion(self.conn, self.tag, Stage.AUTH))

    async def send(self, line: str, shown: str) -> Turn:
        await self.conn.send_line(line, Stage.AUTH, shown if shown != line else None)
        return self.turn(await self.dialect.completion(self.conn, self.tag, Stage.AUTH))
