"""A lab SMTP server (RFC 5321, STARTTLS per RFC 3207, AUTH PLAIN/LOGIN per RFC 4954) that can play faults.

It accepts no message: DATA is refused, because the probe never sends one. Behaviour is set by
:class:`SmtpBehaviour`, one field per fault the tests and the demo need.
"""

import asyncio
import base64
import ssl
from dataclasses import dataclass, field

from mailcheck.lab.server import LabServer, Peer

ENDLESS_LINE_BYTES = 1024 * 1024


@dataclass
class SmtpBehaviour:
    hostname: str = "mx.lab.test"
    banner: str | None = None  # full first line; default "220 {hostname} ESMTP mailcheck-lab"
    banner_lines: int = 1  # >1 sends a multi-line 220
    silent: bool = False  # accept the connection and never greet
    endless_line: bool = False  # greet with a line that never ends (bounded at 1 MiB, then closes)
    greeting_delay: float = 0.0
    greeting_hold: float = 0.0  # postscreen-style: send the first 220- line, hold the rest this long
    reject_ehlo: bool = False  # 502 to EHLO, so the client must fall back to HELO
    extensions: list[str] = field(default_factory=lambda: ["PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8"])
    starttls: bool = True
    starttls_reply: str = "220 2.0.0 Ready to start TLS"
    drop_after_starttls: bool = False
    inject_after_starttls: bool = False  # pipeline plaintext right after the 220 (an injection attempt)
    keeps_pipelined_commands: bool = False  # answers, inside TLS, commands pipelined before it (CVE-2011-0411)
    tls: ssl.SSLContext | None = None
    users: dict[str, str] = field(default_factory=dict)
    auth_before_tls: bool = False
    local_domains: set[str] = field(default_factory=lambda: {"lab.test"})
    unknown_users: set[str] = field(default_factory=set)
    greylist: set[str] = field(default_factory=set)  # RCPT answered as postgrey does: 450 4.2.0 ... Greylisted
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # RCPT address → the reply, word for word
    mail_reply: str = "250 2.1.0 Ok"  # e.g. OpenSMTPD's "530 5.5.1 Invalid command: Must issue an AUTH command first"
    throttle_sessions: int = 0  # the first N sessions are throttled (at the greeting, or at EHLO with throttle_ehlo)
    throttle_ehlo: bool = False
    throttle_after: int = 0  # every session after the first N is throttled (a per-client cap a scan's volume exceeds)
    # at most this many sessions at once, each counted until LINGER seconds after it ended (Exim's smtp_accept_max,
    # whose children outlive their connections): a burst of short sessions is turned away, a paced one is not
    max_sessions: int = 0
    linger: float = 0.0
    throttle_reply: str = "421 4.7.0 mx.lab.test Error: too many connections from 127.0.0.1"  # Postfix's words
    open_relay: bool = False  # accept recipients at any domain (a misconfigured relay)
    verbs: list[str] = field(default_factory=list)  # every command verb received, in order


class SmtpLabServer(LabServer):
    name = "smtp"

    def __init__(
        self,
        behaviour: SmtpBehaviour | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, implicit_tls=implicit_tls, port=port)
        self.behaviour = behaviour or SmtpBehaviour()
        self.commands: list[str] = []
        self.active = 0  # sessions counted against max_sessions (including their linger)

    async def session(self, peer: Peer) -> None:
        b = self.behaviour
        if b.silent:
            await asyncio.sleep(peer.idle)
            return
        if b.endless_line:
            chunk = b"220 " + b"x" * 8192
            for _ in range(ENDLESS_LINE_BYTES // len(chunk)):
                await peer.send_raw(chunk)
            return
        await asyncio.sleep(b.greeting_delay)
        throttled = self.connections <= b.throttle_sessions or 0 < b.throttle_after < self.connections
        if b.max_sessions:
            self.active += 1
            try:
                if self.active > b.max_sessions:
                    await peer.send("421 4.3.2 Too many concurrent SMTP connections; please try again later.")
                    return
                await self._greet_and_talk(peer, throttled)
            finally:
                await asyncio.sleep(b.linger)
                self.active -= 1
            return
        await self._greet_and_talk(peer, throttled)

    async def _greet_and_talk(self, peer: Peer, throttled: bool) -> None:
        b = self.behaviour
        if throttled and not b.throttle_ehlo:
            await peer.send(b.throttle_reply)
            return
        first = b.banner or f"220 {b.hostname} ESMTP mailcheck-lab"
        code = first[:3]
        lines = [f"{code}-{first[4:]}"] * (b.banner_lines - 1) + [first]
        if b.greeting_hold and len(lines) > 1:
            await peer.send(lines[0])
            await asyncio.sleep(b.greeting_hold)
            lines = lines[1:]
        await peer.send(*lines)
        if not code.startswith("2"):
            return
        await self.dialogue(peer, throttled)

    def _extensions(self, peer: Peer) -> list[str]:
        b = self.behaviour
        extensions = list(b.extensions)
        if b.starttls and b.tls is not None and not peer.tls:
            extensions.append("STARTTLS")
        if b.users and (peer.tls or b.auth_before_tls):
            extensions.append("AUTH PLAIN LOGIN")
        return extensions

    async def dialogue(self, peer: Peer, throttled: bool = False) -> None:
        b = self.behaviour
        while (line := await peer.readline()) is not None:
            self.commands.append(line if not line.upper().startswith("AUTH") else line.split(" ")[0] + " ...")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            b.verbs.append(verb)
            if verb == "EHLO":
                if throttled:
                    await peer.send(b.throttle_reply)
                    return
                if b.reject_ehlo:
                    await peer.send("502 5.5.2 EHLO not implemented")
                    continue
                extensions = self._extensions(peer)
                replies = [f"{b.hostname} greets {arg}", *extensions]
                await peer.send(*(f"250-{r}" for r in replies[:-1]), f"250 {replies[-1]}")
            elif verb == "HELO":
                await peer.send(f"250 {b.hostname}")
            elif verb == "STARTTLS" and "STARTTLS" in self._extensions(peer):
                if not await self.starttls(peer):
                    return
            elif verb == "AUTH" and "AUTH PLAIN LOGIN" in self._extensions(peer):
                await self.auth(peer, arg)
            elif verb == "MAIL":
                await peer.send(b.mail_reply)
            elif verb == "RCPT":
                await peer.send(self.rcpt_reply(arg))
            elif verb == "RSET" or verb == "NOOP":
                await peer.send("250 2.0.0 Ok")
            elif verb == "DATA":
                await peer.send("554 5.5.1 This lab accepts no messages")
            elif verb == "QUIT":
                await peer.send("221 2.0.0 Bye")
                return
            else:
                await peer.send("502 5.5.2 Error: command not recognized")

    async def starttls(self, peer: Peer) -> bool:
        b = self.behaviour
        if b.inject_after_starttls:
            await peer.send(b.starttls_reply, "250 injected-in-plaintext")
        else:
            await peer.send(b.starttls_reply)
        if not b.starttls_reply.startswith("220"):
            return True
        if b.drop_after_starttls or b.tls is None:
            return False
        return await peer.start_tls(b.tls, b.keeps_pipelined_commands)

    async def auth(self, peer: Peer, arg: str) -> None:
        mechanism, _, initial = arg.partition(" ")
        mechanism = mechanism.upper()
        if mechanism == "PLAIN":
            if not initial:
                await peer.send("334 ")
                initial = await peer.readline() or ""
            try:
                _, user, password = base64.b64decode(initial).decode().split("\0")
            except ValueError:
                await peer.send("501 5.5.2 Cannot decode response")
                return
        elif mechanism == "LOGIN":
            await peer.send("334 VXNlcm5hbWU6")
            user = base64.b64decode(await peer.readline() or "").decode(errors="replace")
            await peer.send("334 UGFzc3dvcmQ6")
            password = base64.b64decode(await peer.readline() or "").decode(errors="replace")
        else:
            await peer.send("504 5.5.4 Unrecognized authentication type")
            return
        if self.behaviour.users.get(user) == password:
            await peer.send("235 2.7.0 Authentication successful")
        else:
            await peer.send("535 5.7.8 Error: authentication failed: authentication failure")

    def rcpt_reply(self, arg: str) -> str:
        b = self.behaviour
        address = arg.partition(":")[2].strip().strip("<>").lower()
        domain = address.rpartition("@")[2]
        if address in b.greylist:
            return f"450 4.2.0 <{address}>: Recipient address rejected: Greylisted, try again later"
        if address in b.rcpt_replies:
            return b.rcpt_replies[address]
        if domain not in b.local_domains and not b.open_relay:
            return f"554 5.7.1 <{address}>: Relay access denied"
        if address in b.unknown_users:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        return "250 2.1.5 Ok"
