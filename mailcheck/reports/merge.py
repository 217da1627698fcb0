"""Aggregate reports merged per domain, each source address sorted into what it is to the domain's owner:
their own mail that aligns, their own that fails (a new ESP without a custom return-path or DKIM), forwarders
and lists (SPF broken by the forward, DKIM surviving or the receiver trusting it), and others (spoofing or
unknown senders). From that, the readiness of a stricter DMARC policy."""

from collections import Counter
from dataclasses import dataclass, field

from mailcheck.psl import registrable_domain
from mailcheck.reports.aggregate import AggregateReport, Row

FORWARD_REASONS = {"forwarded", "mailing_list", "trusted_forwarder", "local_policy"}
READY_SHARE = 0.98  # aligned share of one's own mail at which a stricter policy loses (almost) nothing
CLASSES = ("aligned", "failing", "forwarder", "other")


@dataclass
class Source:
    """One sending address for one domain, over every report."""

    ip: str
    messages: int = 0
    aligned: int = 0
    dkim_aligned: int = 0
    spf_aligned: int = 0
    raw_aligned: int = 0  # messages whose raw results hold a pass aligned with the From domain (relaxed)
    dispositions: Counter[str] = field(default_factory=Counter)
    header_from: Counter[str] = field(default_factory=Counter)
    envelope_from: Counter[str] = field(default_factory=Counter)
    dkim: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (d=, selector, result) → messages
    spf: Counter[tuple[str, str]] = field(default_factory=Counter)  # (domain, result) → messages
    reasons: Counter[str] = field(default_factory=Counter)
    reporters: set[str] = field(default_factory=set)

    def add(self, row: Row, reporter: str) -> None:
        self.messages += row.count
        self.aligned += row.count if row.aligned else 0
        self.dkim_aligned += row.count if row.dkim_aligned else 0
        self.spf_aligned += row.count if row.spf_aligned else 0
        self.raw_aligned += row.count if raw_aligned(row) else 0
        self.dispositions[row.disposition] += row.count
        self.header_from[row.header_from] += row.count
        if row.envelope_from:
            self.envelope_from[row.envelope_from] += row.count
        for result in row.dkim:
            self.dkim[(result.domain, result.selector, result.result)] += row.count
        for result in row.spf:
            self.spf[(result.domain, result.result)] += row.count
        for reason in row.reasons:
            self.reasons[reason] += row.count
        if len(self.reporters) < 32:
            self.reporters.add(reporter)


@dataclass
class DomainReports:
    """Every aggregate report about one domain, merged."""

    domain: str
    reports: list[dict[str, object]] = field(default_factory=list)  # org, id, range, policy of each report
    policy: str = ""  # the p= of the newest report
    subdomain_policy: str = ""
    sources: dict[str, Source] = field(default_factory=dict)
    newest: float = 0.0

    @property
    def messages(self) -> int:
        return sum(s.messages for s in self.sources.values())


class Merger:
    """Aggregate reports merged per domain as they are read (a report's rows are dropped once counted, so a
    year of reports takes the memory of its distinct sources, not of its records). A report read twice (the
    same reporter's same report id, as when it is both in a mailbox and saved, or sent zipped and plain)
    counts once."""

    def __init__(self, keep_reports: int = 1_000) -> None:
        self.domains: dict[str, DomainReports] = {}
        self.duplicates = 0
        self._seen: set[tuple[str, str, str]] = set()
        self._keep = keep_reports

    def add(self, report: AggregateReport) -> None:
        key = (report.org.lower(), report.report_id, report.policy.domain)
        if report.report_id and key in self._seen:
            self.duplicates += 1
            return
        self._seen.add(key)
        merged = self.domains.setdefault(report.policy.domain, DomainReports(report.policy.domain))
        if len(merged.reports) < self._keep:
            merged.reports.append({
                "org": report.org, "id": report.report_id,
                "begin": report.begin.isoformat() if report.begin else None,
                "end": report.end.isoformat() if report.end else None,
                "p": report.policy.p, "adkim": report.policy.adkim, "aspf": report.policy.aspf,
                "messages": report.messages,
            })  # fmt: skip
        stamp = report.end.timestamp() if report.end else 0.0
        if stamp >= merged.newest:
            merged.newest, merged.policy, merged.subdomain_policy = stamp, report.policy.p, report.policy.sp
        for row in report.rows:
            source = merged.sources.get(row.source_ip)
            if source is None:
                source = merged.sources[row.source_ip] = Source(row.source_ip)
            source.add(row, report.org)


def _org(name: str) -> str:
    return registrable_domain(name) or name


def raw_aligned(row: Row) -> bool:
    """Do the row's raw results hold a DKIM or SPF (MAIL FROM) pass for the From domain's organisation?"""
    org = _org(row.header_from) if row.header_from else ""
    if not org:
        return False
    dkim = any(r.result == "pass" and r.domain and _org(r.domain) == org for r in row.dkim)
    spf = any(r.result == "pass" and r.domain and r.scope in ("", "mfrom") and _org(r.domain) == org for r in row.spf)
    return dkim or spf


def own_signal(source: Source, domain: str) -> str | None:
    """Why SOURCE looks like the domain's own sender though it does not align, or None: an SPF pass for a
    domain of the same organisation, or a DKIM pass signed by one."""
    org = _org(domain)
    for (signer, selector, result), _count in source.dkim.most_common():
        if result == "pass" and signer and _org(signer) == org:
            return f"DKIM signed by d={signer} (s={selector}) passes"
    for (spf_domain, result), _count in source.spf.most_common():
        if result == "pass" and spf_domain and _org(spf_domain) == org:
            return f"SPF passes for {spf_domain}"
    return None


def classify(source: Source, domain: str, in_spf: bool | None) -> str:
    """aligned (the domain's own, aligning), failing (the domain's own, not aligning), forwarder, other."""
    forwarded = bool(set(source.reasons) & FORWARD_REASONS)
    org = _org(domain)
    if source.aligned * 2 >= source.messages:
        # aligned by DKIM at a relay that kept the domain's envelope sender (its SPF fails there) or that the
        # receiver called a forward or list: a forwarder whose DKIM survived, not one of the domain's servers
        kept_envelope = any(r in ("fail", "softfail") and _org(d) == org for (d, r) in source.spf)
        if in_spf is not True and (forwarded or (kept_envelope and source.spf_aligned == 0)):
            return "forwarder"
        return "aligned"
    if in_spf is True or own_signal(source, domain) is not None:
        return "failing"
    if forwarded or any(result == "fail" and _org(d) == org for (d, _s, result) in source.dkim):
        return "forwarder"  # the receiver called it a forward, or the domain's signature broke on the way
    return "other"


def readiness(classes: dict[str, int], policy: str) -> tuple[str, float | None]:
    """The readiness line's verdict ("ready", "not-ready", "no-own-mail") and the aligned share of own mail."""
    own = classes.get("aligned", 0) + classes.get("failing", 0)
    if own == 0:
        return "no-own-mail", None
    share = classes.get("aligned", 0) / own
    return ("ready" if share >= READY_SHARE else "not-ready"), share


def next_policy(policy: str) -> str:
    return {"none": "p=quarantine", "quarantine": "p=reject"}.get(policy, "p=reject")
