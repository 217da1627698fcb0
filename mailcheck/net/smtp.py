"""The SMTP dialogue on top of the line client: replies (RFC 5321 §4.2), EHLO, STARTTLS, AUTH, envelope."""

import re
import time
from dataclasses import dataclass

from mailcheck.model import ProbeError, Stage
from mailcheck.net.sasl import Carrier, Turn
from mailcheck.net.stream import LineConnection
from mailcheck.replycodes import REPLY_CLASS, REPLY_CODES, explain_enhanced, explain_reply

MAX_REPLY_BYTES = 64 * 1024
_ENHANCED_PREFIX = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?:\s|$)")


@dataclass(frozen=True)
class SmtpReply:
    """A whole (possibly multi-line) reply: its code and the text of each line."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " / ".join(self.lines)

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 enhanced status code at the start of the first line, if any."""
        match = _ENHANCED_PREFIX.match(self.lines[0]) if self.lines else None
        return match.group(1) if match else None

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 400

    def meaning(self) -> str:
        words = explain_reply(self.code)
        if self.enhanced and (extra := explain_enhanced(self.enhanced)):
            words += f"; {self.enhanced}: {extra}"
        return words

    def gist(self) -> str:
        """The meaning in a few words, for a finding's summary (``mailcheck explain`` and JSON's ``meaning``
        give the whole): the code's and the enhanced code's own words, without their classes."""
        words = REPLY_CODES.get(self.code) or REPLY_CLASS.get(str(self.code)[0], "unknown reply")
        if self.enhanced and (extra := explain_enhanced(self.enhanced)):
            words += f"; {self.enhanced}: {extra.rsplit(' (', 1)[0]}"  # the class, said by the digit, left out
        return words

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "enhanced": self.enhanced, "text": list(self.lines), "meaning": self.meaning()}

    def __str__(self) -> str:
        return f"{self.code} {self.lines[-1] if self.lines else ''}".strip()


async def read_reply(conn: LineConnection, stage: Stage) -> SmtpReply:
    """Read one whole reply within one timeout; malformed, over-long or endless replies are ProbeErrors."""
    deadline = time.monotonic() + conn.timeout
    code: str | None = None
    lines: list[str] = []
    size = 0
    while True:
        line = await conn.read_line(stage, deadline)
        size += len(line) + 2
        if size > MAX_REPLY_BYTES:
            raise ProbeError(stage, "reply-too-long", f"the server's reply exceeds {MAX_REPLY_BYTES // 1024} KiB")
        if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
            raise ProbeError(stage, "syntax", f"not an SMTP reply line: {line[:80]!r}")
        if code is not None and line[:3] != code:
            raise ProbeError(stage, "syntax", f"reply code changed within a reply ({code} then {line[:3]})")
        code = line[:3]
        lines.append(line[4:])
        if len(line) == 3 or line[3] == " ":
            return SmtpReply(int(code), tuple(lines))


async def command(conn: LineConnection, line: str, stage: Stage, shown: str | None = None) -> SmtpReply:
    await conn.send_line(line, stage, shown)
    return await read_reply(conn, stage)


def ehlo_keywords(reply: SmtpReply) -> dict[str, str]:
    """EHLO extensions as keyword → parameters (the first line is the server's greeting, not an extension)."""
    extensions: dict[str, str] = {}
    for line in reply.lines[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            extensions[keyword.upper()] = params.strip()
    return extensions


def auth_mechanisms(extensions: dict[str, str]) -> list[str]:
    return [m.upper() for m in extensions.get("AUTH", "").split()]


class SmtpSasl(Carrier):
    """SASL over SMTP AUTH (RFC 4954): 334 carries a challenge, 235 ends it well."""

    def __init__(self, conn: LineConnection) -> None:
        self.conn = conn
        self.last: SmtpReply | None = None

    def _turn(self, reply: SmtpReply) -> Turn:
        self.last = reply
        if reply.code == 334:
            return Turn(reply.lines[0] if reply.lines else "", False, str(reply))
        return Turn(None, reply.code == 235, str(reply))

    async def start(self, name: str, initial: str | None, shown: str) -> Turn:
        line = f"AUTH {name}" + (f" {initial}" if initial is not None else "")
        return self._turn(await command(self.conn, line, Stage.AUTH, f"AUTH {shown}"))

    async def send(self, line: str, shown: str) -> Turn:
        return self._turn(await command(self.conn, line, Stage.AUTH, shown if shown != line else None))
