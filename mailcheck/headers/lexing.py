"""Lexical helpers shared by the header parsers: comments (RFC 5322 §3.2.2, nested) and quoted strings."""


def strip_comments(text: str, limit_depth: int = 32) -> tuple[str, list[str]]:
    """Remove (possibly nested) comments outside quoted strings; return the text and the comments found.

    Unbalanced parentheses never raise: an unclosed comment runs to the end, a stray ")" is kept as text.
    """
    out: list[str] = []
    comments: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            (current if depth else out).append(char)
            escaped = False
            continue
        if char == "\\":
            escaped = True
            (current if depth else out).append(char)
            continue
        if depth == 0 and char == '"':
            quoted = not quoted
            out.append(char)
        elif not quoted and char == "(":
            if depth:
                current.append(char)
            depth = min(depth + 1, limit_depth)
        elif not quoted and char == ")" and depth:
            depth -= 1
            if depth:
                current.append(char)
            else:
                comments.append("".join(current).strip())
                current = []
                out.append(" ")
        else:
            (current if depth else out).append(char)
    if current:
        comments.append("".join(current).strip())
    return "".join(out), comments


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` where it is not inside a quoted string."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value
