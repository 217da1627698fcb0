"""Certificate verdicts against the oracle that decides in the real world: OpenSSL.

Each shape is made the way admins and CAs make it (the `openssl` command line with its defaults where
possible) and served by a lab SMTP server with implicit TLS. For each, the test connects with Python's `ssl`
(OpenSSL: the CA trusted, host name checked, default flags, as Postfix and swaks verify) and asserts that
mailcheck's trust verdict is the same. The stricter-profile lint is held against OpenSSL's X509_STRICT the
same way: a strict refusal must show as a strict-profile finding, a strict pass must show none.
"""

import datetime as dt
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailcheck.checks.transport.cert_profile import profile_findings
from mailcheck.checks.transport.certificate import certificate_result
from mailcheck.lab.pki import CertificateAuthority
from mailcheck.model import Stage, Subject
from mailcheck.net.trust import NO_TRUST
from tests.conftest import Cli, SmtpLab
from tests.debian import need_commands

NAME = "mx.matrix.test"
NOW = dt.datetime.now(dt.UTC)
STRICT_KINDS = {"missing-key-usage", "missing-ski", "missing-aki", "ca-constraints-not-critical"}


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class OpensslPki:
    """A CA, intermediates and leaves made with the openssl command line, as an admin makes them."""

    def __init__(self, directory: Path) -> None:
        need_commands({"openssl": "openssl"}, "certificate matrix")
        self.dir = directory
        # `openssl req -x509 -newkey` with its defaults: basicConstraints critical, SKI, AKI, no keyUsage
        self.new_root("ca", "Internal Mail CA")
        self.new_root("other-ca", "Unrelated CA")
        # and one made with the extensions RFC 5280 asks of a CA, for chains even X509_STRICT accepts
        self.new_root("strict-ca", "Strict Mail CA", "keyUsage=critical,keyCertSign,cRLSign")

    def path(self, stem: str) -> Path:
        return self.dir / f"{stem}.pem"

    def new_root(self, stem: str, cn: str, *addext: str) -> None:
        extra = [arg for ext in addext for arg in ("-addext", ext)]
        openssl(
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", f"/CN={cn}"),
            *("-keyout", f"{stem}.key", "-out", f"{stem}.pem", *extra),
            cwd=self.dir,
        )

    def issue(self, stem: str, issuer: str, cn: str, extensions: str | None) -> None:
        """`openssl x509 -req` signed by ISSUER; EXTENSIONS as an -extfile (None: no extensions, a v1 cert)."""
        openssl(
            *("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}"),
            *("-keyout", f"{stem}.key", "-out", f"{stem}.csr"),
            cwd=self.dir,
        )
        args = ["x509", "-req", "-in", f"{stem}.csr", "-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key"]
        args += ["-CAcreateserial", "-days", "365", "-out", f"{stem}.pem"]
        if extensions is not None:
            (self.dir / f"{stem}.ext").write_text(extensions)
            args += ["-extfile", f"{stem}.ext"]
        openssl(*args, cwd=self.dir)

    def bundle(self, stem: str, *certs: str) -> Path:
        """A server certificate file: the PEMs of CERTS in the order given."""
        path = self.dir / f"{stem}.chain.pem"
        path.write_text("".join(self.path(c).read_text() for c in certs))
        return path


CA_EXT = "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
LEAF_EXT = f"subjectAltName=DNS:{NAME}\n"


@dataclass
class Shape:
    """What a server sends: its chain file and key, and the name a client expects."""

    chain: Path
    key: Path
    name: str = NAME


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> OpensslPki:
    pki = OpensslPki(tmp_path_factory.mktemp("openssl-pki"))
    pki.issue("leaf", "ca", NAME, LEAF_EXT)
    pki.issue("leaf-no-kid", "ca", NAME, LEAF_EXT + "subjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n")
    pki.issue("leaf-cn-only", "ca", NAME, None)
    pki.issue("leaf-client-only", "ca", NAME, LEAF_EXT + "extendedKeyUsage=clientAuth\n")
    pki.issue("wildcard", "ca", "*.matrix.test", "subjectAltName=DNS:*.matrix.test\n")
    pki.issue("int1", "ca", "Internal Issuing CA 1", CA_EXT)
    pki.issue("int2", "int1", "Internal Issuing CA 2", CA_EXT)
    pki.issue("leaf-int", "int2", NAME, LEAF_EXT)
    pki.issue(
        "leaf-int-aia", "int2", NAME, LEAF_EXT + "authorityInfoAccess=caIssuers;URI:http://ca.matrix.test/i.crt\n"
    )
    pki.new_root("self", NAME, f"subjectAltName=DNS:{NAME}")
    pki.issue("strict-leaf", "strict-ca", NAME, LEAF_EXT)
    pki.issue("strict-leaf-no-kid", "strict-ca", NAME, LEAF_EXT + "authorityKeyIdentifier=none\n")
    return pki


def shapes(pki: OpensslPki, tmp: Path) -> dict[str, Shape]:
    key = pki.dir / "leaf.key"
    found = {
        "openssl-defaults": Shape(pki.bundle("a", "leaf"), key),
        "no-aki-ski": Shape(pki.bundle("b", "leaf-no-kid"), pki.dir / "leaf-no-kid.key"),
        "cn-only-no-extensions": Shape(pki.bundle("c", "leaf-cn-only"), pki.dir / "leaf-cn-only.key"),
        "client-auth-only": Shape(pki.bundle("d", "leaf-client-only"), pki.dir / "leaf-client-only.key"),
        "intermediates-sent": Shape(pki.bundle("e", "leaf-int", "int2", "int1"), pki.dir / "leaf-int.key"),
        "intermediate-not-sent": Shape(pki.bundle("f", "leaf-int"), pki.dir / "leaf-int.key"),
        "intermediate-not-sent-with-aia": Shape(pki.bundle("g", "leaf-int-aia"), pki.dir / "leaf-int-aia.key"),
        "out-of-order": Shape(pki.bundle("h", "leaf-int", "int1", "int2"), pki.dir / "leaf-int.key"),
        "extra-unrelated": Shape(pki.bundle("i", "leaf-int", "other-ca", "int2", "int1"), pki.dir / "leaf-int.key"),
        "wildcard": Shape(pki.bundle("j", "wildcard"), pki.dir / "wildcard.key"),
        "wildcard-too-deep": Shape(pki.bundle("k", "wildcard"), pki.dir / "wildcard.key", "deep.mx.matrix.test"),
        "wrong-name": Shape(pki.bundle("l", "leaf"), key, "other.matrix.test"),
        "self-signed": Shape(pki.bundle("m", "self"), pki.dir / "self.key"),
        "strict-clean": Shape(pki.bundle("n", "strict-leaf"), pki.dir / "strict-leaf.key"),
        "strict-no-aki": Shape(pki.bundle("o", "strict-leaf-no-kid"), pki.dir / "strict-leaf-no-kid.key"),
    }
    # Faults of time cannot be made with openssl 3.0's command line (no back-dating): the lab CA makes them.
    lab_ca = CertificateAuthority("Lab Root For Time Faults")
    (tmp / "lab-ca.pem").write_bytes(lab_ca.cert_pem)
    expired_int = lab_ca.intermediate("Expired Issuing CA", NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=2))
    for stem, credential in (
        ("expired-intermediate", expired_int.issue(NAME, not_before=NOW - dt.timedelta(days=30))),
        (
            "expired-leaf",
            lab_ca.issue(NAME, not_before=NOW - dt.timedelta(days=90), not_after=NOW - dt.timedelta(days=1)),
        ),
    ):
        chain, keyfile = credential.write(tmp, stem)
        found[stem] = Shape(chain, keyfile)
    return found


# The kind mailcheck must give each shape OpenSSL refuses (OpenSSL decides pass or fail; this pins the name).
EXPECTED_KIND = {
    "client-auth-only": "wrong-purpose",
    "intermediate-not-sent": "untrusted",
    "intermediate-not-sent-with-aia": "incomplete-chain",
    "wildcard-too-deep": "hostname-mismatch",
    "wrong-name": "hostname-mismatch",
    "self-signed": "self-signed",
    "expired-intermediate": "expired",
    "expired-leaf": "expired",
}


def oracle(port: int, name: str, ca_files: list[Path], strict: bool = False) -> tuple[bool, str]:
    """OpenSSL's verdict through Python's ssl over a real handshake: (accepted, OpenSSL's message)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # not create_default_context: 3.13 adds X509_STRICT there
    context.load_default_certs()
    for ca_file in ca_files:
        context.load_verify_locations(cafile=str(ca_file))
    if strict:
        context.verify_flags |= ssl.VERIFY_X509_STRICT
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=name):
                return True, "ok"
        except ssl.SSLCertVerificationError as exc:
            return False, str(exc.verify_message)


@pytest.fixture(scope="module")
def matrix(pki: OpensslPki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Shape]:
    return shapes(pki, tmp_path_factory.mktemp("time-faults"))


SHAPES = [
    "openssl-defaults",
    "no-aki-ski",
    "cn-only-no-extensions",
    "client-auth-only",
    "intermediates-sent",
    "intermediate-not-sent",
    "intermediate-not-sent-with-aia",
    "out-of-order",
    "extra-unrelated",
    "wildcard",
    "wildcard-too-deep",
    "wrong-name",
    "self-signed",
    "expired-intermediate",
    "expired-leaf",
    "strict-clean",
    "strict-no-aki",
]


@pytest.mark.parametrize("shape_name", SHAPES)
def test_trust_verdict_is_openssls(
    shape_name: str, matrix: dict[str, Shape], pki: OpensslPki, smtp_lab: SmtpLab, cli: Cli
) -> None:
    # Given a submission server (implicit TLS: a certificate fault fails there) presenting the shape
    shape = matrix[shape_name]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(shape.chain, shape.key)
    server = smtp_lab.start(name=shape.name, implicit=True, context=context)
    lab_ca = shape.chain.parent / "lab-ca.pem"
    bundle = smtp_lab.workdir / "trusted.pem"
    trusted = [pki.path("ca"), pki.path("strict-ca"), *([lab_ca] if lab_ca.exists() else [])]
    bundle.write_text("".join(path.read_text() for path in trusted))
    # When OpenSSL and mailcheck judge it with the same anchors and name
    accepted, message = oracle(server.port, shape.name, [bundle])
    args = smtp_lab.args(server, shape.name, "--tls", "implicit", "--json")
    args[args.index("--ca-file") + 1] = str(bundle)
    run = cli(*args)
    check = run.check("smtp.certificate")
    # Then they agree, and a refusal is named precisely, in plain words
    assert check["details"]["trusted"] is accepted, (message, check)
    if accepted:
        assert check["status"] == "pass", check
    else:
        assert check["status"] == "fail" and check["stage"] == "certificate"
        assert check["error"]["kind"] == EXPECTED_KIND[shape_name], (message, check)
        for text in (check["summary"], check["error"]["message"]):
            assert "<" not in text and "2.5.29" not in text and "Error" not in text, text
    # And the stricter-profile lint agrees with OpenSSL's X509_STRICT where OpenSSL's defaults accept
    if accepted:
        strict_ok, strict_message = oracle(server.port, shape.name, [bundle], strict=True)
        lint = {c["error"]["kind"] for c in run.checks("smtp.certificate-profile")}
        assert bool(lint & STRICT_KINDS) is not strict_ok, (strict_message, lint)
        if shape_name.startswith("strict-"):
            assert strict_ok is (shape_name == "strict-clean"), strict_message
        assert all(c["status"] == "warn" for c in run.checks("smtp.certificate-profile"))


def test_openssl_default_ca_is_trusted_with_lint_not_failure(
    matrix: dict[str, Shape], pki: OpensslPki, smtp_lab: SmtpLab, cli: Cli
) -> None:
    # Given the CA an admin makes with `openssl req -x509` (no keyUsage) and a leaf it signed
    shape = matrix["openssl-defaults"]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(shape.chain, shape.key)
    server = smtp_lab.start(name=NAME, implicit=True, context=context)
    args = smtp_lab.args(server, NAME, "--tls", "implicit", "--json")
    args[args.index("--ca-file") + 1] = str(pki.path("ca"))
    run = cli(*args)
    # Then the certificate passes, and the CA's missing keyUsage is a warning that says who refuses it
    assert run.check("smtp.certificate")["status"] == "pass"
    lint = run.check("smtp.certificate-profile")
    assert lint["status"] == "warn" and lint["error"]["kind"] == "missing-key-usage"
    assert "Python 3.13" in lint["summary"] and "OpenSSL's defaults" in lint["summary"]
    assert run.code == 0
    # With opportunistic TLS (port 25 without MTA-STS) the same lint is only information
    server25 = smtp_lab.start(name=NAME, context=context)
    args = smtp_lab.args(server25, NAME, "--opportunistic-tls", "--json")
    args[args.index("--ca-file") + 1] = str(pki.path("ca"))
    assert cli(*args).check("smtp.certificate-profile")["status"] == "info"


def test_cn_only_certificate_warns_that_go_and_rustls_refuse_it(matrix: dict[str, Shape]) -> None:
    chain = [ssl.PEM_cert_to_DER_cert(matrix["cn-only-no-extensions"].chain.read_text())]
    from cryptography import x509

    kinds = [kind for kind, _ in profile_findings([x509.load_der_x509_certificate(chain[0])], [])]
    assert kinds == ["no-subject-alt-name"]


@pytest.mark.parametrize(
    ("chain", "kind"),
    [
        ([b"\x30\x82\x01\x00garbage"], "unparseable"),
        ([], "untrusted"),
    ],
    ids=["garbage-der", "no-certificate"],
)
def test_bad_chains_are_findings_at_stage_certificate(chain: list[bytes], kind: str) -> None:
    results = certificate_result(Subject("smtp.certificate", "x", Stage.CERTIFICATE), chain, NAME, NO_TRUST, NOW)
    assert results[0].status.value == "fail" and results[0].error is not None
    assert results[0].error.kind == kind and results[0].error.stage == Stage.CERTIFICATE


def implicit_smtp(cli: Cli, smtp_lab: SmtpLab, port: int):  # type: ignore[no-untyped-def]
    """`mailcheck smtp` on the lab server at PORT with implicit TLS, trusting the lab CA."""
    return cli("smtp", NAME, "--port", str(port), "--tls", "implicit", "--resolver", smtp_lab.dns.address,
               "--ca-file", str(smtp_lab.ca_file), "--timeout", "5", "--json")  # fmt: skip


def _serve(smtp_lab: SmtpLab, chain_pem: bytes, key_pem: bytes) -> int:
    (smtp_lab.workdir / "odd.pem").write_bytes(chain_pem)
    (smtp_lab.workdir / "odd.key").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(smtp_lab.workdir / "odd.pem", smtp_lab.workdir / "odd.key")
    return smtp_lab.start(name=NAME, implicit=True, context=context).port


def test_a_chain_of_fifty_certificates_is_judged_like_openssl_does(smtp_lab: SmtpLab, cli: Cli) -> None:
    # Given a leaf followed by 49 unrelated CA certificates
    leaf = smtp_lab.ca.issue(NAME)
    strangers = b"".join(CertificateAuthority(f"stranger {i}").cert_pem for i in range(49))
    port = _serve(smtp_lab, leaf.cert_chain_pem + strangers, leaf.key_pem)
    accepted, _ = oracle(port, NAME, [smtp_lab.ca_file])
    run = implicit_smtp(cli, smtp_lab, port)
    check = run.check("smtp.certificate")
    assert check["details"]["trusted"] is accepted and len(check["details"]["chain"]) == 50


def test_a_megabyte_certificate_is_a_finding_at_stage_certificate(smtp_lab: SmtpLab, cli: Cli) -> None:
    # Given a leaf carrying a 1 MB private extension
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization

    base = smtp_lab.ca.issue(NAME)
    builder = (
        cx509.CertificateBuilder()
        .subject_name(base.cert.subject)
        .issuer_name(base.cert.issuer)
        .public_key(base.key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(base.cert.not_valid_before_utc)
        .not_valid_after(base.cert.not_valid_after_utc)
        .add_extension(cx509.SubjectAlternativeName([cx509.DNSName(NAME)]), critical=False)
        .add_extension(
            cx509.UnrecognizedExtension(
                cx509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x04\x83\x10\x00\x00" + b"x" * 0x100000
            ),
            critical=False,
        )
    )
    cert = builder.sign(smtp_lab.ca.key, hashes.SHA256())
    port = _serve(smtp_lab, cert.public_bytes(serialization.Encoding.PEM), base.key_pem)
    # Then mailcheck names it at stage certificate, in plain words, well within its timeout
    run = implicit_smtp(cli, smtp_lab, port)
    failed = [c for c in run.checks() if c["error"]]
    assert failed and failed[0]["stage"] == "certificate" and failed[0]["error"]["kind"] == "oversized-chain"
    assert "100 KiB" in failed[0]["summary"] and run.code == 1
