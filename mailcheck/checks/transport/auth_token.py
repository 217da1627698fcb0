"""The OAuth token finding shared by smtp, imap and pop3: what the token's own claims show (expired, not
yet valid, without the scope the protocol needs), said before and beside the server's answer."""

import datetime as dt

from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject
from mailcheck.net import oauth_token
from mailcheck.secrets import Credentials


def token_finding(protocol: str, target: str, credentials: Credentials | None, now: dt.datetime) -> CheckResult | None:
    if credentials is None or not credentials.token:
        return None
    subject = Subject(f"{protocol}.token", target, Stage.AUTH)
    found = oauth_token.claims(credentials.password)
    if found is None:
        return subject.result(
            Status.INFO, "the token is opaque (not a JWT): only the server can tell what it allows", {}
        )
    expiry = found.get("exp")
    details = {
        "expires": dt.datetime.fromtimestamp(expiry, dt.UTC).isoformat() if isinstance(expiry, int | float) else None,
        "scopes": oauth_token.scopes_of(found)[:20],
        "audience": str(found.get("aud"))[:200] if found.get("aud") is not None else None,
    }
    problems = oauth_token.problems(found, protocol, now)
    if problems:
        kind = problems[0][0]
        message = "; ".join(w for _, w in problems)
        status = Status.FAIL if kind != "token-scope" else Status.WARN
        return subject.result(status, message, details, ErrorInfo(Stage.AUTH, kind, message))
    expires = f", valid until {details['expires']}" if details["expires"] else ""
    return subject.result(Status.PASS, f"the token's claims allow {protocol.upper()}{expires}", details)
