"""What the server commands (smtp, imap, pop3, roundtrip) share: the HOST[:PORT] target, the transport options
(--port, --tls, --ipv4/--ipv6, --insecure, --tls-scan) and the credential options (never a password on argv)."""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mailcheck.names import BadInput, domain_name

if TYPE_CHECKING:
    from mailcheck.secrets import Credentials


def server_host(text: str) -> tuple[str, int | None]:
    """``HOST``, ``HOST:PORT``, ``IP``, ``[IPv6]:PORT``: a validated host (A-label or IP) and an optional port."""
    from mailcheck.names import is_ip_address, parse_host_port

    stripped = text.strip()
    if is_ip_address(stripped):
        return stripped, None
    host, port = parse_host_port(stripped, 0, "server")
    if is_ip_address(host):
        return host, port or None
    return domain_name(host), port or None


TLS_PROFILE = click.option(
    "--tls-profile",
    type=click.Choice(["ncsc", "mozilla-intermediate", "mozilla-modern"]),
    default="ncsc",
    show_default=True,
    help="Which guideline --tls-scan grades against (a Mozilla profile implies --tls-grade).",
)
TLS_SCAN = click.option(
    "--tls-scan",
    is_flag=True,
    help="Also grade TLS on every item of the NCSC guidelines (as internet.nl) with sslyze; without the tls extra, "
    "try each TLS version and weak cipher class in its own short handshake.",
)
TLS_GRADE = click.option(
    "--tls-grade",
    is_flag=True,
    help="As --tls-scan, but stop with an error when the tls extra (sslyze) is not installed.",
)


def transport_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--port, --tls, --ipv4/--ipv6 and --insecure, shared by smtp, imap and pop3."""
    for decorate in reversed(
        [
            click.option("--port", "-p", type=click.IntRange(1, 65535), help="Port (or give HOST:PORT)."),
            click.option(
                "--tls",
                "tls_mode",
                type=click.Choice(["starttls", "implicit", "none"]),
                help="How TLS starts: STARTTLS, implicit TLS (default on the implicit-TLS port), or none.",
            ),
            click.option("--ipv4", "-4", "only_ipv4", is_flag=True, help="Probe only the IPv4 addresses."),
            click.option("--ipv6", "-6", "only_ipv6", is_flag=True, help="Probe only the IPv6 addresses."),
            click.option("--insecure", is_flag=True, help="Report certificate faults as warnings, not failures."),
            TLS_SCAN,
            TLS_GRADE,
            TLS_PROFILE,
        ]
    ):
        command = decorate(command)
    return command


PASSWORD_ENV = click.option("--password-env", metavar="VAR", help="Take the password from environment variable VAR.")
PASSWORD_FILE = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Take the password from the first line of this file.",
)


def credential_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--user with a password from the environment, a file or a prompt (never argv)."""
    for decorate in reversed(
        [
            click.option("--user", "-u", help="Log in as USER."),
            PASSWORD_ENV,
            PASSWORD_FILE,
            click.option("--allow-plaintext-auth", is_flag=True, help="Allow sending credentials without TLS."),
            click.option(
                "--auth-mech",
                type=click.Choice(AUTH_MECHANISMS, case_sensitive=False),
                help="SASL mechanism (default: the strongest both sides offer for the credential given).",
            ),
            click.option("--token-env", metavar="VAR", help="OAuth 2.0 bearer token from environment variable VAR."),
            click.option(
                "--token-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="OAuth 2.0 bearer token from the first line of this file.",
            ),
            click.option(
                "--token-command",
                metavar="CMD",
                help="A command that prints a fresh OAuth 2.0 token (its output is kept secret).",
            ),
        ]
    ):
        command = decorate(command)
    return command


@dataclass(frozen=True)
class ServerTarget:
    """What transport_options and the HOST argument resolve to."""

    host: str
    port: int
    tls_mode: str
    families: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def server_target(
    host: str,
    port: int | None,
    tls_mode: str | None,
    only_ipv4: bool,
    only_ipv6: bool,
    default_port: int,
    implicit_port: int,
) -> ServerTarget:
    name, given_port = server_host(host)
    if only_ipv4 and only_ipv6:
        raise BadInput("--ipv4 and --ipv6 exclude each other")
    if given_port and port and given_port != port:
        raise BadInput(f"port given twice ({given_port} in HOST, {port} in --port)")
    final_port = port or given_port or default_port
    mode = tls_mode or ("implicit" if final_port == implicit_port else "starttls")
    families = (4,) if only_ipv4 else (6,) if only_ipv6 else (4, 6)
    return ServerTarget(name, final_port, mode, families)


AUTH_MECHANISMS = (
    "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN", "LOGIN", "CRAM-MD5",
    "XOAUTH2", "OAUTHBEARER",
)  # fmt: skip
TOKEN_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


def credentials_from(
    user: str | None,
    password_env: str | None,
    password_file: Path | None,
    auth_mech: str | None = None,
    token_env: str | None = None,
    token_file: Path | None = None,
    token_command: str | None = None,
) -> "Credentials | None":
    """The credentials the options give: a password (env, file or prompt) or an OAuth token (env, file or a
    command's output), and the mechanism asked for; BadInput where they do not fit together."""
    from mailcheck.secrets import Credentials, read_password, read_token

    token_given = bool(token_env or token_file or token_command)
    mechanism = auth_mech.upper() if auth_mech else None
    if user is None:
        if password_env or password_file or token_given or mechanism:
            raise BadInput("--password-env/--password-file, --token-* and --auth-mech need --user")
        return None
    if token_given and (password_env or password_file):
        raise BadInput("give a password or a token, not both")
    if token_given and mechanism and mechanism not in TOKEN_MECHANISMS:
        raise BadInput(f"--auth-mech {mechanism} takes a password; a token goes with XOAUTH2 or OAUTHBEARER")
    if mechanism in TOKEN_MECHANISMS and not token_given:
        raise BadInput(f"--auth-mech {mechanism} needs a token: --token-env, --token-file or --token-command")
    if token_given:
        return Credentials(user, read_token(token_env, token_file, token_command), mechanism, token=True)
    return Credentials(user, read_password(password_env, password_file, user), mechanism)


REFERENCE_MX = click.option(
    "--reference-mx",
    "reference_mx",
    multiple=True,
    metavar="HOST[:PORT]",
    help="When port-25 connects time out, ask this MX (known to answer) whether the port is blocked from here "
    "(repeatable; env MAILCHECK_REFERENCE_MX, comma-separated). Default: the MX hosts of Gmail, Outlook.com "
    "and Yahoo, looked up when needed.",
)


RETRIES = click.option(
    "--retries",
    type=click.IntRange(0, 5),
    default=1,
    show_default=True,
    help="Ask an SMTP server again, after a backoff (2 s, then doubled, each at most --timeout), when it "
    "throttles this client (421/450/451 with 4.7.x or 'too many connections').",
)


def reference_mx_hosts(given: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """--reference-mx values (else MAILCHECK_REFERENCE_MX) as (host or IP, port; 0 = the probed port)."""
    from mailcheck.names import is_ip_address, parse_host_port

    specs = list(given) or [s for s in re.split(r"[,\s]+", os.environ.get("MAILCHECK_REFERENCE_MX", "")) if s]
    found = []
    for spec in specs:
        host, port = parse_host_port(spec, 0, "reference MX")
        found.append((host if is_ip_address(host) else domain_name(host), port))
    return tuple(found)
