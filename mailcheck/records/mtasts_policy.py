"""MTA-STS (RFC 8461): the _mta-sts TXT record and the policy file, parsed and validated; MX matching."""

import re
from dataclasses import dataclass, field

MAX_AGE_LIMIT = 31_557_600  # one year, RFC 8461 §3.2


@dataclass(frozen=True)
class StsRecord:
    text: str
    id: str | None
    problems: tuple[str, ...] = ()


def is_sts_record(text: str) -> bool:
    return text.replace(" ", "").startswith("v=STSv1;") or text.strip() == "v=STSv1"


def parse_sts_record(text: str) -> StsRecord:
    fields = {}
    problems = []
    for part in text.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    identifier = fields.get("id")
    if identifier is None:
        problems.append("no id= field (RFC 8461 §3.1)")
    elif not re.fullmatch(r"[A-Za-z0-9]{1,32}", identifier):
        problems.append(f"id={identifier!r} must be 1 to 32 letters and digits")
    return StsRecord(text, identifier, tuple(problems))


@dataclass(frozen=True)
class StsPolicy:
    text: str
    version: str | None = None
    mode: str | None = None
    mx: tuple[str, ...] = ()
    max_age: int | None = None
    problems: tuple[str, ...] = field(default=())


def _first(values: dict[str, list[str]], key: str) -> str | None:
    found = values.get(key)
    return found[0] if found else None


def parse_policy(text: str) -> StsPolicy:
    """RFC 8461 §3.2: ``key: value`` lines, CRLF or LF; version, mode and max_age once, mx one or more."""
    values: dict[str, list[str]] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            problems.append(f"line {number} is not 'key: value': {line[:60]!r}")
            continue
        values.setdefault(key.strip().lower(), []).append(value.strip())
    version = _first(values, "version")
    mode = _first(values, "mode")
    max_age_text = _first(values, "max_age")
    if version != "STSv1":
        problems.append(f"version must be STSv1 (found {version!r})")
    if mode not in ("enforce", "testing", "none"):
        problems.append(f"mode must be enforce, testing or none (found {mode!r})")
    max_age = int(max_age_text) if max_age_text and max_age_text.isdigit() else None
    if max_age is None:
        problems.append(f"max_age must be a number of seconds (found {max_age_text!r})")
    elif max_age > MAX_AGE_LIMIT:
        problems.append(f"max_age {max_age} is over the limit of {MAX_AGE_LIMIT} (one year)")
    mx = tuple(v.lower().rstrip(".") for v in values.get("mx", []))
    if mode in ("enforce", "testing") and not mx:
        problems.append("no mx: lines; every MX would fail to match")
    for key in ("version", "mode", "max_age"):
        if len(values.get(key, [])) > 1:
            problems.append(f"{key} appears more than once")
    return StsPolicy(text, version, mode, mx, max_age, tuple(problems))


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: exact match, or ``*.example.com`` matching exactly one leftmost label."""
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return host == pattern
