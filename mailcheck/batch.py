"""Running ``mailcheck domain``: one domain with an optional live progress display, or many domains from a
file as JSON Lines, streamed as each finishes so a crash or Ctrl-C loses nothing already written."""

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailcheck.checks import domain as domain_check
from mailcheck.context import ProbeContext
from mailcheck.model import EXIT_FAIL, EXIT_OK, EXIT_UNCHECKED, CheckResult
from mailcheck.names import BadInput, domain_name
from mailcheck.options import CommonOptions
from mailcheck.runner import make_report, run_check, run_sync


async def check_domain(
    name: str,
    options: domain_check.DomainOptions,
    ctx: ProbeContext,
    expectations: dict[str, dict[str, Any]] | None = None,
    live: bool = False,
) -> list[CheckResult]:
    """All findings for one domain, plus the --expect assertions."""
    progress = None
    display = None
    if live:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        display = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=Console(stderr=True), transient=True
        )
        task = display.add_task(f"checking {name}", total=None)
        display.start()

        def progress(label: str) -> None:
            display.update(task, description=f"checking {name}: {label} done")

    try:
        results = await run_check(
            "domain",
            name,
            lambda: domain_check.probe(name, options, ctx, progress),
            domain_check.evaluate,
        )
    finally:
        if display is not None:
            display.stop()
    if expectations:
        from mailcheck.expect import evaluate as evaluate_expectations
        from mailcheck.expect import facts_from

        results.extend(evaluate_expectations(expectations, facts_from(results), name))
    return results


def read_domains(source: str) -> list[str]:
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInput(f"cannot read --from-file {source}: {reason}") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


@dataclass(frozen=True)
class BatchPlan:
    """How to run many domains: concurrency, this machine's shard, the per-address session cap, where the
    JSON Lines go and whether to skip what is already there."""

    concurrency: int = 20
    shard: tuple[int, int] | None = None
    per_host: int = 2
    output: Path | None = None
    resume: bool = False
    dns_rate: float | None = None  # new DNS questions a second at most


def shard_of(lines: list[str], shard: tuple[int, int] | None) -> list[str]:
    """The lines this machine checks: every N-th from I by input position, a pure function of the file, so N
    machines with the same file cover it exactly once."""
    if shard is None:
        return lines
    index, count = shard
    return [line for number, line in enumerate(lines) if number % count == index]


def already_done(path: Path) -> set[str]:
    """The targets already written to PATH (a line cut short by a crash is not counted: it is checked again)."""
    done: set[str] = set()
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    target = json.loads(line).get("target")
                except (json.JSONDecodeError, AttributeError):
                    continue
                if isinstance(target, str):
                    done.add(target)
    except FileNotFoundError:
        return done
    except OSError as exc:
        raise BadInput(f"cannot read --output {path}: {exc.strerror}") from None
    return done


class LineSink:
    """Writes whole JSON lines: to stdout, or appended to a file with one write() per line (O_APPEND), so
    lines from a crash or Ctrl-C are never half-written in the middle of the file."""

    def __init__(self, path: Path | None) -> None:
        self.fd: int | None = None
        if path is not None:
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise BadInput(f"cannot write --output {path}: {exc.strerror}") from None

    def write(self, document: dict[str, Any]) -> None:
        line = json.dumps(document, ensure_ascii=False) + "\n"
        if self.fd is None:
            sys.stdout.write(line)
            sys.stdout.flush()
        else:
            os.write(self.fd, line.encode("utf-8"))

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def run_batch(
    source: str,
    options: domain_check.DomainOptions,
    opts: CommonOptions,
    plan: BatchPlan,
    expectations: dict[str, dict[str, Any]] | None,
) -> int:
    """Check each domain of ``source`` (this machine's shard), one JSON document a line."""
    lines = shard_of(read_domains(source), plan.shard)
    if plan.resume and plan.output is not None:
        done = already_done(plan.output)
        lines = [line for line in lines if line.strip().lower().rstrip(".") not in done]
    sink = LineSink(plan.output)
    try:
        return run_sync(_batch(lines, options, opts, plan, sink, expectations))
    finally:
        sink.close()


async def _batch(
    lines: list[str],
    options: domain_check.DomainOptions,
    opts: CommonOptions,
    plan: BatchPlan,
    sink: LineSink,
    expectations: dict[str, dict[str, Any]] | None,
) -> int:
    ctx = opts.context()
    ctx.concurrency = max(ctx.concurrency, plan.concurrency * 4)
    ctx.per_host = plan.per_host
    ctx.dns.limit_rate(plan.dns_rate)
    codes: list[int] = []
    bar = None
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("domains"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True)
        )
        task = bar.add_task("domains", total=len(lines))
        bar.start()

    async def one(line: str) -> None:
        start = time.monotonic()
        try:
            name = domain_name(line)
        except BadInput as exc:
            results = [domain_check.input_error(line, str(exc))]
            name = line
        else:
            results = await check_domain(name, options, ctx, expectations)
        report = make_report("domain", name, results, start)
        sink.write(report.to_dict())
        codes.append(report.exit_code(opts.fail_on))
        if bar is not None:
            bar.advance(task)

    # --concurrency workers take the next line as they finish one (no task per line waiting at a gate: a
    # million-line file would otherwise hold a million waiting tasks)
    pending = iter(lines)

    async def worker() -> None:
        for line in pending:
            await one(line)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(plan.concurrency, len(lines))):
                group.create_task(worker())
    finally:
        if bar is not None:
            bar.stop()
    if EXIT_FAIL in codes:
        return EXIT_FAIL
    return EXIT_UNCHECKED if EXIT_UNCHECKED in codes else EXIT_OK
