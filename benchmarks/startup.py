"""Benchmark: start-up time of ``mailcheck --help`` and ``--version`` next to a bare ``python -c pass`` and a
bare ``import click`` (the floor for a click program). Aim: under 1.5x of ``import click``.

Medians of N runs each, interleaved so machine noise hits every command alike.
Run: ``python -m benchmarks.startup [RUNS]``.
"""

import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import click'": [sys.executable, "-c", "import click"],
    "mailcheck --version": [sys.executable, "-m", "mailcheck", "--version"],
    "mailcheck --help": [sys.executable, "-m", "mailcheck", "--help"],
    "mailcheck domain --help": [sys.executable, "-m", "mailcheck", "domain", "--help"],
}


def main(runs: int = 15) -> None:
    timings: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            timings[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    floor = medians["python -c 'import click'"]
    for name, median in medians.items():
        print(f"{name:28} {median * 1000:7.1f} ms   {median / floor:4.2f}x import click")
    print("aim: mailcheck --help under 1.5x import click")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
