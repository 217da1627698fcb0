"""`mailcheck dkim`: key records and `dkim verify` on messages signed in the test with the test's own keys."""

import base64
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailcheck.lab.dns import DnsResponder
from tests.conftest import Cli

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: quarterly numbers\r\n"
    b"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <m1@example.com>\r\n"
    b"\r\n"
    b"Hello Bob,\r\nthe numbers are attached.\r\n"
)


def rsa_key(bits: int = 2048) -> tuple[bytes, str]:
    """(private key PEM for signing, p= value for the key record)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(spki).decode()


@pytest.fixture(scope="module")
def signing_key() -> tuple[bytes, str]:
    return rsa_key()


def sign(message: bytes, key_pem: bytes, selector: str = "s1", **extra: object) -> bytes:
    signature = dkim.sign(
        message,
        selector.encode(),
        b"example.com",
        key_pem,
        include_headers=[b"from", b"to", b"subject", b"date"],
        **extra,
    )  # type: ignore[arg-type]
    return signature + message


def verify(cli: Cli, dns: DnsResponder, message: bytes, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "message.eml"
    path.write_bytes(message)
    return cli("dkim", "verify", str(path), "--resolver", dns.address, "--json")


def test_valid_signature_passes(
    cli: Cli, dns_server: DnsResponder, signing_key: tuple[bytes, str], tmp_path: Path
) -> None:
    pem, public = signing_key
    dns_server.zone.txt("s1._domainkey.example.com", f"v=DKIM1; k=rsa; p={public}")
    run = verify(cli, dns_server, sign(MESSAGE, pem), tmp_path)
    check = run.check("dkim.signature")
    assert check["status"] == "pass", check
    assert check["details"]["d"] == "example.com" and check["details"]["from_signed"] is True
    assert run.code == 0


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (lambda m: m.replace(b"numbers are attached", b"numbers are ATTACHED"), "body-hash-mismatch"),
        (lambda m: m.replace(b"Subject: quarterly numbers", b"Subject: urgent wire transfer"), "signature-invalid"),
    ],
)
def test_body_and_header_tampering_are_told_apart(
    cli: Cli,
    dns_server: DnsResponder,
    signing_key: tuple[bytes, str],
    tmp_path: Path,
    tamper,
    kind: str,  # type: ignore[no-untyped-def]
) -> None:
    pem, public = signing_key
    dns_server.zone.txt("s1._domainkey.example.com", f"v=DKIM1; k=rsa; p={public}")
    run = verify(cli, dns_server, tamper(sign(MESSAGE, pem)), tmp_path)
    check = run.check("dkim.signature")
    assert check["status"] == "fail" and check["error"]["kind"] == kind
    assert run.code == 1


def test_missing_key_and_stdin(cli: Cli, dns_server: DnsResponder, signing_key: tuple[bytes, str]) -> None:
    pem, _ = signing_key
    run = cli("dkim", "verify", "-", "--resolver", dns_server.address, "--json", input=sign(MESSAGE, pem))
    assert run.check("dkim.signature")["error"]["kind"] == "key-not-found"


def test_body_length_tag_warns(
    cli: Cli, dns_server: DnsResponder, signing_key: tuple[bytes, str], tmp_path: Path
) -> None:
    pem, public = signing_key
    dns_server.zone.txt("s1._domainkey.example.com", f"v=DKIM1; k=rsa; p={public}")
    run = verify(cli, dns_server, sign(MESSAGE, pem, length=True), tmp_path)
    check = run.check("dkim.signature")
    assert check["status"] == "warn" and "anyone can append" in check["summary"]


def test_unsigned_message_and_non_message(cli: Cli, dns_server: DnsResponder, tmp_path: Path) -> None:
    assert verify(cli, dns_server, MESSAGE, tmp_path).check("dkim.signature")["error"]["kind"] == "not-signed"
    empty = cli("dkim", "verify", "-", "--resolver", dns_server.address, input=b"")
    assert empty.code == 2 and "empty" in empty.err


def test_arc_chain_is_validated(
    cli: Cli, dns_server: DnsResponder, signing_key: tuple[bytes, str], tmp_path: Path
) -> None:
    pem, public = signing_key
    dns_server.zone.txt("s1._domainkey.example.com", f"v=DKIM1; k=rsa; p={public}")
    signed = sign(MESSAGE, pem)
    with_results = b"Authentication-Results: relay.example.com; dkim=pass header.d=example.com\r\n" + signed
    arc_headers = dkim.arc_sign(with_results, b"s1", b"example.com", pem, b"relay.example.com")
    run = verify(cli, dns_server, b"".join(arc_headers) + with_results, tmp_path)
    chain = run.check("arc.chain")
    assert chain["status"] == "pass" and chain["details"]["cv"] == "pass"


# --- key records ------------------------------------------------------------------------------------------


def keys(cli: Cli, dns: DnsResponder, *args: str):  # type: ignore[no-untyped-def]
    return cli("dkim", "example.com", *args, "--resolver", dns.address, "--json")


def test_key_sizes_and_types(cli: Cli, dns_server: DnsResponder, signing_key: tuple[bytes, str]) -> None:
    _, strong = signing_key
    _, medium = rsa_key(1024)
    ed = base64.b64encode(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()
    dns_server.zone.txt("strong._domainkey.example.com", f"v=DKIM1; k=rsa; p={strong}")
    dns_server.zone.txt("medium._domainkey.example.com", f"v=DKIM1; k=rsa; p={medium}")
    dns_server.zone.txt("ed._domainkey.example.com", f"v=DKIM1; k=ed25519; p={ed}")
    dns_server.zone.txt("gone._domainkey.example.com", "v=DKIM1; k=rsa; p=")
    dns_server.zone.txt("test._domainkey.example.com", f"v=DKIM1; t=y; p={strong}")
    dns_server.zone.txt("junk._domainkey.example.com", "v=DKIM1; p=!!notbase64!!")
    run = keys(
        cli, dns_server, *[a for s in ("strong", "medium", "ed", "gone", "test", "junk", "nope") for a in ("-s", s)]
    )
    by_selector = {c["details"]["selector"]: c for c in run.checks("dkim.key")}
    assert by_selector["strong"]["status"] == "pass" and by_selector["strong"]["details"]["bits"] == 2048
    assert by_selector["medium"]["status"] == "warn" and "2048" in by_selector["medium"]["summary"]
    assert by_selector["ed"]["status"] == "pass" and "Ed25519" in by_selector["ed"]["summary"]
    assert by_selector["gone"]["error"]["kind"] == "revoked"
    assert by_selector["test"]["status"] == "warn" and "t=y" in by_selector["test"]["summary"]
    assert by_selector["junk"]["error"]["kind"] == "syntax"
    assert by_selector["nope"]["error"]["kind"] == "not-found"


def test_cname_delegated_selector_is_followed(
    cli: Cli, dns_server: DnsResponder, signing_key: tuple[bytes, str]
) -> None:
    _, public = signing_key
    dns_server.zone.add("esp._domainkey.example.com", "CNAME", "key1.esp.example.net.")
    dns_server.zone.txt("key1.esp.example.net", f"v=DKIM1; k=rsa; p={public}")
    check = keys(cli, dns_server, "-s", "esp").check("dkim.key")
    assert check["status"] == "pass" and check["details"]["cname"] == "key1.esp.example.net"


def test_discovery_reports_which_common_selectors_exist(
    cli: Cli, dns_server: DnsResponder, signing_key: tuple[bytes, str]
) -> None:
    _, public = signing_key
    dns_server.zone.txt("selector1._domainkey.example.com", f"v=DKIM1; k=rsa; p={public}")
    run = keys(cli, dns_server)
    discovery = run.check("dkim.discovery")
    assert "selector1" in discovery["summary"] and "cannot be listed" in discovery["summary"]
    assert [c["details"]["selector"] for c in run.checks("dkim.key")] == ["selector1"]


def test_signature_count_is_bounded(
    cli: Cli, dns_server: DnsResponder, signing_key: tuple[bytes, str], tmp_path: Path
) -> None:
    pem, public = signing_key
    dns_server.zone.txt("s1._domainkey.example.com", f"v=DKIM1; k=rsa; p={public}")
    signed = sign(MESSAGE, pem)
    signature = signed[: len(signed) - len(MESSAGE)]
    run = verify(cli, dns_server, signature * 25 + MESSAGE, tmp_path)
    checks = run.checks("dkim.signature")
    assert len([c for c in checks if c["details"].get("index") is not None]) == 20
    assert any("5 more DKIM-Signature headers were not verified" in c["summary"] for c in checks)
