"""`--tls-scan` without the tls extra: each TLS version and weak cipher class in its own handshake, against a lab
server that still takes TLS 1.0 and weak suites, a modern one, and (in the interop suite) real Postfix and Dovecot.
With the extra installed, `--tls-scan` grades (tests/test_tls_grade.py); here sslyze is hidden, as on an install
without it."""

import ssl
import warnings

import pytest

from mailcheck.checks.transport.tls_scan import PROBES, probe_context
from mailcheck.lab.server import server_context
from tests.conftest import Cli, SmtpLab

pytestmark = pytest.mark.usefixtures("no_sslyze")


def legacy_context(smtp_lab: SmtpLab) -> ssl.SSLContext:
    """A server as old configurations still run: TLS 1.0 up, every suite the library has (RSA certificate,
    so RSA key exchange can be offered)."""
    context = server_context(smtp_lab.ca.issue("mx.lab.test", key_type="rsa"), smtp_lab.workdir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("ALL:eNULL:@SECLEVEL=0")
    return context


def scanned(run):  # type: ignore[no-untyped-def]
    summary = next(c for c in run.checks("smtp.tls-scan") if c["error"] is None and "accepted" in c["summary"])
    return {p["probe"]: p["state"] for p in summary["details"]["probes"]}


def test_legacy_server_on_a_submission_port(cli: Cli, smtp_lab: SmtpLab) -> None:
    context = legacy_context(smtp_lab)
    server = smtp_lab.start(context=context)
    run = cli(*smtp_lab.args(server), "--tls-scan", "--require-tls", "--json")
    states = scanned(run)
    assert states["TLS 1.0"] == "accepted" and states["TLS 1.2"] == "accepted"
    assert states["no forward secrecy"] == "accepted" and states["NULL"] == "accepted"
    assert states["RC4"] == "not-tested" and states["SSLv3"] == "not-tested"  # OpenSSL 3 cannot offer them
    weak = {c["summary"].split(" (")[0]: c for c in run.checks("smtp.tls-scan") if c["error"]}
    # TLS 1.0 where TLS is required: a failure naming the RFC; NULL always a failure
    assert weak["accepts TLS 1.0"]["status"] == "fail" and "RFC 8996" in weak["accepts TLS 1.0"]["summary"]
    assert weak["accepts NULL"]["status"] == "fail" and weak["accepts NULL"]["error"]["kind"] == "weak-cipher"
    assert weak["accepts no forward secrecy"]["status"] == "warn"
    assert run.code == 1


def test_legacy_protocols_only_warn_on_opportunistic_port_25(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(context=legacy_context(smtp_lab))
    run = cli(*smtp_lab.args(server), "--tls-scan", "--opportunistic-tls", "--json")
    tls10 = next(c for c in run.checks("smtp.tls-scan") if c["summary"].startswith("accepts TLS 1.0"))
    assert tls10["status"] == "warn"


def test_modern_server_refuses_everything_old(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start()
    run = cli(*smtp_lab.args(server), "--tls-scan", "--json")
    states = scanned(run)
    assert states["TLS 1.3"] == "accepted" and states["TLS 1.2"] == "accepted"
    assert all(states[name] in ("refused", "not-tested") for name in ("TLS 1.0", "TLS 1.1", "NULL", "anonymous"))
    assert not [c for c in run.checks("smtp.tls-scan") if c["status"] in ("fail", "warn", "error")]
    # the fallback says what it leaves out and how to get the full grade
    summary = run.checks("smtp.tls-scan")[0]
    assert "pip install 'mailcheck-cli[tls]'" in summary["summary"] and not run.checks("smtp.tls-grade")


def test_implicit_tls_mailbox_scan(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start_mailbox("imap", implicit=True)
    run = cli(*smtp_lab.args(server, "mail.lab.test", command="imap"), "--tls", "implicit", "--tls-scan", "--json")
    summary = run.checks("imap.tls-scan")[0]
    states = {p["probe"]: p["state"] for p in summary["details"]["probes"]}
    assert states["TLS 1.3"] == "accepted" and states["TLS 1.0"] in ("refused", "not-tested")


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_every_probe_offers_only_what_it_names(probe) -> None:  # type: ignore[no-untyped-def]
    context = probe_context(probe)
    if context is None:
        pytest.skip(f"the local OpenSSL cannot offer {probe.name}")
    if probe.version is not None:
        assert context.minimum_version == context.maximum_version
    else:
        assert context.maximum_version == ssl.TLSVersion.TLSv1_2


def test_cbc_probe_judges_what_was_negotiated(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a server hardened as OpenSMTPD is: ECDHE with AEAD suites only (no CBC at all)
    context = server_context(smtp_lab.ca.issue("mx.lab.test"), smtp_lab.workdir)
    context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    hardened = smtp_lab.start(context=context)
    # When it is scanned
    run = cli(*smtp_lab.args(hardened), "--tls-scan", "--json")
    # Then the CBC probe is refused, and no finding claims CBC with a GCM suite as evidence
    assert scanned(run)["CBC only"] == "refused"
    assert not [c for c in run.checks("smtp.tls-scan") if c["summary"].startswith("accepts CBC")]
    # And a server that does take CBC is named with a CBC suite
    legacy = smtp_lab.start(context=legacy_context(smtp_lab))
    cbc = next(
        c
        for c in cli(*smtp_lab.args(legacy), "--tls-scan", "--json").checks("smtp.tls-scan")
        if c["summary"].startswith("accepts CBC only")
    )
    suite = cbc["summary"].split("(", 1)[1].split(")", 1)[0]
    assert not any(mode in suite for mode in ("GCM", "CCM", "CHACHA20")), suite


def test_a_server_refusing_every_handshake_is_said_so(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a server whose STARTTLS handshake can never complete (a TLS stack configured with nothing clients
    # offer, as Debian 12's OpenSMTPD 6.8 against OpenSSL 3)
    context = server_context(smtp_lab.ca.issue("mx.lab.test"), smtp_lab.workdir)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("PSK")
    server = smtp_lab.start(context=context)
    # When it is scanned
    run = cli(*smtp_lab.args(server), "--tls-scan", "--require-tls", "--json")
    # Then the scan says every handshake was refused, instead of saying nothing
    (scan,) = run.checks("smtp.tls-scan")
    assert scan["status"] == "fail" and scan["error"]["kind"] == "no-handshake", scan
    assert "every handshake was refused" in scan["summary"]


def test_an_endpoint_without_tls_is_said_not_scanned(cli: Cli, smtp_lab: SmtpLab) -> None:
    from mailcheck.lab.smtp import SmtpBehaviour

    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", starttls=False))
    run = cli(*smtp_lab.args(server), "--tls-scan", "--json")
    (scan,) = run.checks("smtp.tls-scan")
    assert scan["status"] == "info" and scan["summary"].startswith("not scanned"), scan
