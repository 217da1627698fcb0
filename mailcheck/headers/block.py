"""The header block of a message or a paste: decoded leniently, unfolded, with lost folding recovered.

A pasted header often loses its folding white space, so a continuation line starts at column 0. A line
starts a new field only if it looks like ``Name:`` with a letter in the name; ``16:20:05`` does not.
"""

import re
from dataclasses import dataclass, field

MAX_BLOCK_BYTES = 16 * 1024 * 1024
MAX_FIELDS = 50_000
MAX_VALUE_CHARS = 64 * 1024
_FIELD_START = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*(?:-[A-Za-z0-9_]+)*)[ \t]*:(.*)$")
_MBOX_FROM = re.compile(r"^From \S+ ")


@dataclass(frozen=True)
class HeaderField:
    name: str
    value: str
    line: int  # 1-based line where the field starts
    truncated: bool = False

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass
class HeaderBlock:
    fields: list[HeaderField] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    def all(self, name: str) -> list[HeaderField]:
        key = name.lower()
        return [f for f in self.fields if f.key == key]

    def first(self, name: str) -> str | None:
        found = self.all(name)
        return found[0].value if found else None


def decode(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 where it is, Latin-1 for the rest: never raises, and notes what it did."""
    notes = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        notes.append("the input is not valid UTF-8; undecodable bytes are shown as U+FFFD")
    return text, notes


def looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    return b"\x00" in sample or (bool(sample) and sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) // 10)


def read_block(data: bytes) -> HeaderBlock:
    """Fields of the first header block (up to the first empty line after a field)."""
    block = HeaderBlock()
    if len(data) > MAX_BLOCK_BYTES:
        block.notes.append(f"only the first {MAX_BLOCK_BYTES // (1024 * 1024)} MiB were read")
        data = data[:MAX_BLOCK_BYTES]
    text, notes = decode(data)
    block.notes.extend(notes)
    name: str | None = None
    parts: list[str] = []
    start = 0

    def flush() -> None:
        if name is None:
            return
        value = " ".join(" ".join(parts).split())
        truncated = len(value) > MAX_VALUE_CHARS
        block.fields.append(HeaderField(name, value[:MAX_VALUE_CHARS], start, truncated))

    for number, line in enumerate(re.split(r"\r\n|\n|\r", text), start=1):
        if not line.strip():
            if name is not None:
                break  # the end of the header block: the body (or an attached message) follows
            continue  # blank lines before the first field of a paste
        if number == 1 and _MBOX_FROM.match(line):
            continue
        match = _FIELD_START.match(line) if not line[0].isspace() else None
        if match:
            flush()
            if len(block.fields) >= MAX_FIELDS:
                block.notes.append(f"stopped after {MAX_FIELDS} header fields")
                name = None
                break
            name, parts, start = match.group(1), [match.group(2)], number
        elif name is not None:
            parts.append(line)
            if not line[0].isspace():
                block.notes.append(f"line {number} continues the {name} field without folding white space")
        else:
            block.unparsed.append(line[:200])
    flush()
    return block
