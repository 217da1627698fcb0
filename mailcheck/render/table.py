"""The terminal view: a rich table of checks and a one-line summary.

Every server-controlled string goes in as a ``rich.text.Text`` built from escaped text, so neither rich
markup nor terminal control sequences in a banner or record can take effect.
"""

from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mailcheck.model import CheckResult, Report, Status
from mailcheck.render.grouping import group_findings, places_text
from mailcheck.textsafe import printable

STATUS_STYLE = {
    Status.PASS: "green",
    Status.INFO: "cyan",
    Status.WARN: "yellow",
    Status.FAIL: "bold red",
    Status.ERROR: "bold magenta",
}


def make_console(out: TextIO) -> Console:
    """A console that never interprets markup or emoji and colours only on a terminal (NO_COLOR honoured)."""
    return Console(file=out, markup=False, emoji=False, highlight=False, soft_wrap=False)


def _summary(check: CheckResult) -> Text:
    text = Text(printable(check.summary))
    if check.error is not None and check.error.message not in check.summary:
        text.append(f" [{check.error.kind}: {printable(check.error.message)}]", style="dim")
    elif check.error is not None:
        text.append(f" [{check.error.kind}]", style="dim")
    return text


def render_table(report: Report, out: TextIO) -> None:
    console = make_console(out)
    table = Table(title=Text(f"mailcheck {report.command} {printable(report.target)}"), title_justify="left")
    table.add_column("status", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("target", overflow="fold")
    table.add_column("finding", overflow="fold", ratio=1)
    families = {check.id.split(".")[0] for check in report.checks}
    previous = None
    # one row per fact: the same finding on several endpoints is one row, its places in the target column
    for group in group_findings(list(report.checks)):
        check = group.first
        family = check.id.split(".")[0]
        if previous is not None and family != previous and len(families) > 1:
            table.add_section()  # a rule between families (mx, smtp, spf ...) so long reports read in parts
        previous = family
        several = len(group.checks) > 1
        table.add_row(
            Text(check.status.value.upper(), style=STATUS_STYLE[check.status]),
            Text(check.stage.value),
            Text(check.id if len({c.id for c in group.checks}) == 1 else "*." + check.id.split(".", 1)[-1]),
            Text(printable(places_text(group, show_all=True) if several else check.target)),
            _summary(check) if not several else Text(printable(group.summary)),
        )
    console.print(table)
    counts = report.counts()
    tally = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    line = Text("result: ")
    line.append(report.status.value.upper(), style=STATUS_STYLE[report.status])
    line.append(f" ({tally or 'no checks'}) in {report.duration_ms} ms")
    console.print(line)
