"""``mailcheck reports SOURCE...``: the receivers' DMARC aggregate, TLS-RPT and DMARC failure reports, read
offline and merged per domain, with the verdict admins want: is the domain's own mail aligned enough for a
stricter policy, which of its sources fail and why, and which MX failed TLS for whom.

Probe: read every source (``reports.sources``), parse each document, keep the aggregate reports since
``--since``; unless ``--no-dns``, look up each source's PTR name and whether the domain's SPF authorises it
(the existing ``check_host()``), concurrently and bounded. Evaluate: the findings, no I/O.
"""

import asyncio
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from mailcheck.checks.transport.imap_session import open_mailbox, quoted
from mailcheck.context import ProbeContext
from mailcheck.model import ProbeError, Stage
from mailcheck.records.spf_eval import Evaluator
from mailcheck.reports import merge as merging
from mailcheck.reports.aggregate import ReportError, parse_aggregate
from mailcheck.reports.failure import FailureReport, parse_failure
from mailcheck.reports.sources import Document, Unreadable, documents, unpack
from mailcheck.reports.tlsrpt import TlsReport, parse_tlsrpt
from mailcheck.runner import attempt
from mailcheck.secrets import Credentials

MAX_LOOKUPS = 200  # sources per domain whose PTR and SPF standing are looked up (the largest first)
MAX_FAILURE_REPORTS = 100
MAX_MAILBOX_MESSAGES = 5_000  # the newest report mails read from a mailbox
MAX_MAILBOX_MESSAGE_BYTES = 16 * 1024 * 1024
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class MailboxSource:
    """``--imap HOST --user U --folder F``: a mailbox the reports are delivered to, read without changing it."""

    host: str
    port: int
    tls_mode: str
    credentials: Credentials
    folder: str = "INBOX"
    insecure: bool = False


@dataclass(frozen=True)
class ReportsOptions:
    sources: tuple[str, ...]
    since: dt.datetime | None = None
    dns: bool = True
    fail_under: float | None = None  # percent
    mailbox: MailboxSource | None = None


@dataclass
class ReportsObservation:
    options: ReportsOptions
    files: int = 0
    problems: list[Unreadable] = field(default_factory=list)
    not_reports: list[Unreadable] = field(default_factory=list)
    aggregate_count: int = 0
    older: int = 0  # aggregate reports left out by --since
    duplicates: int = 0  # aggregate reports read twice (same reporter and report id)
    domains: dict[str, merging.DomainReports] = field(default_factory=dict)
    tls: list[TlsReport] = field(default_factory=list)
    failures: list[tuple[str, FailureReport]] = field(default_factory=list)
    ptr: dict[str, str | None] = field(default_factory=dict)
    in_spf: dict[tuple[str, str], bool | None] = field(default_factory=dict)


def read(options: ReportsOptions, fetched: Iterable[Document | Unreadable] = ()) -> ReportsObservation:
    """Every report in the sources (and in FETCHED, read from a mailbox), parsed (CPU only, streamed one
    document at a time)."""
    obs = ReportsObservation(options)
    merger = merging.Merger()
    for item in itertools.chain(fetched, documents(list(options.sources))):
        obs.files += 1
        if isinstance(item, Unreadable):
            (obs.not_reports if item.why.startswith(("not a report", "empty file")) else obs.problems).append(item)
            continue
        try:
            _parse(item, obs, merger)
        except ReportError as exc:
            obs.problems.append(Unreadable(item.origin, str(exc)))
    obs.domains, obs.duplicates = merger.domains, merger.duplicates
    return obs


def _parse(item: Document, obs: ReportsObservation, merger: merging.Merger) -> None:
    if item.kind == "xml":
        report = parse_aggregate(item.data)
        obs.aggregate_count += 1
        since = obs.options.since
        if since is not None and report.end is not None and report.end < since:
            obs.older += 1
            return
        merger.add(report)
    elif item.kind == "json":
        obs.tls.append(parse_tlsrpt(item.data))
    elif item.kind == "arf" and len(obs.failures) < MAX_FAILURE_REPORTS:
        obs.failures.append((item.origin, parse_failure(item.data)))


async def fetch(source: MailboxSource, since: dt.datetime | None, ctx: ProbeContext) -> list[Document | Unreadable]:
    """The report mails of a mailbox folder, read-only (EXAMINE, BODY.PEEK): the newest first, bounded."""
    select = f"EXAMINE {quoted(source.folder)}"
    conn, dialect = await open_mailbox(
        source.host, source.port, source.tls_mode, source.credentials, ctx, select, source.insecure
    )
    found: list[Document | Unreadable] = []
    try:
        search = "UID SEARCH ALL"
        if since is not None:
            search = f"UID SEARCH SINCE {since.day}-{MONTHS[since.month - 1]}-{since.year}"
        reply = await dialect.command(conn, search, Stage.AUTH)
        uids = [w for line in reply.untagged if line.upper().startswith("* SEARCH") for w in line.split()[2:]]
        for uid in [u for u in uids if u.isdigit()][-MAX_MAILBOX_MESSAGES:]:
            where = f"imap://{source.host}/{source.folder};UID={uid}"
            fetched = await attempt(
                dialect.fetch_literal(conn, f"UID FETCH {uid} (BODY.PEEK[])", Stage.AUTH, MAX_MAILBOX_MESSAGE_BYTES)
            )
            if isinstance(fetched, ProbeError):
                found.append(Unreadable(where, fetched.message))
                if fetched.kind == "timeout":
                    break
                continue
            found.extend(unpack(where, fetched))
        await attempt(dialect.logout(conn))
    finally:
        await conn.close()
    return found


async def probe(options: ReportsOptions, ctx: ProbeContext) -> ReportsObservation:
    fetched = await fetch(options.mailbox, options.since, ctx) if options.mailbox is not None else []
    obs = await asyncio.to_thread(read, options, fetched)
    if not options.dns:
        return obs

    async def look_up(domain: str, ip: str) -> None:
        async with ctx.limit:
            if ip not in obs.ptr:
                obs.ptr[ip] = None
                answer = await attempt(ctx.dns.reverse(ip))
                if not isinstance(answer, ProbeError) and answer.records:
                    obs.ptr[ip] = answer.records[0].to_text().rstrip(".").lower()
            verdict = await attempt(Evaluator(ctx.dns, ip, f"postmaster@{domain}", domain).check_host(domain))
            obs.in_spf[(domain, ip)] = None if isinstance(verdict, ProbeError) else verdict.result == "pass"

    async with asyncio.TaskGroup() as group:
        for domain, merged in obs.domains.items():
            largest = sorted(merged.sources.values(), key=lambda s: -s.messages)[:MAX_LOOKUPS]
            for source in largest:
                group.create_task(look_up(domain, source.ip))
    return obs


def classes(obs: ReportsObservation, merged: merging.DomainReports) -> dict[str, list[merging.Source]]:
    """The domain's sources by class, largest first."""
    found: dict[str, list[merging.Source]] = {name: [] for name in merging.CLASSES}
    for source in sorted(merged.sources.values(), key=lambda s: (-s.messages, s.ip)):
        in_spf = obs.in_spf.get((merged.domain, source.ip))
        found[merging.classify(source, merged.domain, in_spf)].append(source)
    return found


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def messages(sources: list[merging.Source]) -> int:
    return sum(s.messages for s in sources)


def disposition_text(sources: list[merging.Source]) -> str:
    total: Counter[str] = Counter()
    for source in sources:
        total.update(source.dispositions)
    acted = total["reject"] + total["quarantine"]
    return f"{acted} of {sum(total.values())} rejected or quarantined by the receivers"
