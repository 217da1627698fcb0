"""Lab IMAP (RFC 9051 subset) and POP3 (RFC 1939/2449/2595 subset) servers that can play faults.

They serve a fixed number of messages in a read-only INBOX/maildrop; nothing can be changed or deleted.
"""

import asyncio
import base64
import ssl
from dataclasses import dataclass, field

from mailcheck.lab.server import LabServer, Peer


@dataclass
class MailboxBehaviour:
    greeting: str | None = None  # override the whole greeting line (e.g. "* BYE" / "-ERR")
    silent: bool = False
    starttls: bool = True
    refuse_starttls: bool = False
    tls: ssl.SSLContext | None = None
    users: dict[str, str] = field(default_factory=dict)
    messages: int = 3
    plaintext_login_before_tls: bool = False  # IMAP: no LOGINDISABLED; POP3: USER offered in clear
    sasl_plain: bool = True
    failure_code: str | None = None  # response code sent with a failed login (e.g. AUTHENTICATIONFAILED)
    keeps_pipelined_commands: bool = False  # answers, inside TLS, commands pipelined before it (CVE-2011-0411)


def _decode_plain(blob: str) -> tuple[str, str] | None:
    try:
        _, user, password = base64.b64decode(blob).decode().split("\0")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


class _MailboxServer(LabServer):
    def __init__(
        self,
        behaviour: MailboxBehaviour | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, implicit_tls=implicit_tls, port=port)
        self.behaviour = behaviour or MailboxBehaviour()
        self.commands: list[str] = []

    def check(self, user: str, password: str) -> bool:
        return self.behaviour.users.get(user) == password

    async def open_session(self, peer: Peer, greeting: str, refusal: str) -> bool:
        """Greet (or play silent, or refuse); True when the dialogue should go on."""
        b = self.behaviour
        if b.silent:
            await asyncio.sleep(peer.idle)
            return False
        await peer.send(b.greeting or greeting)
        return not (b.greeting and b.greeting.startswith(refusal))

    def record(self, line: str) -> None:
        hidden = any(word in line.upper() for word in ("LOGIN", "PASS ", "AUTH"))
        self.commands.append(line.split(" ")[0] + " ..." if hidden else line)


class ImapLabServer(_MailboxServer):
    name = "imap"

    def capabilities(self, peer: Peer) -> list[str]:
        b = self.behaviour
        caps = ["IMAP4rev1", "IMAP4rev2", "SASL-IR", "IDLE", "ID"]
        if b.starttls and b.tls is not None and not peer.tls:
            caps.append("STARTTLS")
        if peer.tls or b.plaintext_login_before_tls:
            caps += ["AUTH=PLAIN"] if b.sasl_plain else []
        else:
            caps.append("LOGINDISABLED")
        return caps

    async def session(self, peer: Peer) -> None:
        b = self.behaviour
        ready = f"* OK [CAPABILITY {' '.join(self.capabilities(peer))}] mailcheck-lab IMAP ready"
        if not await self.open_session(peer, ready, "* BYE"):
            return
        logged_in = False
        while (line := await peer.readline()) is not None:
            tag, _, rest = line.partition(" ")
            self.record(rest)
            verb, _, arg = rest.partition(" ")
            verb = verb.upper()
            if verb == "CAPABILITY":
                await peer.send(f"* CAPABILITY {' '.join(self.capabilities(peer))}", f"{tag} OK CAPABILITY completed")
            elif verb == "STARTTLS" and "STARTTLS" in self.capabilities(peer):
                if b.refuse_starttls:
                    await peer.send(f"{tag} NO [UNAVAILABLE] TLS is not available right now")
                    continue
                await peer.send(f"{tag} OK Begin TLS negotiation now")
                assert b.tls is not None
                if not await peer.start_tls(b.tls, b.keeps_pipelined_commands):
                    return
            elif verb in ("LOGIN", "AUTHENTICATE"):
                if "LOGINDISABLED" in self.capabilities(peer):
                    await peer.send(f"{tag} NO [PRIVACYREQUIRED] Login disabled until TLS")
                    continue
                logged_in = await self.login(peer, tag, verb, arg)
            elif verb in ("EXAMINE", "SELECT") and logged_in:
                await peer.send(
                    f"* {b.messages} EXISTS",
                    "* 0 RECENT",
                    "* FLAGS (\\Seen \\Answered)",
                    f"{tag} OK [READ-ONLY] EXAMINE completed",
                )
            elif verb == "LOGOUT":
                await peer.send("* BYE logging out", f"{tag} OK LOGOUT completed")
                return
            else:
                await peer.send(f"{tag} BAD command unknown or not allowed now")

    async def login(self, peer: Peer, tag: str, verb: str, arg: str) -> bool:
        credentials: tuple[str, str] | None
        if verb == "LOGIN":
            parts = arg.split(" ", 1)
            credentials = (parts[0].strip('"'), parts[1].strip('"')) if len(parts) == 2 else None
        else:
            mechanism, _, blob = arg.partition(" ")
            if mechanism.upper() != "PLAIN":
                await peer.send(f"{tag} NO [CANNOT] mechanism not supported")
                return False
            if not blob:
                await peer.send("+ ")
                blob = await peer.readline() or ""
            credentials = _decode_plain(blob)
        if credentials and self.check(*credentials):
            await peer.send(f"{tag} OK [CAPABILITY IMAP4rev1 IMAP4rev2] Logged in")
            return True
        code = self.behaviour.failure_code or "AUTHENTICATIONFAILED"
        await peer.send(f"{tag} NO [{code}] Authentication failed.")
        return False


class Pop3LabServer(_MailboxServer):
    name = "pop3"

    def capabilities(self, peer: Peer) -> list[str]:
        b = self.behaviour
        caps = ["TOP", "UIDL", "RESP-CODES", "PIPELINING"]
        if b.starttls and b.tls is not None and not peer.tls:
            caps.append("STLS")
        if peer.tls or b.plaintext_login_before_tls:
            caps.append("USER")
            if b.sasl_plain:
                caps.append("SASL PLAIN")
        return caps

    async def session(self, peer: Peer) -> None:
        b = self.behaviour
        if not await self.open_session(peer, "+OK mailcheck-lab POP3 ready", "-ERR"):
            return
        user: str | None = None
        logged_in = False
        while (line := await peer.readline()) is not None:
            self.record(line)
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "CAPA":
                await peer.send("+OK Capability list follows", *self.capabilities(peer), ".")
            elif verb == "STLS" and "STLS" in self.capabilities(peer):
                if b.refuse_starttls:
                    await peer.send("-ERR [SYS/TEMP] TLS not available right now")
                    continue
                await peer.send("+OK Begin TLS negotiation")
                assert b.tls is not None
                if not await peer.start_tls(b.tls, b.keeps_pipelined_commands):
                    return
            elif verb == "USER" and "USER" in self.capabilities(peer):
                user = arg
                await peer.send("+OK")
            elif verb == "PASS" and user is not None:
                logged_in = await self.finish_login(peer, (user, arg))
            elif verb == "AUTH" and arg.upper().startswith("PLAIN "):
                logged_in = await self.finish_login(peer, _decode_plain(arg[6:]))
            elif verb == "STAT" and logged_in:
                await peer.send(f"+OK {b.messages} {b.messages * 1024}")
            elif verb == "QUIT":
                await peer.send("+OK bye")
                return
            else:
                await peer.send("-ERR command unknown or not allowed now")

    async def finish_login(self, peer: Peer, credentials: tuple[str, str] | None) -> bool:
        if credentials and self.check(*credentials):
            await peer.send("+OK Logged in.")
            return True
        await peer.send(f"-ERR [{self.behaviour.failure_code or 'AUTH'}] Authentication failed.")
        return False
