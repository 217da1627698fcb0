"""Bulk-mail rules a message can be checked against: RFC 8058 one-click unsubscribe, which Gmail and Yahoo
(February 2024) and Microsoft (May 2025) require of bulk senders, signed by DKIM (RFC 8058 §4)."""

import re

from mailcheck.headers.block import HeaderBlock
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject

REQUIRED_BY = "Gmail and Yahoo (February 2024) and Microsoft (May 2025) require it of bulk senders"
_URI = re.compile(r"<([^>]*)>")


def looks_bulk(block: HeaderBlock) -> str | None:
    """Why the message looks like bulk mail (a list or a campaign), or None."""
    if block.first("List-Id"):
        return "it has a List-Id"
    precedence = (block.first("Precedence") or "").strip().lower()
    if precedence in ("bulk", "list"):
        return f"Precedence: {precedence}"
    if block.first("List-Unsubscribe"):
        return "it has a List-Unsubscribe"
    return None


def _signed_fields(block: HeaderBlock) -> set[str]:
    signed: set[str] = set()
    for signature in block.all("DKIM-Signature"):
        match = re.search(r"(?:^|;)\s*h\s*=\s*([^;]*)", signature.value)
        if match:
            signed |= {name.strip().lower() for name in re.split(r"\s*:\s*", re.sub(r"\s+", "", match.group(1)))}
    return signed


def unsubscribe_findings(block: HeaderBlock) -> list[CheckResult]:
    """The one-click unsubscribe finding for a message that looks like bulk mail (none for other mail)."""
    why = looks_bulk(block)
    if why is None:
        return []
    subject = Subject("bulk.unsubscribe", "List-Unsubscribe", Stage.PARSE)
    header = block.first("List-Unsubscribe") or ""
    uris = [u.strip() for u in _URI.findall(header)]
    https = [u for u in uris if u.lower().startswith("https://")]
    post = (block.first("List-Unsubscribe-Post") or "").strip()
    details = {"bulk_because": why, "list_unsubscribe": uris, "list_unsubscribe_post": post or None}
    missing = []
    if not https:
        missing.append("a List-Unsubscribe with an https URI" if header else "a List-Unsubscribe header")
    if post.replace(" ", "").lower() != "list-unsubscribe=one-click":
        missing.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    if missing:
        message = (
            f"bulk mail ({why}) without one-click unsubscribe (RFC 8058): it lacks {' and '.join(missing)}; "
            f"{REQUIRED_BY}"
        )
        if block.first("List-Post") and not block.first("List-Unsubscribe"):
            # a discussion list (people post to it, RFC 2369): the providers' rule is about marketing mail
            message = (
                f"a discussion list ({why}, List-Post) without one-click unsubscribe (RFC 8058): the providers' "
                "rule targets marketing and subscribed bulk mail; a list reaching many Gmail or Yahoo users may "
                "still be filtered without it"
            )
            return [subject.result(Status.INFO, message, details)]
        error = ErrorInfo(Stage.PARSE, "no-one-click-unsubscribe", message)
        return [subject.result(Status.FAIL, message, details, error)]
    unsigned = {"list-unsubscribe", "list-unsubscribe-post"} - _signed_fields(block)
    if unsigned:
        message = (
            f"one-click unsubscribe is offered ({https[0]}), but no DKIM signature covers "
            f"{' and '.join(sorted(unsigned))} (RFC 8058 §4): receivers may ignore it"
        )
        error = ErrorInfo(Stage.PARSE, "unsigned-unsubscribe", message)
        return [subject.result(Status.WARN, message, details, error)]
    summary = f"one-click unsubscribe (RFC 8058) via {https[0]}, DKIM-signed; {REQUIRED_BY}"
    return [subject.result(Status.PASS, summary, details)]
