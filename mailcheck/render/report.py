"""The default terminal view: a diagnosis, in the order a message travels.

- The first line is the verdict with its counts.
- Sections follow the path: DNS and MX → MX endpoints → transport policy → sender authentication →
  submission and mailbox → the message (header trace, round trip).
- Every endpoint (host:port and address) is one stage strip, ``connect ✓ greeting ✓ EHLO ✓ STARTTLS ✓
  TLS1.3 ✓ certificate ✗``; every other family (SPF, DMARC, ...) one strip of its checks. Passing checks live
  only in their strip; each warning, failure and error gets its own line, the finding in full wrapped under
  itself, and the troubleshooting guide's hint below it. ``--all`` details every check.
- A header trace is a timeline, one line per hop.

Like the table, every server-controlled string is escaped text (``rich.text.Text``), never markup.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.text import Text

from mailcheck.headers.trace import duration_text
from mailcheck.model import CheckResult, Report, Stage, Status, endpoint_port
from mailcheck.render.grouping import FindingGroup, group_findings, places_text
from mailcheck.render.hints import hint_for
from mailcheck.render.table import STATUS_STYLE, make_console
from mailcheck.textsafe import printable

SYMBOLS = {Status.PASS: "✓", Status.INFO: "·", Status.WARN: "!", Status.FAIL: "✗", Status.ERROR: "?"}
ASCII_SYMBOLS = {Status.PASS: "+", Status.INFO: ".", Status.WARN: "!", Status.FAIL: "x", Status.ERROR: "?"}
# The path a message takes, and which check families belong to each part of it.
SECTIONS = (
    ("From this machine", ("egress",)),
    ("DNS and MX", ("mx", "domain", "dnssec", "ns")),
    ("MX endpoints", ("smtp:mx",)),
    ("Transport policy", ("mtasts", "dane", "tlsrpt")),
    ("Sender authentication", ("spf", "dkim", "dmarc", "arc", "bimi", "sender", "blocklist", "bulk", "reports")),
    ("Submission and mailbox", ("smtp", "imap", "pop3", "mailbox")),
    ("The message", ("roundtrip", "headers")),
)
FAMILY_NAMES = {
    "mx": "MX",
    "ns": "name servers",
    "mtasts": "MTA-STS",
    "dane": "DANE",
    "tlsrpt": "TLS-RPT",
    "spf": "SPF",
    "dkim": "DKIM",
    "dmarc": "DMARC",
    "arc": "ARC",
    "bimi": "BIMI",
    "dnssec": "DNSSEC",
    "blocklist": "blocklists",
    "bulk": "bulk mail",
}
CAPABILITY_WORD = {"smtp": "EHLO", "imap": "CAPABILITY", "pop3": "CAPA"}
UPGRADE_WORD = {"smtp": "STARTTLS", "imap": "STARTTLS", "pop3": "STLS"}
ENDPOINT_FAMILIES = ("smtp", "imap", "pop3")
TIMELINE_BAR = 10


def _family(check: CheckResult) -> str:
    return check.id.split(".", 1)[0]


def _endpoint_port(check: CheckResult) -> int | None:
    if _family(check) not in ENDPOINT_FAMILIES:
        return None
    return endpoint_port(check.target)


def _section_key(check: CheckResult, command: str) -> str:
    """The section a check belongs to; SMTP endpoints are MX hosts under ``domain`` and on port 25."""
    family = _family(check)
    if family == "smtp" and (command == "domain" or _endpoint_port(check) == 25):
        return "smtp:mx"
    return family


@dataclass
class Strip:
    """One endpoint or one family: the label, its checks, and the marks shown in the strip."""

    label: str
    checks: list[CheckResult] = field(default_factory=list)
    shown: str = ""  # the label as printed (an endpoint's address left out when its host:port is unique)

    def marks(self, endpoint: bool) -> list[tuple[str, int, Status]]:
        """(word, repeats, worst status) per stage of an endpoint in the order a session goes through them
        (repeats always 1), or per check name of a family (repeats counted, shown as ``include×6``)."""
        checks = sorted(self.checks, key=_session_order(self.checks)) if endpoint else self.checks
        found: dict[str, tuple[int, Status]] = {}
        for check in checks:
            name = _stage_word(check) if endpoint else check.id.split(".", 1)[-1].replace("_", " ")
            if endpoint and check.id.endswith("_tls"):
                name += " again"  # EHLO after STARTTLS
            count, status = found.get(name, (0, Status.PASS))
            found[name] = (count + 1, Status.worst([status, check.status]) if count else check.status)
        return [(name, 1 if endpoint else count, status) for name, (count, status) in found.items()]


# The order of a session's stages: STARTTLS sessions upgrade after EHLO; implicit TLS starts with it.
_STARTTLS_ORDER = ("dns", "connect", "greeting", "capabilities", "starttls", "tls", "certificate", "again", "auth")
_IMPLICIT_ORDER = ("dns", "connect", "tls", "certificate", "greeting", "capabilities", "again", "auth")


def _session_order(checks: list[CheckResult]) -> "Callable[[CheckResult], int]":
    order = _STARTTLS_ORDER if any(c.stage is Stage.STARTTLS for c in checks) else _IMPLICIT_ORDER

    def position(check: CheckResult) -> int:
        scanned = check.id.endswith(("tls-scan", "tls-grade"))
        key = "again" if check.id.endswith("_tls") else "scan" if scanned else check.stage.value
        return order.index(key) if key in order else len(order)

    return position


def _stage_word(check: CheckResult) -> str:
    protocol = _family(check)
    if check.id.endswith("certificate-profile"):
        return "cert profile"
    if check.id.endswith("tls-scan"):
        return "TLS scan"
    if check.id.endswith("tls-grade"):
        return "TLS grade"
    if check.stage is Stage.CAPABILITIES:
        return CAPABILITY_WORD.get(protocol, "capabilities")
    if check.stage is Stage.STARTTLS:
        return UPGRADE_WORD.get(protocol, "STARTTLS")
    if check.stage is Stage.TLS and check.id.endswith(".tls"):
        version = str(check.details.get("version") or "TLS").replace("v", "")
        return version if check.status is not Status.FAIL else "TLS"
    if check.stage is Stage.AUTH:
        return "AUTH"
    return check.stage.value


def _sections(checks: Iterable[CheckResult], command: str) -> list[tuple[str, list[tuple[Strip, bool]]]]:
    """Checks grouped into sections (in the path's order), then strips (endpoints or families)."""
    keyed: dict[str, dict[str, Strip]] = {}
    for check in checks:
        key = _section_key(check, command)
        endpoint = _endpoint_port(check) is not None
        label = check.target if endpoint else FAMILY_NAMES.get(_family(check), _family(check))
        family_strips = keyed.setdefault(key, {})
        family_strips.setdefault(("endpoint " if endpoint else "family ") + label, Strip(label)).checks.append(check)
    # "host:port (address)" tells apart the addresses of one host; where a host:port has one, the address goes
    endpoints = [strip for strips in keyed.values() for name, strip in strips.items() if name.startswith("endpoint ")]
    short = [strip.label.split(" (", 1)[0] for strip in endpoints]
    for strip, label in zip(endpoints, short, strict=True):
        strip.shown = label if short.count(label) == 1 else strip.label
    placed: set[str] = set()
    sections: list[tuple[str, list[tuple[Strip, bool]]]] = []
    for title, families in SECTIONS:
        strips: list[tuple[Strip, bool]] = []
        for family in families:
            for name, strip in keyed.get(family, {}).items():
                strips.append((strip, name.startswith("endpoint ")))
            placed.add(family)
        if strips:
            sections.append((title, strips))
    rest = [(s, n.startswith("endpoint ")) for k, v in keyed.items() if k not in placed for n, s in v.items()]
    if rest:
        sections.append(("Other checks", rest))
    return sections


class _Transliterating:
    """A text stream that cannot fail on a character its encoding lacks (a server's é on a C-locale
    terminal): such characters are written as backslash escapes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.encoding = getattr(out, "encoding", None) or "ascii"

    def write(self, text: str) -> int:
        return self.out.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding))

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()

    def fileno(self) -> int:
        return self.out.fileno()


def _unicode_capable(out: TextIO) -> bool:
    encoding = (getattr(out, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
    return encoding.startswith("utf")


class ReportView:
    """Writes one report to a console."""

    def __init__(self, console: Console, show_all: bool, unicode: bool = True) -> None:
        self.console = console
        self.show_all = show_all
        self.symbols = SYMBOLS if unicode else ASCII_SYMBOLS
        self.times, self.arrow = ("×", "→") if unicode else ("x", "->")

    def mark(self, status: Status) -> Text:
        return Text(self.symbols[status], style=STATUS_STYLE[status])

    def verdict(self, report: Report) -> None:
        counts = report.counts()
        words = (
            (Status.FAIL, "failed"),
            (Status.ERROR, "not checked"),
            (Status.WARN, "warnings" if counts[Status.WARN] != 1 else "warning"),
            (Status.PASS, "passed"),
            (Status.INFO, "info"),
        )
        tally = ", ".join(f"{counts[s]} {w}" for s, w in words if counts[s]) or "no checks"
        line = Text(report.status.value.upper(), style=STATUS_STYLE[report.status])
        line.append(f": {tally} in {report.duration_ms / 1000:.1f} s")
        self.console.print(line)
        self.console.print(Text(f"mailcheck {report.command} {printable(report.target)}", style="dim"))

    def _mark_lines(self, marks: list[tuple[str, int, Status]], width: int) -> Text:
        """The marks, wrapped by hand so that a word and its symbol always stay on one line."""
        lines: list[Text] = [Text()]
        for name, count, status in marks:
            word = printable(name) + (f"{self.times}{count}" if count > 1 else "")
            cell = Text(word + " ").append_text(self.mark(status))
            if lines[-1].cell_len and lines[-1].cell_len + 2 + cell.cell_len > width:
                lines.append(Text())
            if lines[-1].cell_len:
                lines[-1].append("  ")
            lines[-1].append_text(cell)
        return Text("\n").join(lines)

    def strip(self, strip: Strip, endpoint: bool) -> None:
        """The label, then the marks wrapped under themselves (never back to the margin)."""
        marks = strip.marks(endpoint)
        width = self.console.width
        label = Text(printable(strip.shown or strip.label), style="bold")
        if label.cell_len + 6 > width // 2:
            # a long label gets its own line, the strip indented below it (every line of it)
            self.console.print(Text("  ").append_text(label), overflow="fold")
            for line in self._mark_lines(marks, width - 4).split("\n"):
                self.console.print(Text("    ").append_text(line))
            return
        indent = 2 + label.cell_len + 2
        lines = self._mark_lines(marks, max(20, width - indent)).split("\n")
        first = Text("  ").append_text(label).append("  ").append_text(lines[0])
        self.console.print(first)
        for line in lines[1:]:
            self.console.print(Text(" " * indent).append_text(line))

    def hanging(self, prefix: Text, body: Text) -> None:
        """PREFIX, then BODY wrapped to the terminal and indented under itself (no trailing padding)."""
        indent = prefix.cell_len
        for index, line in enumerate(body.wrap(self.console, max(20, self.console.width - indent))):
            line.rstrip()
            self.console.print((prefix if index == 0 else Text(" " * indent)).copy().append_text(line), crop=False)

    def finding(self, group: FindingGroup, strip_label: str | None) -> None:
        """One fact: its mark, stage, where it applies (one place, or several named once), what it says, and the
        advice for it."""
        check = group.first
        head = Text("  ").append_text(self.mark(check.status)).append(" ")
        head.append(f"{check.status.value:<5}", style=STATUS_STYLE[check.status]).append(" ")
        if len(group.checks) > 1:
            about = f"{group.certificate}, " if group.certificate else ""
            where = f"{about}{places_text(group)}: "
        else:
            where = "" if check.target == strip_label else f"{printable(check.target)}: "
        body = Text(f"{check.stage.value}: {printable(where)}", style="bold")
        summary = group.summary
        body.append(printable(summary))
        kind, message = (check.error.kind, check.error.message) if check.error is not None else ("", "")
        if message and message not in summary and summary not in message and message not in check.summary:
            body.append(f" ({kind}: {printable(message)})", style="dim")
        self.hanging(head, body)
        if check.status not in (Status.WARN, Status.FAIL, Status.ERROR):
            return
        for advice in dict.fromkeys(a for a in (hint_for(c) for c in group.checks) if a):
            self.hanging(Text(" " * head.cell_len + self.arrow + " "), Text(advice, style="italic"))

    def timeline(self, hops: list[CheckResult]) -> None:
        """One line per hop: delay with a bar, protocol and TLS version, inside or outside the border, path."""
        longest = max((h.details.get("delay_ms") or 0 for h in hops), default=0) or 1
        number_width = max(len(str(h.details.get("number", ""))) for h in hops)
        timing_width = 0
        rows = []
        for hop in hops:
            details = hop.details
            delay, skew = details.get("delay_ms"), details.get("skew_ms")
            if skew is not None:
                timing = f"skew {duration_text(dt.timedelta(milliseconds=skew))}"
            else:
                timing = f"+{duration_text(dt.timedelta(milliseconds=delay))}" if delay is not None else "?"
            timing_width = max(timing_width, len(timing))
            bar = "█" * max(1, round(TIMELINE_BAR * (delay or 0) / longest)) if delay else ""
            tls = details.get("tls") or {}
            transport = f"{details.get('with') or '?'} " + (
                str(tls.get("version") or "TLS") if tls else ("no TLS" if hop.status is Status.WARN else "")
            )
            side = "entry" if details.get("entry_point") else "inside" if details.get("internal") else "outside"
            rows.append((hop, timing, bar, transport.strip(), side))
        for hop, timing, bar, transport, side in rows:
            prefix = Text("  ").append_text(self.mark(hop.status))
            prefix.append(f" {hop.details.get('number', '')!s:>{number_width}} {timing:<{timing_width}} ")
            prefix.append(f"{bar if self.symbols is SYMBOLS else '#' * len(bar):<{TIMELINE_BAR}} ", style="cyan")
            body = Text(f"{printable(transport)}, {side}: ").append(
                printable(hop.target.split(": ", 1)[-1]), style="dim"
            )
            self.hanging(prefix, body)

    def render(self, report: Report) -> None:
        self.verdict(report)
        sections = _sections(report.checks, report.command)
        shown = [
            c
            for _, strips in sections
            for strip, _ in strips
            for c in strip.checks
            if c.id not in TRACE_LINES and (self.show_all or c.status in (Status.WARN, Status.FAIL, Status.ERROR))
        ]
        # one finding per fact, printed in the section of its first place (--all lists each place on its own)
        groups = [FindingGroup((c,)) for c in shown] if self.show_all else group_findings(shown)
        first_of = {id(g.first): g for g in groups}
        for title, strips in sections:
            self.console.print()
            self.console.print(Text(title, style="bold underline"))
            for strip, endpoint in strips:
                hops = [c for c in strip.checks if c.id == "headers.hop"]
                others = [c for c in strip.checks if c.id != "headers.hop"]
                for check in strip.checks:  # headlines: one line each, whatever their status
                    if check.id in HEADLINES:
                        label = HEADLINES[check.id] or f"{check.target}: "
                        prefix = Text("  ").append_text(self.mark(check.status)).append(f" {label}")
                        self.hanging(prefix, Text(printable(check.summary)))
                if hops:
                    self.timeline(hops)
                if others:
                    self.strip(Strip(strip.label, others, strip.shown), endpoint)
                for check in others:  # a fact about this place alone, under its strip
                    group = first_of.get(id(check))
                    if group is not None and len(group.checks) == 1:
                        self.finding(group, strip.label)
            for strip, _ in strips:  # facts about several places, once, after the section's strips
                for check in strip.checks:
                    group = first_of.get(id(check))
                    if group is not None and len(group.checks) > 1:
                        self.finding(group, None)


# Lines printed whatever their status, above the strip's findings (and never listed again as findings): the
# junk verdict above a trace, a domain's DMARC readiness line; the value is the label before the summary
HEADLINES = {"headers.verdict": "verdict: ", "reports.domain": ""}
TRACE_LINES = ("headers.hop", *HEADLINES)


def render_report(report: Report, out: TextIO, show_all: bool = False) -> None:
    unicode = _unicode_capable(out)
    stream: TextIO = out if unicode else _Transliterating(out)  # type: ignore[assignment]
    ReportView(make_console(stream), show_all, unicode).render(report)
