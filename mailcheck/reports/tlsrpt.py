"""SMTP TLS reports (RFC 8460 §4): per policy (sts, tlsa, no-policy-found) the sessions that succeeded and
failed, and each failure's type and receiving MX. Read leniently (some senders write numbers as strings),
bounded like every report."""

import datetime as dt
import json
from dataclasses import dataclass, field

from mailcheck.reports.aggregate import MAX_TEXT, ReportError

MAX_POLICIES = 1_000
MAX_DETAILS = 1_000

# RFC 8460 §4.3 result types, in words
RESULT_TYPES = {
    "starttls-not-supported": "the MX did not offer STARTTLS",
    "certificate-host-mismatch": "the MX's certificate does not name the MX host",
    "certificate-expired": "the MX's certificate has expired",
    "certificate-not-trusted": "the MX's certificate does not chain to a trusted CA",
    "validation-failure": "the certificate or policy could not be validated",
    "tlsa-invalid": "the TLSA records are invalid",
    "dnssec-invalid": "the DNSSEC validation of the TLSA records failed",
    "dane-required": "DANE was required but no usable TLSA records were found",
    "sts-policy-fetch-error": "the MTA-STS policy could not be fetched over HTTPS",
    "sts-policy-invalid": "the MTA-STS policy is invalid",
    "sts-webpki-invalid": "the MTA-STS policy host's certificate is not valid",
}


@dataclass(frozen=True)
class Failure:
    result_type: str
    count: int
    receiving_mx: str
    receiving_ip: str
    sending_ip: str
    reason: str  # failure-reason-code or additional-information, when given


@dataclass(frozen=True)
class PolicyResult:
    policy_type: str  # sts, tlsa, no-policy-found
    domain: str
    mx: tuple[str, ...]  # mx-host entries, or the mx: lines of an sts policy-string
    successful: int
    failed: int
    failures: tuple[Failure, ...]


@dataclass
class TlsReport:
    org: str
    report_id: str
    begin: dt.datetime | None
    end: dt.datetime | None
    policies: list[PolicyResult] = field(default_factory=list)


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _count(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0


def _str(value: object) -> str:
    return str(value)[:MAX_TEXT] if value is not None else ""


def _when(text: object) -> dt.datetime | None:
    try:
        found = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def parse_tlsrpt(data: bytes) -> TlsReport:
    """The report in DATA; ReportError when it is not JSON or not an RFC 8460 report."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ReportError(f"not readable JSON ({str(exc)[:120]})") from None
    if not isinstance(document, dict) or not isinstance(document.get("policies"), list):
        raise ReportError('not an SMTP TLS report (RFC 8460): no "policies" list')
    dates = _dict(document.get("date-range"))
    report = TlsReport(
        org=_str(document.get("organization-name")),
        report_id=_str(document.get("report-id")),
        begin=_when(dates.get("start-datetime")),
        end=_when(dates.get("end-datetime")),
    )
    for item in _list(document["policies"])[:MAX_POLICIES]:
        entry = _dict(item)
        if not entry:
            continue
        policy, summary = _dict(entry.get("policy")), _dict(entry.get("summary"))
        lines = _list(policy.get("policy-string"))
        mx = [str(m) for m in _list(policy.get("mx-host"))]
        mx += [str(line).partition(":")[2].strip() for line in lines if str(line).lower().startswith("mx:")]
        failures = []
        for found in _list(entry.get("failure-details"))[:MAX_DETAILS]:
            detail = _dict(found)
            failures.append(
                Failure(
                    result_type=_str(detail.get("result-type")).lower(),
                    count=_count(detail.get("failed-session-count")),
                    receiving_mx=_str(detail.get("receiving-mx-hostname")).lower().rstrip("."),
                    receiving_ip=_str(detail.get("receiving-ip")),
                    sending_ip=_str(detail.get("sending-mta-ip")),
                    reason=_str(detail.get("failure-reason-code") or detail.get("additional-information") or ""),
                )
            )
        report.policies.append(
            PolicyResult(
                policy_type=_str(policy.get("policy-type")).lower() or "unknown",
                domain=_str(policy.get("policy-domain")).lower().rstrip("."),
                mx=tuple(m[:MAX_TEXT].lower() for m in mx[:32]),
                successful=_count(summary.get("total-successful-session-count")),
                failed=_count(summary.get("total-failure-session-count")),
                failures=tuple(failures),
            )
        )
    return report
