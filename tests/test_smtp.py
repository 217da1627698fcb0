"""`mailcheck smtp` against lab SMTP servers on loopback: one test per stage and fault."""

import datetime as dt
import socket
import time

import pytest

from mailcheck.lab.pki import CertificateAuthority, self_signed
from mailcheck.lab.smtp import SmtpBehaviour
from tests.conftest import Cli, SmtpLab

NOW = dt.datetime.now(dt.UTC)


def test_healthy_starttls_server_passes_every_stage(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a server offering STARTTLS with a certificate from the trusted test CA
    server = smtp_lab.start()
    # When mailcheck walks the session
    run = cli(*smtp_lab.args(server), "--json")
    # Then every stage passes, in path order, with the TLS facts shown
    assert run.code == 0, run.out
    ids = [c["id"] for c in run.checks()]
    assert ids == [
        "smtp.connect",
        "smtp.greeting",
        "smtp.ehlo",
        "smtp.starttls",
        "smtp.tls",
        "smtp.certificate",
        "smtp.ehlo_tls",
    ]
    tls = run.check("smtp.tls")
    assert tls["details"]["version"] in ("TLSv1.2", "TLSv1.3") and tls["details"]["cipher"]
    cert = run.check("smtp.certificate")
    assert cert["details"]["trusted"] is True and cert["details"]["san"] == ["mx.lab.test"]
    assert run.check("smtp.ehlo")["details"]["extensions"]["STARTTLS"] == ""
    assert all(c["target"] == f"mx.lab.test:{server.port} (127.0.0.1)" for c in run.checks())
    assert server.behaviour is not None and "DATA" not in [c.split(" ")[0] for c in server.commands]


def test_implicit_tls_server_passes(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(implicit=True)
    run = cli(*smtp_lab.args(server), "--tls", "implicit", "--json")
    assert run.code == 0, run.out
    assert [c["id"] for c in run.checks()][:3] == ["smtp.connect", "smtp.tls", "smtp.certificate"]
    assert run.checks("smtp.starttls") == []


def test_against_aiosmtpd_an_independent_implementation(cli: Cli, smtp_lab: SmtpLab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Given aiosmtpd (not our code) with STARTTLS on a free loopback port
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from mailcheck.lab.server import server_context

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = server_context(smtp_lab.ca.issue("real.lab.test"), tmp_path)
    controller = Controller(
        Sink(), hostname="127.0.0.1", port=port, tls_context=context, server_hostname="real.lab.test"
    )
    controller.start()
    try:
        smtp_lab.dns.zone.host("real.lab.test", "127.0.0.1")
        run = cli(*smtp_lab.args(type("S", (), {"port": port})(), "real.lab.test"), "--json")  # type: ignore[arg-type]
    finally:
        controller.stop()
    # Then the whole STARTTLS path passes against it too
    assert run.code == 0, run.out
    assert run.check("smtp.starttls")["status"] == "pass"
    assert run.check("smtp.certificate")["status"] == "pass"


def test_no_starttls_is_a_starttls_fail(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", starttls=False))
    run = cli(*smtp_lab.args(server), "--json")
    check = run.check("smtp.starttls")
    assert check["status"] == "fail" and check["stage"] == "starttls"
    assert check["error"] == {
        "stage": "starttls",
        "kind": "not-offered",
        "message": "STARTTLS not offered in the EHLO reply",
    }
    assert run.code == 1


def test_starttls_refused_with_454(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(
        SmtpBehaviour(hostname="mx.lab.test", starttls_reply="454 4.7.0 TLS not available due to local problem")
    )
    run = cli(*smtp_lab.args(server), "--json")
    check = run.check("smtp.starttls")
    assert check["error"]["kind"] == "unavailable" and "454 4.7.0" in check["summary"]
    assert "TLS not available for now" in check["summary"]
    assert run.code == 1


@pytest.mark.parametrize(
    ("banner", "lines"),
    [
        ("421 4.7.0 mx.lab.test Error: too many connections from 127.0.0.1", 1),  # Postfix
        # Gmail, multi-line: 421-4.7.28 ... then 421 4.7.28 ...
        ("421 4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP address.", 2),
        ("451 4.7.500 Server busy. Please try again later.", 1),  # Microsoft
    ],
)
def test_throttling_at_greeting_is_rate_limited_not_a_failure(
    cli: Cli, smtp_lab: SmtpLab, banner: str, lines: int
) -> None:
    # Given a server that throttles this client at the greeting, in a large provider's words
    server = smtp_lab.start(SmtpBehaviour(banner=banner, banner_lines=lines))
    # When it is checked
    run = cli(*smtp_lab.args(server, "mx.lab.test", "--json"))
    # Then it is an error of the vantage point (rate-limited) with the server's words, and the run is inconclusive
    check = run.check("smtp.greeting")
    assert check["status"] == "error" and check["error"]["kind"] == "rate-limited", check
    assert banner.split(" ", 1)[0][:3] in check["summary"] and "--per-host 1" in check["summary"]
    assert run.code == 3


@pytest.mark.parametrize("at_ehlo", [False, True], ids=["at the greeting", "at EHLO"])
def test_a_throttled_session_is_retried_once_after_a_backoff(cli: Cli, smtp_lab: SmtpLab, at_ehlo: bool) -> None:
    # Given a server that throttles the first session (Postfix's connection limit, word for word), then serves
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", throttle_sessions=1, throttle_ehlo=at_ehlo))
    # When it is checked
    run = cli(*smtp_lab.args(server), "--timeout", "5", "--json")
    # Then mailcheck came back after a backoff, and the second session passes, saying the first was throttled
    greeting = run.check("smtp.greeting")
    assert greeting["status"] == "pass" and "too many connections" in greeting["summary"], greeting
    assert greeting["details"]["throttled_first"] and server.connections == 2
    assert run.code == 0, run.out


def test_throttling_on_every_attempt_is_rate_limited_and_retries_are_counted(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a server that throttles every session at EHLO
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", throttle_sessions=99, throttle_ehlo=True))
    # When it is checked with no retry, then with two
    once = cli(*smtp_lab.args(server), "--timeout", "3", "--retries", "0", "--json")
    assert server.connections == 1
    thrice = cli(*smtp_lab.args(server), "--timeout", "3", "--retries", "2", "--json")
    # Then it is rate-limited (an error of the vantage point, exit 3), at EHLO, with the server's words
    for run in (once, thrice):
        ehlo = run.check("smtp.ehlo")
        assert ehlo["status"] == "error" and ehlo["error"]["kind"] == "rate-limited", ehlo
        assert "too many connections" in ehlo["summary"] and run.code == 3
    assert "throttled on all 3 attempts" in thrice.check("smtp.ehlo")["summary"]
    assert server.connections == 4


def test_421_at_greeting_is_rejected(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(banner="421 4.3.2 mx.lab.test Service shutting down"))
    run = cli(*smtp_lab.args(server), "--json")
    check = run.check("smtp.greeting")
    assert check["status"] == "fail" and check["error"]["kind"] == "rejected"
    assert check["details"]["reply"]["code"] == 421 and check["details"]["reply"]["enhanced"] == "4.3.2"
    assert run.checks("smtp.ehlo") == []
    assert run.code == 1


def test_multi_line_greeting_is_read_whole_before_speaking(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", banner_lines=3))
    run = cli(*smtp_lab.args(server), "--json")
    assert run.check("smtp.greeting")["details"]["reply"]["text"] == ["mx.lab.test ESMTP mailcheck-lab"] * 3
    assert run.check("smtp.ehlo")["status"] == "pass"


def test_a_held_back_greeting_is_waited_for_and_said_to_be_screening(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a server that screens like Postfix postscreen: a 220- line, the rest held back for 2 seconds, and
    # a record of every verb the client sent
    behaviour = SmtpBehaviour(hostname="mx.lab.test", banner_lines=2, greeting_hold=2.0)
    server = smtp_lab.start(behaviour)
    # When it is checked
    run = cli(*smtp_lab.args(server), "--timeout", "5", "--json")
    # Then the greeting passes, said to be delayed by screening, and the first thing mailcheck said was EHLO
    greeting = run.check("smtp.greeting")
    assert greeting["status"] == "pass" and greeting["details"]["greeting_delayed"] is True, greeting
    assert "greeting delayed 2." in greeting["summary"] and "postscreen-style" in greeting["summary"]
    assert behaviour.verbs and behaviour.verbs[0] == "EHLO", behaviour.verbs
    assert run.code == 0


def test_silent_server_ends_within_the_timeout(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(silent=True))
    start = time.monotonic()
    run = cli(*smtp_lab.args(server), "--timeout", "1", "--json")
    elapsed = time.monotonic() - start
    check = run.check("smtp.greeting")
    assert check["error"]["kind"] == "timeout" and "try --tls implicit" in check["summary"]
    assert run.code == 1
    assert elapsed < 4


def test_endless_line_is_a_bounded_greeting_fail(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(endless_line=True))
    run = cli(*smtp_lab.args(server), "--json")
    check = run.check("smtp.greeting")
    assert check["stage"] == "greeting" and check["error"]["kind"] == "line-too-long"
    assert run.code == 1


def test_drop_after_starttls_is_a_tls_fail(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", drop_after_starttls=True))
    run = cli(*smtp_lab.args(server), "--json")
    check = run.check("smtp.tls")
    assert check["status"] == "fail" and check["stage"] == "tls"
    assert check["error"]["kind"] in ("closed", "reset")
    assert run.code == 1


def test_implicit_tls_against_a_plaintext_server_names_the_wrong_mode(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start()
    run = cli(*smtp_lab.args(server), "--tls", "implicit", "--json")
    check = run.check("smtp.tls")
    assert check["error"]["kind"] == "not-tls" and "plain text or STARTTLS" in check["summary"]


def test_starttls_against_an_implicit_tls_port_times_out_with_a_hint(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(implicit=True)
    run = cli(*smtp_lab.args(server), "--tls", "starttls", "--timeout", "1", "--json")
    check = run.check("smtp.greeting")
    assert check["error"]["kind"] == "timeout" and "--tls implicit" in check["summary"]


@pytest.mark.parametrize(
    ("make_credential", "kind"),
    [
        (
            lambda ca: ca.issue(
                "mx.lab.test", not_before=NOW - dt.timedelta(days=100), not_after=NOW - dt.timedelta(days=3)
            ),
            "expired",
        ),
        (lambda ca: ca.issue("other.lab.test"), "hostname-mismatch"),
        (lambda ca: self_signed("mx.lab.test"), "self-signed"),
        (lambda ca: CertificateAuthority("stranger CA").issue("mx.lab.test"), "untrusted"),
        (
            lambda ca: ca.intermediate().issue(
                "mx.lab.test", send_chain=False, ca_issuers_url="http://ca.lab.test/i.crt"
            ),
            "incomplete-chain",
        ),
        (
            lambda ca: ca.issue(
                "mx.lab.test", not_before=NOW + dt.timedelta(days=2), not_after=NOW + dt.timedelta(days=90)
            ),
            "not-yet-valid",
        ),
    ],
    ids=["expired", "wrong-name", "self-signed", "untrusted", "incomplete-chain", "not-yet-valid"],
)
def test_certificate_faults_fail_on_submission_and_warn_when_opportunistic(
    cli: Cli,
    smtp_lab: SmtpLab,
    make_credential,
    kind: str,  # type: ignore[no-untyped-def]
) -> None:
    server = smtp_lab.start(credential=make_credential(smtp_lab.ca))
    strict = cli(*smtp_lab.args(server), "--json")
    check = strict.check("smtp.certificate")
    assert check["status"] == "fail" and check["stage"] == "certificate"
    assert check["error"]["kind"] == kind, check
    # each fault is reported on its own, not also as a consequence (an expired leaf is not "untrusted")
    assert [p["kind"] for p in check["details"]["problems"]] == [kind]
    assert strict.code == 1
    # On an MX without MTA-STS or DANE, senders deliver anyway: the same fault is a warning
    lenient = cli(*smtp_lab.args(server), "--opportunistic-tls", "--json")
    assert lenient.check("smtp.certificate")["status"] == "warn"
    assert "opportunistic TLS" in lenient.check("smtp.certificate")["summary"]
    assert lenient.code == 0
    # --insecure reports the fault without failing
    assert cli(*smtp_lab.args(server), "--insecure", "--json").check("smtp.certificate")["status"] == "warn"


def test_full_chain_through_an_intermediate_is_trusted(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(credential=smtp_lab.ca.intermediate().issue("mx.lab.test"))
    run = cli(*smtp_lab.args(server), "--json")
    check = run.check("smtp.certificate")
    assert check["status"] == "pass" and len(check["details"]["chain"]) == 2


def test_weak_key_fails_as_openssl_refuses_it_and_near_expiry_warns(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a 1024-bit RSA leaf: OpenSSL at its default security level (2) refuses it when verifying
    credential = smtp_lab.ca.issue("mx.lab.test", key_type="rsa", key_size=1024, not_after=NOW + dt.timedelta(days=5))
    server = smtp_lab.start(credential=credential)
    run = cli(*smtp_lab.args(server), "--json")
    check = run.check("smtp.certificate")
    kinds = {p["kind"] for p in check["details"]["problems"]}
    assert kinds == {"weak-key", "expiring"} and check["status"] == "fail" and check["error"]["kind"] == "weak-key"
    assert check["details"]["key"] == "RSA 1024"
    assert check["details"]["openssl_verify"]["code"] == 66  # X509_V_ERR_EE_KEY_TOO_SMALL
    # A strong key near its expiry only warns
    server = smtp_lab.start(credential=smtp_lab.ca.issue("mx.lab.test", not_after=NOW + dt.timedelta(days=5)))
    check = cli(*smtp_lab.args(server), "--json").check("smtp.certificate")
    assert check["status"] == "warn" and [p["kind"] for p in check["details"]["problems"]] == ["expiring"]


def test_helo_fallback_when_ehlo_is_rejected(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", reject_ehlo=True))
    run = cli(*smtp_lab.args(server), "--json")
    ehlo = run.check("smtp.ehlo")
    assert ehlo["status"] == "warn" and ehlo["details"]["helo_fallback"] is True
    assert run.check("smtp.starttls")["error"]["kind"] == "not-offered"


def test_plaintext_injection_after_starttls_is_discarded_and_flagged(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", inject_after_starttls=True))
    run = cli(*smtp_lab.args(server), "--json")
    check = run.check("smtp.starttls")
    assert check["status"] == "warn" and check["error"]["kind"] == "plaintext-injection"
    # the injected "250" was not taken as the reply to the EHLO inside TLS
    assert "injected-in-plaintext" not in str(run.check("smtp.ehlo_tls")["details"])


def test_connection_refused(cli: Cli, smtp_lab: SmtpLab) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp_lab.dns.zone.host("mx.lab.test", "127.0.0.1")
    run = cli(*smtp_lab.args(type("S", (), {"port": port})()), "--json")  # type: ignore[arg-type]
    check = run.check("smtp.connect")
    assert check["status"] == "fail" and check["error"]["kind"] == "refused"
    assert run.code == 1


def test_unresolvable_host_is_a_dns_fail(cli: Cli, smtp_lab: SmtpLab) -> None:
    run = cli("smtp", "nowhere.lab.test", "--resolver", smtp_lab.dns.address, "--json")
    check = run.check("smtp.dns")
    assert check["status"] == "fail" and check["error"]["kind"] == "nxdomain"
    assert run.code == 1


def test_every_address_is_probed_and_reported_apart(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a host with an IPv4 address that works, one where nothing listens, and an IPv6 one that works
    good = smtp_lab.start(address="127.0.0.2")
    smtp_lab.start(address="::1", port=good.port)
    smtp_lab.dns.zone.host("mx.lab.test", "127.0.0.3")
    run = cli(*smtp_lab.args(good), "--json")
    connects = {c["target"]: c for c in run.checks("smtp.connect")}
    port = good.port
    assert connects[f"mx.lab.test:{port} (127.0.0.2)"]["status"] == "pass"
    assert connects[f"mx.lab.test:{port} (127.0.0.3)"]["error"]["kind"] == "refused"
    assert connects[f"mx.lab.test:{port} (::1)"]["status"] == "pass"
    # --ipv4 restricts to the IPv4 addresses
    only4 = cli(*smtp_lab.args(good), "--ipv4", "--json")
    assert {c["target"] for c in only4.checks("smtp.connect")} == {
        f"mx.lab.test:{port} (127.0.0.2)",
        f"mx.lab.test:{port} (127.0.0.3)",
    }


def test_several_silent_addresses_take_one_timeout_not_the_sum(cli: Cli, smtp_lab: SmtpLab) -> None:
    first = smtp_lab.start(SmtpBehaviour(silent=True), address="127.0.0.4")
    for last_octet in (5, 6, 7):
        smtp_lab.start(SmtpBehaviour(silent=True), address=f"127.0.0.{last_octet}", port=first.port)
    start = time.monotonic()
    run = cli(*smtp_lab.args(first), "--timeout", "1", "--json")
    elapsed = time.monotonic() - start
    assert len(run.checks("smtp.greeting")) == 4
    assert all(c["error"]["kind"] == "timeout" for c in run.checks("smtp.greeting"))
    assert elapsed < 3.5  # four sequential timeouts would take over 4 s


def test_banner_with_terminal_escapes_and_markup_is_shown_escaped(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(
        SmtpBehaviour(hostname="mx.lab.test", banner="220 mx.lab.test \x1b[2J\x1b[31m[bold red]pwned[/bold red]")
    )
    run = cli(*smtp_lab.args(server), "--all")  # --all: the passing greeting's banner is shown too
    assert "\x1b" not in run.out
    assert "\\x1b[2J" in run.out and "[bold red]pwned[/bold red]" in run.out
    table = cli(*smtp_lab.args(server), "--format", "table")
    assert "\x1b" not in table.out and "\\x1b[2J" in table.out


def test_verbose_transcript_uses_swaks_notation(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start()
    run = cli(*smtp_lab.args(server), "-v", "--json")
    assert "-> EHLO [127.0.0.1]" in run.err and "<- 220 mx.lab.test ESMTP" in run.err
    assert "~> EHLO [127.0.0.1]" in run.err and "<~ 250" in run.err
    assert run.json()["status"] == "pass"


def test_explain_prints_reply_and_enhanced_codes(cli: Cli) -> None:
    run = cli("explain", "550", "5.7.1", "4.7.26")
    assert run.code == 0
    assert "550: mailbox unavailable" in run.out
    assert "5.7.1: delivery not authorised" in run.out
    assert "4.7.26: multiple authentication checks failed (persistent transient failure)" in run.out
    assert cli("explain", "600").code == 2


def test_a_server_that_wants_auth_before_mail_refuses_relaying(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a server that refuses MAIL from anyone not logged in, in OpenSMTPD's words
    reply = "530 5.5.1 Invalid command: Must issue an AUTH command first"
    server = smtp_lab.start(SmtpBehaviour(hostname="mx.lab.test", mail_reply=reply))
    # When the relay test runs
    run = cli(*smtp_lab.args(server), "--relay-test", "--json")
    # Then relaying is refused: a pass, quoting the server
    relay = run.check("smtp.relay")
    assert relay["status"] == "pass" and "must log in first" in relay["summary"] and "530 5.5.1" in relay["summary"]


@pytest.mark.parametrize(
    ("code", "words", "never"),
    [
        ("5.7.0", "other or undefined security status", "authentication succeeded"),
        ("4.7.0", "other or undefined security status", "authentication succeeded"),
        ("2.7.0", "authentication succeeded", "undefined security"),
        ("5.2.4", "unknown recipient", None),
    ],
)
def test_explanations_depend_on_the_class_digit(cli: Cli, code: str, words: str, never: str | None) -> None:
    out = cli("explain", code).out
    assert words in out and (never is None or never not in out), out


def test_asked_by_address_without_ptr_the_banner_is_not_called_a_mismatch(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a server asked by its address, which has no PTR record (as a lab or a fresh VPS often is)
    server = smtp_lab.start(SmtpBehaviour(hostname="mx-exim.lab.test"), name="mx-exim.lab.test", address="127.0.0.77")
    smtp_lab.dns.zone.remove("77.0.0.127.in-addr.arpa")
    run = cli(*smtp_lab.args(server, "127.0.0.77"), "--insecure", "--json")
    greeting = run.check("smtp.greeting")
    # Then the fact said is the missing PTR, not a banner that names "the wrong host"
    assert greeting["status"] == "pass" and "no PTR record" in greeting["summary"], greeting
    assert "banner names" not in greeting["summary"]
