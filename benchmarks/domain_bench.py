"""Benchmarks for ``mailcheck domain`` (ratios, not timed tests).

1. silent MX hosts: a domain whose MX hosts never greet costs about one --timeout, not one per host.
2. many domains, every DNS part: 1,000 domains (benchmarks/world.py: served by Knot DNS when installed, else the
   lab responder in its own process) checked at --concurrency 100 as a separate process, next to checkdmarc
   (``pip install checkdmarc``) pointed at the same server with ``-n``. checkdmarc only takes port 53, so this
   binds 127.0.0.153:53 and needs root.
3. the same domains DNS-only (``--only mx,spf,dmarc``), start-up included: goal >= 400 domains/s.

Run: ``python -m benchmarks.domain_bench [DOMAINS]``.
"""

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from benchmarks import world
from mailcheck.cli import main
from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer


def invoke(args: list[str]) -> float:
    start = time.monotonic()
    CliRunner().invoke(main, args, catch_exceptions=False)
    return time.monotonic() - start


def silent_mx(hosts: int = 4, timeout: float = 1.0) -> None:
    servers: list[SmtpLabServer] = []
    with DnsResponder() as dns:
        try:
            for i in range(hosts):
                address = f"127.0.0.{60 + i}"
                port = servers[0].port if servers else 0
                servers.append(SmtpLabServer(SmtpBehaviour(silent=True), host=address, port=port).start())
                dns.zone.add("slow.test", "MX", f"{10 * (i + 1)} mx{i}.slow.test.")
                dns.zone.host(f"mx{i}.slow.test", address)
            common = ["--resolver", dns.address, "--timeout", str(timeout), "--json"]
            whole = invoke(
                [
                    "domain",
                    "slow.test",
                    "--only",
                    "mx,smtp",
                    "--mx-port",
                    str(servers[0].port),
                    "--allow-private",
                    *common,
                ]
            )
            one_by_one = sum(
                invoke(["smtp", f"mx{i}.slow.test", "--port", str(servers[0].port), *common]) for i in range(hosts)
            )
        finally:
            for server in servers:
                server.stop()
    print(f"[1] {hosts} silent MX hosts, --timeout {timeout:g}s")
    print(f"    baseline, one host at a time: {one_by_one:6.2f} s")
    print(f"    mailcheck domain:             {whole:6.2f} s   ratio {one_by_one / whole:4.1f}x")


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.monotonic()
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
    return time.monotonic() - start, done.stdout


def mailcheck_command(listing: Path, *parts: str) -> list[str]:
    return [sys.executable, "-m", "mailcheck", "domain", "--from-file", str(listing), *parts, "--resolver",
            world.ADDRESS, "--concurrency", "100", "--timeout", "5", "--allow-private", "--json"]  # fmt: skip


def many_domains(count: int = 1000, runs: int = 3) -> None:
    with world.dns_world(world.bench_zones(count)) as served_by:
        if served_by is None:
            print("[2][3] skipped: no DNS server for the zone (binding 127.0.0.153:53 needs root)")
            return
        workdir = Path(tempfile.mkdtemp())
        listing = workdir / "domains.txt"
        listing.write_text("\n".join(world.names(count)) + "\n")
        env = world.installed_env()
        subprocess.run([sys.executable, "-m", "mailcheck", "--version"], env=env, capture_output=True, check=False)
        checkdmarc = shutil.which("checkdmarc")
        theirs: float | None = None
        reports = 0
        cases = [
            ("[2]", "every DNS part (MX+PTR, SPF, DMARC, MTA-STS/TLS-RPT/BIMI records, DANE TLSA, DNSSEC)",
             ["--skip", "smtp,mailbox,dkim"]),
            ("[3]", "DNS-only (--only mx,spf,dmarc; CLI start-up included; goal >= 400 domains/s)",
             ["--only", "mx,spf,dmarc"]),
        ]  # fmt: skip
        for mark, what, parts in cases:
            timings = []
            for _ in range(runs):
                elapsed, out = timed_run(mailcheck_command(listing, *parts), env)
                timings.append(elapsed)
            ours = statistics.median(timings)
            print(f"{mark} {count} domains, {what}; zone served by {served_by}; median of {runs}")
            print(f"    mailcheck --concurrency 100: {ours:7.2f} s  {count / ours:8.1f} domains/s"
                  f"  ({len(out.splitlines())} reports)")  # fmt: skip
            if checkdmarc is None:
                print("    checkdmarc: not installed (pip install checkdmarc) — no side-by-side figure")
                continue
            if theirs is None:  # one run serves both rows (it asks what it always asks)
                theirs, out = timed_run([checkdmarc, "-n", world.ADDRESS, "-t", "5", str(listing)], env)
                reports = out.count('"domain":')
            rate = count / theirs
            print(f"    checkdmarc -n (same server): {theirs:7.2f} s  {rate:8.1f} domains/s  ({reports} reports)")
            print(f"    ratio checkdmarc / mailcheck: {theirs / ours:5.1f}x")


if __name__ == "__main__":
    silent_mx()
    many_domains(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
