"""Benchmark: `mailcheck headers` analysis of the fixture messages next to Python's own email header parsing.

The baseline parses the same files with ``email.parser.BytesParser(policy=email.policy.default)`` in
headers-only mode and reads every header value (the default policy parses structured headers lazily, so
reading them is what costs). mailcheck does more (Received clauses, dates, TLS, the trace); the aim is at
most 3x the baseline's time. Run: ``python -m benchmarks.headers_parse [ROUNDS]``.
"""

import email.parser
import email.policy
import sys
import time
from pathlib import Path

from mailcheck.checks.message.headers import analyse, evaluate

MESSAGES = sorted((Path(__file__).resolve().parent.parent / "tests" / "data" / "messages").glob("*.eml"))


def baseline(data: bytes) -> int:
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(data, headersonly=True)
    return sum(len(str(value)) for _, value in message.items())


def ours(data: bytes) -> int:
    return len(evaluate(analyse(data, "bench")))


def rate(function: object, corpus: list[bytes], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for data in corpus:
            function(data)  # type: ignore[operator]
    return rounds * len(corpus) / (time.perf_counter() - start)


def main(rounds: int = 20) -> None:
    corpus = [p.read_bytes() for p in MESSAGES]
    ours(corpus[0])  # warm the Public Suffix List and imports
    base = rate(baseline, corpus, rounds)
    mine = rate(ours, corpus, rounds)
    print(f"{len(corpus)} messages x {rounds} rounds")
    print(f"python email (headers only): {base:8.0f} messages/s")
    print(f"mailcheck headers analysis:  {mine:8.0f} messages/s")
    print(f"ratio (time, mailcheck / python email): {base / mine:5.2f}x  (aim: at most 3x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
