"""Runs checks: probe (I/O) then evaluate (pure). The only place where ProbeError is caught."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Generic, TypeVar

from mailcheck import __version__
from mailcheck.model import CheckResult, ProbeError, Report, Subject

T = TypeVar("T")
R = TypeVar("R")
Observation = TypeVar("Observation")


class Timed(Generic[T]):
    """A value (or the ProbeError raised instead) with how long getting it took."""

    def __init__(self, value: T | ProbeError, duration_ms: int) -> None:
        self.value = value
        self.duration_ms = duration_ms

    @property
    def error(self) -> ProbeError | None:
        return self.value if isinstance(self.value, ProbeError) else None


async def attempt(operation: Awaitable[R]) -> R | ProbeError:
    """Await ``operation``; a ProbeError it raises is returned as a value so probes can record partial
    observations (one MX host failing does not stop the others)."""
    try:
        return await operation
    except ProbeError as err:
        return err


async def together(*operations: Awaitable[R]) -> list[R]:
    """Await OPERATIONS concurrently and return their results in order, as ``asyncio.gather`` does, but with
    one task fewer: the first operation runs in the caller's task (a task costs more CPU than most DNS
    questions take to be answered, and most MX sets, address lists and include chains have one member). A
    failure is raised when the first operation has finished (at once if it is the first that fails), and the
    operations still running are then cancelled. Probes pass operations that return their ProbeErrors
    (attempt/timed), so a failure here is a bug or a cancellation."""
    if len(operations) <= 1:
        return [await operation for operation in operations]
    rest = [asyncio.ensure_future(operation) for operation in operations[1:]]
    try:
        first = await operations[0]
        return [first, *await asyncio.gather(*rest)]
    except BaseException:
        for task in rest:
            task.cancel()
        raise


async def timed(operation: Awaitable[R]) -> Timed[R]:
    """:func:`attempt` plus the time it took."""
    start = time.monotonic()
    value = await attempt(operation)
    return Timed(value, elapsed_ms(start))


def elapsed_ms(start: float) -> int:
    return round((time.monotonic() - start) * 1000)


async def run_check(
    check_id: str,
    target: str,
    probe: Callable[[], Awaitable[Observation]],
    evaluate: Callable[[Observation], Iterable[CheckResult]],
) -> list[CheckResult]:
    """Probe, then evaluate. A ProbeError that escapes the probe becomes one result for ``check_id``."""
    start = time.monotonic()
    try:
        observation = await probe()
    except ProbeError as err:
        subject = Subject(check_id, target, err.stage, elapsed_ms(start))
        return [subject.failed(err)]
    spent = elapsed_ms(start)
    return [r if r.duration_ms is not None else replace(r, duration_ms=spent) for r in evaluate(observation)]


def make_report(command: str, target: str, checks: Iterable[CheckResult], start: float) -> Report:
    return Report(command, target, tuple(checks), elapsed_ms(start), __version__)


def run_sync(coroutine: Awaitable[R]) -> R:
    """Run the command's coroutine in a fresh event loop."""

    async def main() -> R:
        from mailcheck.net.dns_wire import close_loop_resources

        try:
            return await coroutine
        finally:
            close_loop_resources()

    return asyncio.run(main())
