"""Shared fixtures: the network guard, the lab DNS responder, the test CA and a CLI runner."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mailcheck.cli import main
from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.pki import CertificateAuthority
from tests import netguard

netguard.install()


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


class Cli:
    """Invoke mailcheck in-process as a user would, with MAILCHECK_RESOLVER unset unless given."""

    def __call__(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> CliRun:
        runner = CliRunner()
        full_env = {"MAILCHECK_RESOLVER": "", "NO_COLOR": "1", "COLUMNS": "200"}
        full_env.update(env or {})
        result = runner.invoke(main, list(args), input=input, env=full_env, catch_exceptions=False)
        return CliRun(result)


@pytest.fixture
def cli() -> Cli:
    return Cli()
