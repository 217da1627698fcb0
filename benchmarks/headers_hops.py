"""Benchmark: a header block with 5,000 Received hops, analysed by `mailcheck headers` next to Python's own
email header parsing of the same block (the baseline). The analysis is linear in the hops (one walk for the
border, one for external hops) and past 200 hops looks at the oldest and newest 100; the aim is well under a
second. Run: ``python -m benchmarks.headers_hops [HOPS]``.
"""

import email.parser
import email.policy
import sys
import time

from mailcheck.checks.message.headers import analyse, evaluate


def block(hops: int) -> bytes:
    return (
        b"".join(
            b"Received: from h%d.example (h%d.example [198.51.100.1]) by h%d.example with ESMTPS; "
            b"Sun, 22 Nov 2026 10:%02d:%02d +0000\n" % (i, i, i + 1, (i // 60) % 60, i % 60)
            for i in range(hops)
        )
        + b"From: a@example.org\nTo: b@example.net\n\n"
    )


def timed(function: object, data: bytes) -> float:
    start = time.perf_counter()
    function(data)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    hops = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    data = block(hops)

    def baseline(raw: bytes) -> int:
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw, headersonly=True)
        return sum(len(str(value)) for _, value in message.items())

    def ours(raw: bytes) -> int:
        return len(evaluate(analyse(raw, "bench")))

    base = min(timed(baseline, data) for _ in range(3))
    mine = min(timed(ours, data) for _ in range(3))
    print(f"{hops} hops: mailcheck headers {mine * 1000:.0f} ms, email.parser {base * 1000:.0f} ms")
    print(f"ratio {mine / base:.2f}x")


if __name__ == "__main__":
    main()
