"""A small mail world on loopback: two domains, every server they need, one healthy and one with the classic
faults. Started by ``mailcheck demo`` and by the tests, so both exercise one implementation.

- ``good.test``: two MX hosts with STARTTLS and certificates from the lab CA, DANE (TLSA 3 1 1, DNSSEC-
  authenticated answers), MTA-STS in enforce mode, TLS-RPT, SPF, DKIM, DMARC p=reject, an IMAPS and a POP3S endpoint.
- ``broken.test``: an MX that is a CNAME and offers no STARTTLS, an MX with an expired certificate, a silent
  MX, SPF over the 10-lookup limit, DMARC p=none with an external rua that never authorised it.
"""

import base64
import datetime as dt
import hashlib
import socket
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.https import Document, HttpsLabServer
from mailcheck.lab.mailbox import ImapLabServer, MailboxBehaviour, Pop3LabServer
from mailcheck.lab.pki import CertificateAuthority, Credential, make_key
from mailcheck.lab.server import LabServer, server_context
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer

GOOD, BROKEN = "good.test", "broken.test"


def free_port(addresses: list[str]) -> int:
    """A TCP port free on every one of ``addresses`` (loopback), so one MX port serves them all."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses[1:]:
                with socket.socket() as other:
                    other.bind((address, port))
        except OSError:
            continue
        return port
    raise OSError("no port free on every lab address")


@dataclass
class MailLab:
    """Start with :meth:`start`, stop with :meth:`stop`; ``resolver`` and ``ca_file`` point mailcheck at it."""

    workdir: Path
    dns: DnsResponder = field(default_factory=DnsResponder)
    ca: CertificateAuthority = field(default_factory=lambda: CertificateAuthority("mailcheck lab CA"))
    servers: list[LabServer] = field(default_factory=list)
    smtp_port: int = 0
    https_port: int = 0
    dkim_key_pem: bytes = b""

    @property
    def resolver(self) -> str:
        return self.dns.address

    @property
    def ca_file(self) -> Path:
        return self.workdir / "lab-ca.pem"

    def options(self) -> list[str]:
        """The command-line options that aim mailcheck at this lab."""
        return [
            "--resolver", self.resolver, "--ca-file", str(self.ca_file), "--mx-port", str(self.smtp_port),
            "--mta-sts-port", str(self.https_port), "--allow-private",
        ]  # fmt: skip

    def _smtp(
        self, name: str, address: str, behaviour: SmtpBehaviour, credential: Credential | None = None
    ) -> Credential:
        credential = credential or self.ca.issue(name)
        if behaviour.tls is None and behaviour.starttls:
            behaviour.tls = server_context(credential, self.workdir)
        self.servers.append(SmtpLabServer(behaviour, host=address, port=self.smtp_port).start())
        self.dns.zone.host(name, address)
        return credential

    def start(self) -> "MailLab":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca.write_pem(self.ca_file)
        self.dns.authenticated = True
        self.dns.start()
        self.smtp_port = free_port(["127.0.0.11", "127.0.0.12", "127.0.0.21", "127.0.0.22", "127.0.0.23"])
        self._good()
        self._broken()
        return self

    def _good(self) -> None:
        zone = self.dns.zone
        zone.add(GOOD, "MX", f"10 mx1.{GOOD}.", f"20 mx2.{GOOD}.")
        for number, address in ((1, "127.0.0.11"), (2, "127.0.0.12")):
            host = f"mx{number}.{GOOD}"
            credential = self._smtp(host, address, SmtpBehaviour(hostname=host, local_domains={GOOD}))
            spki = credential.cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            zone.add(f"_25._tcp.{host}", "TLSA", f"3 1 1 {hashlib.sha256(spki).hexdigest()}")
        zone.txt(GOOD, "v=spf1 mx -all")
        zone.txt(f"_dmarc.{GOOD}", f"v=DMARC1; p=reject; rua=mailto:dmarc@{GOOD}; adkim=s")
        key = make_key("rsa", 2048)
        self.dkim_key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        zone.txt(f"lab1._domainkey.{GOOD}", f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}")
        zone.txt(f"_mta-sts.{GOOD}", "v=STSv1; id=20261122")
        zone.txt(f"_smtp._tls.{GOOD}", f"v=TLSRPTv1; rua=mailto:tlsrpt@{GOOD}")
        policy = f"version: STSv1\r\nmode: enforce\r\nmx: mx1.{GOOD}\r\nmx: *.{GOOD}\r\nmax_age: 86400\r\n".encode()
        https = HttpsLabServer(
            server_context(self.ca.issue(f"mta-sts.{GOOD}"), self.workdir),
            {"/.well-known/mta-sts.txt": Document(policy)},
            host="127.0.0.13",
        ).start()
        self.https_port = https.port
        self.servers.append(https)
        zone.host(f"mta-sts.{GOOD}", "127.0.0.13")
        imap = ImapLabServer(
            MailboxBehaviour(),
            implicit_tls=server_context(self.ca.issue(f"imap.{GOOD}"), self.workdir),
            host="127.0.0.14",
        ).start()
        self.servers.append(imap)
        zone.host(f"imap.{GOOD}", "127.0.0.14")
        zone.add(f"_imaps._tcp.{GOOD}", "SRV", f"0 1 {imap.port} imap.{GOOD}.")
        pop3 = Pop3LabServer(
            MailboxBehaviour(),
            implicit_tls=server_context(self.ca.issue(f"pop.{GOOD}"), self.workdir),
            host="127.0.0.15",
        ).start()
        self.servers.append(pop3)
        zone.host(f"pop.{GOOD}", "127.0.0.15")
        zone.add(f"_pop3s._tcp.{GOOD}", "SRV", f"0 1 {pop3.port} pop.{GOOD}.")
        zone.add(f"_submission._tcp.{GOOD}", "SRV", "0 0 0 .")

    def _broken(self) -> None:
        zone = self.dns.zone
        zone.add(BROKEN, "MX", f"10 mail.{BROKEN}.", f"20 mx2.{BROKEN}.", f"30 mx3.{BROKEN}.")
        zone.add(f"mail.{BROKEN}", "CNAME", f"mx1.{BROKEN}.")
        self._smtp(f"mx1.{BROKEN}", "127.0.0.21", SmtpBehaviour(hostname=f"mx1.{BROKEN}", starttls=False))
        now = dt.datetime.now(dt.UTC)
        expired = self.ca.issue(
            f"mx2.{BROKEN}", not_before=now - dt.timedelta(days=120), not_after=now - dt.timedelta(days=9)
        )
        self._smtp(f"mx2.{BROKEN}", "127.0.0.22", SmtpBehaviour(hostname=f"mx2.{BROKEN}"), expired)
        self._smtp(f"mx3.{BROKEN}", "127.0.0.23", SmtpBehaviour(silent=True))
        zone.txt(BROKEN, "v=spf1 " + " ".join(f"include:s{i}.spf.{BROKEN}" for i in range(6)) + " ~all")
        for i in range(6):
            zone.txt(f"s{i}.spf.{BROKEN}", f"v=spf1 a:h{i}.spf.{BROKEN} ip4:127.0.9.{i} ~all")
            zone.host(f"h{i}.spf.{BROKEN}", f"127.0.8.{i}", ptr=False)
        zone.txt(f"_dmarc.{BROKEN}", "v=DMARC1; p=none; rua=mailto:reports@collector.example.net")

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.dns.stop()
