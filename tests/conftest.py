"""Shared fixtures: the network guard, the lab DNS responder, the test CA and a CLI runner."""

import inspect
import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from mailcheck.cli import main
from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.mailbox import ImapLabServer, MailboxBehaviour, Pop3LabServer
from mailcheck.lab.pki import CertificateAuthority, Credential
from mailcheck.lab.server import LabServer, server_context
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer
from tests import netguard

netguard.install()

if TYPE_CHECKING:
    from mailcheck.lab.world import MailLab


@pytest.fixture(autouse=True)
def network_rule() -> Iterator[None]:
    """Fail any test that tried to reach an address off loopback, even if the attempt was swallowed."""
    netguard.violations.clear()
    yield
    if netguard.violations:
        found = list(netguard.violations)
        netguard.violations.clear()
        pytest.fail(f"network rule broken: {found}")


@pytest.fixture
def dns_server() -> Iterator[DnsResponder]:
    """A lab DNS responder on 127.0.0.1 with an empty zone; tests add records and faults."""
    with DnsResponder() as responder:
        yield responder


@pytest.fixture(scope="session")
def test_ca() -> CertificateAuthority:
    return CertificateAuthority("mailcheck test CA")


@pytest.fixture(scope="session")
def test_ca_file(test_ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return test_ca.write_pem(tmp_path_factory.mktemp("ca") / "ca.pem")


@dataclass
class CliRun:
    result: Result

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def out(self) -> str:
        return self.result.stdout

    @property
    def err(self) -> str:
        return self.result.stderr

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.result.stdout)
        return document

    def checks(self, check_id: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.json()["checks"] if check_id is None or c["id"] == check_id]

    def check(self, check_id: str, target: str | None = None) -> dict[str, Any]:
        found = [c for c in self.checks(check_id) if target is None or c["target"] == target]
        assert len(found) == 1, f"expected one {check_id} for {target}, got {found}\n{self.out}"
        return found[0]


# click < 8.2 mixes stderr into stdout unless told not to; 8.2 always keeps them apart (and has no such flag).
SEPARATE_STDERR: dict[str, bool] = (
    {"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters else {}
)


class Cli:
    """Invoke mailcheck in-process as a user would, with MAILCHECK_RESOLVER unset unless given."""

    def __call__(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> CliRun:
        runner = CliRunner(**SEPARATE_STDERR)
        full_env = {"MAILCHECK_RESOLVER": "", "NO_COLOR": "1", "COLUMNS": "200"}
        full_env.update(env or {})
        result = runner.invoke(main, list(args), input=input, env=full_env, catch_exceptions=False)
        return CliRun(result)


@pytest.fixture
def cli() -> Cli:
    return Cli()


class SmtpLab:
    """Starts lab SMTP servers named in the lab DNS zone, each with a certificate from the test CA."""

    def __init__(self, dns: DnsResponder, ca: CertificateAuthority, ca_file: Path, workdir: Path) -> None:
        self.dns = dns
        self.ca = ca
        self.ca_file = ca_file
        self.workdir = workdir
        self.servers: list[LabServer] = []

    def start(
        self,
        behaviour: SmtpBehaviour | None = None,
        *,
        name: str = "mx.lab.test",
        credential: Credential | None = None,
        implicit: bool = False,
        tls: bool = True,
        address: str = "127.0.0.1",
        port: int = 0,
        context: ssl.SSLContext | None = None,
    ) -> SmtpLabServer:
        """``context`` (a server TLS context made elsewhere) replaces the test CA's certificate."""
        behaviour = behaviour or SmtpBehaviour(hostname=name)
        if context is None and tls:
            context = server_context(credential or self.ca.issue(name), self.workdir)
        if behaviour.tls is None:
            behaviour.tls = context
        server = SmtpLabServer(behaviour, implicit_tls=context if implicit else None, host=address, port=port)
        server.start()
        self.dns.zone.host(name, address)
        self.servers.append(server)
        return server

    def start_mailbox(
        self,
        protocol: str,
        behaviour: MailboxBehaviour | None = None,
        *,
        name: str = "mail.lab.test",
        credential: Credential | None = None,
        implicit: bool = False,
    ) -> LabServer:
        """Start a lab IMAP or POP3 server for ``name`` (TLS from the test CA)."""
        behaviour = behaviour or MailboxBehaviour()
        context = server_context(credential or self.ca.issue(name), self.workdir)
        if behaviour.tls is None:
            behaviour.tls = context
        server_class = ImapLabServer if protocol == "imap" else Pop3LabServer
        server = server_class(behaviour, implicit_tls=context if implicit else None).start()
        self.dns.zone.host(name, "127.0.0.1")
        self.servers.append(server)
        return server

    def args(self, server: LabServer, name: str = "mx.lab.test", *extra: str, command: str = "smtp") -> list[str]:
        """Command-line arguments that point ``mailcheck COMMAND`` at ``server`` through the lab DNS and CA."""
        return [
            command,
            name,
            "--port",
            str(server.port),
            "--resolver",
            self.dns.address,
            "--ca-file",
            str(self.ca_file),
            "--timeout",
            "2",
            *extra,
        ]

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def smtp_lab(
    dns_server: DnsResponder, test_ca: CertificateAuthority, test_ca_file: Path, tmp_path: Path
) -> Iterator[SmtpLab]:
    lab = SmtpLab(dns_server, test_ca, test_ca_file, tmp_path)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def mail_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator["MailLab"]:
    """The two-domain lab world (good.test, broken.test) that `mailcheck demo` also runs."""
    from mailcheck.lab.world import MailLab

    lab = MailLab(tmp_path_factory.mktemp("lab")).start()
    yield lab
    lab.stop()


def run_without(module: str, *argv: str) -> "subprocess.CompletedProcess[str]":
    """``mailcheck ARGV`` in a fresh interpreter where MODULE cannot be imported: an install without an extra."""
    program = f"import sys; sys.modules[{module!r}] = None\nfrom mailcheck.cli import main\nsys.argv = {['mailcheck', *argv]!r}\nmain()\n"
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)


def hide_sslyze(monkeypatch: pytest.MonkeyPatch) -> None:
    """An install without the tls extra: sslyze cannot be imported (in-process runs only)."""
    monkeypatch.setitem(sys.modules, "sslyze", None)  # type: ignore[arg-type]


@pytest.fixture
def no_sslyze(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_sslyze(monkeypatch)
