"""`mailcheck dmarc evaluate`: the DMARC verdict of a message from aligned DKIM or SPF."""

from pathlib import Path

import pytest

from mailcheck.lab.dns import DnsResponder
from tests.conftest import Cli
from tests.test_dkim import MESSAGE, rsa_key, sign


@pytest.fixture(scope="module")
def key() -> tuple[bytes, str]:
    return rsa_key()


@pytest.fixture
def zone(dns_server: DnsResponder, key: tuple[bytes, str]) -> DnsResponder:
    _, public = key
    dns_server.zone.txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
    dns_server.zone.txt("s1._domainkey.example.com", f"v=DKIM1; k=rsa; p={public}")
    dns_server.zone.txt("example.com", "v=spf1 ip4:127.0.0.9 -all")
    return dns_server


def evaluate(cli: Cli, dns: DnsResponder, message: bytes, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "m.eml"
    path.write_bytes(message)
    return cli("dmarc", "evaluate", str(path), "--resolver", dns.address, "--json", *extra)


def test_aligned_dkim_passes(cli: Cli, zone: DnsResponder, key: tuple[bytes, str], tmp_path: Path) -> None:
    run = evaluate(cli, zone, sign(MESSAGE, key[0]), tmp_path)
    verdict = run.check("dmarc.verdict")
    assert verdict["status"] == "pass" and "aligned DKIM" in verdict["summary"]
    assert run.code == 0


def test_aligned_spf_from_the_receivers_header_passes(cli: Cli, zone: DnsResponder, tmp_path: Path) -> None:
    header = b"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=bounce@mail.example.com\r\n"
    run = evaluate(cli, zone, header + MESSAGE, tmp_path)
    spf = run.check("dmarc.spf")
    assert spf["details"]["aligned"] is True and spf["details"]["source"] == "Authentication-Results"
    assert run.check("dmarc.verdict")["status"] == "pass"


def test_spf_evaluated_now_with_ip(cli: Cli, zone: DnsResponder, tmp_path: Path) -> None:
    message = b"Return-Path: <news@example.com>\r\n" + MESSAGE
    passing = evaluate(cli, zone, message, tmp_path, "--ip", "127.0.0.9")
    assert passing.check("dmarc.spf")["details"]["result"] == "pass"
    assert passing.check("dmarc.verdict")["status"] == "pass"
    failing = evaluate(cli, zone, message, tmp_path, "--ip", "127.0.0.10")
    verdict = failing.check("dmarc.verdict")
    assert verdict["status"] == "fail" and verdict["details"]["policy"] == "reject"
    assert verdict["error"]["kind"] == "dmarc-fail" and failing.code == 1


def test_unaligned_signature_does_not_count(
    cli: Cli, zone: DnsResponder, key: tuple[bytes, str], tmp_path: Path
) -> None:
    import dkim

    pem, public = key
    zone.zone.txt("s1._domainkey.esp.example.net", f"v=DKIM1; k=rsa; p={public}")
    signed = dkim.sign(MESSAGE, b"s1", b"esp.example.net", pem, include_headers=[b"from", b"subject"]) + MESSAGE
    run = evaluate(cli, zone, signed, tmp_path)
    assert run.check("dmarc.dkim")["details"] == {"d": "esp.example.net", "valid": True, "aligned": False}
    assert run.check("dmarc.verdict")["status"] == "fail"


def test_two_from_addresses_is_a_parse_failure(cli: Cli, zone: DnsResponder, tmp_path: Path) -> None:
    message = MESSAGE.replace(b"From: Alice <alice@example.com>", b"From: a@example.com, b@example.org")
    run = evaluate(cli, zone, message, tmp_path)
    assert run.check("dmarc.author")["error"]["kind"] == "syntax"
