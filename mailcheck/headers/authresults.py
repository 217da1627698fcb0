"""Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 §9.1), as found in the wild.

Comments may stand anywhere; the version after the authserv-id is optional; Microsoft 365 omits the
authserv-id altogether; one method may appear several times (two DKIM signatures). Nothing here raises.
"""

import re
from dataclasses import dataclass, field

from mailcheck.headers.lexing import split_outside_quotes, strip_comments, unquote

_METHOD_RESULT = re.compile(r"^\s*([A-Za-z][\w-]*)\s*(?:/\s*(\d+))?\s*=\s*([\w-]+)")
_PROPERTY = re.compile(r"([A-Za-z][\w-]*)\s*\.\s*([\w.-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s;]+)")
_REASON = re.compile(r"\breason\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s;]+)", re.IGNORECASE)


@dataclass(frozen=True)
class MethodResult:
    """One resinfo: ``dkim=pass header.d=example.com`` with its reason and comments."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    comments: tuple[str, ...] = ()

    def prop(self, name: str) -> str | None:
        return self.properties.get(name.lower())

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "result": self.result,
            "properties": self.properties,
            "reason": self.reason,
            "comments": list(self.comments),
        }


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str | None
    version: str | None
    results: tuple[MethodResult, ...]
    unparsed: tuple[str, ...] = ()
    raw: str = ""

    def of(self, method: str) -> list[MethodResult]:
        return [r for r in self.results if r.method == method]

    def to_dict(self) -> dict[str, object]:
        return {
            "authserv_id": self.authserv_id,
            "version": self.version,
            "results": [r.to_dict() for r in self.results],
            "unparsed": list(self.unparsed),
        }


def _resinfo(part: str) -> MethodResult | None:
    text, comments = strip_comments(part)
    match = _METHOD_RESULT.match(text)
    if match is None:
        return None
    properties = {
        f"{m.group(1).lower()}.{m.group(2).lower()}": unquote(m.group(3))
        for m in _PROPERTY.finditer(text[match.end() :])
    }
    reason_match = _REASON.search(text[match.end() :])
    return MethodResult(
        method=match.group(1).lower(),
        result=match.group(3).lower(),
        properties=properties,
        reason=unquote(reason_match.group(1)) if reason_match else None,
        comments=tuple(c for c in comments if c),
    )


def parse_authentication_results(value: str) -> AuthResults:
    parts = split_outside_quotes(value, ";")
    head_text, _ = strip_comments(parts[0])
    head = head_text.split()
    authserv_id = version = None
    body = parts[1:]
    if head and _METHOD_RESULT.match(head_text) and "=" in head_text:
        body = parts  # Microsoft 365: no authserv-id, the first part is already a result
    elif head:
        authserv_id = unquote(head[0]).lower()
        if len(head) > 1 and head[1].isdigit():
            version = head[1]
    results: list[MethodResult] = []
    unparsed: list[str] = []
    for part in body:
        stripped = strip_comments(part)[0].strip()
        if not stripped or stripped.lower() == "none":
            continue
        parsed = _resinfo(part)
        if parsed is None:
            unparsed.append(part.strip())
        else:
            results.append(parsed)
    return AuthResults(authserv_id, version, tuple(results), tuple(unparsed), value)


_KEY_VALUE = re.compile(r"([\w-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s;]+)")


@dataclass(frozen=True)
class ReceivedSpf:
    result: str
    comment: str
    pairs: dict[str, str]

    def to_dict(self) -> dict[str, object]:
        return {"result": self.result, "comment": self.comment, **{k: v for k, v in self.pairs.items()}}


def parse_received_spf(value: str) -> ReceivedSpf:
    """``pass (comment) client-ip=192.0.2.1; envelope-from=a@b; helo=h;``"""
    text, comments = strip_comments(value)
    words = text.split()
    result = words[0].lower().rstrip(";") if words else "unknown"
    pairs = {m.group(1).lower(): unquote(m.group(2)) for m in _KEY_VALUE.finditer(text)}
    return ReceivedSpf(result, "; ".join(comments), pairs)
