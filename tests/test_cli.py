"""The command line itself: bad input gives one line and exit 2, never a traceback."""

import pytest

from tests.conftest import Cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mx", ""], "mailcheck: error: empty domain name"),
        (["mx", "exa mple.com"], "mailcheck: error: invalid domain 'exa mple.com': contains white space"),
        (["mx", "a" * 64 + ".com"], "is 64 octets (at most 63)"),
        (["mx", "192.0.2.1"], "is an IP address, not a domain name"),
        (["mx", "example.com", "--resolver", "resolver.example"], "invalid resolver 'resolver.example'"),
        (["mx", "example.com", "--resolver", "127.0.0.1:99999"], "port must be a number from 1 to 65535"),
        (["dkim", "example.com", "--selector", "bad sel"], "invalid DKIM selector 'bad sel'"),
        (
            ["domain", "--from-file", "/nonexistent/list"],
            "cannot read --from-file /nonexistent/list: No such file or directory",
        ),
        (["headers", "/nonexistent/message.eml"], "cannot read /nonexistent/message.eml: No such file or directory"),
        (["smtp", "mx.example.com:abc"], "port must be a number from 1 to 65535"),
        (
            ["roundtrip", "--smtp", "a.example", "--imap", "b.example", "--user", "u@example.com"],
            "passwords are never taken from argv",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: Cli, args: list[str], message: str) -> None:
    run = cli(*args)
    assert run.code == 2
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err and run.out == ""


def test_bad_resolver_in_environment_is_exit_2(cli: Cli) -> None:
    run = cli("mx", "example.com", env={"MAILCHECK_RESOLVER": "not-an-ip"})
    assert run.code == 2 and "invalid resolver 'not-an-ip'" in run.err


@pytest.mark.parametrize(
    "args",
    [
        ["mx"],
        ["mx", "example.com", "--timeout", "0"],
        ["mx", "example.com", "--timeout", "soon"],
        ["mx", "example.com", "--format", "xml"],
        ["mx", "example.com", "--ca-file", "/nonexistent/ca.pem"],
        ["nosuchcommand"],
    ],
)
def test_click_usage_errors_are_exit_2(cli: Cli, args: list[str]) -> None:
    run = cli(*args)
    assert run.code == 2
    assert "Traceback" not in run.err


def test_version_and_help(cli: Cli) -> None:
    assert cli("--version").out.startswith("mailcheck, version ")
    help_text = cli("mx", "--help").out
    for option in ("--resolver", "--timeout", "--ca-file", "--json", "--format", "--fail-on", "--verbose"):
        assert option in help_text
