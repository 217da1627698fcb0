"""`--tls-grade`: the NCSC TLS guideline tables, and sslyze's scan of lab servers graded item by item (a
modern server, and one configured as old setups still run: TLS 1.0, RSA key exchange, NULL suites)."""

import ssl
import subprocess
from pathlib import Path

import pytest

from mailcheck.checks.transport import tls_guideline as ncsc
from mailcheck.lab.server import server_context
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
        # where internet.nl's reading of NCSC 2.1 places what appendix C leaves out (footnotes 31 and 52)
        ("TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", "sufficient"),
        ("TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "good"),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "insufficient"),
        ("TLS_RSA_WITH_AES_128_CCM", "phase-out"),
        ("TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", "insufficient"),
        ("TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", "insufficient"),
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


def modern_context(smtp_lab: SmtpLab, name: str = "mx.lab.test") -> ssl.SSLContext:
    """A server as OpenSSL 3 configures one by default: the lab's certificate, at the default security level 2
    (the lab's own servers run at level 0 so that weak keys can be played)."""
    context = server_context(smtp_lab.ca.issue(name), smtp_lab.workdir)
    context.set_ciphers("DEFAULT:@SECLEVEL=2")
    return context


def openssl_signs_with_sha1(port: int) -> bool:
    """The referee for the key-exchange hash: OpenSSL's s_client offering only SHA-1 signature algorithms over
    STARTTLS at TLS 1.2, and whether the server's key exchange came signed with SHA-1."""
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", "smtp", "-tls1_2", "-sigalgs",
         "RSA+SHA1:ECDSA+SHA1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        input="Q\n", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return "Peer signing digest: SHA1" in done.stdout


def test_a_modern_server_grades_good_or_sufficient(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(context=modern_context(smtp_lab))
    # with the tls extra installed, --tls-scan is the grade (the built-in scan is its fallback)
    run = cli(*smtp_lab.args(server), "--tls-scan", "--json", "--timeout", "5")
    assert not run.checks("smtp.tls-scan"), run.out
    (summary, *below) = run.checks("smtp.tls-grade")
    assert summary["details"]["level"] in ("good", "sufficient"), [c["summary"] for c in below]
    assert "TLS 1.3" in summary["details"]["versions"] and "TLS 1.0" not in summary["details"]["versions"]
    facts = summary["details"]["facts"]
    assert facts["heartbleed"] is False and facts["compression"] is False and facts["secure_renegotiation"] is True
    # OpenSSL 3 will not sign a key exchange with SHA-1 above security level 0, and s_client agrees
    assert facts["kex_hash"] == "SHA-2" and not openssl_signs_with_sha1(server.port), facts
    assert not [c for c in below if c["status"] == "fail"], below


def test_an_old_configuration_is_graded_item_by_item(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(context=legacy_context(smtp_lab))
    run = cli(*smtp_lab.args(server), "--tls-grade", "--require-tls", "--json", "--timeout", "5")
    (summary, *below) = run.checks("smtp.tls-grade")
    assert summary["details"]["level"] == "insufficient" and summary["status"] == "fail", summary
    words = " | ".join(c["summary"] for c in below)
    assert "TLS 1.0, TLS 1.1 accepted: phase-out" in words, words  # versions, in one finding
    # one finding per item and level, not one per suite: each suite named once, with the versions taking it
    by_item = {(c["details"]["item"], c["details"]["level"]): c for c in below if "members" in c["details"]}
    static_rsa = by_item[("cipher", "phase-out")]["details"]["members"]
    assert "TLS_RSA_WITH_AES_256_GCM_SHA384 (TLS 1.2)" in static_rsa, static_rsa  # static RSA key exchange
    assert "TLS_RSA_WITH_AES_256_CBC_SHA (TLS 1.0, TLS 1.1, TLS 1.2)" in static_rsa, static_rsa
    null = [m for m in by_item[("cipher", "insufficient")]["details"]["members"] if "NULL" in m]
    assert null, by_item  # NULL suites
    assert len([c for c in below if c["details"].get("item") == "cipher"]) == 2, words
    # at security level 0 OpenSSL still signs the key exchange with SHA-1 when the client asks only for that, as
    # s_client sees too
    assert by_item[("kex-hash", "phase-out")]["summary"].startswith("TLS 1.2 key exchange signed with SHA-1"), words
    assert openssl_signs_with_sha1(server.port)
    # and on opportunistic port 25 the same insufficient items warn instead of failing
    relaxed = cli(*smtp_lab.args(server), "--tls-grade", "--opportunistic-tls", "--json", "--timeout", "5")
    assert relaxed.checks("smtp.tls-grade")[0]["status"] == "warn"


@pytest.mark.parametrize("asked", [("--tls-grade",), ("--tls-scan", "--tls-profile", "mozilla-modern")])
def test_without_the_extra_the_error_names_it(asked: tuple[str, ...]) -> None:
    done = run_without("sslyze", "smtp", "mx.example", *asked, "--resolver", "127.0.0.1:9")
    assert done.returncode == 2 and "pip install 'mailcheck-cli[tls]'" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_domain_grades_every_tls_endpoint(cli: Cli, mail_lab) -> None:  # type: ignore[no-untyped-def]
    # Given the lab domain: two MX hosts, the MTA-STS policy host (HTTPS) and IMAP and POP3 found by SRV records
    run = cli(
        "domain", "good.test", *mail_lab.options(), "--only", "mx,smtp,mta-sts,mailbox", "--tls-scan", "--json",
        "--timeout", "5",
    )  # fmt: skip
    # Then every one of them has its grade strip: each MX address, the policy host, the mailbox endpoints
    for check, at_least in (("smtp.tls-grade", 2), ("mtasts.tls-grade", 1), ("imap.tls-grade", 1),
                            ("pop3.tls-grade", 1)):  # fmt: skip
        grades = [c for c in run.checks(check) if "versions" in c["details"]]
        assert len({g["target"] for g in grades}) >= at_least, (check, run.checks(check))
        assert all(g["details"]["level"] in ncsc.LEVELS and "TLS 1.3" in g["details"]["versions"] for g in grades)
    # and the policy host, where TLS is required, has its certificate key graded from the chain the fetch saw
    (policy,) = [c for c in run.checks("mtasts.tls-grade") if "versions" in c["details"]]
    assert policy["target"].startswith("mta-sts.good.test:") and policy["details"]["certificate_key"], policy


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


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_starttls_command_injection_on_the_mailbox_ports(cli: Cli, smtp_lab: SmtpLab, protocol: str) -> None:
    from mailcheck.lab.mailbox import MailboxBehaviour

    # Given IMAP and POP3 servers on their clear-text ports (143, 110: STARTTLS/STLS, RFC 2595), one answering a
    # NOOP pipelined with the upgrade inside TLS (the flaw several IMAP and POP3 servers shared with SMTP's in
    # 2011), one discarding it
    port_args = ("--tls", "starttls", "--tls-scan", "--json", "--timeout", "5")
    vulnerable = smtp_lab.start_mailbox(protocol, MailboxBehaviour(keeps_pipelined_commands=True))
    injected = cli(*smtp_lab.args(vulnerable, "mail.lab.test", command=protocol), *port_args)
    found = [c for c in injected.checks(f"{protocol}.tls-grade") if c["details"].get("item") == "starttls-injection"]
    # Then the vulnerable one fails (TLS is required on a mailbox port) and the fixed one passes
    assert found and found[0]["status"] == "fail" and "CVE-2011-0411" in found[0]["summary"], found
    assert [c for c in injected.checks(f"{protocol}.tls-grade") if "versions" in c["details"]]  # graded over STARTTLS
    fixed = smtp_lab.start_mailbox(protocol, MailboxBehaviour())
    clean = cli(*smtp_lab.args(fixed, "mail.lab.test", command=protocol), *port_args)
    found = [c for c in clean.checks(f"{protocol}.tls-grade") if c["details"].get("item") == "starttls-injection"]
    assert found and found[0]["status"] == "pass", found
    # and on implicit TLS there is nothing to inject into: the item is not there
    implicit = smtp_lab.start_mailbox(protocol, MailboxBehaviour(), implicit=True)
    run = cli(*smtp_lab.args(implicit, "mail.lab.test", command=protocol), "--tls", "implicit", *port_args[2:])
    assert not [c for c in run.checks(f"{protocol}.tls-grade") if c["details"].get("item") == "starttls-injection"]


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

    # Given three old-style servers: one choosing by its own preference, one following the client's order, and
    # one enforcing an order that puts static RSA (phase-out) before ECDHE with AES-GCM (good)
    enforcing = legacy_context(smtp_lab)
    enforcing.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    following = legacy_context(smtp_lab)
    following.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    weak_first = legacy_context(smtp_lab)
    weak_first.set_ciphers("AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
    weak_first.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    results = {}
    for name, context in (("enforcing", enforcing), ("following", following), ("weak first", weak_first)):
        server = smtp_lab.start(context=context)
        run = cli(*smtp_lab.args(server), "--tls-grade", "--json", "--timeout", "5")
        (summary, *below) = run.checks("smtp.tls-grade")
        results[name] = (
            summary["details"]["cipher_order"],
            [c for c in below if c["details"].get("item") == "cipher-order"],
        )
    # Then the one that follows the client is said to (offered its worst suite first, it took it; offered its
    # best first, it took that)
    order, found = results["following"]
    assert order and order["decides"] == "client" and found and found[0]["status"] == "warn", results
    assert "follows the client's order" in found[0]["summary"]
    # And the one that enforces its own order chose its best suite, and nothing is said against it
    order, found = results["enforcing"]
    assert order and order["decides"] == "server" and not found, results
    # And the one whose own order starts weak is not said to follow the client (testssl.sh calls its order the
    # server's too), but its order is phase-out
    order, found = results["weak first"]
    assert order == {"worst": "TLS_RSA_WITH_AES_128_CBC_SHA", "best": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                     "decides": "server, weaker first"}, results  # fmt: skip
    assert found and "own order puts TLS_RSA_WITH_AES_128_CBC_SHA before" in found[0]["summary"], found


def test_a_server_refusing_every_handshake_is_graded_so(cli: Cli, smtp_lab: SmtpLab) -> None:
    import ssl

    from mailcheck.lab.server import server_context

    # Given a server whose STARTTLS handshake can never complete (nothing clients offer, as Debian 12's
    # OpenSMTPD 6.8 against OpenSSL 3)
    context = server_context(smtp_lab.ca.issue("mx.lab.test"), smtp_lab.workdir)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("PSK")
    server = smtp_lab.start(context=context)
    # When it is graded (the session's own handshake failed, so only the grade can tell whether any succeeds)
    run = cli(*smtp_lab.args(server), "--tls-scan", "--require-tls", "--json", "--timeout", "5")
    # Then the grade says no handshake succeeds, in one line, instead of saying nothing
    (grade,) = run.checks("smtp.tls-grade")
    assert grade["status"] == "fail" and grade["error"]["kind"] == "no-handshake", grade
    assert "\n" not in grade["summary"] and len(grade["summary"]) < 300, grade
    # and on opportunistic port 25 (a sender falls back to clear text) the same is a warning
    relaxed = cli(*smtp_lab.args(server), "--tls-scan", "--opportunistic-tls", "--json", "--timeout", "5")
    assert relaxed.check("smtp.tls-grade")["status"] == "warn", relaxed.out


@pytest.mark.parametrize(
    ("why", "kind", "status"),
    [('Server did not send a \'220 service ready\' SMTP message: 4.7.0 Error: too many connections', "rate-limited",
      "error"),
     ("Connection to the server timed out", "timeout", "error"),
     ("TLS probing failed: could not find a TLS version and cipher suite supported by the server", "no-handshake",
      "fail"),
     ("Unexpected server reply", "not-tested", "error")],
)  # fmt: skip
def test_why_sslyze_could_not_reach_tls(why: str, kind: str, status: str) -> None:
    from mailcheck.checks.transport.tls_grade import _unreached

    # a server turning this client away or a timeout leaves the truth unknown; only "nothing works" is the server's
    failure = _unreached(why)
    assert (failure.kind, failure.status.value) == (kind, status)


def test_an_endpoint_without_tls_is_said_not_graded(cli: Cli, smtp_lab: SmtpLab) -> None:
    from mailcheck.lab.smtp import SmtpBehaviour

    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", starttls=False))
    run = cli(*smtp_lab.args(server), "--tls-scan", "--json")
    (grade,) = run.checks("smtp.tls-grade")
    assert grade["status"] == "info" and grade["summary"].startswith("not scanned"), grade


def test_a_server_that_throttles_the_grade_is_said_so_never_passed_by_omission(cli: Cli, smtp_lab: SmtpLab) -> None:
    from mailcheck.lab.smtp import SmtpBehaviour

    # Given a server that turns this client away (421, Postfix's words) once its first sessions are spent, as
    # Exim's smtp_accept_max does when a scan opens connections faster than its children exit
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", throttle_after=12))
    run = cli(*smtp_lab.args(server), "--tls-scan", "--retries", "0", "--json", "--timeout", "5")
    grades = run.checks("smtp.tls-grade")
    # Then what could not be graded is an error of the vantage point (a limit on this client), not a TLS fault,
    # and the run is inconclusive (exit 3) rather than a pass
    refused = [g for g in grades if (g["error"] or {}).get("kind") == "rate-limited"]
    assert refused and all(g["status"] == "error" for g in refused), grades
    assert "not a TLS fault" in refused[0]["summary"] or "refused the grade" in refused[0]["summary"], refused
    assert "too many connections" in refused[0]["summary"], refused
    # and the grade strip never passes what it could not test: no version tested is no grade (never "good" by
    # omission), and a partial grade is information at best
    strip = next(g for g in grades if "versions" in g["details"])
    assert strip["details"]["complete"] is False and strip["status"] != "pass", strip
    assert strip["details"]["level"] == "unknown" or strip["details"]["versions"] != "none", strip
    assert run.code == 3, run.out


def test_identical_grades_are_said_once_for_every_endpoint_they_apply_to() -> None:
    import io

    from mailcheck.checks.transport.connection import Endpoint
    from mailcheck.checks.transport.tls_grade import GradeObservation, findings
    from mailcheck.model import Report
    from mailcheck.render.report import render_report

    def graded(host: str, address: str, versions: tuple[str, ...]) -> GradeObservation:
        obs = GradeObservation(Endpoint(host, 25, address))
        suites = [("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "X25519"), ("TLS_RSA_WITH_AES_128_CBC_SHA", "")]
        obs.suites = {version: suites for version in versions}
        obs.facts = {"compression": False, "secure_renegotiation": True, "fallback_scsv": True, "ems": True}
        return obs

    # Given two MX addresses configured alike (TLS 1.0 still on) and a third that is not
    old = ("TLS 1.0", "TLS 1.2")
    checks = [
        *findings("smtp", graded("mx1.example.com", "192.0.2.1", old), tls_required=False),
        *findings("smtp", graded("mx2.example.com", "192.0.2.2", old), tls_required=False),
        *findings("smtp", graded("mx3.example.com", "192.0.2.3", ("TLS 1.2",)), tls_required=False),
    ]
    out = io.StringIO()
    render_report(Report("domain", "example.com", tuple(checks), 1, "test"), out)
    report = " ".join(out.getvalue().split())  # the lines as read, whatever the terminal's width wrapped
    # Then the report says the shared grade and each shared item once, naming both places, and the third apart
    shared = "on 2 endpoints: mx1.example.com:25, mx2.example.com:25: "
    assert report.count("NCSC grade phase-out: TLS 1.0, TLS 1.2") == 1, report
    assert f"{shared}NCSC grade phase-out: TLS 1.0, TLS 1.2" in report, report
    assert report.count("TLS 1.0 accepted: phase-out") == 1 and f"{shared}TLS 1.0 accepted" in report, report
    assert report.count("NCSC grade phase-out: TLS 1.2;") == 1, report


def _dh_parameters(workdir: Path, option: str) -> str:
    """A DH parameters file made by OpenSSL: ``group:ffdhe3072`` (a named RFC 7919 group) or
    ``dh_paramgen_prime_len:1024`` (a fresh custom group, as old ``openssl dhparam 1024`` setups have)."""
    path = workdir / f"dh-{option.replace(':', '-')}.pem"
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", option, "-out", str(path)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return str(path)


def test_rfc7919_primes_are_openssls_named_groups(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_parameters

    for bits in (2048, 3072, 4096, 6144, 8192):
        pem = Path(_dh_parameters(tmp_path, f"group:ffdhe{bits}")).read_bytes()
        numbers = load_pem_parameters(pem).parameter_numbers()  # type: ignore[union-attr]
        assert ncsc.ffdhe_groups().get(numbers.p) == f"ffdhe{bits}" and numbers.g == 2


@pytest.mark.parametrize(
    ("option", "exchange", "level"),
    [("dh_paramgen_prime_len:1024", "DH 1024 (not an RFC 7919 group)", "insufficient"),
     ("group:ffdhe2048", "ffdhe2048", "phase-out"),
     ("group:ffdhe3072", "ffdhe3072", "sufficient")],
)  # fmt: skip
def test_dhe_groups_are_graded_by_name(cli: Cli, smtp_lab: SmtpLab, option: str, exchange: str, level: str) -> None:
    # Given servers whose DHE suites use a custom 1024-bit group, and RFC 7919's ffdhe2048 and ffdhe3072
    context = legacy_context(smtp_lab)
    context.load_dh_params(_dh_parameters(smtp_lab.workdir, option))
    server = smtp_lab.start(context=context)
    run = cli(*smtp_lab.args(server), "--tls-scan", "--json", "--timeout", "5")
    strip = next(c for c in run.checks("smtp.tls-grade") if "versions" in c["details"])
    # Then the group is named and graded as NCSC 2.1 table 10 (and internet.nl) grade it
    assert strip["details"]["key_exchange"].get(exchange) == level, strip["details"]["key_exchange"]
    # and OpenSSL's client sees a DH key of that size on a DHE suite
    seen = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-starttls", "smtp", "-tls1_2", "-cipher",
         "DHE:@SECLEVEL=0"], input="Q\n", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    bits = exchange.split()[1] if exchange.startswith("DH ") else exchange.removeprefix("ffdhe")
    assert f"Server Temp Key: DH, {bits} bits" in seen.stdout, seen.stdout[-1500:]


@pytest.mark.parametrize("version", ["TLS_1_0", "TLS_1_2", "TLS_1_3"])
def test_suites_enumerated_in_few_handshakes_are_the_ones_sslyze_finds_one_by_one(
    smtp_lab: SmtpLab, version: str
) -> None:
    import sslyze
    from sslyze.server_connectivity import ServerConnectivityInfo, check_connectivity_to_server

    from mailcheck.checks.transport import tls_suites

    # Given a server configured as old setups run (TLS 1.0 up, every suite its library has)
    server = smtp_lab.start(context=legacy_context(smtp_lab))
    location = sslyze.ServerNetworkLocation("mx.lab.test", server.port, "127.0.0.1")
    starttls = sslyze.ProtocolWithOpportunisticTlsEnum.SMTP
    config = sslyze.ServerNetworkConfiguration("mx.lab.test", starttls, smtp_ehlo_hostname="mailcheck.invalid")
    # When its suites are enumerated the way a capped server allows (offer all, drop the one chosen, again)
    info = ServerConnectivityInfo(location, config, check_connectivity_to_server(location, config))
    enumerated = tls_suites.accepted(info, sslyze.TlsVersionEnum[version], pace=0)
    assert not isinstance(enumerated, str), enumerated
    # Then they are exactly the suites sslyze finds trying each one on its own connection
    command = sslyze.ScanCommand(f"{version.lower()}_cipher_suites")
    scanner = sslyze.Scanner()
    scanner.queue_scans([sslyze.ServerScanRequest(location, config, {command})])
    (result,) = list(scanner.get_results())
    one_by_one = getattr(result.scan_result, command.value).result.accepted_cipher_suites
    assert {name for name, _, _ in enumerated} == {s.cipher_suite.name for s in one_by_one}
    assert len(enumerated) >= (2 if version == "TLS_1_3" else 10)


def test_a_capped_server_still_gets_its_versions_and_suites_graded(cli: Cli, smtp_lab: SmtpLab) -> None:
    from mailcheck.lab.smtp import SmtpBehaviour

    # Given a server that counts each session until a second after it ended and takes 20 at once (Exim's default
    # smtp_accept_max, whose children outlive their connections): sslyze's one-connection-per-suite burst is
    # turned away with 421
    capped = SmtpBehaviour(hostname="mx.lab.test", tls=modern_context(smtp_lab), max_sessions=20, linger=1.0)
    server = smtp_lab.start(capped)
    run = cli(*smtp_lab.args(server), "--tls-scan", "--json", "--timeout", "5")
    strip = next(c for c in run.checks("smtp.tls-grade") if "versions" in c["details"])
    # Then the versions and their suites are still graded (enumerated in few, paced handshakes), as on the same
    # server without the cap; what stays untested is said, as an error of the vantage point, never passed
    uncapped = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", tls=modern_context(smtp_lab)))
    reference = cli(*smtp_lab.args(uncapped), "--tls-scan", "--json", "--timeout", "5")
    expected = next(c for c in reference.checks("smtp.tls-grade") if "versions" in c["details"])
    assert strip["details"]["versions"] == expected["details"]["versions"], (strip, expected)
    assert strip["details"]["suites"] == expected["details"]["suites"] or {
        v: set(s) for v, s in strip["details"]["suites"].items()
    } == {v: set(s) for v, s in expected["details"]["suites"].items()}
    refused = [c for c in run.checks("smtp.tls-grade") if (c["error"] or {}).get("kind") == "rate-limited"]
    assert refused, run.out  # the cap did turn sslyze away
    assert all(c["status"] == "error" for c in refused) and strip["status"] != "pass", refused
