"""`mailcheck smtp` AUTH and envelope stages; the password never appears anywhere."""

import base64
from pathlib import Path

import pytest

from mailcheck.lab.smtp import SmtpBehaviour
from tests.conftest import Cli, SmtpLab

PASSWORD = "s3cret-Pässword!"


def submission(smtp_lab: SmtpLab, **extra: object):  # type: ignore[no-untyped-def]
    behaviour = SmtpBehaviour(hostname="mx.lab.test", users={"alice": PASSWORD}, **extra)  # type: ignore[arg-type]
    return smtp_lab.start(behaviour)


def assert_no_secret(*texts: str) -> None:
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    plain = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    for text in texts:
        assert PASSWORD not in text and encoded not in text and plain not in text


def test_auth_succeeds_after_starttls_with_password_from_env(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = submission(smtp_lab)
    run = cli(
        *smtp_lab.args(server), "--user", "alice", "--password-env", "MC_PW", "-v", "--json", env={"MC_PW": PASSWORD}
    )
    auth = run.check("smtp.auth")
    assert auth["status"] == "pass" and auth["details"]["mechanism"] == "PLAIN"
    assert "AUTH offered only inside TLS" in run.check("smtp.ehlo_tls")["summary"]
    assert "~> AUTH PLAIN ********" in run.err
    assert_no_secret(run.out, run.err)
    assert run.code == 0


def test_wrong_password_is_auth_failed_with_meaning(cli: Cli, smtp_lab: SmtpLab, tmp_path: Path) -> None:
    server = submission(smtp_lab)
    secret_file = tmp_path / "pw"
    secret_file.write_text("wrong-password\n")
    run = cli(*smtp_lab.args(server), "--user", "alice", "--password-file", str(secret_file), "-v", "--json")
    auth = run.check("smtp.auth")
    assert auth["status"] == "fail" and auth["error"]["kind"] == "auth-failed"
    assert "535 5.7.8" in auth["summary"] and "rejected the user name or password" in auth["summary"]
    assert "wrong-password" not in run.out + run.err
    assert run.code == 1


def test_credentials_are_refused_without_tls_unless_allowed(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = submission(smtp_lab, auth_before_tls=True)
    refused = cli(
        *smtp_lab.args(server),
        "--tls",
        "none",
        "--user",
        "alice",
        "--password-env",
        "MC_PW",
        "--json",
        env={"MC_PW": PASSWORD},
    )
    auth = refused.check("smtp.auth")
    assert auth["error"]["kind"] == "plaintext-refused" and refused.code == 1
    assert not any(c.startswith("AUTH") for c in server.commands)
    allowed = cli(
        *smtp_lab.args(server),
        "--tls",
        "none",
        "--user",
        "alice",
        "--password-env",
        "MC_PW",
        "--allow-plaintext-auth",
        "--json",
        env={"MC_PW": PASSWORD},
    )
    assert allowed.check("smtp.auth")["status"] == "pass"


def test_auth_offered_before_tls_is_a_warning(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = submission(smtp_lab, auth_before_tls=True)
    run = cli(*smtp_lab.args(server), "--json")
    ehlo = run.check("smtp.ehlo")
    assert ehlo["status"] == "warn" and "RFC 8314" in ehlo["summary"]


def test_no_password_source_is_a_usage_error(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = submission(smtp_lab)
    run = cli(*smtp_lab.args(server), "--user", "alice")
    assert run.code == 2 and "never taken from argv" in run.err
    missing_env = cli(*smtp_lab.args(server), "--user", "alice", "--password-env", "NOPE_NOT_SET")
    assert missing_env.code == 2 and "NOPE_NOT_SET" in missing_env.err


@pytest.mark.parametrize(
    ("rcpt", "status", "kind", "words"),
    [
        ("bob@lab.test", "pass", None, "250 2.1.5"),
        ("grey@lab.test", "info", "greylisted", "greylisting"),
        ("screened@lab.test", "info", "greylisted", "postscreen answers 450 4.3.2"),
        ("busy@lab.test", "warn", "temporary", "450 4.2.1"),
        ("ghost@lab.test", "fail", "rejected", "bad destination mailbox address: the user does not exist"),
        ("someone@elsewhere.test", "fail", "rejected", "relay denied"),
    ],
)
def test_envelope_replies_are_explained(
    cli: Cli, smtp_lab: SmtpLab, rcpt: str, status: str, kind: str | None, words: str
) -> None:
    server = smtp_lab.start(
        SmtpBehaviour(
            hostname="mx.lab.test",
            greylist={"grey@lab.test"},
            rcpt_replies={
                "screened@lab.test": "450 4.3.2 Service currently unavailable",  # Postfix postscreen
                "busy@lab.test": "450 4.2.1 <busy@lab.test>: Mailbox busy",
            },
            unknown_users={"ghost@lab.test"},
        )
    )
    run = cli(*smtp_lab.args(server), "--from", "probe@lab.test", "--rcpt", rcpt, "--json")
    checks = run.checks("smtp.envelope")
    assert [c["details"]["command"] for c in checks] == ["MAIL FROM:<probe@lab.test>", f"RCPT TO:<{rcpt}>"]
    rcpt_check = checks[1]
    assert rcpt_check["status"] == status
    assert (rcpt_check["error"] or {}).get("kind") == kind
    assert words in rcpt_check["summary"]
    assert "RSET" in server.commands and "DATA" not in server.commands


def test_no_password_goes_to_a_submission_server_whose_certificate_is_not_trusted(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given submission whose certificate the client cannot trust (no --ca-file for the lab's private CA)
    server = submission(smtp_lab)
    args = smtp_lab.args(server, "mx.lab.test", "--user", "alice", "--password-env", "MC_PW", "-v", "--json")
    at = args.index("--ca-file")
    del args[at : at + 2]
    run = cli(*args, env={"MC_PW": PASSWORD})
    # Then mailcheck does not send AUTH at all, and says why
    auth = run.check("smtp.auth")
    assert auth["status"] == "fail" and auth["error"]["kind"] == "withheld", auth
    assert "~> AUTH" not in run.err
    assert_no_secret(run.out, run.err)
