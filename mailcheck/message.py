"""Reading the user's message or headers (a file or stdin): bounded in size, never trusted."""

import sys
from pathlib import Path

from mailcheck.names import BadInput

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def read_input(source: str, limit: int = MAX_MESSAGE_BYTES) -> bytes:
    """The bytes of ``source`` (a path, or ``-`` for stdin), at most ``limit``; BadInput when it cannot be
    read, is a directory, is empty, or is larger than the limit."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            path = Path(source)
            if path.is_dir():
                raise BadInput(f"{source} is a directory, not a message")
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise BadInput(f"{'stdin' if source == '-' else source} is larger than {limit // (1024 * 1024)} MiB")
    if not data.strip():
        raise BadInput(f"{'stdin' if source == '-' else source} is empty: give a message or its headers")
    return data


def header_block(data: bytes) -> bytes:
    """Everything up to the first empty line (the message's own header section)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = data.find(separator)
        if index >= 0:
            return data[: index + len(separator) // 2]
    return data
