"""mailcheck against the real thing: Knot DNS, Postfix (+ OpenDKIM), Dovecot and nginx on loopback."""

import re
import smtplib
import ssl
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, hide_sslyze

pytestmark = pytest.mark.interop


def run(cli: Cli, interop: dict[str, Any], *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return cli(
        *args, "--resolver", interop["resolver"], "--ca-file", interop["ca_file"], "--timeout", "5", "--json", env=env
    )


def secret(interop: dict[str, Any]) -> dict[str, str]:
    return {"MC_INTEROP_PW": interop["password"]}


def test_domain_against_real_servers(cli: Cli, interop: dict[str, Any]) -> None:
    result = run(cli, interop, "domain", interop["domain"], "--allow-private", "--dkim-selector", "mc")
    assert result.code == 0, result.out
    problems = {(c["id"], c["status"]) for c in result.checks() if c["status"] not in ("pass", "info")}
    # What the real servers really do: Knot serves unsigned answers (so DANE is unprotected), and Dovecot
    # offers plaintext login on 143/110 to loopback clients, which it treats as secure.
    profile = {(f"{p}.certificate-profile", "warn") for p in ("smtp", "imap", "pop3", "mtasts")}
    expected = {("dane.tlsa", "warn"), ("imap.capabilities", "warn"), ("pop3.capabilities", "warn"), *profile}
    assert problems <= expected, problems
    # The CA was made with `openssl req -x509` defaults: every certificate passes (OpenSSL, like Postfix and
    # Dovecot, accepts it), and the CA's missing keyUsage is a lint for stricter clients, never a failure.
    assert all(c["status"] == "pass" for c in result.checks("smtp.certificate") + result.checks("imap.certificate"))
    assert all(c["status"] == "pass" for c in result.checks("pop3.certificate") + result.checks("mtasts.certificate"))
    assert {c["error"]["kind"] for c in result.checks() if c["id"].endswith("certificate-profile")} == {
        "missing-key-usage"
    }
    ids = {c["id"] for c in result.checks()}
    for expected in (
        "smtp.certificate",
        "mtasts.policy",
        "mtasts.mx",
        "dane.match",
        "spf.record",
        "dkim.key",
        "dmarc.policy",
        "imap.tls",
        "pop3.tls",
    ):
        assert expected in ids, expected
    assert all(c["status"] == "pass" for c in result.checks("dane.match"))


def test_mx_against_knot(cli: Cli, interop: dict[str, Any]) -> None:
    result = run(cli, interop, "mx", interop["domain"], "--allow-private")
    assert result.code == 0
    assert result.check("mx.ptr")["details"]["forward_confirmed"] == ["mx.interop.test"]


@pytest.mark.parametrize(("port", "mode"), [("25", "starttls"), ("587", "starttls"), ("465", "implicit")])
def test_smtp_ports_against_postfix(cli: Cli, interop: dict[str, Any], port: str, mode: str) -> None:
    result = run(cli, interop, "smtp", f"mx.{interop['domain']}", "--port", port)
    assert result.code == 0, result.out
    assert result.check("smtp.tls")["details"]["version"] == "TLSv1.3"
    assert result.check("smtp.greeting")["details"]["banner_host"] == "mx.interop.test"
    if mode == "implicit":
        assert result.checks("smtp.starttls") == []


def test_submission_auth_against_postfix_and_dovecot_sasl(cli: Cli, interop: dict[str, Any]) -> None:
    ok = run(
        cli,
        interop,
        "smtp",
        f"mx.{interop['domain']}",
        "--port",
        "587",
        "--user",
        interop["user"],
        "--password-env",
        "MC_INTEROP_PW",
        env=secret(interop),
    )
    assert ok.check("smtp.auth")["status"] == "pass"
    assert interop["password"] not in ok.out
    bad = run(
        cli,
        interop,
        "smtp",
        f"mx.{interop['domain']}",
        "--port",
        "587",
        "--user",
        interop["user"],
        "--password-env",
        "MC_INTEROP_PW",
        env={"MC_INTEROP_PW": "wrong"},
    )
    assert bad.check("smtp.auth")["error"]["kind"] == "auth-failed" and bad.code == 1


def test_spf_dkim_dmarc_records_in_knot(cli: Cli, interop: dict[str, Any]) -> None:
    domain = interop["domain"]
    spf = run(cli, interop, "spf", domain, "--ip", "127.0.0.1")
    assert spf.check("spf.check_host")["details"]["pyspf"]["result"] == "pass"
    dkim = run(cli, interop, "dkim", domain, "--selector", "mc")
    assert dkim.check("dkim.key")["details"]["bits"] == 2048
    dmarc = run(cli, interop, "dmarc", domain)
    assert dmarc.check("dmarc.policy")["details"]["applies"] == "reject"


@pytest.mark.parametrize(("protocol", "port"), [("imap", "993"), ("imap", "143"), ("pop3", "995"), ("pop3", "110")])
def test_mailbox_login_against_dovecot(cli: Cli, interop: dict[str, Any], protocol: str, port: str) -> None:
    host = "imap" if protocol == "imap" else "pop"
    result = run(
        cli,
        interop,
        protocol,
        f"{host}.{interop['domain']}:{port}",
        "--user",
        interop["user"],
        "--password-env",
        "MC_INTEROP_PW",
        env=secret(interop),
    )
    assert result.check(f"{protocol}.auth")["status"] == "pass", result.out
    assert isinstance(result.check(f"{protocol}.mailbox")["details"]["messages"], int)
    assert interop["password"] not in result.out


def test_mailbox_discovery_finds_every_srv_endpoint(cli: Cli, interop: dict[str, Any]) -> None:
    result = run(cli, interop, "mailbox", interop["domain"])
    published = result.check("mailbox.discovery")["details"]["published"]
    assert set(published) == {"imaps", "imap", "pop3s", "pop3", "submissions", "submission"}


def test_roundtrip_through_postfix_opendkim_and_dovecot(cli: Cli, interop: dict[str, Any]) -> None:
    domain = interop["domain"]
    result = cli(
        "roundtrip", "--smtp", f"mx.{domain}:587", "--imap", f"imap.{domain}", "--user", interop["user"],
        "--password-env", "MC_INTEROP_PW", "--resolver", interop["resolver"], "--ca-file", interop["ca_file"],
        "--deadline", "30", "--json", env=secret(interop),
    )  # fmt: skip
    assert result.code == 0, result.out
    assert result.check("roundtrip.delivery")["details"]["delivery_ms"] >= 0
    assert result.check("roundtrip.cleanup")["status"] == "pass"
    hops = result.checks("headers.hop")
    assert hops[0]["details"]["tls"]["version"] == "TLS 1.3" and hops[0]["details"]["with"] == "ESMTPSA"
    assert result.check("headers.dkim")["details"]["d"] == domain


def delivered_message(
    interop: dict[str, Any],
    subject: str,
    *,
    port: int = 587,
    tls: bool = True,
    via: str = "127.0.20.2",
    source: str | None = None,
) -> Path:
    """Send a message through Postfix with Python's own smtplib and return the file Dovecot stored: by
    default submitted on 587 with AUTH; with port 25, relayed in as from another MX (with or without TLS);
    VIA another MTA's address, sent there first (Exim relays it on through OpenSMTPD to Postfix); from the
    SOURCE address when given."""
    context = ssl.create_default_context(cafile=interop["ca_file"])
    context.check_hostname = False  # we connect by address; mailcheck's own tests check the name
    message = EmailMessage()
    message["From"] = interop["user"]
    message["To"] = interop["user"]
    message["Subject"] = subject
    message.set_content("delivered by the interop suite\n")
    # an explicit EHLO name: smtplib would otherwise ask the system resolver for this machine's FQDN
    bind = (source, 0) if source else None
    with smtplib.SMTP(via, port, local_hostname="client.interop.test", timeout=10, source_address=bind) as client:
        if tls:
            client.starttls(context=context)
        if port == 587:
            client.login(interop["user"], interop["password"])
        client.send_message(message)
    maildir = Path(interop["mail_dir"]) / "alice"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in list(maildir.glob("new/*")) + list(maildir.glob("cur/*")):
            if subject.encode() in path.read_bytes():
                return path
        time.sleep(0.3)
    raise AssertionError("the message was not delivered within 30 s")


def test_headers_and_dkim_verify_on_a_really_delivered_message(cli: Cli, interop: dict[str, Any]) -> None:
    path = delivered_message(interop, f"interop headers {time.time()}")
    headers = cli("headers", str(path), "--json")
    hops = headers.checks("headers.hop")
    assert [h["details"]["with"] for h in hops] == ["ESMTPSA", "LMTP"]
    assert hops[0]["details"]["by"] == "mx.interop.test"
    verified = run(cli, interop, "dkim", "verify", str(path))
    signature = verified.check("dkim.signature")
    assert signature["status"] == "pass" and signature["details"]["d"] == interop["domain"]


@pytest.mark.parametrize("tls", [True, False], ids=["first-hop-tls", "first-hop-plain"])
def test_postfix_to_dovecot_lmtp_trace_has_no_false_warning(cli: Cli, interop: dict[str, Any], tls: bool) -> None:
    # Given a message relayed into Postfix on port 25 and delivered to Dovecot over LMTP
    path = delivered_message(interop, f"interop lmtp {tls} {time.time()}", port=25, tls=tls)
    headers = cli("headers", str(path), "--json")
    hops = headers.checks("headers.hop")
    assert [h["details"]["with"] for h in hops] == (["ESMTPS", "LMTP"] if tls else ["ESMTP", "LMTP"])
    # Then the LMTP hand-off is local delivery inside the receiving site, never the weakest external hop
    assert hops[1]["details"]["internal"] is True and hops[1]["status"] == "info"
    assert headers.check("headers.tls")["status"] != "warn" or "hop 2" not in headers.check("headers.tls")["summary"]
    assert not [c for c in headers.checks() if c["status"] == "warn" and "LMTP" in c["summary"]]


def test_relay_test_against_postfix_refusing_strangers(cli: Cli, interop: dict[str, Any]) -> None:
    # Given Postfix with the stock relay rules (permit_mynetworks permit_sasl_authenticated
    # reject_unauth_destination) and mailcheck outside mynetworks
    result = run(cli, interop, "smtp", f"mx.{interop['domain']}", "--port", "25", "--relay-test")
    relay = result.check("smtp.relay")
    # Then relaying is refused, and the refusal is quoted
    assert relay["status"] == "pass" and "Relay access denied" in relay["summary"], relay
    assert result.code == 0


@pytest.mark.usefixtures("no_sslyze")  # the built-in scan (an install without the tls extra)
@pytest.mark.parametrize(
    ("command", "host", "port", "check"),
    [("smtp", "mx", "25", "smtp.tls-scan"), ("smtp", "mx", "465", "smtp.tls-scan"), ("imap", "imap", "993", "imap.tls-scan"),
     ("pop3", "pop", "110", "pop3.tls-scan")],
)  # fmt: skip
def test_tls_scan_of_stock_postfix_and_dovecot(
    cli: Cli, interop: dict[str, Any], command: str, host: str, port: str, check: str
) -> None:
    result = run(cli, interop, command, f"{host}.{interop['domain']}:{port}", "--tls-scan")
    summary = result.checks(check)[0]
    states = {p["probe"]: p["state"] for p in summary["details"]["probes"]}
    # Debian's OpenSSL and the stock configurations: TLS 1.2 and 1.3, no NULL suites
    assert states["TLS 1.2"] == "accepted" and states["TLS 1.3"] == "accepted", states
    assert states["NULL"] != "accepted", states
    # What the server still takes is a finding naming its RFC: stock Postfix 3.7 accepts TLS 1.0 and 1.1
    # (smtpd_tls_protocols >=TLSv1) and anonymous suites (allowed for opportunistic TLS), Dovecot 2.3
    # refuses them (ssl_min_protocol = TLSv1.2): a warning on port 25, a failure where TLS is required
    findings = {c["summary"].split(" (")[0]: c for c in result.checks(check) if c["error"]}
    for name, rfc in (("TLS 1.0", "RFC 8996"), ("TLS 1.1", "RFC 8996"), ("anonymous", "RFC 9325")):
        if states[name] == "accepted":
            finding = findings[f"accepts {name}"]
            assert rfc in finding["summary"]
            assert finding["status"] == ("warn" if port == "25" else "fail")
        else:
            assert f"accepts {name}" not in findings
    if command != "smtp":
        assert states["TLS 1.0"] != "accepted" and states["TLS 1.1"] != "accepted"
    assert not [c for c in result.checks(check) if c["status"] == "error"]


def test_postscreen_pregreet_test_passes(cli: Cli, interop: dict[str, Any]) -> None:
    # Given an MX behind real Postfix postscreen holding its greeting (220-, then the rest after the wait)
    port, wait = str(interop["postscreen_port"]), interop["postscreen_wait"]
    log = Path(interop["postfix_log"])
    before = log.read_text(errors="replace") if log.exists() else ""
    # When mailcheck checks it
    run = cli("smtp", f"mx.{interop['domain']}", "--port", port, "--resolver", interop["resolver"],
              "--ca-file", interop["ca_file"], "--timeout", str(wait + 7), "--json")  # fmt: skip
    # Then the greeting passes, said to be held back by screening, and the session goes on (EHLO, STARTTLS)
    greeting = run.check("smtp.greeting")
    assert greeting["status"] == "pass" and "postscreen-style" in greeting["summary"], greeting
    assert greeting["details"]["time_to_banner_ms"] >= (wait - 0.5) * 1000
    assert run.check("smtp.ehlo")["status"] == "pass" and run.check("smtp.starttls")["status"] == "pass"
    assert run.code == 0, run.out
    # And postscreen saw a client that waited: PASS NEW, never PREGREET (talking before the greeting)
    deadline = time.monotonic() + 5
    while "PASS NEW" not in log.read_text(errors="replace")[len(before) :] and time.monotonic() < deadline:
        time.sleep(0.2)
    added = log.read_text(errors="replace")[len(before) :]
    assert "PASS NEW" in added and "PREGREET" not in added, added[-2000:]


def deliver_over_starttls(interop: dict[str, Any], facts: dict[str, Any], maildir: Path, log: Any) -> Path:
    """Send one message to the MTA at FACTS over STARTTLS (Python's smtplib, the chain verified against the
    interop CA) and wait for it in MAILDIR; LOG() is shown if it never arrives."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "sender@client.test", f"bob@{facts['domain']}", "interop"
    message.set_content(f"hello through {facts['host']}")
    context = ssl.create_default_context(cafile=interop["ca_file"])
    context.check_hostname = False  # dialled by address; the chain is still verified against the interop CA
    with smtplib.SMTP(facts["address"], 25, local_hostname="client.test", timeout=10) as client:
        client.starttls(context=context)
        client.send_message(message)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        delivered = sorted(maildir.glob("new/*"))
        if delivered:
            return delivered[-1]
        time.sleep(0.2)
    raise AssertionError(f"not delivered to {maildir}: {log()[-2000:]}")


# --- Exim (Debian's exim4-daemon-light, GnuTLS) ---


def mta_run(cli: Cli, interop: dict[str, Any], mta: str, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run(cli, interop, "smtp", interop[mta]["host"], *args, env=env)


@pytest.mark.parametrize(("mta", "port"), [("exim", "25"), ("exim", "587"), ("opensmtpd", "25"), ("opensmtpd", "587")])
def test_exim_and_opensmtpd_sessions_and_tls(cli: Cli, interop: dict[str, Any], mta: str, port: str) -> None:
    result = mta_run(cli, interop, mta, "--port", port)
    assert result.code == 0, result.out
    assert result.check("smtp.greeting")["details"]["banner_host"] == interop[mta]["host"]
    assert result.check("smtp.tls")["details"]["version"] == "TLSv1.3"
    assert result.check("smtp.certificate")["status"] == "pass"


def test_exim_auth_after_starttls(cli: Cli, interop: dict[str, Any]) -> None:
    good = mta_run(cli, interop, "exim", "--port", "587", "--user", interop["exim"]["user"], "--password-env", "MC_INTEROP_PW",
                    env=secret(interop))  # fmt: skip
    assert good.check("smtp.auth")["status"] == "pass", good.out
    bad = mta_run(cli, interop, "exim", "--port", "587", "--user", interop["exim"]["user"], "--password-env", "MC_INTEROP_PW",
                   env={"MC_INTEROP_PW": "wrong"})  # fmt: skip
    assert bad.check("smtp.auth")["status"] == "fail" and bad.code == 1


def test_exim_refuses_relaying(cli: Cli, interop: dict[str, Any]) -> None:
    relay = mta_run(cli, interop, "exim", "--relay-test").check("smtp.relay")
    assert relay["status"] == "pass" and "relay not permitted" in relay["summary"], relay
    # on 587 Exim is set up as many guides do it: no MAIL before AUTH, "550 5.7.0 Authentication required"
    submission = mta_run(cli, interop, "exim", "--port", "587", "--relay-test")
    refused = submission.check("smtp.relay")
    assert refused["status"] == "pass" and "550 5.7.0" in refused["summary"], refused
    assert "must log in first" in refused["summary"], refused
    # and the code is explained by its class: 5.7.0 is an undefined security status, never "authentication
    # succeeded" (2.7.0's meaning)
    meaning = refused["details"]["dialogue"][0]["reply"]["meaning"]
    assert "5.7.0: other or undefined security status" in meaning and "succeeded" not in meaning, meaning


@pytest.mark.usefixtures("no_sslyze")  # the built-in scan (an install without the tls extra)
def test_exim_tls_scan_quotes_only_what_was_negotiated(cli: Cli, interop: dict[str, Any]) -> None:
    result = mta_run(cli, interop, "exim", "--tls-scan")
    summary = next(c for c in result.checks("smtp.tls-scan") if "probes" in c["details"] and c["error"] is None)
    for probe in summary["details"]["probes"]:
        if probe["probe"] == "CBC only" and probe["state"] == "accepted":
            assert not any(mode in probe["negotiated"] for mode in ("GCM", "CCM", "CHACHA20")), probe
        if probe["probe"] == "TLS 1.3":
            assert probe["state"] == "accepted"


@pytest.mark.parametrize(("check", "kind"), [("smtp.tls-grade", "grade-version"), ("smtp.tls-scan", "weak-protocol")])
def test_exims_weak_protocol_advice_quotes_exims_settings(
    cli: Cli, interop: dict[str, Any], monkeypatch: pytest.MonkeyPatch, check: str, kind: str
) -> None:
    if check == "smtp.tls-scan":
        hide_sslyze(monkeypatch)  # the built-in scan: an install without the tls extra
    # Given Exim as Debian builds it (GnuTLS, whose defaults still accept TLS 1.0 and 1.1: a true finding),
    # graded (the tls extra) or scanned (without it)
    args = ("smtp", interop["exim"]["host"], "--resolver", interop["resolver"], "--ca-file", interop["ca_file"],
            "--tls-scan", "--timeout", "10")  # fmt: skip
    found = cli(*args, "--json").checks(check)
    weak = [c for c in found if (c["error"] or {}).get("kind") == kind]
    assert weak and all(c["details"]["software"] == "Exim" for c in weak), [
        (c["details"].get("suites"), c["details"].get("not_tested"), c["details"].get("facts")) for c in found
    ]
    # Then the report's advice is Exim's own setting, not Postfix's or Dovecot's
    report = cli(*args).out
    assert "tls_require_ciphers = NORMAL:-VERS-TLS1.0:-VERS-TLS1.1" in report, report
    assert "smtpd_tls_protocols" not in report and "ssl_min_protocol" not in report, report


def test_exim_received_header_agrees_with_exims_log(cli: Cli, interop: dict[str, Any], tmp_path: Path) -> None:
    from tests.interop import exim

    facts = interop["exim"]
    state = Path(facts["state"])
    # Given a message Exim received over STARTTLS (sent by Python's smtplib, verifying with the interop CA)
    # When Exim has delivered it and logged the session's TLS
    delivered = deliver_over_starttls(interop, facts, state / "exim" / "mail" / "inbox", lambda: exim.mainlog(state))
    logged = re.search(r"<= sender@client\.test .* X=(TLS1\.\d):([^: ]+)", exim.mainlog(state))
    assert logged, exim.mainlog(state)[-2000:]
    version = logged.group(1).replace("TLS1.", "TLS 1.")
    # Then mailcheck's trace gives the hop the TLS version Exim logged
    trace = cli("headers", str(delivered), "--json").json()
    hop = next(c for c in trace["checks"] if c["id"] == "headers.hop")
    assert hop["details"]["tls"]["version"] == version, (hop, logged.group(0))
    # And a message with one hop is said to have one, not "unknown from the first to the last hop"
    transit = next(c for c in trace["checks"] if c["id"] == "headers.transit")
    assert transit["summary"].startswith("one hop"), transit
    # And, where Exim/GnuTLS writes a TLS 1.2-style suite name on a TLS 1.3 session, says it is the MTA's mislabel
    if version == "TLS 1.3" and "_WITH_" in delivered.read_text():
        assert "mislabel" in hop["summary"], hop


# --- OpenSMTPD 7.8.0p1 (built from the release tarball) ---


def test_opensmtpd_auth_and_relay(cli: Cli, interop: dict[str, Any]) -> None:
    facts = interop["opensmtpd"]
    auth = mta_run(cli, interop, "opensmtpd", "--port", "587", "--user", facts["user"], "--password-env", "MC_INTEROP_PW",
                     env=secret(interop))  # fmt: skip
    assert auth.check("smtp.auth")["status"] == "pass", auth.out
    relay = mta_run(cli, interop, "opensmtpd", "--relay-test").check("smtp.relay")
    assert relay["status"] == "pass", relay
    # on 587 OpenSMTPD refuses MAIL itself until the client logs in ("530 5.5.1 … AUTH command first")
    submission = mta_run(cli, interop, "opensmtpd", "--port", "587", "--relay-test").check("smtp.relay")
    assert submission["status"] == "pass" and "must log in first" in submission["summary"], submission


@pytest.mark.usefixtures("no_sslyze")  # the built-in scan's CBC probe (an install without the tls extra)
def test_opensmtpd_hardened_listener_is_not_called_cbc(cli: Cli, interop: dict[str, Any]) -> None:
    # Given OpenSMTPD hardened to ECDHE with AEAD suites only (the listener the issue found the false finding on)
    result = mta_run(cli, interop, "opensmtpd", "--port", str(interop["opensmtpd"]["hardened_port"]), "--tls-scan")
    # Then the scan never claims CBC, and its CBC probe was refused
    assert not [c for c in result.checks("smtp.tls-scan") if c["summary"].startswith("accepts CBC")], result.out
    summary = next(c for c in result.checks("smtp.tls-scan") if "probes" in c["details"])
    states = {p["probe"]: p["state"] for p in summary["details"]["probes"]}
    assert states["CBC only"] == "refused" and states["TLS 1.3"] == "accepted", states


def test_opensmtpd_received_header_is_read_as_opensmtpd(cli: Cli, interop: dict[str, Any]) -> None:
    facts = interop["opensmtpd"]
    state = Path(facts["state"])
    log = state / "opensmtpd" / "smtpd.log"
    delivered = deliver_over_starttls(
        interop, facts, state / "opensmtpd" / "mail", lambda: log.read_text(errors="replace")
    )
    trace = cli("headers", str(delivered), "--json").json()
    hop = next(c for c in trace["checks"] if c["id"] == "headers.hop")
    tls = hop["details"]["tls"]
    assert tls["source"] == "opensmtpd" and tls["version"] == "TLS 1.3", hop
    assert hop["details"]["helo"] == "client.test", hop  # OpenSMTPD writes the HELO name first


@pytest.mark.parametrize(
    ("check", "words"),
    [("smtp.tls-grade", "no handshake could be graded"), ("smtp.tls-scan", "every handshake was refused")],
)
def test_debian_opensmtpd_68_fails_every_handshake_and_the_scan_says_so(
    cli: Cli, interop: dict[str, Any], monkeypatch: pytest.MonkeyPatch, check: str, words: str
) -> None:
    if check == "smtp.tls-scan":
        hide_sslyze(monkeypatch)  # the built-in scan: an install without the tls extra
    # Given Debian 12's own OpenSMTPD 6.8, whose STARTTLS handshake fails with OpenSSL 3 (a real broken server)
    result = run(cli, interop, "smtp", "mx-smtpd68.interop.test", "--tls-scan")
    # Then the session's TLS fails, and the grade (or the scan, without the tls extra) says that no handshake
    # can succeed, instead of saying nothing
    assert result.check("smtp.tls")["status"] == "fail", result.out
    (scan,) = result.checks(check)
    assert scan["error"]["kind"] == "no-handshake" and words in scan["summary"], scan


def test_a_message_across_four_mtas_is_traced_hop_by_hop(cli: Cli, interop: dict[str, Any]) -> None:
    # Given a message sent to Exim, which relays it to OpenSMTPD, which relays it to Postfix (STARTTLS on every
    # hop), which hands it to Dovecot over LMTP
    path = delivered_message(interop, f"four MTAs {time.time()}", port=25, via=interop["exim"]["address"])
    # When mailcheck traces it
    run_ = cli("headers", str(path), "--json")
    hops = run_.checks("headers.hop")
    # Then every hop is there, oldest first, with the server that received it and the TLS each MTA wrote
    by = [h["details"]["by"] for h in hops]
    assert by[:3] == [interop["exim"]["host"], interop["opensmtpd"]["host"], "mx.interop.test"], by
    assert hops[-1]["details"]["with"] == "LMTP", hops[-1]
    sources = [(h["details"]["tls"] or {}).get("source") for h in hops[:3]]
    versions = [(h["details"]["tls"] or {}).get("version") for h in hops[:3]]
    assert sources == ["exim", "opensmtpd", "postfix"] and versions == ["TLS 1.3"] * 3, hops
    # And the HELO each MTA wrote: Exim in "helo=", OpenSMTPD and Postfix as the first name
    helos = [h["details"]["helo"] for h in hops[:3]]
    assert helos == ["client.interop.test", interop["exim"]["host"], interop["opensmtpd"]["host"]], helos
    # And nothing about this healthy path is called a failure or a warning (OpenSMTPD's "<unknown>" for a
    # client without PTR is no host name, so the chain is not called broken)
    assert not [c for c in run_.checks() if c["status"] in ("fail", "warn")], run_.out


def test_opensmtpds_524_for_an_unknown_recipient_is_explained(cli: Cli, interop: dict[str, Any]) -> None:
    # Given OpenSMTPD answering "524 5.2.4 Mailing list expansion problem" for a recipient its table lacks
    result = mta_run(cli, interop, "opensmtpd", "--from", "probe@client.test", "--rcpt",
                     f"nobody@{interop['opensmtpd']['domain']}")  # fmt: skip
    rcpt = result.checks("smtp.envelope")[-1]
    # Then the explanation says what OpenSMTPD means by it, not only the registry's "mailing list" words
    assert rcpt["status"] == "fail" and "524 5.2.4" in rcpt["summary"], rcpt
    assert "unknown recipient" in rcpt["summary"], rcpt


def test_a_daemon_dialled_by_an_address_without_ptr(cli: Cli, interop: dict[str, Any]) -> None:
    # Given a real daemon (Debian's OpenSMTPD 6.8) asked by its address, which has no PTR record
    result = run(cli, interop, "smtp", "127.0.20.7", "--insecure")
    greeting = result.check("smtp.greeting")
    # Then the fact said is the missing PTR, once, not "banner names mx-smtpd68…, not the host"
    assert "no PTR record" in greeting["summary"] and "banner names" not in greeting["summary"], greeting


def test_a_local_submission_at_another_organisation_is_not_the_receivers_inside(
    cli: Cli, interop: dict[str, Any]
) -> None:
    # Given a program at another organisation submitting over loopback to its own outbound relay (OpenSMTPD, which
    # writes "localhost [127.0.0.1]" for it), which relays the message to the recipient's MX (Postfix) as
    # mail.sender.test over STARTTLS
    facts = interop["opensmtpd"]
    subject = f"from another organisation {time.time()}"
    path = delivered_message(interop, subject, port=facts["sender_port"], tls=False, via=facts["address"],
                             source="127.0.0.1")  # fmt: skip
    assert "localhost [127.0.0.1]" in path.read_text(errors="replace"), path.read_text(errors="replace")[:1500]
    # When mailcheck traces it
    run_ = cli("headers", str(path), "--json")
    hops = run_.checks("headers.hop")
    relay, mx = hops[0]["details"], hops[1]["details"]
    assert (relay["rdns"], relay["by"], mx["by"]) == ("localhost", facts["sender_host"], "mx.interop.test"), hops
    # Then the loopback submission belongs to the sender's site, not to the receiving organisation, and the
    # message entered the receiving organisation at Postfix, whose TLS is weighed
    assert not relay["internal"] and mx["entry_point"], hops
    tls = run_.check("headers.tls")
    assert tls["status"] == "pass" and tls["details"]["hop"] == 2, tls
    assert mx["tls"]["version"] == "TLS 1.3", mx


# --- two real Knot servers for one zone: the primary and a secondary whose copy stopped updating ---


def _kdig_soa_serial(address: str, domain: str) -> int:
    """The SOA serial the server itself gives (Knot's own client, no recursion): the oracle."""
    out = subprocess.run(["kdig", "+norec", "+short", f"@{address}", domain, "SOA"], capture_output=True, text=True,
                         timeout=30, check=True).stdout.split()  # fmt: skip
    return int(out[2])


def test_name_servers_against_two_knot_servers(cli: Cli, interop: dict[str, Any]) -> None:
    facts, domain = interop["name_servers"], interop["domain"]
    # When mailcheck asks both name servers of the zone directly
    result = run(cli, interop, "ns", domain)
    # Then the serials it reports are the ones each Knot gives, and the stale server is named
    fresh, stale = _kdig_soa_serial(facts["primary"], domain), _kdig_soa_serial(facts["stale"], domain)
    assert (fresh, stale) == (facts["serial"], facts["stale_serial"])
    serial = result.check("ns.serial")
    assert f"{stale} at ns2.{domain}" in serial["summary"] and f"{fresh} at ns.{domain}" in serial["summary"], serial
    # And the SPF record that differs, with both values
    (spf,) = [c for c in result.checks("ns.records") if c["target"] == "SPF"]
    assert f'serve "{facts["stale_spf"]}"' in spf["summary"] and f'"{facts["spf"]}"' in spf["summary"], spf
    # And nothing is said against either server itself: both answer with authority, over UDP with EDNS and TCP
    assert not [c for c in result.checks() if c["id"] in ("ns.server", "ns.tcp", "ns.edns")], result.out
    # (the interop resolver is only authoritative for interop.test: there is no parent zone to ask)
    errors = [c for c in result.checks() if c["status"] == "error"]
    assert [c["id"] for c in errors] == ["ns.delegation"], errors


# --- DMARC reports read from a real mailbox (Dovecot), without changing it ---


def test_reports_read_from_a_dovecot_mailbox(cli: Cli, interop: dict[str, Any]) -> None:
    # Given a receiver's aggregate report (a real one: a zip attachment, as receivers send them) delivered
    # through Postfix into alice's mailbox
    report = Path(__file__).parents[1] / "data" / "dmarc-reports"
    name = "estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip"
    message = EmailMessage()
    message["From"] = "dmarc@receiver.interop.test"
    message["To"] = interop["user"]
    subject = f"Report domain: example.com Submitter: receiver {time.time()}"
    message["Subject"] = subject
    message.set_content("This is an aggregate report.\n")
    message.add_attachment((report / name).read_bytes(), maintype="application", subtype="zip", filename=name)
    context = ssl.create_default_context(cafile=interop["ca_file"])
    context.check_hostname = False
    with smtplib.SMTP("127.0.20.2", 587, local_hostname="client.interop.test", timeout=10) as client:
        client.starttls(context=context)
        client.login(interop["user"], interop["password"])
        client.send_message(message)
    maildir = Path(interop["mail_dir"]) / "alice"
    deadline = time.monotonic() + 30
    stored: list[Path] = []
    while not stored and time.monotonic() < deadline:
        stored = [p for p in maildir.glob("*/*") if subject.encode() in p.read_bytes()]
        time.sleep(0.3)
    assert stored, "the report mail was not delivered"
    # When mailcheck reads the mailbox over IMAP (implicit TLS, the certificate checked before the password)
    result = run(cli, interop, "reports", "--imap", f"imap.{interop['domain']}", "--user", interop["user"],
                 "--password-env", "MC_INTEROP_PW", "--no-dns", env=secret(interop))  # fmt: skip
    # Then the report inside the zip inside the mail is read, with the counts of the file
    domain = result.check("reports.domain", "example.com")
    assert domain["details"]["messages"] >= 1 and "XYZ Corporation" in domain["details"]["reporters"], domain
    assert interop["password"] not in result.out
    # And the mailbox is as it was: the mail still there, not marked seen (EXAMINE and BODY.PEEK)
    after = [p for p in maildir.glob("*/*") if subject.encode() in p.read_bytes()]
    flags = [p.name.partition(":2,")[2] for p in after]  # maildir info: no ":2," yet means no flags at all
    assert after and not any("S" in f for f in flags), after


# --- SASL against real Dovecot (and Postfix submission through Dovecot's SASL): SCRAM and OAuth 2.0 ---


def _jwt(payload: dict[str, object], token: str) -> str:
    """A JWT-shaped token whose claims mailcheck reads locally; the introspection endpoint decides by its end."""
    import base64
    import json

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(payload)}.{token}"


@pytest.mark.parametrize(
    ("command", "target", "check"),
    [
        ("imap", "imap.interop.test:993", "imap.auth"),
        ("pop3", "pop.interop.test:995", "pop3.auth"),
        ("smtp", "mx.interop.test:587", "smtp.auth"),
    ],
)
def test_scram_sha_256_is_chosen_and_verified(
    cli: Cli, interop: dict[str, Any], command: str, target: str, check: str
) -> None:
    result = run(cli, interop, command, target, "--user", interop["user"], "--password-env", "MC_INTEROP_PW",
                 env=secret(interop))  # fmt: skip
    auth = result.check(check)
    # the strongest mechanism both sides have, with the server's signature checked (a pass means it verified)
    assert auth["status"] == "pass" and "SCRAM-SHA-256" in auth["summary"], auth
    assert interop["password"] not in result.out


def test_scram_with_the_wrong_password_is_refused(cli: Cli, interop: dict[str, Any]) -> None:
    result = run(cli, interop, "imap", "imap.interop.test:993", "--user", interop["user"], "--password-env", "WRONG",
                 env={"WRONG": "not-the-password"})  # fmt: skip
    auth = result.check("imap.auth")
    assert auth["status"] == "fail" and "SCRAM-SHA-256" in auth["summary"], auth


def test_cram_md5_is_said_to_be_legacy(cli: Cli, interop: dict[str, Any]) -> None:
    result = run(cli, interop, "imap", "imap.interop.test:993", "--user", interop["user"], "--password-env",
                 "MC_INTEROP_PW", "--auth-mech", "cram-md5", env=secret(interop))  # fmt: skip
    auth = result.check("imap.auth")
    assert auth["status"] == "pass" and "CRAM-MD5 is legacy" in auth["summary"], auth


@pytest.mark.parametrize(
    ("command", "target", "check", "mechanism"),
    [
        ("imap", "imap.interop.test:993", "imap.auth", "xoauth2"),
        ("imap", "imap.interop.test:993", "imap.auth", "oauthbearer"),
        ("pop3", "pop.interop.test:995", "pop3.auth", "oauthbearer"),
        ("smtp", "mx.interop.test:587", "smtp.auth", "xoauth2"),
    ],
)
def test_oauth_tokens_log_in(
    cli: Cli, interop: dict[str, Any], command: str, target: str, check: str, mechanism: str
) -> None:
    import time as clock

    token = _jwt({"exp": int(clock.time()) + 3600, "scp": "IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send"},
                 interop["oauth_token"])  # fmt: skip
    result = run(cli, interop, command, target, "--user", interop["user"], "--auth-mech", mechanism, "--token-env",
                 "MC_TOKEN", env={"MC_TOKEN": token})  # fmt: skip
    assert result.check(check)["status"] == "pass", result.out
    assert result.check(check.replace(".auth", ".token"))["status"] == "pass", result.out
    assert token not in result.out


def test_an_expired_token_is_explained(cli: Cli, interop: dict[str, Any]) -> None:
    import time as clock

    # Given a token whose own claims say it expired an hour ago (and that the introspection endpoint refuses)
    token = _jwt({"exp": int(clock.time()) - 3600, "scp": "IMAP.AccessAsUser.All"}, "expired")
    result = run(cli, interop, "imap", "imap.interop.test:993", "--user", interop["user"], "--auth-mech", "xoauth2",
                 "--token-env", "MC_TOKEN", env={"MC_TOKEN": token})  # fmt: skip
    # Then mailcheck says so from the token itself, and shows Dovecot's refusal with its decoded error
    assert "the token expired at" in result.check("imap.token")["summary"], result.out
    auth = result.check("imap.auth")
    assert auth["status"] == "fail" and "the server's error: {" in auth["summary"], auth
    assert auth["details"]["server_error"]["status"], auth
    assert token not in result.out


# --- the TLS grade on real Postfix (stock and hardened) and Dovecot, judged against testssl.sh ---

TESTSSL_ITEMS = {
    # testssl.sh id → how mailcheck's grade says the same thing
    "TLS1": ("version", "TLS 1.0"),
    "TLS1_1": ("version", "TLS 1.1"),
    "TLS1_2": ("version", "TLS 1.2"),
    "TLS1_3": ("version", "TLS 1.3"),
    "heartbleed": ("fact", "heartbleed"),
    "CCS": ("fact", "ccs_injection"),
    "CRIME_TLS": ("fact", "compression"),
    "secure_renego": ("fact", "secure_renegotiation"),
}
# the curves OpenSSL (testssl.sh) and sslyze name differently
CURVE_NAMES = {"prime256v1": "secp256r1"}


def _testssl(target: str, protocol: str) -> dict[str, str]:
    """testssl.sh's findings for TARGET over STARTTLS PROTOCOL: protocols, server preference, forward secrecy,
    renegotiation, compression, Heartbleed, CCS."""
    import json as json_module
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "testssl.json"
        subprocess.run(
            ["testssl", "--quiet", "--warnings", "off", "--color", "0", "--jsonfile", str(out), "-p", "-P", "-f",
             "-R", "-C", "-H", "-I", "--starttls", protocol, target],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        entries = json_module.loads(out.read_text())
    return {str(e["id"]): str(e["finding"]) for e in entries if isinstance(e, dict) and "id" in e}


@pytest.mark.parametrize(
    ("server", "command", "target", "address"),
    [("stock Postfix", "smtp", "mx.interop.test:25", "127.0.20.2:25"),
     ("hardened Postfix", "smtp", "mx.interop.test:2528", "127.0.20.2:2528"),
     ("Dovecot IMAP", "imap", "imap.interop.test:143", "127.0.20.3:143"),
     ("Dovecot POP3", "pop3", "pop.interop.test:110", "127.0.20.3:110")],
)  # fmt: skip
def test_tls_grade_agrees_with_testssl(
    cli: Cli, interop: dict[str, Any], server: str, command: str, target: str, address: str
) -> None:
    from tests.debian import need_commands

    pytest.importorskip("sslyze", reason="the tls extra (sslyze) is not installed")
    need_commands({"testssl": "testssl.sh"}, "the TLS grading referee (testssl.sh)")
    assert address.endswith(str(interop["hardened_port"])) or server != "hardened Postfix"
    # Given the server as Debian ships it (or hardened as the guides say), graded by mailcheck and by testssl.sh
    result = run(cli, interop, command, target, "--tls", "starttls", "--tls-scan", "--timeout", "10")
    grades = result.checks(f"{command}.tls-grade")
    summary = next(c for c in grades if "versions" in c["details"])
    versions, facts = summary["details"]["versions"], summary["details"]["facts"]
    referee = _testssl(address, command)
    compared = 0
    for item, (kind, ours) in TESTSSL_ITEMS.items():
        finding = referee.get(item, "").lower()
        if not finding:
            continue
        compared += 1
        if kind == "version":
            offered = finding.startswith("offered")
            assert (ours in versions) == offered, (item, finding, versions)
        elif ours == "secure_renegotiation":
            assert facts[ours] == ("supported" in finding and "not supported" not in finding), (item, finding, facts)
        else:  # a vulnerability or compression: testssl.sh says "not vulnerable"
            assert facts[ours] == ("not vulnerable" not in finding), (item, finding, facts)
    # Then every item both tools report agrees (and enough of them were compared to mean something)
    assert compared >= 6, referee
    # And the ECDHE curves are the same ones
    if "PFS_ECDHE_curves" in referee:
        theirs = {CURVE_NAMES.get(c, c).lower() for c in referee["PFS_ECDHE_curves"].split()}
        assert theirs == {str(c).lower() for c in facts["curves"]}, (theirs, facts["curves"])
    # And the DHE group: stock Postfix's is RFC 3526's group 14 for testssl.sh, not an RFC 7919 one for mailcheck
    # (insufficient, as internet.nl grades it). Where mailcheck saw no DHE suite at all (Dovecot, the hardened
    # Postfix), testssl.sh's groups are TLS 1.3's FFDHE key shares, which NCSC table 10 does not grade
    ours_dh = [k for k in summary["details"]["key_exchange"] if k.startswith(("DH ", "ffdhe"))]
    if ours_dh and referee.get("DH_groups"):
        theirs_ffdhe = "ffdhe" in referee["DH_groups"].lower()
        assert theirs_ffdhe == any(k.startswith("ffdhe") for k in ours_dh), (referee["DH_groups"], ours_dh)
    if server == "stock Postfix":
        assert "DH 2048 (not an RFC 7919 group)" in ours_dh and "Oakley Group 14" in referee.get("DH_groups", "")
    # And whether the server or the client decides the cipher order, as testssl.sh says it: stock Postfix
    # (tls_preempt_cipherlist = no) and Dovecot follow the client; the hardened Postfix decides
    order = referee.get("cipher_order", "")
    decides = (summary["details"]["cipher_order"] or {}).get("decides")
    if order and decides:
        assert (decides == "client") == ("not" in order.lower()), (order, summary["details"]["cipher_order"])
    if server == "hardened Postfix":
        assert decides and decides != "client" and "TLS 1.1" not in versions, summary["details"]
        assert not [k for k in summary["details"]["key_exchange"] if k.startswith("DH")], summary["details"]
    # And none of them answers a command pipelined with STARTTLS inside TLS (Postfix since 2.8.4 discards it;
    # Dovecot reads it as the start of TLS, so the handshake breaks off)
    injection = [c for c in grades if c["details"].get("item") == "starttls-injection"]
    assert injection and injection[0]["status"] == "pass", injection
    if server.startswith("Dovecot"):
        assert injection[0]["details"]["verdict"] in ("broke-off", "discarded"), injection


def test_roundtrip_with_an_oauth_token(cli: Cli, interop: dict[str, Any]) -> None:
    import time as clock

    # Given only a token (no password): submission through Postfix (Dovecot SASL) and the mailbox, both OAUTHBEARER
    token = _jwt({"exp": int(clock.time()) + 3600, "scp": "IMAP.AccessAsUser.All SMTP.Send"}, interop["oauth_token"])
    domain = interop["domain"]
    result = cli(
        "roundtrip", "--smtp", f"mx.{domain}:587", "--imap", f"imap.{domain}", "--user", interop["user"],
        "--token-env", "MC_TOKEN", "--resolver", interop["resolver"], "--ca-file", interop["ca_file"],
        "--deadline", "30", "--json", env={"MC_TOKEN": token},
    )  # fmt: skip
    # Then the message goes through and comes back, logged in with the token both ways
    assert result.code == 0, result.out
    assert "OAUTHBEARER" in result.check("smtp.auth")["summary"], result.out
    assert result.check("roundtrip.cleanup")["status"] == "pass"
    assert token not in result.out
