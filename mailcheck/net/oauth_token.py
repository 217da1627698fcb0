"""What an OAuth 2.0 bearer token says about itself, read locally: servers answer an expired token and a
token without the right scope with the same error, so where the token is a JWT (Microsoft's are, many
identity providers' are) its ``exp``, ``scp``/``scope`` and ``aud`` claims are read — never verified, never
printed — to say which it is before the login is tried."""

import base64
import binascii
import datetime as dt
import json

# the scopes that let a token log in, per protocol (Google's one scope; Microsoft's per protocol)
SCOPES = {
    "imap": ("https://mail.google.com/", "IMAP.AccessAsUser.All"),
    "pop3": ("https://mail.google.com/", "POP.AccessAsUser.All"),
    "smtp": ("https://mail.google.com/", "SMTP.Send"),
}
MAX_TOKEN = 16 * 1024


def claims(token: str) -> dict[str, object] | None:
    """The payload of a JWT (header.payload.signature), or None when the token is not one (an opaque token)."""
    parts = token.strip().split(".")
    if len(parts) != 3 or len(token) > MAX_TOKEN:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        found = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return found if isinstance(found, dict) else None


def scopes_of(found: dict[str, object]) -> list[str]:
    values: list[str] = []
    for key in ("scp", "scope"):
        value = found.get(key)
        if isinstance(value, str):
            values += value.split()
        elif isinstance(value, list):
            values += [str(v) for v in value]
    return values


def problems(found: dict[str, object], protocol: str, now: dt.datetime) -> list[tuple[str, str]]:
    """(kind, words) for what the claims show will fail: expired, not yet valid, or no scope for PROTOCOL."""
    found_problems: list[tuple[str, str]] = []
    expiry = found.get("exp")
    if isinstance(expiry, int | float):
        when = dt.datetime.fromtimestamp(expiry, dt.UTC)
        if when <= now:
            ago = now - when
            found_problems.append(("token-expired", f"the token expired at {when:%Y-%m-%d %H:%M} UTC "
                                   f"({int(ago.total_seconds() // 60)} minutes ago): get a fresh one"))  # fmt: skip
    start = found.get("nbf")
    if isinstance(start, int | float) and dt.datetime.fromtimestamp(start, dt.UTC) > now:
        found_problems.append(("token-not-yet-valid", "the token is not valid yet (nbf is in the future)"))
    scopes = scopes_of(found)
    wanted = SCOPES.get(protocol, ())
    if scopes and wanted and not any(s == w or s.endswith("/" + w) for s in scopes for w in wanted):
        found_problems.append(("token-scope", f"the token lacks the scope {protocol.upper()} needs "
                               f"({' or '.join(wanted)}); it has: {', '.join(scopes[:8])}"))  # fmt: skip
    return found_problems
