"""Servers: ``mailcheck smtp``, ``imap``, ``pop3``, ``mailbox`` (SRV discovery) and ``roundtrip``."""

from pathlib import Path
from typing import Any

import click

from mailcheck.commands.run import execute
from mailcheck.commands.server_options import (
    AUTH_MECHANISMS,
    PASSWORD_ENV,
    PASSWORD_FILE,
    REFERENCE_MX,
    RETRIES,
    TLS_GRADE,
    TLS_PROFILE,
    TLS_SCAN,
    ServerTarget,
    credential_options,
    credentials_from,
    reference_mx_hosts,
    server_target,
    transport_options,
)
from mailcheck.names import BadInput, domain_name
from mailcheck.options import CommonOptions, common_options


@click.command()
@click.argument("host")
@transport_options
@click.option("--helo", metavar="NAME", help="Name to send in EHLO (default: an address literal of this host).")
@click.option(
    "--require-tls/--opportunistic-tls",
    "require_tls",
    default=None,
    help="Whether certificate faults fail (required) or warn (opportunistic, as senders treat MX hosts without "
    "MTA-STS or DANE). Default: opportunistic on port 25, required elsewhere (RFC 8314).",
)
@credential_options
@click.option("--from", "mail_from", metavar="ADDR", help="Send MAIL FROM:<ADDR> (then RSET; never DATA).")
@click.option("--rcpt", "rcpt_to", metavar="ADDR", multiple=True, help="Send RCPT TO:<ADDR> (repeatable).")
@click.option(
    "--relay-test",
    is_flag=True,
    help="Ask the server to relay from and to foreign addresses (RFC 2606 domains); never DATA, always RSET.",
)
@REFERENCE_MX
@RETRIES
@common_options
def smtp(
    host: str,
    port: int | None,
    tls_mode: str | None,
    only_ipv4: bool,
    only_ipv6: bool,
    insecure: bool,
    tls_scan: bool,
    tls_grade: bool,
    tls_profile: str,
    helo: str | None,
    require_tls: bool | None,
    user: str | None,
    password_env: str | None,
    password_file: Path | None,
    allow_plaintext_auth: bool,
    auth_mech: str | None,
    token_env: str | None,
    token_file: Path | None,
    token_command: str | None,
    mail_from: str | None,
    rcpt_to: tuple[str, ...],
    relay_test: bool,
    reference_mx: tuple[str, ...],
    retries: int,
    opts: CommonOptions,
) -> None:
    """Walk one SMTP session per address of HOST, stage by stage.

    dns → connect → greeting → EHLO → STARTTLS → TLS → certificate → EHLO again → AUTH → MAIL/RCPT.
    Never sends DATA: no mail is sent. HOST may be a name, an IP address, or HOST:PORT (default port 25;
    465 implies implicit TLS).
    """
    from mailcheck.checks.transport import smtp as smtp_check
    from mailcheck.checks.transport.tls_grade import depth
    from mailcheck.runner import run_check

    tls_scan, tls_grade = depth(tls_scan, tls_grade, tls_profile)
    target = server_target(host, port, tls_mode, only_ipv4, only_ipv6, default_port=25, implicit_port=465)
    options = smtp_check.SmtpOptions(
        port=target.port,
        tls_mode=target.tls_mode,
        helo=helo,
        families=target.families,
        insecure=insecure,
        opportunistic=None if require_tls is None else not require_tls,
        credentials=credentials_from(
            user, password_env, password_file, auth_mech, token_env, token_file, token_command
        ),
        allow_plaintext_auth=allow_plaintext_auth,
        mail_from=mail_from,
        rcpt_to=rcpt_to,
        relay_test=relay_test,
        tls_scan=tls_scan,
        tls_grade=tls_grade,
        tls_profile=tls_profile,
        egress_check=target.port == 25 or bool(reference_mx),
        reference_mx=reference_mx_hosts(reference_mx),
        retries=retries,
    )
    if relay_test and (mail_from or rcpt_to or user):
        raise BadInput("--relay-test runs its own envelope: leave out --from, --rcpt and --user")
    execute(
        "smtp",
        target.label,
        opts,
        lambda ctx: run_check(
            "smtp.dns", target.label, lambda: smtp_check.probe(target.host, options, ctx), smtp_check.evaluate
        ),
    )


def run_mailbox_command(
    protocol: str,
    host: str,
    port: int | None,
    tls_mode: str | None,
    only_ipv4: bool,
    only_ipv6: bool,
    insecure: bool,
    tls_scan: bool,
    tls_grade: bool,
    tls_profile: str,
    user: str | None,
    password_env: str | None,
    password_file: Path | None,
    allow_plaintext_auth: bool,
    auth_mech: str | None,
    token_env: str | None,
    token_file: Path | None,
    token_command: str | None,
    opts: CommonOptions,
) -> None:
    from mailcheck.checks.transport import mailbox
    from mailcheck.checks.transport.tls_grade import depth
    from mailcheck.net.imap import ImapDialect
    from mailcheck.net.pop3 import Pop3Dialect
    from mailcheck.runner import run_check

    tls_scan, tls_grade = depth(tls_scan, tls_grade, tls_profile)
    dialect = ImapDialect if protocol == "imap" else Pop3Dialect
    plain_port = 143 if protocol == "imap" else 110
    target = server_target(
        host,
        port,
        tls_mode,
        only_ipv4,
        only_ipv6,
        default_port=dialect.implicit_tls_port,
        implicit_port=dialect.implicit_tls_port,
    )
    if target.port == plain_port and tls_mode is None:
        target = ServerTarget(target.host, target.port, "starttls", target.families)
    options = mailbox.MailboxOptions(
        port=target.port,
        tls_mode=target.tls_mode,
        families=target.families,
        insecure=insecure,
        credentials=credentials_from(
            user, password_env, password_file, auth_mech, token_env, token_file, token_command
        ),
        allow_plaintext_auth=allow_plaintext_auth,
        tls_scan=tls_scan,
        tls_grade=tls_grade,
        tls_profile=tls_profile,
    )
    execute(
        protocol,
        target.label,
        opts,
        lambda ctx: run_check(
            f"{protocol}.dns",
            target.label,
            lambda: mailbox.probe(target.host, options, dialect, ctx),
            mailbox.evaluate,
        ),
    )


@click.command()
@click.argument("host")
@transport_options
@credential_options
@common_options
def imap(host: str, **kwargs: Any) -> None:
    """Check IMAP access on HOST: greeting, CAPABILITY, STARTTLS or implicit TLS, certificate, and with
    --user a login plus a read-only EXAMINE INBOX. Default port 993 (implicit TLS); 143 uses STARTTLS."""
    run_mailbox_command("imap", host, **kwargs)


@click.command()
@click.argument("host")
@transport_options
@credential_options
@common_options
def pop3(host: str, **kwargs: Any) -> None:
    """Check POP3 access on HOST: greeting, CAPA, STLS or implicit TLS, certificate, and with --user a
    login plus a read-only STAT. Default port 995 (implicit TLS); 110 uses STLS."""
    run_mailbox_command("pop3", host, **kwargs)


@click.command()
@click.argument("domain")
@click.option("--insecure", is_flag=True, help="Report certificate faults as warnings, not failures.")
@TLS_SCAN
@TLS_GRADE
@TLS_PROFILE
@common_options
def mailbox(
    domain: str, insecure: bool, tls_scan: bool, tls_grade: bool, tls_profile: str, opts: CommonOptions
) -> None:
    """Find DOMAIN's mail access and submission endpoints from SRV records and probe each one.

    Looks up _imaps, _imap, _pop3s, _pop3, _submissions and _submission (RFC 6186, RFC 8314) and runs the
    imap, pop3 or smtp checks against every target found.
    """
    from mailcheck.checks.transport import endpoints
    from mailcheck.checks.transport.tls_grade import depth
    from mailcheck.runner import run_check

    name = domain_name(domain)
    tls = endpoints.TlsLook(*depth(tls_scan, tls_grade, tls_profile), tls_profile)
    execute(
        "mailbox",
        name,
        opts,
        lambda ctx: run_check(
            "mailbox.discovery", name, lambda: endpoints.probe(name, ctx, insecure, tls), endpoints.evaluate
        ),
    )


@click.command()
@click.option(
    "--smtp",
    "smtp_server",
    required=True,
    metavar="HOST[:PORT]",
    help="Submission server (default port 587; 465 means implicit TLS).",
)
@click.option(
    "--imap", "imap_server", required=True, metavar="HOST[:PORT]", help="IMAP server of the mailbox (default port 993)."
)
@click.option("--user", "-u", required=True, help="Submission login (and the mailbox login unless --imap-user).")
@PASSWORD_ENV
@PASSWORD_FILE
@click.option(
    "--auth-mech",
    type=click.Choice(AUTH_MECHANISMS, case_sensitive=False),
    help="SASL mechanism for both logins (default: the strongest each server offers).",
)
@click.option("--token-env", metavar="VAR", help="OAuth 2.0 bearer token (both logins) from environment variable VAR.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), help="OAuth 2.0 token from this file.")
@click.option("--token-command", metavar="CMD", help="A command that prints a fresh OAuth 2.0 token (kept secret).")
@click.option("--imap-user", help="A different mailbox login.")
@click.option("--imap-password-env", metavar="VAR", help="Mailbox password from environment variable VAR.")
@click.option(
    "--imap-password-file", type=click.Path(dir_okay=False, path_type=Path), help="Mailbox password from this file."
)
@click.option("--from", "mail_from", metavar="ADDR", help="Sender address (default: --user).")
@click.option("--to", "rcpt_to", metavar="ADDR", help="Recipient address (default: the mailbox login).")
@click.option(
    "--deadline", type=click.FloatRange(1, 3600), default=120, show_default=True, help="Seconds to wait for delivery."
)
@common_options
def roundtrip(
    smtp_server: str,
    imap_server: str,
    user: str,
    password_env: str | None,
    password_file: Path | None,
    auth_mech: str | None,
    token_env: str | None,
    token_file: Path | None,
    token_command: str | None,
    imap_user: str | None,
    imap_password_env: str | None,
    imap_password_file: Path | None,
    mail_from: str | None,
    rcpt_to: str | None,
    deadline: float,
    opts: CommonOptions,
) -> None:
    """Send a uniquely tagged test message through a submission server, poll the mailbox over IMAP until it
    arrives, and report each stage, the time to delivery, its trace and authentication results; then delete
    exactly that message. The end-to-end probe for "is mail flowing, and how fast?"."""
    from mailcheck.checks.transport import roundtrip as roundtrip_check
    from mailcheck.runner import run_check
    from mailcheck.secrets import Credentials, read_password

    smtp_target = server_target(smtp_server, None, None, False, False, default_port=587, implicit_port=465)
    imap_target = server_target(imap_server, None, None, False, False, default_port=993, implicit_port=993)
    smtp_credentials = credentials_from(
        user, password_env, password_file, auth_mech, token_env, token_file, token_command
    )
    assert smtp_credentials is not None  # --user is required
    if imap_user or imap_password_env or imap_password_file:
        mailbox_user = imap_user or user
        imap_credentials = Credentials(mailbox_user, read_password(imap_password_env, imap_password_file, mailbox_user))
    else:
        imap_credentials = smtp_credentials
    sender = mail_from or user
    recipient = rcpt_to or imap_credentials.user
    for address in (sender, recipient):
        if "@" not in address:
            raise BadInput(f"{address!r} is not an address (local@domain): give --from/--to")
    options = roundtrip_check.RoundtripOptions(
        smtp_target.host, smtp_target.port, smtp_target.tls_mode,
        imap_target.host, imap_target.port, imap_target.tls_mode,
        smtp_credentials, imap_credentials, sender, recipient, deadline,
    )  # fmt: skip
    target = f"{smtp_target.label} → {imap_target.label}"
    execute(
        "roundtrip",
        target,
        opts,
        lambda ctx: run_check(
            "roundtrip.submit", target, lambda: roundtrip_check.probe(options, ctx), roundtrip_check.evaluate
        ),
    )


COMMANDS: tuple[click.Command, ...] = (
    smtp,
    imap,
    pop3,
    mailbox,
    roundtrip,
)
