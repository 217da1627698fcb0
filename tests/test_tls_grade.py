"""`--tls-grade`: the NCSC TLS guideline tables, and sslyze's scan of lab servers graded item by item (a
modern server, and one configured as old setups still run: TLS 1.0, RSA key exchange, NULL suites)."""

import pytest

from mailcheck.checks.transport import tls_guideline as ncsc
from tests.conftest import Cli, SmtpLab, run_without
from tests.test_tls_scan import legacy_context

pytest.importorskip("sslyze", reason="the tls extra (sslyze) is not installed")


@pytest.mark.parametrize(
    ("suite", "level"),
    [
        ("TLS_AES_256_GCM_SHA384", "good"),
        ("TLS_CHACHA20_POLY1305_SHA256", "good"),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "good"),
        ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "good"),
        ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "sufficient"),
        ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "sufficient"),
        ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "phase-out"),
        ("TLS_RSA_WITH_AES_256_GCM_SHA384", "phase-out"),
        ("TLS_RSA_WITH_NULL_SHA256", "insufficient"),
        ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", "insufficient"),
        ("TLS_DH_anon_WITH_AES_256_GCM_SHA384", "insufficient"),
        ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", "insufficient"),
    ],
)
def test_cipher_suites_by_ncsc_class(suite: str, level: str) -> None:
    assert ncsc.suite_level(suite) == level


def test_groups_keys_and_versions() -> None:
    assert [ncsc.curve_level(c) for c in ("X25519", "secp384r1", "secp224r1", "sect163k1")] == [
        "good", "good", "phase-out", "insufficient"]  # fmt: skip
    assert [ncsc.dh_level(b) for b in (4096, 3072, 2048, 1024)] == ["sufficient", "sufficient", "phase-out",
                                                                    "insufficient"]  # fmt: skip
    assert [ncsc.key_level("RSA", b) for b in (4096, 2048, 1024)] == ["good", "sufficient", "insufficient"]
    assert ncsc.VERSIONS["TLS 1.0"] == "phase-out" and ncsc.VERSIONS["SSL 3.0"] == "insufficient"
    assert ncsc.worst(["good", "phase-out", "sufficient"]) == "phase-out"


def test_a_modern_server_grades_good_or_sufficient(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start()
    run = cli(*smtp_lab.args(server), "--tls-grade", "--json", "--timeout", "5")
    (summary, *below) = run.checks("smtp.tls-grade")
    assert summary["details"]["level"] in ("good", "sufficient"), summary
    assert "TLS 1.3" in summary["details"]["versions"] and "TLS 1.0" not in summary["details"]["versions"]
    facts = summary["details"]["facts"]
    assert facts["heartbleed"] is False and facts["compression"] is False and facts["secure_renegotiation"] is True
    assert not [c for c in below if c["status"] == "fail"], below


def test_an_old_configuration_is_graded_item_by_item(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(context=legacy_context(smtp_lab))
    run = cli(*smtp_lab.args(server), "--tls-grade", "--require-tls", "--json", "--timeout", "5")
    (summary, *below) = run.checks("smtp.tls-grade")
    assert summary["details"]["level"] == "insufficient" and summary["status"] == "fail", summary
    words = " | ".join(c["summary"] for c in below)
    assert "TLS 1.0 accepted: phase-out" in words, words  # versions
    assert "TLS_RSA_WITH_AES_256_GCM_SHA384 (TLS 1.2): phase-out" in words, words  # static RSA key exchange
    assert "NULL" in words and "insufficient" in words, words  # NULL suites
    # and on opportunistic port 25 the same insufficient items warn instead of failing
    relaxed = cli(*smtp_lab.args(server), "--tls-grade", "--opportunistic-tls", "--json", "--timeout", "5")
    assert relaxed.checks("smtp.tls-grade")[0]["status"] == "warn"


def test_without_the_extra_the_error_names_it() -> None:
    done = run_without("sslyze", "smtp", "mx.example", "--tls-grade", "--resolver", "127.0.0.1:9")
    assert done.returncode == 2 and "pip install 'mailcheck-cli[tls]'" in done.stderr, done.stderr


def test_domain_grades_every_mx_address(cli: Cli, mail_lab) -> None:  # type: ignore[no-untyped-def]
    run = cli(
        "domain", "good.test", *mail_lab.options(), "--only", "mx,smtp", "--tls-grade", "--json", "--timeout", "5"
    )
    grades = [c for c in run.checks("smtp.tls-grade") if "level" in c["details"]]
    assert grades and all(g["details"]["level"] in ("good", "sufficient", "phase-out") for g in grades), grades


def test_starttls_command_injection(cli: Cli, smtp_lab: SmtpLab) -> None:
    from mailcheck.lab.smtp import SmtpBehaviour

    # Given a server that answers, inside TLS, a command the client pipelined before STARTTLS (as unpatched
    # servers did, CVE-2011-0411), and one that discards it (RFC 3207 §4.2)
    vulnerable = smtp_lab.start(SmtpBehaviour(keeps_pipelined_commands=True))
    fixed = smtp_lab.start(SmtpBehaviour())
    injected = cli(*smtp_lab.args(vulnerable), "--tls-grade", "--require-tls", "--json", "--timeout", "5")
    found = [c for c in injected.checks("smtp.tls-grade") if c["details"].get("item") == "starttls-injection"]
    assert found and found[0]["status"] == "fail" and "CVE-2011-0411" in found[0]["summary"], found
    assert injected.checks("smtp.tls-grade")[0]["details"]["level"] == "insufficient"
    clean = cli(*smtp_lab.args(fixed), "--tls-grade", "--json", "--timeout", "5")
    found = [c for c in clean.checks("smtp.tls-grade") if c["details"].get("item") == "starttls-injection"]
    assert found and found[0]["status"] == "pass", found


@pytest.mark.parametrize(
    ("found", "status", "words"),
    [
        (None, "info", "every CA may issue"),
        (("example.com", ('0 iodef "mailto:a@example.com"',)), "warn", "no issue property"),
        (("example.com", ("0 issue letsencrypt.org",)), "warn", "cannot read"),
        (("example.com", ('0 issue ";"',)), "pass", "issue ;"),  # "no CA may issue": a valid, strict policy
    ],
)
def test_caa_findings(found, status: str, words: str) -> None:  # type: ignore[no-untyped-def]
    from mailcheck.checks.transport.caa import findings

    (result,) = findings("smtp", {"mx.example.com": found})
    assert result.status.value == status and words in result.summary, result


def test_dane_rollover_readiness() -> None:
    from mailcheck.checks.transport.dane import TlsaRecord, rollover_finding

    one = [TlsaRecord(3, 1, 1, bytes(32))]
    two = [*one, TlsaRecord(2, 1, 1, bytes(32))]
    assert rollover_finding("mx.example.com", one).status.value == "info"
    assert rollover_finding("mx.example.com", two).status.value == "pass"


def test_mozilla_profiles(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given the old-style server: Mozilla's intermediate configuration refuses TLS 1.0 and its suites
    old = smtp_lab.start(context=legacy_context(smtp_lab))
    run = cli(*smtp_lab.args(old), "--tls-grade", "--tls-profile", "mozilla-intermediate", "--json", "--timeout", "5")
    (summary, *issues) = run.checks("smtp.tls-grade")
    assert (
        summary["status"] == "warn"
        and "not compliant with the Mozilla intermediate configuration" in summary["summary"]
    )
    assert issues and all(i["status"] == "warn" and i["summary"].startswith("Mozilla intermediate:") for i in issues)
    assert summary["details"]["profile"] == "mozilla-intermediate"
    # And a bad profile name is a usage error
    bad = cli(*smtp_lab.args(old), "--tls-grade", "--tls-profile", "mozilla-old")
    assert bad.code == 2


def test_cipher_order(cli: Cli, smtp_lab: SmtpLab) -> None:
    import ssl

    # Given two old-style servers: one choosing by its own preference, one following the client's order
    enforcing = legacy_context(smtp_lab)
    enforcing.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    following = legacy_context(smtp_lab)
    following.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    results = {}
    for name, context in (("enforcing", enforcing), ("following", following)):
        server = smtp_lab.start(context=context)
        run = cli(*smtp_lab.args(server), "--tls-grade", "--json", "--timeout", "5")
        (summary, *below) = run.checks("smtp.tls-grade")
        results[name] = (
            summary["details"]["cipher_order"],
            [c for c in below if c["details"].get("item") == "cipher-order"],
        )
    # Then the one that follows the client is said to (offered its worst suite first, it took it)
    order, found = results["following"]
    assert order and order["chosen"] == order["offered"][0] and found and found[0]["status"] == "warn", results
    assert "follows the client's order" in found[0]["summary"]
    # And the one that enforces its own order chose its best suite, and nothing is said against it
    order, found = results["enforcing"]
    assert order and order["chosen"] == order["offered"][1] and not found, results
