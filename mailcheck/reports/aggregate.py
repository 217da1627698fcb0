"""DMARC aggregate reports (RFC 7489 appendix C; DMARCbis' namespaced schema): parsed with DTDs and entities
refused (defusedxml) and streamed record by record, every value bounded. Receivers write the schema loosely
(upper-case results, missing ``<envelope_from>``, SPF results without a domain, extra namespaces), so each
field is read leniently and a record that cannot be used is counted, not fatal."""

import datetime as dt
import io
import ipaddress
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

MAX_RECORDS = 200_000  # records in one report (a large receiver's daily report has a few thousand)
MAX_TEXT = 255  # characters kept of any value (a domain is at most 253)
MAX_RESULTS = 16  # DKIM or SPF results kept per record


class ReportError(Exception):
    """Why a document is not a usable report (the message names the fault, never a traceback)."""


@dataclass(frozen=True)
class AuthResult:
    domain: str
    result: str  # pass, fail, none, neutral, softfail, temperror, permerror, policy
    selector: str = ""  # DKIM
    scope: str = ""  # SPF: mfrom or helo


@dataclass(frozen=True)
class Row:
    """One <record>: a source address, how many messages, and what the receiver concluded."""

    source_ip: str
    count: int
    disposition: str  # none, quarantine, reject
    dkim_aligned: bool  # policy_evaluated/dkim = pass: a DKIM pass aligned with the From domain
    spf_aligned: bool
    reasons: tuple[str, ...]  # policy_evaluated/reason/type: forwarded, mailing_list, local_policy, ...
    header_from: str
    envelope_from: str
    dkim: tuple[AuthResult, ...]
    spf: tuple[AuthResult, ...]

    @property
    def aligned(self) -> bool:
        return self.dkim_aligned or self.spf_aligned


@dataclass(frozen=True)
class Policy:
    domain: str
    p: str
    sp: str = ""
    adkim: str = "r"
    aspf: str = "r"
    pct: str = ""
    np: str = ""


@dataclass
class AggregateReport:
    org: str
    report_id: str
    begin: dt.datetime | None
    end: dt.datetime | None
    policy: Policy
    rows: list[Row] = field(default_factory=list)
    skipped: int = 0  # records without a usable source address or count

    @property
    def messages(self) -> int:
        return sum(r.count for r in self.rows)


def _local(tag: object) -> str:
    """A tag without its namespace (DMARCbis writes urn:ietf:params:xml:ns:dmarc-2.0), in lower case."""
    return str(tag).rpartition("}")[2].lower()


def _text(element: Element | None, path: str) -> str:
    """The text at PATH (slash-separated local names) under ELEMENT, stripped and bounded."""
    current = element
    for step in path.split("/"):
        if current is None:
            return ""
        current = next((child for child in current if _local(child.tag) == step), None)
    if current is None or current.text is None:
        return ""
    return current.text.strip()[:MAX_TEXT]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _when(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(text), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _row(record: Element) -> Row | None:
    row = next(iter(_children(record, "row")), None)
    if row is None:
        return None
    try:
        source = str(ipaddress.ip_address(_text(row, "source_ip")))
        count = int(_text(row, "count"))
    except ValueError:
        return None
    if count < 0:
        return None
    evaluated = next(iter(_children(row, "policy_evaluated")), None)
    reasons = (
        tuple(_text(r, "type").lower() for r in _children(evaluated, "reason"))[:8] if evaluated is not None else ()
    )
    auth = next(iter(_children(record, "auth_results")), None)
    dkim: list[AuthResult] = []
    spf: list[AuthResult] = []
    for result in auth if auth is not None else ():
        kind = _local(result.tag)
        values = {_local(c.tag): (c.text or "").strip()[:MAX_TEXT] for c in result}
        found = AuthResult(values.get("domain", "").lower().rstrip("."), values.get("result", "").lower(),
                           values.get("selector", ""), values.get("scope", "").lower())  # fmt: skip
        if kind == "dkim" and len(dkim) < MAX_RESULTS:
            dkim.append(found)
        elif kind == "spf" and len(spf) < MAX_RESULTS:
            spf.append(found)
    return Row(
        source_ip=source,
        count=count,
        disposition=_text(row, "policy_evaluated/disposition").lower() or "none",
        dkim_aligned=_text(row, "policy_evaluated/dkim").lower() == "pass",
        spf_aligned=_text(row, "policy_evaluated/spf").lower() == "pass",
        reasons=reasons,
        header_from=_text(record, "identifiers/header_from").lower().rstrip("."),
        envelope_from=_text(record, "identifiers/envelope_from").lower().rstrip("."),
        dkim=tuple(dkim),
        spf=tuple(spf),
    )


def parse_aggregate(data: bytes) -> AggregateReport:
    """The report in DATA; ReportError when it is not well-formed XML, not a DMARC aggregate report, or uses
    XML features a report never needs (a DTD, entities)."""
    metadata: Element | None = None
    published: Element | None = None
    rows: list[Row] = []
    skipped = 0
    root_seen = False
    try:
        for event, element in defusedxml.ElementTree.iterparse(io.BytesIO(data), events=("start", "end")):
            name = _local(element.tag)
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if name != "feedback":
                        raise ReportError(f"not a DMARC aggregate report: the root element is <{name[:40]}>")
                continue
            if name == "report_metadata":
                metadata = element
            elif name == "policy_published":
                published = element
            elif name == "record":
                row = _row(element)
                if row is None:
                    skipped += 1
                elif len(rows) < MAX_RECORDS:
                    rows.append(row)
                else:
                    skipped += 1
                element.clear()  # streamed: a record is forgotten once read
    except DefusedXmlException as exc:
        raise ReportError(f"refused: the XML uses {type(exc).__name__.replace('Forbidden', '').lower()} "
                          "declarations, which no report needs") from None  # fmt: skip
    except ParseError as exc:
        raise ReportError(f"not well-formed XML ({exc})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"unreadable XML ({exc})") from None
    if metadata is None or published is None:
        raise ReportError("not a DMARC aggregate report: no <report_metadata> or <policy_published>")
    policy = Policy(
        domain=_text(published, "domain").lower().rstrip("."),
        p=_text(published, "p").lower(),
        sp=_text(published, "sp").lower(),
        adkim=_text(published, "adkim").lower() or "r",
        aspf=_text(published, "aspf").lower() or "r",
        pct=_text(published, "pct"),
        np=_text(published, "np").lower(),
    )
    if not policy.domain:
        raise ReportError("not a DMARC aggregate report: <policy_published> names no domain")
    return AggregateReport(
        org=_text(metadata, "org_name"),
        report_id=_text(metadata, "report_id"),
        begin=_when(_text(metadata, "date_range/begin")),
        end=_when(_text(metadata, "date_range/end")),
        policy=policy,
        rows=rows,
        skipped=skipped,
    )
