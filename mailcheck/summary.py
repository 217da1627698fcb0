"""``mailcheck summary FILE.jsonl``: what a many-domain run found, from its JSON Lines (the merged outputs of
every shard): counts by part, check and status, and the most common failure kinds with example domains."""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.text import Text

from mailcheck.model import Status
from mailcheck.names import BadInput
from mailcheck.render.table import STATUS_STYLE, make_console
from mailcheck.textsafe import printable

EXAMPLES = 3
TOP_KINDS = 15


@dataclass
class Summary:
    domains: int = 0
    by_status: Counter[str] = field(default_factory=Counter)  # each domain's overall status
    checks: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # check id → statuses
    kinds: Counter[tuple[str, str]] = field(default_factory=Counter)  # (check id, error kind) → domains
    examples: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    skipped_lines: int = 0
    duplicates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "domains": self.domains,
            "status": dict(self.by_status),
            "checks": {check: dict(counts) for check, counts in sorted(self.checks.items())},
            "failure_kinds": [
                {"check": check, "kind": kind, "domains": count, "examples": self.examples[(check, kind)]}
                for (check, kind), count in self.kinds.most_common(TOP_KINDS)
            ],
            "unreadable_lines": self.skipped_lines,
            "duplicate_domains": self.duplicates,
        }


def summarise(paths: list[Path]) -> Summary:
    """Read JSON Lines documents of ``mailcheck domain``; a domain seen twice (a resumed or re-run shard)
    counts once, its last document winning."""
    # per domain only what the summary needs (status; each check's id, status and error kind), not the
    # whole document: a run of millions of domains must not be held in memory
    latest: dict[str, tuple[str, tuple[tuple[str, str, str | None], ...]]] = {}
    summary = Summary()
    for path in paths:
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot read {path}: {exc.strerror}") from None
        with handle:
            for line in handle:
                try:
                    document = json.loads(line)
                    target = str(document["target"])
                    checks = tuple(
                        (str(c["id"]), str(c["status"]), (c.get("error") or {}).get("kind")) for c in document["checks"]
                    )
                except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                    summary.skipped_lines += bool(line.strip())
                    continue
                if target in latest:
                    summary.duplicates += 1
                latest[target] = (str(document.get("status")), checks)
    for target, (status, checks) in latest.items():
        summary.domains += 1
        summary.by_status[status] += 1
        seen: set[tuple[str, str]] = set()
        for check_id, check_status, kind in checks:
            summary.checks[check_id][check_status] += 1
            if check_status in ("fail", "error") and kind:
                key = (check_id, kind)
                if key not in seen:
                    seen.add(key)
                    summary.kinds[key] += 1
                    if len(summary.examples[key]) < EXAMPLES:
                        summary.examples[key].append(target)
    return summary


def render_summary(summary: Summary, out: TextIO) -> None:
    console = make_console(out)
    statuses = [s for s in Status if summary.by_status.get(s.value)]
    worst = Status.worst(statuses) if statuses else Status.PASS
    line = Text(worst.value.upper(), style=STATUS_STYLE[worst])
    tally = ", ".join(f"{summary.by_status[s.value]} {s.value}" for s in reversed(list(Status)) if s in statuses)
    line.append(f": {summary.domains} domains ({tally or 'none'})")
    console.print(line)
    if summary.duplicates or summary.skipped_lines:
        console.print(
            Text(f"{summary.duplicates} repeated domains counted once, {summary.skipped_lines} unreadable lines")
        )
    console.print()
    console.print(Text("Most common failures", style="bold underline"))
    for (check, kind), count in summary.kinds.most_common(TOP_KINDS):
        examples = ", ".join(printable(e) for e in summary.examples[(check, kind)])
        console.print(Text(f"  {count:>6}  {check} {kind}  (e.g. {examples})"))
    if not summary.kinds:
        console.print(Text("  none"))
    console.print()
    console.print(Text("By part and check (fail / warn / pass, of domains)", style="bold underline"))
    parts: dict[str, list[str]] = defaultdict(list)
    for check in sorted(summary.checks):
        parts[check.split(".", 1)[0]].append(check)
    for part, checks in parts.items():
        console.print(Text(f"  {part}", style="bold"))
        for check in checks:
            counts = summary.checks[check]
            failing = counts.get("fail", 0) + counts.get("error", 0)
            console.print(
                Text(f"    {check:<28} {failing:>6} / {counts.get('warn', 0):>6} / {counts.get('pass', 0):>6}")
            )
