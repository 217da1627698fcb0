"""Running ``mailcheck domain``: one domain with an optional live progress display, or many domains from a
file as JSON Lines, streamed as each finishes so a crash or Ctrl-C loses nothing already written."""

import asyncio
import json
import sys
import time
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


def run_batch(
    source: str,
    options: domain_check.DomainOptions,
    opts: CommonOptions,
    concurrency: int,
    shard: tuple[int, int] | None,
    expectations: dict[str, dict[str, Any]] | None,
) -> int:
    """Check each domain of ``source`` (every N-th with ``shard``), one JSON document a line on stdout."""
    lines = read_domains(source)
    if shard is not None:
        index, count = shard
        lines = [line for number, line in enumerate(lines) if number % count == index]
    return run_sync(_batch(lines, options, opts, concurrency, expectations))


async def _batch(
    lines: list[str],
    options: domain_check.DomainOptions,
    opts: CommonOptions,
    concurrency: int,
    expectations: dict[str, dict[str, Any]] | None,
) -> int:
    ctx = opts.context()
    ctx.concurrency = max(ctx.concurrency, concurrency * 4)
    gate = asyncio.Semaphore(concurrency)
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
        async with gate:
            start = time.monotonic()
            try:
                name = domain_name(line)
            except BadInput as exc:
                results = [domain_check.input_error(line, str(exc))]
                name = line
            else:
                results = await check_domain(name, options, ctx, expectations)
            report = make_report("domain", name, results, start)
            sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            codes.append(report.exit_code(opts.fail_on))
            if bar is not None:
                bar.advance(task)

    try:
        async with asyncio.TaskGroup() as group:
            for line in lines:
                group.create_task(one(line))
    finally:
        if bar is not None:
            bar.stop()
    if codes and all(code == EXIT_UNCHECKED for code in codes):
        return EXIT_UNCHECKED
    return EXIT_FAIL if any(code != EXIT_OK for code in codes) else EXIT_OK
