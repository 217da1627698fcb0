"""Benchmark: a host with N silent addresses costs about one --timeout, not N of them.

Starts N lab SMTP servers that accept and never greet (127.0.0.20.. on one port), then times
``mailcheck smtp`` over all of them at once, next to the baseline of probing the same addresses one by
one. Prints both and their ratio. Run: ``python -m benchmarks.smtp_addresses [N] [TIMEOUT]``.
"""

import sys
import time

from click.testing import CliRunner

from mailcheck.cli import main
from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer


def timed_run(args: list[str]) -> float:
    start = time.monotonic()
    CliRunner().invoke(main, args, catch_exceptions=False)
    return time.monotonic() - start


def main_benchmark(count: int = 6, timeout: float = 1.0) -> None:
    servers: list[SmtpLabServer] = []
    with DnsResponder() as dns:
        try:
            for i in range(count):
                port = servers[0].port if servers else 0
                address = f"127.0.0.{20 + i}"
                servers.append(SmtpLabServer(SmtpBehaviour(silent=True), host=address, port=port).start())
                dns.zone.add("slow.lab.test", "A", address)
                dns.zone.add(f"one{i}.lab.test", "A", address)
            common = ["--port", str(servers[0].port), "--resolver", dns.address, "--timeout", str(timeout), "--json"]
            concurrent = timed_run(["smtp", "slow.lab.test", *common])
            sequential = sum(timed_run(["smtp", f"one{i}.lab.test", *common]) for i in range(count))
        finally:
            for server in servers:
                server.stop()
    print(f"addresses: {count}, --timeout {timeout:g}s")
    print(f"baseline, one address at a time: {sequential:6.2f} s")
    print(f"mailcheck smtp, all addresses:   {concurrent:6.2f} s")
    print(f"ratio baseline/concurrent:       {sequential / concurrent:6.1f}x  (ideal: {count}x)")


if __name__ == "__main__":
    main_benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 6, float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
