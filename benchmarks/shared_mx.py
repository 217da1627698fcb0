"""Benchmark: 1,000 domains whose MX are the same two servers (as domains share a provider's MX hosts),
checked with every DNS and SMTP part (the zone served out of process, benchmarks/world.py; the two SMTP lab
servers in this process). Prints the time, the SMTP sessions the two servers saw and the
greeting failures, next to the baseline of one session per domain and MX address (what a scan without
per-run sharing opens). Goals: <= 12 s on 2 cores, <= 20 sessions, no greeting failures of our own making.
Run: ``python -m benchmarks.shared_mx [DOMAINS]``.
"""

import io
import json
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from click.testing import CliRunner

from benchmarks import world
from mailcheck.cli import main
from mailcheck.lab.pki import CertificateAuthority
from mailcheck.lab.server import server_context
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer

ADDRESSES = ("127.0.0.71", "127.0.0.72")


def zones(count: int) -> world.Zones:
    provider = [f"mx{i}.provider.test. A {address}" for i, address in enumerate(ADDRESSES)]
    reverse = [f"{address.rsplit('.', 1)[1]}.0.0.127.in-addr.arpa. PTR mx{i}.provider.test." for i, address in
               enumerate(ADDRESSES)]  # fmt: skip
    domains = []
    for name in names(count):
        domains += [
            f"{name}. MX 10 mx0.provider.test.",
            f"{name}. MX 20 mx1.provider.test.",
            f'{name}. TXT "v=spf1 mx -all"',
            f'_dmarc.{name}. TXT "v=DMARC1; p=reject"',
        ]
    return {"provider.test": provider, "0.0.127.in-addr.arpa": reverse, "shared.test": domains}


def names(count: int) -> list[str]:
    return [f"d{i}.shared.test" for i in range(count)]


def run(count: int) -> None:
    workdir = Path(tempfile.mkdtemp())
    ca = CertificateAuthority("bench CA")
    ca_file = ca.write_pem(workdir / "ca.pem")
    servers = []
    port = 0
    for index, address in enumerate(ADDRESSES):
        name = f"mx{index}.provider.test"
        behaviour = SmtpBehaviour(hostname=name, tls=server_context(ca.issue(name), workdir))
        server = SmtpLabServer(behaviour, host=address, port=port).start()
        port = server.port
        servers.append(server)
    try:
        with world.dns_world(zones(count)) as served_by:
            if served_by is None:
                print("skipped: no DNS server for the zone (binding 127.0.0.153:53 needs root)")
                return
            listing = workdir / "domains.txt"
            listing.write_text("\n".join(names(count)) + "\n")
            output = workdir / "out.jsonl"
            args = ["domain", "--from-file", str(listing), "--resolver", world.ADDRESS, "--ca-file", str(ca_file),
                    "--mx-port", str(port), "--allow-private", "--concurrency", "100", "--timeout", "5",
                    "--skip", "mailbox,dkim", "--output", str(output)]  # fmt: skip
            start = time.monotonic()
            with redirect_stdout(io.StringIO()):
                CliRunner().invoke(main, args, catch_exceptions=False)
            elapsed = time.monotonic() - start
    finally:
        for server in servers:
            server.stop()
    sessions = sum(s.behaviour.verbs.count("EHLO") for s in servers) // 2  # EHLO before and after STARTTLS
    greeting_failures = sum(
        1
        for line in output.read_text().splitlines()
        for check in json.loads(line)["checks"]
        if check["id"] == "smtp.greeting" and check["status"] == "fail"
    )
    baseline = count * 2
    print(f"{count} domains sharing 2 MX servers (zone served by {served_by}): {elapsed:.1f} s, "
          f"{count / elapsed:.0f} domains/s")  # fmt: skip
    print(
        f"SMTP sessions: {sessions} (one per domain and address would be {baseline}: ratio {sessions / baseline:.3f})"
    )
    print(f"greeting failures: {greeting_failures}")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
