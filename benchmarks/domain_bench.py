"""Benchmarks for ``mailcheck domain`` (ratios, not timed tests).

1. silent MX hosts: a domain whose MX hosts never greet costs about one --timeout, not one per host.
2. many domains: 1,000 domains served by the lab DNS responder, checked at --concurrency 100, next to
   checkdmarc (``pip install checkdmarc``) pointed at the same responder with ``-n``. checkdmarc only takes
   port 53, so this part binds 127.0.0.153:53 and needs root.

Run: ``python -m benchmarks.domain_bench [DOMAINS]``.
"""

import multiprocessing.synchronize
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

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


def populate(dns: DnsResponder, count: int) -> list[str]:
    names = []
    for i in range(count):
        name = f"d{i}.bench.test"
        names.append(name)
        dns.zone.add(name, "NS", f"ns1.{name}.")
        dns.zone.add(name, "MX", f"10 mx.{name}.")
        dns.zone.host(f"mx.{name}", f"127.1.{i // 250}.{i % 250 + 1}", ptr=False)
        dns.zone.txt(name, "v=spf1 mx -all")
        dns.zone.txt(f"_dmarc.{name}", f"v=DMARC1; p=reject; rua=mailto:d@{name}")
    return names


def serve_zone(
    count: int, ready: "multiprocessing.synchronize.Event", stop: "multiprocessing.synchronize.Event"
) -> None:
    """Child process: the responder for the benchmark zone, so neither tool shares a GIL with it."""
    dns = DnsResponder(host="127.0.0.153", port=53)
    populate(dns, count)
    dns.start()
    ready.set()
    stop.wait(900)
    dns.stop()


def many_domains(count: int = 1000) -> None:
    import multiprocessing

    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.Process(target=serve_zone, args=(count, ready, stop), daemon=True)
    child.start()
    if not ready.wait(60):
        print("[2] skipped: the responder did not start (binding 127.0.0.153:53 needs root)")
        child.terminate()
        return
    try:
        names = [f"d{i}.bench.test" for i in range(count)]
        workdir = Path(tempfile.mkdtemp())
        listing = workdir / "domains.txt"
        listing.write_text("\n".join(names) + "\n")
        start = time.monotonic()
        result = CliRunner().invoke(
            main,
            ["domain", "--from-file", str(listing), "--concurrency", "100", "--skip", "smtp,mailbox,dkim",
             "--resolver", "127.0.0.153", "--timeout", "5", "--allow-private"],
        )  # fmt: skip
        ours = time.monotonic() - start
        documents = len(result.stdout.splitlines())
        print(f"[2] {count} domains (MX with PTR, SPF, DMARC, MTA-STS/TLS-RPT/BIMI records, DANE TLSA)")
        rate = count / ours
        print(f"    mailcheck domain --concurrency 100: {ours:7.2f} s  {rate:8.1f} domains/s  ({documents} reports)")
        checkdmarc = shutil.which("checkdmarc")
        if checkdmarc is None:
            print("    checkdmarc: not installed (pip install checkdmarc) — no side-by-side figure")
            return
        start = time.monotonic()
        done = subprocess.run(
            [checkdmarc, "-n", "127.0.0.153", "-t", "5", str(listing)],
            check=False, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        theirs = time.monotonic() - start
        reports = done.stdout.count('"domain":')
        rate = count / theirs
        print(f"    checkdmarc -n (same responder):     {theirs:7.2f} s  {rate:8.1f} domains/s  ({reports} reports)")
        print(f"    ratio checkdmarc / mailcheck: {theirs / ours:5.1f}x")
    finally:
        stop.set()
        child.join(10)


if __name__ == "__main__":
    silent_mx()
    many_domains(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
