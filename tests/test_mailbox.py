"""`mailcheck imap` and `mailcheck pop3` against lab servers: stages, faults, logins; passwords never leak."""

import base64
import datetime as dt
import time

import pytest

from mailcheck.lab.mailbox import MailboxBehaviour
from tests.conftest import Cli, SmtpLab

PASSWORD = "hunter2-Ünïcode"
PROTOCOLS = ["imap", "pop3"]
LOGIN = ("--user", "alice", "--password-env", "PW")


def run_mailbox(cli: Cli, lab: SmtpLab, protocol: str, server, *extra: str, env=None):  # type: ignore[no-untyped-def]
    return cli(*lab.args(server, "mail.lab.test", *extra, "--json", command=protocol), env=env)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_implicit_tls_with_login_reads_the_message_count(cli: Cli, smtp_lab: SmtpLab, protocol: str) -> None:
    # Given a server on implicit TLS with one user and 7 messages
    server = smtp_lab.start_mailbox(protocol, MailboxBehaviour(users={"alice": PASSWORD}, messages=7), implicit=True)
    # When mailcheck logs in with the password from the environment
    run = run_mailbox(
        cli,
        smtp_lab,
        protocol,
        server,
        "--tls",
        "implicit",
        *LOGIN,
        "-v",
        env={"PW": PASSWORD},
    )
    # Then every stage passes and the mailbox is looked at read-only
    assert run.code == 0, run.out
    ids = [c["id"] for c in run.checks()]
    assert ids == [
        f"{protocol}.{s}" for s in ("connect", "tls", "certificate", "greeting", "capabilities", "auth", "mailbox")
    ]
    assert run.check(f"{protocol}.mailbox")["details"]["messages"] == 7
    blob = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    for text in (run.out, run.err):
        assert PASSWORD not in text and blob not in text
    assert "********" in run.err


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_starttls_upgrade_and_capabilities_compared(cli: Cli, smtp_lab: SmtpLab, protocol: str) -> None:
    server = smtp_lab.start_mailbox(protocol, MailboxBehaviour(users={"alice": PASSWORD}))
    run = run_mailbox(
        cli,
        smtp_lab,
        protocol,
        server,
        "--tls",
        "starttls",
        *LOGIN,
        env={"PW": PASSWORD},
    )
    assert run.code == 0, run.out
    assert run.check(f"{protocol}.starttls")["status"] == "pass"
    assert "RFC 8314" in run.check(f"{protocol}.starttls")["summary"]
    after = run.check(f"{protocol}.capabilities_tls")
    assert after["details"]["gained"]  # login mechanisms appear only inside TLS
    assert run.check(f"{protocol}.auth")["status"] == "pass"


@pytest.mark.parametrize(
    ("protocol", "code", "kind"),
    [
        ("imap", "AUTHENTICATIONFAILED", "auth-failed"),
        ("pop3", "AUTH", "auth-failed"),
        ("imap", "UNAVAILABLE", "temporary"),
        ("pop3", "IN-USE", "in-use"),
        ("pop3", "SYS/TEMP", "temporary"),
    ],
)
def test_failed_login_names_the_response_code(cli: Cli, smtp_lab: SmtpLab, protocol: str, code: str, kind: str) -> None:
    server = smtp_lab.start_mailbox(
        protocol, MailboxBehaviour(users={"alice": PASSWORD}, failure_code=code), implicit=True
    )
    run = run_mailbox(
        cli,
        smtp_lab,
        protocol,
        server,
        "--tls",
        "implicit",
        *LOGIN,
        env={"PW": "wrong"},
    )
    auth = run.check(f"{protocol}.auth")
    assert auth["status"] == "fail" and auth["stage"] == "auth"
    assert auth["error"]["kind"] == kind and auth["details"]["code"] == code
    assert run.code == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plaintext_login_is_refused_without_tls(cli: Cli, smtp_lab: SmtpLab, protocol: str) -> None:
    server = smtp_lab.start_mailbox(
        protocol, MailboxBehaviour(users={"alice": PASSWORD}, plaintext_login_before_tls=True)
    )
    run = run_mailbox(
        cli,
        smtp_lab,
        protocol,
        server,
        "--tls",
        "none",
        *LOGIN,
        env={"PW": PASSWORD},
    )
    assert run.check(f"{protocol}.auth")["error"]["kind"] == "plaintext-refused"
    assert not any(c.split(" ")[0] in ("LOGIN", "AUTHENTICATE", "USER", "PASS", "AUTH") for c in server.commands)  # type: ignore[attr-defined]
    allowed = run_mailbox(
        cli,
        smtp_lab,
        protocol,
        server,
        "--tls",
        "none",
        *LOGIN,
        "--allow-plaintext-auth",
        env={"PW": PASSWORD},
    )
    assert allowed.check(f"{protocol}.auth")["status"] == "pass"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_password_login_offered_before_tls_warns(cli: Cli, smtp_lab: SmtpLab, protocol: str) -> None:
    server = smtp_lab.start_mailbox(protocol, MailboxBehaviour(plaintext_login_before_tls=True))
    run = run_mailbox(cli, smtp_lab, protocol, server, "--tls", "starttls")
    caps = run.check(f"{protocol}.capabilities")
    assert caps["status"] == "warn" and "before TLS" in caps["summary"]


def test_imap_logindisabled_before_tls_passes(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start_mailbox("imap")
    run = run_mailbox(cli, smtp_lab, "imap", server, "--tls", "starttls")
    caps = run.check("imap.capabilities")
    assert caps["status"] == "pass" and "LOGINDISABLED" in caps["details"]["capabilities"]


@pytest.mark.parametrize(
    ("protocol", "greeting"),
    [("imap", "* BYE [UNAVAILABLE] server is shutting down"), ("pop3", "-ERR [SYS/TEMP] maildrop unavailable")],
)
def test_refusal_at_greeting(cli: Cli, smtp_lab: SmtpLab, protocol: str, greeting: str) -> None:
    server = smtp_lab.start_mailbox(protocol, MailboxBehaviour(greeting=greeting))
    run = run_mailbox(cli, smtp_lab, protocol, server, "--tls", "starttls")
    check = run.check(f"{protocol}.greeting")
    assert check["status"] == "fail" and check["error"]["kind"] == "rejected"
    assert run.code == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_starttls_and_refused_starttls(cli: Cli, smtp_lab: SmtpLab, protocol: str) -> None:
    plain = smtp_lab.start_mailbox(protocol, MailboxBehaviour(starttls=False))
    assert (
        run_mailbox(cli, smtp_lab, protocol, plain, "--tls", "starttls").check(f"{protocol}.starttls")["error"]["kind"]
        == "not-offered"
    )
    refusing = smtp_lab.start_mailbox(protocol, MailboxBehaviour(refuse_starttls=True), name="other.lab.test")
    run = cli(*smtp_lab.args(refusing, "other.lab.test", "--tls", "starttls", "--json", command=protocol))
    assert run.check(f"{protocol}.starttls")["error"]["kind"] == "rejected"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_silent_server_times_out_at_greeting(cli: Cli, smtp_lab: SmtpLab, protocol: str) -> None:
    server = smtp_lab.start_mailbox(protocol, MailboxBehaviour(silent=True))
    start = time.monotonic()
    run = run_mailbox(cli, smtp_lab, protocol, server, "--tls", "starttls", "--timeout", "1")
    greeting = run.check(f"{protocol}.greeting")
    assert greeting["error"]["kind"] == "timeout" and "try --tls implicit" in greeting["summary"]
    assert time.monotonic() - start < 4


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_certificate_faults_always_fail_on_mailbox_ports(cli: Cli, smtp_lab: SmtpLab, protocol: str) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = smtp_lab.ca.issue(
        "mail.lab.test", not_before=now - dt.timedelta(days=60), not_after=now - dt.timedelta(days=1)
    )
    server = smtp_lab.start_mailbox(protocol, credential=expired, implicit=True)
    run = run_mailbox(cli, smtp_lab, protocol, server, "--tls", "implicit")
    cert = run.check(f"{protocol}.certificate")
    assert cert["status"] == "fail" and cert["error"]["kind"] == "expired"
    assert run.code == 1


def test_default_port_is_implicit_tls(cli: Cli, smtp_lab: SmtpLab) -> None:
    # HOST:PORT with no --tls: an unknown port starts in clear; mode follows the port, not a guess
    server = smtp_lab.start_mailbox("imap", implicit=True)
    run = cli(
        "imap",
        f"mail.lab.test:{server.port}",
        "--tls",
        "implicit",
        "--resolver",
        smtp_lab.dns.address,
        "--ca-file",
        str(smtp_lab.ca_file),
        "--json",
    )
    assert run.code == 0, run.out
    assert run.json()["target"] == f"mail.lab.test:{server.port}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_password_goes_to_a_server_whose_certificate_is_not_trusted(
    cli: Cli, smtp_lab: SmtpLab, protocol: str
) -> None:
    # Given a server whose certificate is issued by a CA the client does not trust (no --ca-file: a private CA
    # or a TLS-intercepting proxy)
    server = smtp_lab.start_mailbox(protocol, MailboxBehaviour(users={"alice": PASSWORD}), implicit=True)
    args = smtp_lab.args(server, "mail.lab.test", "--tls", "implicit", *LOGIN, "--json", command=protocol)
    at = args.index("--ca-file")
    del args[at : at + 2]
    run = cli(*args, env={"PW": PASSWORD})
    # Then the certificate fails, the login is withheld, and the server never saw a login command
    auth = run.check(f"{protocol}.auth")
    assert auth["status"] == "fail" and auth["summary"].startswith("not logging in:"), auth
    assert auth["error"]["kind"] == "withheld"
    assert not [c for c in server.commands if c.split()[0].upper() in ("LOGIN", "AUTHENTICATE", "AUTH", "USER", "PASS")]
    # And with --insecure the user chose to log in anyway
    insecure = cli(*args, "--insecure", env={"PW": PASSWORD})
    assert insecure.check(f"{protocol}.auth")["status"] == "pass", insecure.out
