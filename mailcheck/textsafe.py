"""Make server-controlled text safe to show: no terminal control sequences, no surprises in width."""

_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\"}


def printable(text: str, limit: int = 4000) -> str:
    """Escape control characters (C0, DEL, C1, and bidi/format controls) so text cannot drive a terminal.

    Backslashes are doubled so an escaped ``\\x1b`` can be told from a literal one. Text over ``limit``
    characters is cut with a marker saying how much was left out.
    """
    out: list[str] = []
    for ch in text[:limit]:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or 0x7F <= code < 0xA0 or 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    if len(text) > limit:
        out.append(f"... ({len(text) - limit} more characters)")
    return "".join(out)
