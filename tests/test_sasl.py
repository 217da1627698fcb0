"""SASL mechanisms against their RFCs' own test vectors, the OAuth token claims, and the credential options."""

import base64
import datetime as dt
import json
import sys

import pytest

from mailcheck.net import oauth_token, sasl
from tests.conftest import Cli


def test_scram_sha_1_rfc_5802_section_5() -> None:
    m = sasl.Scram("sha1", "user", "pencil", nonce="fyko+d2lbbFgONRv9qkxdawL")
    assert m.initial() == b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
    final = m.step(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
    assert final == b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    assert m.step(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=") == b"" and m.finished


def test_scram_sha_256_rfc_7677_section_3() -> None:
    m = sasl.Scram("sha256", "user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    final = m.step(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    assert final == (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    m.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    assert m.finished


def test_a_server_signature_that_does_not_verify_is_named() -> None:
    m = sasl.Scram("sha256", "user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    m.step(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    with pytest.raises(sasl.SaslError, match="does not know the password you gave, or a man-in-the-middle"):
        m.step(b"v=" + base64.b64encode(b"\0" * 32))


@pytest.mark.parametrize(
    "server_first",
    [b"r=someone-elses-nonce,s=QSXCR+Q6sek8bf92,i=4096", b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=99999999"],
)
def test_a_hostile_server_first_message_is_refused(server_first: bytes) -> None:
    with pytest.raises(sasl.SaslError):
        sasl.Scram("sha1", "user", "pencil", nonce="fyko+d2lbbFgONRv9qkxdawL").step(server_first)


def test_scram_plus_binds_the_channel() -> None:
    m = sasl.Scram("sha256", "user", "pencil", channel_binding=b"\x01" * 32, nonce="abc")
    assert m.name == "SCRAM-SHA-256-PLUS" and m.initial() == b"p=tls-server-end-point,,n=user,r=abc"
    reply = m.step(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096")
    assert reply.startswith(b"c=" + base64.b64encode(b"p=tls-server-end-point,," + b"\x01" * 32))
    # and a client that could bind, talking to a server offering no -PLUS, says so ("y"): a downgrade shows
    assert sasl.Scram("sha256", "user", "pencil", could_bind=True, nonce="abc").initial().startswith(b"y,,")  # type: ignore[union-attr]


def test_saslname_escapes() -> None:
    assert sasl.saslname("a=b,c") == "a=3Db=2Cc"


def test_cram_md5_rfc_2195() -> None:
    m = sasl.CramMd5("tim", "tanstaaftanstaaf")
    assert m.step(b"<1896.697170952@postoffice.reston.mci.net>") == b"tim b913a602c7eda7a495b4e6e7334d3890"


def test_oauthbearer_rfc_7628_section_4_1() -> None:
    m = sasl.OAuthBearer("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", "server.example.com", 143)
    assert m.initial() == (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )
    error = b'{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}'
    assert m.error_details(error) == json.loads(error) and m.step(error) == b"\x01"


def test_xoauth2_message_and_error() -> None:
    m = sasl.XOAuth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    assert (
        m.initial() == b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    )
    error = m.error_details(b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}')
    assert error is not None and "the token was refused" in sasl.describe_error(error)
    assert m.secrets[0] == "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"


@pytest.mark.parametrize(
    ("offered", "wanted", "token", "binding", "chosen"),
    [
        (["PLAIN", "LOGIN", "SCRAM-SHA-1", "SCRAM-SHA-256"], None, False, False, "SCRAM-SHA-256"),
        (["PLAIN", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], None, False, True, "SCRAM-SHA-256-PLUS"),
        (["PLAIN", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], None, False, False, "SCRAM-SHA-256"),
        (["PLAIN", "LOGIN", "CRAM-MD5"], None, False, False, "PLAIN"),
        (["PLAIN", "XOAUTH2", "OAUTHBEARER"], None, True, False, "OAUTHBEARER"),
        (["PLAIN", "LOGIN"], None, True, False, None),  # a token, but no OAuth mechanism: nothing fits
        (["PLAIN", "LOGIN"], "CRAM-MD5", False, False, None),  # asked for, not offered
        (["plain", "cram-md5"], "cram-md5", False, False, "CRAM-MD5"),
    ],
)
def test_the_strongest_mechanism_both_sides_have(
    offered: list[str], wanted: str | None, token: bool, binding: bool, chosen: str | None
) -> None:
    assert sasl.choose(offered, wanted, token, binding) == chosen


def jwt(payload: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl"


NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def test_an_expired_token_is_said_before_the_login() -> None:
    found = oauth_token.claims(jwt({"exp": int(NOW.timestamp()) - 3600, "scp": "IMAP.AccessAsUser.All"}))
    assert found is not None
    ((kind, words),) = oauth_token.problems(found, "imap", NOW)
    assert kind == "token-expired" and "expired at 2026-12-01 11:00 UTC (60 minutes ago)" in words


def test_a_token_without_the_protocols_scope() -> None:
    found = oauth_token.claims(jwt({"exp": int(NOW.timestamp()) + 3600, "scp": "SMTP.Send Mail.Read"}))
    assert found is not None
    ((kind, words),) = oauth_token.problems(found, "imap", NOW)
    assert kind == "token-scope" and "IMAP.AccessAsUser.All" in words and "SMTP.Send" in words
    assert oauth_token.problems(found, "smtp", NOW) == []


def test_google_s_one_scope_and_opaque_tokens() -> None:
    found = oauth_token.claims(jwt({"scope": "https://mail.google.com/ openid"}))
    assert found is not None and oauth_token.problems(found, "pop3", NOW) == []
    assert oauth_token.claims("ya29.opaque-access-token") is None


# --- the options: a token never on argv, and only with the mechanisms it fits ---


def test_token_options_fit_together(cli: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    both = cli("imap", "127.0.0.1", "--user", "u", "--password-env", "P", "--token-env", "T", env={"P": "x", "T": "y"})
    assert both.code == 2 and "a password or a token, not both" in both.err
    mismatch = cli(
        "imap", "127.0.0.1", "--user", "u", "--auth-mech", "scram-sha-256", "--token-env", "T", env={"T": "y"}
    )
    assert mismatch.code == 2 and "takes a password" in mismatch.err
    missing = cli("imap", "127.0.0.1", "--user", "u", "--auth-mech", "xoauth2", "--password-env", "P", env={"P": "x"})
    assert missing.code == 2 and "needs a token" in missing.err
    failing = cli(
        "imap", "127.0.0.1", "--user", "u", "--token-command", f"{sys.executable} -c 'import sys; sys.exit(3)'"
    )
    assert failing.code == 2 and "printed no token (exit status 3)" in failing.err


def test_microsofts_535_5_7_139_is_explained(cli: Cli) -> None:
    out = cli("explain", "535", "5.7.139").out
    assert "SMTP AUTH is disabled for this mailbox or the tenant" in out and "xoauth2" in out, out
