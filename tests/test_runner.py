"""runner.together: concurrent like asyncio.gather, results in order, one task fewer, failures cancel the rest."""

import asyncio

import pytest

from mailcheck.runner import together


async def after(delay: float, value: str, log: list[str]) -> str:
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        log.append(f"{value} cancelled")
        raise
    log.append(value)
    return value


async def fails(delay: float) -> str:
    await asyncio.sleep(delay)
    raise LookupError("no such record")


def test_results_come_in_order_and_the_operations_overlap() -> None:
    async def run() -> tuple[list[str], list[str], float]:
        log: list[str] = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await together(after(0.2, "a", log), after(0.1, "b", log), after(0.15, "c", log))
        return results, log, loop.time() - start

    results, log, elapsed = asyncio.run(run())
    assert results == ["a", "b", "c"]
    assert log == ["b", "c", "a"]  # all three ran at once
    assert elapsed < 0.35  # not one after another (0.45 s)


def test_one_or_no_operation_needs_no_task() -> None:
    async def run() -> tuple[list[str], list[str], int]:
        before = len(asyncio.all_tasks())
        one = await together(after(0, "only", []))
        tasks = len(asyncio.all_tasks()) - before
        return one, await together(), tasks

    one, none, tasks = asyncio.run(run())
    assert one == ["only"] and none == [] and tasks == 0


def test_a_failure_of_the_first_cancels_the_others_at_once() -> None:
    async def run() -> tuple[list[str], float]:
        log: list[str] = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(LookupError):
            await together(fails(0.05), after(1.0, "b", log), after(1.0, "c", log))
        elapsed = loop.time() - start
        await asyncio.sleep(0.05)  # let the cancellations land
        return log, elapsed

    log, elapsed = asyncio.run(run())
    assert sorted(log) == ["b cancelled", "c cancelled"] and elapsed < 0.5


def test_a_failure_of_another_is_raised_once_the_first_is_done() -> None:
    async def run() -> tuple[list[str], float]:
        log: list[str] = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(LookupError):
            await together(after(0.2, "a", log), fails(0.05), after(1.0, "c", log))
        elapsed = loop.time() - start
        await asyncio.sleep(0.05)
        return log, elapsed

    log, elapsed = asyncio.run(run())
    assert log == ["a", "c cancelled"] and 0.2 <= elapsed < 0.6
