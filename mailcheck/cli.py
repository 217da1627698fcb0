"""The command line: a click group and thin subcommands (parse, build the context, run, render, exit).

Heavy modules are imported inside the commands that need them, so ``--help`` and ``--version`` start fast.
"""

import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from mailcheck import __version__
from mailcheck.model import EXIT_UNCHECKED, EXIT_USAGE, CheckResult
from mailcheck.names import BadInput, domain_name
from mailcheck.options import CommonOptions, common_options

if TYPE_CHECKING:
    from mailcheck.context import ProbeContext
    from mailcheck.net.dnssec import TrustAnchors
    from mailcheck.secrets import Credentials


class MailcheckGroup(click.Group):
    """Turns bad input into one line on stderr with exit 2, and anything unexpected into one line, not a
    traceback (MAILCHECK_DEBUG=1 shows the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BadInput as exc:
            click.echo(f"mailcheck: error: {exc}", err=True)
            ctx.exit(EXIT_USAGE)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("mailcheck: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:
            if _reader_went_away(exc):
                # `mailcheck ... | head`: the reader has what it wanted. End as a program killed by SIGPIPE
                # would (exit 141), quietly, with stdout pointed at /dev/null so the final flush cannot fail.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                ctx.exit(EXIT_BROKEN_PIPE)
            if os.environ.get("MAILCHECK_DEBUG"):
                raise
            click.echo(
                f"mailcheck: internal error: {type(exc).__name__}: {exc} (MAILCHECK_DEBUG=1 shows the traceback)",
                err=True,
            )
            ctx.exit(EXIT_UNCHECKED)


EXIT_BROKEN_PIPE = 128 + 13  # as shells report a program ended by SIGPIPE


def _reader_went_away(exc: BaseException) -> bool:
    """Whether EXC is a broken pipe on our output (also when it comes out of a task group)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_reader_went_away(inner) for inner in exc.exceptions)
    return isinstance(exc, BrokenPipeError)


class DefaultCommandGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to ``default_command``:
    ``mailcheck dmarc example.com`` is ``mailcheck dmarc check example.com``."""

    default_command = "check"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(cls=MailcheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mailcheck")
def main() -> None:
    """Diagnose the path an email takes, stage by stage.

    Exit codes: 0 nothing at or above --fail-on, 1 a check at or above it, 2 usage error or bad input,
    3 nothing could be checked (no resolver answered, no network).
    """


def execute(
    command: str,
    target: str,
    opts: CommonOptions,
    checks: "Callable[[ProbeContext], Awaitable[list[CheckResult]]]",
) -> NoReturn:
    """Run ``checks``, render the report in the chosen format and exit with the contract's code."""
    from mailcheck.render import render
    from mailcheck.runner import make_report, run_sync

    ctx = opts.context()
    start = time.monotonic()
    results = run_sync(checks(ctx))
    report = make_report(command, target, results, start)
    render(report, opts.format, sys.stdout, opts.show_all)
    sys.stdout.flush()
    raise click.exceptions.Exit(report.exit_code(opts.fail_on))


ALLOW_PRIVATE = click.option(
    "--allow-private",
    is_flag=True,
    help="Private, loopback and reserved addresses are expected (an internal mail system or a lab).",
)


@main.command()
@click.argument("domain")
@ALLOW_PRIVATE
@common_options
def mx(domain: str, allow_private: bool, opts: CommonOptions) -> None:
    """Where mail for DOMAIN goes: MX records, their hosts and addresses, reverse DNS.

    Recognises null MX (RFC 7505), implicit MX, MX hosts that are CNAMEs or IP literals, private
    addresses and hosts without forward-confirmed reverse DNS.
    """
    import functools

    from mailcheck.checks import mx as mx_check
    from mailcheck.runner import run_check

    name = domain_name(domain)
    execute(
        "mx",
        name,
        opts,
        lambda ctx: run_check(
            "mx.records",
            name,
            lambda: mx_check.probe(name, ctx),
            functools.partial(mx_check.evaluate, allow_private=allow_private),
        ),
    )


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
            click.option(
                "--tls-scan",
                is_flag=True,
                help="Also try each TLS version and weak cipher class in its own short handshake.",
            ),
        ]
    ):
        command = decorate(command)
    return command


def credential_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--user with a password from the environment, a file or a prompt (never argv)."""
    for decorate in reversed(
        [
            click.option("--user", "-u", help="Log in as USER."),
            click.option("--password-env", metavar="VAR", help="Take the password from environment variable VAR."),
            click.option(
                "--password-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Take the password from the first line of this file.",
            ),
            click.option("--allow-plaintext-auth", is_flag=True, help="Allow sending credentials without TLS."),
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


def credentials_from(user: str | None, password_env: str | None, password_file: Path | None) -> "Credentials | None":
    from mailcheck.secrets import Credentials, read_password

    if user is None:
        if password_env or password_file:
            raise BadInput("--password-env/--password-file need --user")
        return None
    return Credentials(user, read_password(password_env, password_file, user))


@main.command()
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
@common_options
def smtp(
    host: str,
    port: int | None,
    tls_mode: str | None,
    only_ipv4: bool,
    only_ipv6: bool,
    insecure: bool,
    tls_scan: bool,
    helo: str | None,
    require_tls: bool | None,
    user: str | None,
    password_env: str | None,
    password_file: Path | None,
    allow_plaintext_auth: bool,
    mail_from: str | None,
    rcpt_to: tuple[str, ...],
    relay_test: bool,
    opts: CommonOptions,
) -> None:
    """Walk one SMTP session per address of HOST, stage by stage.

    dns → connect → greeting → EHLO → STARTTLS → TLS → certificate → EHLO again → AUTH → MAIL/RCPT.
    Never sends DATA: no mail is sent. HOST may be a name, an IP address, or HOST:PORT (default port 25;
    465 implies implicit TLS).
    """
    from mailcheck.checks import smtp as smtp_check
    from mailcheck.runner import run_check

    target = server_target(host, port, tls_mode, only_ipv4, only_ipv6, default_port=25, implicit_port=465)
    options = smtp_check.SmtpOptions(
        port=target.port,
        tls_mode=target.tls_mode,
        helo=helo,
        families=target.families,
        insecure=insecure,
        opportunistic=None if require_tls is None else not require_tls,
        credentials=credentials_from(user, password_env, password_file),
        allow_plaintext_auth=allow_plaintext_auth,
        mail_from=mail_from,
        rcpt_to=rcpt_to,
        relay_test=relay_test,
        tls_scan=tls_scan,
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
    user: str | None,
    password_env: str | None,
    password_file: Path | None,
    allow_plaintext_auth: bool,
    opts: CommonOptions,
) -> None:
    from mailcheck.checks import mailbox
    from mailcheck.net.imap import ImapDialect
    from mailcheck.net.pop3 import Pop3Dialect
    from mailcheck.runner import run_check

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
        credentials=credentials_from(user, password_env, password_file),
        allow_plaintext_auth=allow_plaintext_auth,
        tls_scan=tls_scan,
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


@main.command()
@click.argument("host")
@transport_options
@credential_options
@common_options
def imap(host: str, **kwargs: Any) -> None:
    """Check IMAP access on HOST: greeting, CAPABILITY, STARTTLS or implicit TLS, certificate, and with
    --user a login plus a read-only EXAMINE INBOX. Default port 993 (implicit TLS); 143 uses STARTTLS."""
    run_mailbox_command("imap", host, **kwargs)


@main.command()
@click.argument("host")
@transport_options
@credential_options
@common_options
def pop3(host: str, **kwargs: Any) -> None:
    """Check POP3 access on HOST: greeting, CAPA, STLS or implicit TLS, certificate, and with --user a
    login plus a read-only STAT. Default port 995 (implicit TLS); 110 uses STLS."""
    run_mailbox_command("pop3", host, **kwargs)


@main.command()
@click.argument("domain")
@click.option("--insecure", is_flag=True, help="Report certificate faults as warnings, not failures.")
@common_options
def mailbox(domain: str, insecure: bool, opts: CommonOptions) -> None:
    """Find DOMAIN's mail access and submission endpoints from SRV records and probe each one.

    Looks up _imaps, _imap, _pop3s, _pop3, _submissions and _submission (RFC 6186, RFC 8314) and runs the
    imap, pop3 or smtp checks against every target found.
    """
    from mailcheck.checks import endpoints
    from mailcheck.runner import run_check

    name = domain_name(domain)
    execute(
        "mailbox",
        name,
        opts,
        lambda ctx: run_check(
            "mailbox.discovery", name, lambda: endpoints.probe(name, ctx, insecure), endpoints.evaluate
        ),
    )


@main.command()
@click.argument("domain", required=False)
@click.option("--ip", help="Evaluate check_host() for mail from this IP address.")
@click.option(
    "--sender",
    metavar="ADDR",
    help="MAIL FROM address for --ip (default postmaster@DOMAIN); '' is the null sender, checked as its HELO.",
)
@click.option("--helo", metavar="NAME", help="HELO name for --ip (default DOMAIN).")
@common_options
def spf(domain: str | None, ip: str | None, sender: str | None, helo: str | None, opts: CommonOptions) -> None:
    """Check DOMAIN's SPF record: syntax with positions, the include/redirect tree with each node's DNS
    lookups, the limits of 10 lookups and 2 void lookups, and the policy. With --ip, the check_host()
    result for the sender's domain (DOMAIN may then be left out), from mailcheck's own evaluation and from
    pyspf; where they differ, the report says where each stopped."""
    from mailcheck.checks import spf as spf_check
    from mailcheck.names import is_ip_address
    from mailcheck.runner import run_check

    query = None
    if ip is not None:
        if not is_ip_address(ip):
            raise BadInput(f"--ip {ip!r} is not an IP address")
        if sender and "@" not in sender:
            raise BadInput(f"--sender {sender!r} is not an address (local@domain)")
        if domain is None and sender is None and helo is None:
            raise BadInput("give a DOMAIN, or --sender (or --helo) with --ip")
        query = spf_check.CheckHostQuery.for_transaction(ip, sender, helo, domain)
    elif sender or helo:
        raise BadInput("--sender and --helo need --ip")
    elif domain is None:
        raise BadInput("give a DOMAIN to check (or --ip with --sender to check a sender)")
    name = domain_name(domain) if domain is not None else spf_check.record_domain(query)
    target = name or (query.domain if query else "")
    execute(
        "spf",
        target,
        opts,
        lambda ctx: run_check("spf.record", target, lambda: spf_check.probe(name, ctx, query), spf_check.evaluate),
    )


@main.command()
@click.argument("ip")
@click.option("--domain", "sender_domain", required=True, help="The domain the address sends for (MAIL FROM, From).")
@click.option("--helo", metavar="NAME", help="The name the sending server gives in HELO/EHLO.")
@click.option(
    "--blocklist",
    "ip_lists",
    multiple=True,
    metavar="ZONE",
    help="An IP blocklist zone to ask (repeatable; replaces the default lists).",
)
@click.option(
    "--domain-blocklist",
    "domain_lists",
    multiple=True,
    metavar="ZONE",
    help="A domain blocklist zone to ask (repeatable; replaces the default lists).",
)
@ALLOW_PRIVATE
@common_options
def sender(
    ip: str,
    sender_domain: str,
    helo: str | None,
    ip_lists: tuple[str, ...],
    domain_lists: tuple[str, ...],
    allow_private: bool,
    opts: CommonOptions,
) -> None:
    """Can IP send mail for --domain? Reverse DNS and its forward confirmation, the HELO name, SPF for the
    address, a DMARC policy, and DNS blocklists (RFC 5782) for the address, the domain and the HELO name,
    each line with the receivers that demand it."""
    import ipaddress

    from mailcheck.auth import dnsbl
    from mailcheck.checks import sender as sender_check
    from mailcheck.names import is_ip_address
    from mailcheck.runner import run_check

    if not is_ip_address(ip):
        raise BadInput(f"{ip!r} is not an IP address")
    address = ipaddress.ip_address(ip)
    name = domain_name(sender_domain)
    if not address.is_global and not allow_private:
        raise BadInput(
            f"{ip} is a private or reserved address: receivers and blocklists never see it "
            "(--allow-private to check it anyway)"
        )
    helo_name = domain_name(helo) if helo else None
    ip_zones = [dnsbl.custom_list(domain_name(z), "ip") for z in ip_lists] or list(dnsbl.DEFAULT_IP_LISTS)
    domain_zones = [dnsbl.custom_list(domain_name(z), "domain") for z in domain_lists] or list(
        dnsbl.DEFAULT_DOMAIN_LISTS
    )
    execute(
        "sender",
        f"{address} for {name}",
        opts,
        lambda ctx: run_check(
            "sender.ptr",
            str(address),
            lambda: sender_check.probe(str(address), name, helo_name, ip_zones, domain_zones, ctx),
            sender_check.evaluate,
        ),
    )


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON document.")
def summary(files: tuple[Path, ...], as_json: bool) -> None:
    """Summarise the JSON Lines of `mailcheck domain --from-file` (several files: the shards' outputs):
    domains by status, the most common failure kinds with example domains, counts by part and check."""
    import json

    from mailcheck.summary import render_summary, summarise

    found = summarise(list(files))
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
    else:
        render_summary(found, sys.stdout)
    worst = found.by_status
    raise click.exceptions.Exit(1 if worst.get("fail") or worst.get("error") else 0)


def load_trust_anchors(path: Path | None) -> "TrustAnchors":
    """--trust-anchor FILE, or the built-in IANA root anchors; a bad file is a usage error naming the line."""
    from mailcheck.net.dnssec import DEFAULT_ANCHORS, AnchorError, parse_anchors

    if path is None:
        return DEFAULT_ANCHORS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read --trust-anchor {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return parse_anchors(text.splitlines(), str(path))
    except AnchorError as exc:
        raise BadInput(str(exc)) from None


TRUST_ANCHOR = click.option(
    "--trust-anchor",
    type=click.Path(dir_okay=False, path_type=Path),
    help="DS or DNSKEY records (zone-file form) to trust for DNSSEC; default: the IANA root anchors.",
)


@main.command()
@click.argument("name")
@click.argument("rdtype", default="A", metavar="[TYPE]")
@TRUST_ANCHOR
@common_options
def dnssec(name: str, rdtype: str, trust_anchor: Path | None, opts: CommonOptions) -> None:
    """Validate the DNSSEC chain of NAME's TYPE records (default A) yourself, through --resolver: secure,
    insecure (with the NSEC proof), bogus (with the link that broke) or indeterminate."""
    from mailcheck.checks import dnssec as dnssec_check
    from mailcheck.runner import run_check

    anchors = load_trust_anchors(trust_anchor)
    owner = domain_name(name) if not name.startswith("_") else name.lower().rstrip(".")
    kind = rdtype.upper()
    execute(
        "dnssec",
        f"{kind} {owner}",
        opts,
        lambda ctx: run_check(
            "dnssec.answer", owner, lambda: dnssec_check.probe([(owner, kind)], anchors, ctx), dnssec_check.evaluate
        ),
    )


@main.group(cls=DefaultCommandGroup)
def dmarc() -> None:
    """DMARC: `mailcheck dmarc check DOMAIN` (or `mailcheck dmarc DOMAIN`), `mailcheck dmarc evaluate FILE`."""


@dmarc.command("check")
@click.argument("domain")
@common_options
def dmarc_check(domain: str, opts: CommonOptions) -> None:
    """Find DOMAIN's DMARC record by the RFC 9989 tree walk and check its policy, tags and report destinations."""
    from mailcheck.checks import dmarc as dmarc_module
    from mailcheck.runner import run_check

    name = domain_name(domain)
    execute(
        "dmarc",
        name,
        opts,
        lambda ctx: run_check("dmarc.record", name, lambda: dmarc_module.probe(name, ctx), dmarc_module.evaluate),
    )


@dmarc.command("evaluate")
@click.argument("source", default="-", metavar="FILE|-")
@click.option("--ip", help="Evaluate SPF now for this sending IP instead of reading the receiver's result.")
@click.option("--helo", metavar="NAME", help="HELO name for --ip.")
@common_options
def dmarc_evaluate(source: str, ip: str | None, helo: str | None, opts: CommonOptions) -> None:
    """The DMARC verdict for a received message: aligned DKIM (verified now) or aligned SPF, and the policy."""
    from mailcheck.checks import dmarc_evaluate as evaluate_module
    from mailcheck.message import read_input
    from mailcheck.names import is_ip_address
    from mailcheck.runner import run_check

    if ip is not None and not is_ip_address(ip):
        raise BadInput(f"--ip {ip!r} is not an IP address")
    data = read_input(source)
    label = "stdin" if source == "-" else source
    execute(
        "dmarc",
        label,
        opts,
        lambda ctx: run_check(
            "dmarc.verdict", label, lambda: evaluate_module.probe(data, label, ctx, ip, helo), evaluate_module.evaluate
        ),
    )


class DkimGroup(DefaultCommandGroup):
    default_command = "keys"


@main.group(cls=DkimGroup)
def dkim() -> None:
    """DKIM: `mailcheck dkim DOMAIN [--selector S]` checks keys; `mailcheck dkim verify FILE|-` verifies a message."""


@dkim.command("keys")
@click.argument("domain")
@click.option("--selector", "-s", "selectors", multiple=True, help="Selector to check (repeatable).")
@common_options
def dkim_keys(domain: str, selectors: tuple[str, ...], opts: CommonOptions) -> None:
    """Check the DKIM keys at SELECTOR._domainkey.DOMAIN; without --selector, try common selectors."""
    from mailcheck.checks import dkim as dkim_module
    from mailcheck.runner import run_check

    name = domain_name(domain)
    for selector in selectors:
        try:
            domain_name(f"{selector}.example")  # a selector is one or more DNS labels
        except BadInput:
            raise BadInput(
                f"invalid DKIM selector {selector!r}: it must be DNS labels (letters, digits, -, _)"
            ) from None
    execute(
        "dkim",
        name,
        opts,
        lambda ctx: run_check(
            "dkim.key",
            name,
            lambda: dkim_module.probe(name, tuple(s.lower() for s in selectors), ctx),
            dkim_module.evaluate,
        ),
    )


@dkim.command("verify")
@click.argument("source", default="-", metavar="FILE|-")
@common_options
def dkim_verify(source: str, opts: CommonOptions) -> None:
    """Verify every DKIM-Signature (and the ARC chain) of the message in FILE or on stdin."""
    from mailcheck.checks import dkim_verify as verify_module
    from mailcheck.message import read_input
    from mailcheck.runner import run_check

    message = read_input(source)
    label = "stdin" if source == "-" else source
    execute(
        "dkim",
        label,
        opts,
        lambda ctx: run_check(
            "dkim.signature", label, lambda: verify_module.probe(message, label, ctx), verify_module.evaluate
        ),
    )


@main.command()
@click.argument("source", default="-", metavar="[FILE|-]")
@click.option("--redact", is_flag=True, help="Replace addresses, IPs and host names by consistent stand-ins.")
@common_options
def headers(source: str, redact: bool, opts: CommonOptions) -> None:
    """Trace a message's path from its headers, offline: hops oldest first with delays and clock skew,
    TLS per hop, chain gaps, where it entered the receiving organisation, which authentication results to
    trust, DKIM-Signature lint and spam-filter verdicts. FILE is a whole .eml, headers only, or a paste."""
    from mailcheck.checks import headers as headers_check
    from mailcheck.message import read_input
    from mailcheck.runner import run_check

    data = read_input(source)
    if redact:
        from mailcheck.headers.redact import redact as redact_text

        data = redact_text(data)
    label = "stdin" if source == "-" else source
    execute(
        "headers",
        label,
        opts,
        lambda ctx: run_check("headers.input", label, lambda: headers_check.probe(data, label), headers_check.evaluate),
    )


def parse_parts(text: str | None, option: str) -> set[str]:
    from mailcheck.checks.domain import PARTS

    if not text:
        return set()
    parts = {p.strip().lower() for p in text.split(",") if p.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        raise BadInput(f"{option}: unknown part(s) {', '.join(sorted(unknown))} (known: {', '.join(PARTS)})")
    return parts


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or int(count) < 1 or int(index) >= int(count):
        raise BadInput(f"--shard {text!r}: give I/N with 0 <= I < N, e.g. 0/4")
    return int(index), int(count)


@main.command()
@click.argument("domain", required=False)
@click.option(
    "--skip",
    metavar="PARTS",
    help="Comma-separated parts to skip: mx,dnssec,blocklist,smtp,mta-sts,dane,tls-rpt,spf,dkim,dmarc,bimi,mailbox.",
)
@click.option("--only", metavar="PARTS", help="Run only these parts (comma-separated).")
@click.option(
    "--dkim-selector", "dkim_selectors", multiple=True, metavar="S", help="DKIM selector to check (repeatable)."
)
@ALLOW_PRIVATE
@click.option("--insecure", is_flag=True, help="Report certificate faults as warnings, not failures.")
@click.option(
    "--mx-port",
    type=click.IntRange(1, 65535),
    default=25,
    show_default=True,
    help="Port to probe MX hosts on (labs and test setups).",
)
@click.option(
    "--mta-sts-port",
    type=click.IntRange(1, 65535),
    default=443,
    show_default=True,
    help="HTTPS port of the MTA-STS policy host (labs).",
)
@click.option(
    "--expect",
    "expect_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file of assertions about the intended configuration; each becomes a check.",
)
@click.option(
    "--from-file", "from_file", metavar="FILE|-", help="Check every domain in FILE (one a line); write JSON Lines."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Domains checked at once with --from-file.",
)
@click.option("--shard", metavar="I/N", help="With --from-file, check only every N-th domain starting at I (0-based).")
@click.option(
    "--blocklist",
    "ip_lists",
    multiple=True,
    metavar="ZONE",
    help="IP blocklist zone to check the MX addresses on (repeatable; replaces the default lists).",
)
@click.option(
    "--per-host",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="SMTP sessions to one server address at once (each MX address is probed once per run).",
)
@click.option(
    "--dns-rate",
    type=click.FloatRange(min=0, min_open=True),
    metavar="QPS",
    help="At most QPS new DNS questions a second (default: no cap beyond 128 in flight). For big runs through a "
    "shared or public resolver, which may drop or refuse a client that asks faster than it allows.",
)
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --from-file, append the JSON Lines to this file (one line per finished domain).",
)
@click.option("--resume", is_flag=True, help="With --output, skip the domains already in the file.")
@click.option("--tls-scan", is_flag=True, help="Also try each TLS version and weak cipher class on every MX address.")
@TRUST_ANCHOR
@common_options
def domain(
    domain: str | None,
    skip: str | None,
    only: str | None,
    dkim_selectors: tuple[str, ...],
    allow_private: bool,
    insecure: bool,
    mx_port: int,
    mta_sts_port: int,
    expect_file: Path | None,
    from_file: str | None,
    concurrency: int,
    shard: str | None,
    ip_lists: tuple[str, ...],
    per_host: int,
    dns_rate: float | None,
    output: Path | None,
    resume: bool,
    tls_scan: bool,
    trust_anchor: Path | None,
    opts: CommonOptions,
) -> None:
    """Check the whole mail path of DOMAIN in one run: MX, SMTP + STARTTLS on every MX address, MTA-STS,
    DANE, TLS-RPT, SPF, DKIM, DMARC, BIMI and the mailbox endpoints, concurrently.

    With --from-file, check many domains and write one JSON document per line (streamed as each finishes).
    """
    from mailcheck.checks.domain import PARTS, DomainOptions

    skipped, chosen = parse_parts(skip, "--skip"), parse_parts(only, "--only")
    parts = frozenset((chosen or set(PARTS)) - skipped)
    if not parts:
        raise BadInput("--skip/--only leave nothing to check")
    from mailcheck.auth import dnsbl

    lists = tuple(dnsbl.custom_list(domain_name(z), "ip") for z in ip_lists) or dnsbl.DEFAULT_IP_LISTS
    options = DomainOptions(
        parts,
        tuple(s.lower() for s in dkim_selectors),
        allow_private,
        mx_port,
        mta_sts_port,
        insecure,
        lists,
        tls_scan,
        load_trust_anchors(trust_anchor) if trust_anchor is not None else None,
    )
    expectations = None
    if expect_file is not None:
        from mailcheck.expect import load_expectations

        expectations = load_expectations(expect_file)
    if resume and output is None:
        raise BadInput("--resume goes with --output FILE")
    if from_file is not None:
        if domain is not None:
            raise BadInput("give either DOMAIN or --from-file, not both")
        from mailcheck.batch import BatchPlan, run_batch

        plan = BatchPlan(concurrency, parse_shard(shard), per_host, output, resume, dns_rate)
        raise click.exceptions.Exit(run_batch(from_file, options, opts, plan, expectations))
    if domain is None:
        raise BadInput("give a DOMAIN (or --from-file FILE)")
    if shard is not None or output is not None:
        raise BadInput("--shard and --output go with --from-file")
    name = domain_name(domain)
    from mailcheck.batch import check_domain

    live = opts.format in ("report", "table") and sys.stderr.isatty()

    def check(ctx: "ProbeContext") -> "Awaitable[list[CheckResult]]":
        ctx.per_host = per_host
        ctx.dns.limit_rate(dns_rate)
        return check_domain(name, options, ctx, expectations, live)

    execute("domain", name, opts, check)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the commands' JSON documents instead of tables.")
@click.option("--keep", is_flag=True, help="Leave the lab running afterwards (until Ctrl-C) to explore it.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.2, max=60),
    default=2.0,
    show_default=True,
    help="Per-step bound inside the lab.",
)
def demo(as_json: bool, keep: bool, timeout: float) -> None:
    """See every part of mailcheck work, offline: start a mail lab on loopback (DNS, SMTP with STARTTLS,
    MTA-STS over HTTPS, IMAP, a CA made at start), check a healthy and a broken domain and trace a sample
    message, then shut it all down. Exits 1, because the broken domain fails."""
    from mailcheck.demo import run_demo

    raise click.exceptions.Exit(run_demo(as_json, keep, timeout))


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (see README: Shell completion)."""
    from mailcheck.completion import completion_script

    click.echo(completion_script(shell), nl=False)


@main.command()
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
@click.option("--password-env", metavar="VAR", help="Password from environment variable VAR.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path), help="Password from this file.")
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
    from mailcheck.checks import roundtrip as roundtrip_check
    from mailcheck.runner import run_check
    from mailcheck.secrets import Credentials, read_password

    smtp_target = server_target(smtp_server, None, None, False, False, default_port=587, implicit_port=465)
    imap_target = server_target(imap_server, None, None, False, False, default_port=993, implicit_port=993)
    smtp_credentials = Credentials(user, read_password(password_env, password_file, user))
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


@main.command()
@click.argument("codes", nargs=-1, required=True)
def explain(codes: tuple[str, ...]) -> None:
    """Explain codes offline: SMTP reply codes (550), enhanced status codes (5.7.1), IMAP and POP3 response
    codes (AUTHENTICATIONFAILED, SYS/TEMP), e.g. `mailcheck explain 550 5.7.1`."""
    from mailcheck.replycodes import MAILBOX_CODES, explain_enhanced, explain_reply, is_enhanced_code, is_reply_code

    for code in codes:
        bare = code.strip("[]").upper()
        if is_reply_code(code):
            click.echo(f"{code}: {explain_reply(int(code))}")
        elif is_enhanced_code(code):
            click.echo(f"{code}: {explain_enhanced(code)}")
        elif bare in MAILBOX_CODES:
            protocol = "POP3" if "/" in bare or bare in ("AUTH", "IN-USE", "LOGIN-DELAY") else "IMAP"
            click.echo(f"[{bare}] ({protocol}): {MAILBOX_CODES[bare][1]}")
        else:
            raise BadInput(
                f"{code!r} is not an SMTP reply code (550), an enhanced status code (5.7.1) or an IMAP/POP3 "
                "response code (AUTHENTICATIONFAILED, SYS/TEMP)"
            )
