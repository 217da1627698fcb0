"""Dates as found in trace headers: RFC 5322, obsolete forms (two-digit years, zone names), asctime, ISO."""

import datetime as dt
import email.utils
import re

_ASCTIME = re.compile(
    r"(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(?:([A-Z]{2,5}|[+-]\d{4})\s+)?(\d{4})"
)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_RFC5322_TAIL = re.compile(
    r"(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*"
    r"(?:[+-]\d{2,4}|[A-Za-z]{1,5})?"
    r"(?:\s*\([^)]*\))?\s*$"
)
_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}


def parse_date(text: str) -> dt.datetime | None:
    """An aware datetime, or None when the text holds no date we can read (never a made-up 0)."""
    text = " ".join(text.split()).lstrip("_;, ")
    # Fractional seconds (SendGrid: "07:53:55.516 +00") and two-digit zones are not RFC 5322; normalise them.
    text = re.sub(r"(\d{1,2}:\d{2}:\d{2})\.\d+", r"\1", text)
    text = re.sub(r"([+-]\d{2})$", r"\g<1>00", text)
    if not text:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if parsed is not None and parsed.year >= 1970:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    match = _ASCTIME.search(text)
    if match:
        month = _MONTHS.get(match.group(1).lower())
        if month:
            try:
                return dt.datetime(
                    int(match.group(7)), month, int(match.group(2)), int(match.group(3)), int(match.group(4)),
                    int(match.group(5)), tzinfo=_zone(match.group(6)),
                )  # fmt: skip
            except ValueError:
                return None
    iso = _ISO.search(text)
    if iso:
        try:
            value = dt.datetime.fromisoformat(iso.group(0).replace("Z", "+00:00"))
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def _zone(text: str | None) -> dt.tzinfo:
    if text and text[0] in "+-" and text[1:].isdigit():
        sign = 1 if text[0] == "+" else -1
        return dt.timezone(sign * dt.timedelta(hours=int(text[1:3]), minutes=int(text[3:5])))
    return dt.UTC


def trailing_date(text: str) -> tuple[str, str] | None:
    """For a Received value without ';': split off a date at its end (SendGrid and old mailers do this)."""
    for pattern in (_RFC5322_TAIL, _ASCTIME, _ISO):
        matches = list(pattern.finditer(text))
        if matches:
            last = matches[-1]
            if parse_date(last.group(0)) is not None and len(text) - last.end() < 40:
                return text[: last.start()].rstrip(), last.group(0)
    return None
