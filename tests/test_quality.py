"""ruff (lint and format) and mypy stay clean: part of the suite, so the one test command checks them.

Marked `quality`: their verdicts belong to the pinned ruff/mypy and the newest dependencies' type
information, so CI's minimum-versions pass leaves them out."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


SOURCES = ["mailcheck", "tests", "benchmarks", "docs", ".ci"]


@pytest.mark.quality
@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", *SOURCES],
        ["ruff", "format", "--check", *SOURCES],
        ["mypy", "mailcheck"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_quality(command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
