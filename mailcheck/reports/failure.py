"""DMARC failure reports (RFC 6591 ARF, sent to ruf=): the feedback fields, and the original message's
headers when the reporter included them."""

import email
import email.message
import email.policy
from dataclasses import dataclass

from mailcheck.reports.aggregate import MAX_TEXT, ReportError

FIELDS = ("feedback-type", "auth-failure", "source-ip", "reported-domain", "arrival-date", "delivery-result",
          "authentication-results", "identity-alignment", "original-mail-from")  # fmt: skip


@dataclass(frozen=True)
class FailureReport:
    fields: dict[str, str]
    original_headers: bytes | None  # the failed message's header block, if included


def parse_failure(data: bytes) -> FailureReport:
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # the email package raises many kinds on hostile input
        raise ReportError(f"not a readable failure report ({type(exc).__name__})") from None
    fields: dict[str, str] = {}
    original: bytes | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/feedback-report":
            body = part.get_payload()
            first = body[0] if isinstance(body, list) and body else body
            text = first.as_string() if isinstance(first, email.message.Message) else str(first)
            for line in text.splitlines():
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() in FIELDS:
                    fields.setdefault(key.strip().lower(), " ".join(value.split())[: MAX_TEXT * 4])
        elif kind in ("text/rfc822-headers", "message/rfc822") and original is None:
            body = part.get_payload()
            first = body[0] if isinstance(body, list) and body else None
            if isinstance(first, email.message.Message):
                original = first.as_bytes()
            else:
                payload = part.get_payload(decode=True)
                original = payload if isinstance(payload, bytes) else None
    if not fields:
        raise ReportError("a multipart/report without a message/feedback-report part")
    return FailureReport(fields, original)
