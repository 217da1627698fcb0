"""Two lab worlds the report's length is measured on (tests/test_report_budget.py):

- ``healthy.test``: two MX hosts, MTA-STS enforce, TLS-RPT, SPF, DMARC, and six mailbox endpoints published in
  SRV records (submission 465/587, IMAP 993/143, POP3 995/110), every certificate from one internal CA made the
  way many are (no subjectKeyIdentifier on the CA, no authorityKeyIdentifier on the leaves): healthy, with the
  same two stricter-profile findings on every endpoint.
- ``ten.test``: ten MX hosts, each broken at another stage, on loopback addresses without --allow-private (so
  "private address" and "no PTR" are facts about many hosts at once).
"""

import datetime as dt
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.https import Document, HttpsLabServer
from mailcheck.lab.mailbox import ImapLabServer, MailboxBehaviour, Pop3LabServer
from mailcheck.lab.pki import CertificateAuthority, self_signed
from mailcheck.lab.server import LabServer, server_context
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer
from mailcheck.lab.world import free_port


@dataclass
class ReportWorld:
    domain: str
    dns: DnsResponder
    workdir: Path
    ca: CertificateAuthority
    servers: list[LabServer] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ca_file(self) -> Path:
        return self.workdir / "world-ca.pem"

    def options(self) -> list[str]:
        return ["--resolver", self.dns.address, "--ca-file", str(self.ca_file), "--timeout", "2", *self.extra]

    def context(self, name: str) -> ssl.SSLContext:
        return server_context(self.ca.issue(name), self.workdir)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.dns.stop()


def _world(domain: str, workdir: Path, ca: CertificateAuthority) -> ReportWorld:
    world = ReportWorld(domain, DnsResponder().start(), workdir, ca)
    ca.write_pem(world.ca_file)
    return world


def healthy(workdir: Path) -> ReportWorld:
    domain = "healthy.test"
    world = _world(domain, workdir, CertificateAuthority("Example Internal CA", key_identifiers=False))
    zone = world.dns.zone
    port = free_port(["127.0.0.91", "127.0.0.92"])
    for number, address in ((1, "127.0.0.91"), (2, "127.0.0.92")):
        host = f"mx{number}.{domain}"
        behaviour = SmtpBehaviour(hostname=host, tls=world.context(host), local_domains={domain})
        world.servers.append(SmtpLabServer(behaviour, host=address, port=port).start())
        zone.host(host, address)
    zone.add(domain, "MX", f"10 mx1.{domain}.", f"20 mx2.{domain}.")
    zone.txt(domain, "v=spf1 mx -all")
    zone.txt(f"_dmarc.{domain}", f"v=DMARC1; p=reject; rua=mailto:dmarc@{domain}")
    zone.txt(f"_mta-sts.{domain}", "v=STSv1; id=20261201")
    zone.txt(f"_smtp._tls.{domain}", f"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}")
    policy = f"version: STSv1\r\nmode: enforce\r\nmx: *.{domain}\r\nmax_age: 86400\r\n".encode()
    https = HttpsLabServer(
        world.context(f"mta-sts.{domain}"), {"/.well-known/mta-sts.txt": Document(policy)}, host="127.0.0.93"
    ).start()
    world.servers.append(https)
    zone.host(f"mta-sts.{domain}", "127.0.0.93")
    submit, imap, pop = f"submit.{domain}", f"imap.{domain}", f"pop.{domain}"
    zone.host(submit, "127.0.0.94")
    zone.host(imap, "127.0.0.95")
    zone.host(pop, "127.0.0.96")
    endpoints: list[tuple[str, LabServer, str]] = [
        ("_submissions", SmtpLabServer(SmtpBehaviour(hostname=submit), world.context(submit), host="127.0.0.94"), submit),
        ("_submission", SmtpLabServer(SmtpBehaviour(hostname=submit, tls=world.context(submit)), host="127.0.0.94"),
         submit),
        ("_imaps", ImapLabServer(MailboxBehaviour(), world.context(imap), host="127.0.0.95"), imap),
        ("_imap", ImapLabServer(MailboxBehaviour(tls=world.context(imap)), host="127.0.0.95"), imap),
        ("_pop3s", Pop3LabServer(MailboxBehaviour(), world.context(pop), host="127.0.0.96"), pop),
        ("_pop3", Pop3LabServer(MailboxBehaviour(tls=world.context(pop)), host="127.0.0.96"), pop),
    ]  # fmt: skip
    for service, server, host in endpoints:
        world.servers.append(server.start())
        zone.add(f"{service}._tcp.{domain}", "SRV", f"0 1 {server.port} {host}.")
    world.extra = ["--mx-port", str(port), "--mta-sts-port", str(https.port), "--allow-private", "--skip", "dkim"]
    return world


def ten_broken_mx(workdir: Path) -> ReportWorld:
    domain = "ten.test"
    world = _world(domain, workdir, CertificateAuthority("Ten Lab CA"))
    zone = world.dns.zone
    addresses = [f"127.0.0.{100 + n}" for n in range(1, 11)]
    port = free_port(addresses)
    now = dt.datetime.now(dt.UTC)

    def host(n: int) -> str:
        return f"mx{n}.{domain}"

    expired = world.ca.issue(host(2), not_before=now - dt.timedelta(days=120), not_after=now - dt.timedelta(days=9))
    behaviours: dict[int, tuple[SmtpBehaviour, ssl.SSLContext | None]] = {
        1: (SmtpBehaviour(hostname=host(1), starttls=False), None),  # no STARTTLS
        2: (SmtpBehaviour(hostname=host(2)), server_context(expired, workdir)),  # expired certificate
        3: (SmtpBehaviour(silent=True), None),  # never greets
        5: (SmtpBehaviour(banner=f"421 4.3.2 {host(5)} Service shutting down"), None),
        6: (SmtpBehaviour(hostname=host(6), reject_ehlo=True), world.context(host(6))),  # HELO only
        7: (SmtpBehaviour(hostname=host(7)), world.context("other.example")),  # name mismatch
        8: (SmtpBehaviour(hostname=host(8)), server_context(self_signed(host(8)), workdir)),  # self-signed
        9: (SmtpBehaviour(hostname=host(9), starttls_reply="454 4.7.0 TLS not available"), world.context(host(9))),
        10: (SmtpBehaviour(hostname=host(10)), world.context(host(10))),  # healthy
    }  # 4: nothing listens (connection refused)
    for n, address in enumerate(addresses, start=1):
        zone.host(host(n), address, ptr=n % 2 == 0)  # half without a PTR record
        if n in behaviours:
            behaviour, context = behaviours[n]
            behaviour.tls = behaviour.tls or context
            world.servers.append(SmtpLabServer(behaviour, host=address, port=port).start())
    zone.add(domain, "MX", *(f"{n * 10} {host(n)}." for n in range(1, 11)))
    zone.txt(domain, "v=spf1 mx -all")
    zone.txt(f"_dmarc.{domain}", "v=DMARC1; p=none")
    world.extra = ["--mx-port", str(port), "--skip", "dkim,mailbox"]
    return world
