"""What a mailbox-access protocol (IMAP, POP3) must say for the shared mailbox session to drive it."""

import abc
import re
from dataclasses import dataclass, field

from mailcheck.net.sasl import AuthRequest, Carrier, Outcome, Turn
from mailcheck.net.stream import LineConnection
from mailcheck.transcript import Transcript

_RESPONSE_CODE = re.compile(r"^\[([^\]]*)\]\s*")


def response_code(text: str) -> tuple[str | None, str]:
    """Split ``[AUTHENTICATIONFAILED] Bad password`` into (``AUTHENTICATIONFAILED``, ``Bad password``)."""
    match = _RESPONSE_CODE.match(text)
    if match is None:
        return None, text
    return match.group(1).split(" ", 1)[0].upper(), text[match.end() :]


@dataclass(frozen=True)
class MailboxReply:
    """A protocol's answer reduced to what the report needs: ok or not, a response code, the text."""

    ok: bool
    text: str
    code: str | None = None
    untagged: tuple[str, ...] = field(default=(), repr=False)
    sasl: Outcome | None = field(default=None, repr=False)  # a login's SASL details (decoded error, fault)

    def __str__(self) -> str:
        status = "OK" if self.ok else "NO"
        return f"{status} [{self.code}] {self.text}" if self.code else f"{status} {self.text}"


@dataclass(frozen=True)
class Greeting:
    ok: bool
    text: str
    preauth: bool = False
    capabilities: tuple[str, ...] | None = None


class MailboxSasl(Carrier):
    """What SASL over IMAP AUTHENTICATE and POP3 AUTH share: a continuation ("+") carries a challenge, any other
    reply ends the exchange; the last reply is kept for the report."""

    last: MailboxReply | None = None

    def turn(self, reply: MailboxReply) -> Turn:
        self.last = reply
        if reply.code == "CONTINUE":
            return Turn(reply.text, False, str(reply))
        return Turn(None, reply.ok, str(reply))


def sasl_reply(last: MailboxReply | None, outcome: Outcome) -> MailboxReply:
    """The server's final reply to a SASL exchange, with the exchange's details; a client-side fault (a SCRAM
    server signature that does not verify) makes it a failure whatever the server said."""
    reply = last or MailboxReply(False, outcome.text)
    ok = reply.ok and outcome.ok and outcome.fault is None
    return MailboxReply(ok, outcome.fault or reply.text, reply.code if not outcome.fault else "SASL", reply.untagged,
                        outcome)  # fmt: skip


class MailboxDialect(abc.ABC):
    """One protocol's side of the session; an instance serves one connection (IMAP keeps its tag counter)."""

    protocol: str
    starttls_verb: str
    implicit_tls_port: int

    @abc.abstractmethod
    async def greeting(self, conn: LineConnection) -> Greeting: ...

    @abc.abstractmethod
    async def capabilities(self, conn: LineConnection) -> tuple[str, ...]: ...

    @abc.abstractmethod
    async def starttls(self, conn: LineConnection, pipelined: str | None = None) -> MailboxReply:
        """The upgrade command; PIPELINED, a command sent in the same write right after it (the STARTTLS
        injection test), is never read back here."""
        ...

    @abc.abstractmethod
    def plaintext_login_offered(self, capabilities: tuple[str, ...]) -> bool:
        """Would the server take a password in clear with these capabilities (before TLS)?"""

    @abc.abstractmethod
    async def login(
        self, conn: LineConnection, login: AuthRequest, capabilities: tuple[str, ...], transcript: Transcript
    ) -> tuple[str, MailboxReply]:
        """Authenticate; returns the mechanism used and the server's final answer."""

    @abc.abstractmethod
    async def mailbox_facts(self, conn: LineConnection) -> dict[str, object]:
        """Read-only facts after login (message count); never changes anything."""

    @abc.abstractmethod
    async def logout(self, conn: LineConnection) -> None: ...

    def starttls_offered(self, capabilities: tuple[str, ...]) -> bool:
        return self.starttls_verb in {c.upper() for c in capabilities}
