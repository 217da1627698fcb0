"""DNSSEC validated by mailcheck itself, against zones signed with dnspython and served by the lab responder:
a secure zone with TLSA, expired signatures, a DS matching no key (bogus), an unsigned delegation proved by
the parent's NSEC (insecure), and a resolver that strips signatures (indeterminate)."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.dnssec import ZoneSigning, sign
from mailcheck.lab.pki import self_signed
from tests.conftest import Cli


class SignedWorld:
    def __init__(self, responder: DnsResponder, anchor_file: Path, tlsa: str) -> None:
        self.dns = responder
        self.anchor_file = anchor_file
        self.tlsa = tlsa

    def dnssec(self, cli: Cli, name: str, rdtype: str, *extra: str):  # type: ignore[no-untyped-def]
        return cli("dnssec", name, rdtype, "--resolver", self.dns.address, "--trust-anchor", str(self.anchor_file),
                   "--timeout", "2", "--json", *extra)  # fmt: skip


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedWorld]:
    responder = DnsResponder()
    zone = responder.zone
    credential = self_signed("mx.secure.test")
    spki = credential.cert.public_key().public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER,
        __import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["PublicFormat"]
        ).PublicFormat.SubjectPublicKeyInfo,
    )
    tlsa = f"3 1 1 {hashlib.sha256(spki).hexdigest()}"
    for domain in ("secure.test", "expired.test", "wrongds.test", "plain.test", "hashed.test", "plain.hashed.test"):
        zone.add(domain, "MX", f"10 mx.{domain}.")
        zone.host(f"mx.{domain}", "127.0.0.40", ptr=False)
    zone.add("_25._tcp.mx.secure.test", "TLSA", tlsa)
    zone.txt("_dmarc.secure.test", "v=DMARC1; p=reject")
    anchor = sign(
        zone,
        [
            ZoneSigning("."),
            ZoneSigning("test."),
            ZoneSigning("secure.test."),
            ZoneSigning("expired.test.", expired=True),
            ZoneSigning("wrongds.test.", wrong_ds=True),
            ZoneSigning("plain.test.", signed=False),
            ZoneSigning("hashed.test.", nsec3=True),
            ZoneSigning("plain.hashed.test.", signed=False),
        ],
    )
    anchor_file = tmp_path_factory.mktemp("anchors") / "root.anchor"
    anchor_file.write_text(f"; the lab root\n{anchor}\n")
    responder.start()
    yield SignedWorld(responder, anchor_file, tlsa)
    responder.stop()


@pytest.mark.parametrize(
    ("name", "rdtype", "state"),
    [
        ("secure.test", "MX", "secure"),
        ("mx.secure.test", "A", "secure"),
        ("_25._tcp.mx.secure.test", "TLSA", "secure"),
        ("_dmarc.secure.test", "TXT", "secure"),
        ("expired.test", "MX", "bogus"),
        ("wrongds.test", "MX", "bogus"),
        ("plain.test", "MX", "insecure"),
        ("mx.plain.test", "A", "insecure"),
        ("hashed.test", "MX", "secure"),
        ("plain.hashed.test", "MX", "insecure"),  # proved by the parent's NSEC3 record
    ],
)
def test_each_answer_is_validated_by_mailcheck(
    signed: SignedWorld, cli: Cli, name: str, rdtype: str, state: str
) -> None:
    run = signed.dnssec(cli, name, rdtype)
    answer = run.check("dnssec.answer")
    assert answer["details"]["state"] == state, answer
    assert answer["details"]["decided_by"] == "mailcheck"
    assert run.code == (1 if state == "bogus" else 0)


def test_bogus_names_the_broken_link(signed: SignedWorld, cli: Cli) -> None:
    expired = signed.dnssec(cli, "expired.test", "MX").check("dnssec.answer")
    assert "expired" in expired["summary"] and expired["error"]["kind"] == "bogus"
    mismatch = signed.dnssec(cli, "wrongds.test", "MX").check("dnssec.answer")
    assert "no DNSKEY of wrongds.test. matches the DS" in mismatch["summary"]
    plain = signed.dnssec(cli, "plain.test", "MX").check("dnssec.answer")
    assert "unsigned delegation" in plain["summary"] and "signed NSEC record" in plain["summary"]
    hashed = signed.dnssec(cli, "plain.hashed.test", "MX").check("dnssec.answer")
    assert "signed NSEC3 record" in hashed["summary"]


def test_the_wrong_anchor_makes_everything_bogus(signed: SignedWorld, cli: Cli, tmp_path: Path) -> None:
    # an anchor for the real root (the built-in one): the lab's root key matches none of it
    run = cli("dnssec", "secure.test", "MX", "--resolver", signed.dns.address, "--timeout", "2", "--json")
    assert run.check("dnssec.answer")["details"]["state"] == "bogus"


def test_a_resolver_that_strips_signatures_is_indeterminate(cli: Cli, dns_server: DnsResponder, tmp_path: Path) -> None:
    dns_server.zone.add("unsigned.test", "MX", "10 mx.unsigned.test.")
    anchor = tmp_path / "a"
    anchor.write_text(". IN DS 12345 13 2 " + "00" * 32 + "\n")
    run = cli("dnssec", "unsigned.test", "MX", "--resolver", dns_server.address, "--trust-anchor", str(anchor),
              "--timeout", "1", "--json")  # fmt: skip
    answer = run.check("dnssec.answer")
    assert answer["details"]["state"] == "indeterminate" and answer["status"] == "info"
    assert "no DNSSEC chain reachable through this resolver" in answer["summary"] and run.code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (". IN DS 20326 8 2\n", "line 1"),
        ("example.com IN A 192.0.2.1\n", "only DS or DNSKEY"),
        ("; nothing\n", "no DS or DNSKEY record"),
    ],
)
def test_malformed_anchor_file_is_a_usage_error_naming_the_line(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    anchor = tmp_path / "bad.anchor"
    anchor.write_text(content)
    run = cli("dnssec", "example.com", "--trust-anchor", str(anchor), "--resolver", "127.0.0.1:9")
    assert run.code == 2 and message in run.err


def test_an_anchor_for_an_unrelated_zone_is_reported(signed: SignedWorld, cli: Cli, tmp_path: Path) -> None:
    anchor = tmp_path / "other.anchor"
    anchor.write_text("example.org. IN DS 12345 13 2 " + "00" * 32 + "\n")
    run = cli("dnssec", "secure.test", "MX", "--resolver", signed.dns.address, "--trust-anchor", str(anchor),
              "--json")  # fmt: skip
    answer = run.check("dnssec.answer")
    assert answer["details"]["state"] == "indeterminate" and "do not cover secure.test." in answer["summary"]


def test_dane_passes_only_on_tlsa_that_mailcheck_validated(signed: SignedWorld, cli: Cli) -> None:
    # Given a DANE-EE TLSA in a signed zone and a resolver without the AD bit
    signed.dns.authenticated = False
    run = cli("domain", "secure.test", "--only", "dane,dnssec", "--resolver", signed.dns.address,
              "--trust-anchor", str(signed.anchor_file), "--timeout", "2", "--json")  # fmt: skip
    tlsa = run.check("dane.tlsa")
    assert tlsa["status"] == "pass" and tlsa["details"]["dnssec_decided_by"] == "mailcheck", tlsa
    assert {c["details"]["state"] for c in run.checks("dnssec.answer")} >= {"secure"}
