"""Sender authentication: ``mailcheck spf``, ``sender``, ``dmarc check|evaluate``, ``dkim keys|verify`` and
``reports``."""

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailcheck.commands.run import ALLOW_PRIVATE, DefaultCommandGroup, execute
from mailcheck.commands.server_options import PASSWORD_ENV, PASSWORD_FILE
from mailcheck.names import BadInput, domain_name
from mailcheck.options import CommonOptions, common_options

if TYPE_CHECKING:
    import datetime as dt


@click.command()
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
    from mailcheck.checks.sender_auth import spf as spf_check
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


@click.command()
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

    from mailcheck.checks.sender_auth import sender as sender_check
    from mailcheck.names import is_ip_address
    from mailcheck.records import dnsbl
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


@click.group(cls=DefaultCommandGroup)
def dmarc() -> None:
    """DMARC: `mailcheck dmarc check DOMAIN` (or `mailcheck dmarc DOMAIN`), `mailcheck dmarc evaluate FILE`."""


@dmarc.command("check")
@click.argument("domain")
@common_options
def dmarc_check(domain: str, opts: CommonOptions) -> None:
    """Find DOMAIN's DMARC record by the RFC 9989 tree walk and check its policy, tags and report destinations."""
    from mailcheck.checks.sender_auth import dmarc as dmarc_module
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
    from mailcheck.checks.sender_auth import dmarc_evaluate as evaluate_module
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


@click.group(cls=DkimGroup)
def dkim() -> None:
    """DKIM: `mailcheck dkim DOMAIN [--selector S]` checks keys; `mailcheck dkim verify FILE|-` verifies a message."""


@dkim.command("keys")
@click.argument("domain")
@click.option("--selector", "-s", "selectors", multiple=True, help="Selector to check (repeatable).")
@common_options
def dkim_keys(domain: str, selectors: tuple[str, ...], opts: CommonOptions) -> None:
    """Check the DKIM keys at SELECTOR._domainkey.DOMAIN; without --selector, try common selectors."""
    from mailcheck.checks.sender_auth import dkim as dkim_module
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
    from mailcheck.checks.sender_auth import dkim_verify as verify_module
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


def _since(text: str | None) -> "dt.datetime | None":
    import datetime as dt

    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--since {text!r}: give a date as YYYY-MM-DD") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--since", metavar="DATE", help="Only aggregate reports whose period ends on or after DATE (YYYY-MM-DD).")
@click.option("--no-dns", is_flag=True, help="Offline: no PTR or SPF lookups of the sources.")
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Fail (exit 1) when the aligned share of a domain's own mail is below PERCENT: a CI gate.",
)
@click.option("--imap", "imap_host", metavar="HOST[:PORT]", help="Read the report mails of a mailbox (read-only).")
@click.option("--folder", default="INBOX", show_default=True, help="The mailbox folder the reports arrive in.")
@click.option("--user", "-u", help="Log in to --imap as USER.")
@PASSWORD_ENV
@PASSWORD_FILE
@click.option(
    "--imap-tls",
    type=click.Choice(["implicit", "starttls"]),
    help="How TLS starts on --imap (default: implicit on 993, else STARTTLS; never without TLS).",
)
@click.option("--insecure", is_flag=True, help="Log in to --imap even when its certificate is not trusted.")
@common_options
def reports(
    sources: tuple[str, ...],
    since: str | None,
    no_dns: bool,
    fail_under: float | None,
    imap_host: str | None,
    folder: str,
    user: str | None,
    password_env: str | None,
    password_file: Path | None,
    imap_tls: str | None,
    insecure: bool,
    opts: CommonOptions,
) -> None:
    """Read DMARC aggregate reports, SMTP TLS reports and DMARC failure reports, and say whether each domain
    is ready for a stricter DMARC policy.

    A SOURCE is a file (.xml, .xml.gz, .zip, .json, .json.gz, or an .eml/mbox message carrying one), a
    directory or Maildir (read recursively), or - for stdin; --imap HOST --user U [--folder F] reads a
    mailbox instead or as well (EXAMINE and BODY.PEEK: nothing is changed). Per domain: its own mail that
    aligns and the readiness line, each of its sources that fails alignment and what to fix, forwarders and
    lists, and the others (spoofing); per TLS-RPT policy and MX the failed sessions in words; failure reports
    with their authentication results. Reports are never trusted: XML without DTDs or entities, every
    archive bounded.
    """
    from mailcheck.checks.sender_auth import reports as reports_check
    from mailcheck.checks.sender_auth import reports_findings
    from mailcheck.commands.server_options import credentials_from, server_host
    from mailcheck.runner import run_check

    mailbox = None
    if imap_host is not None:
        credentials = credentials_from(user, password_env, password_file)
        if credentials is None:
            raise BadInput("--imap needs --user (and --password-env, --password-file or a prompt)")
        host, port = server_host(imap_host)
        final_port = port or 993
        mode = imap_tls or ("implicit" if final_port == 993 else "starttls")
        mailbox = reports_check.MailboxSource(host, final_port, mode, credentials, folder, insecure)
    elif user or password_env or password_file:
        raise BadInput("--user and its password are for --imap")
    if not sources and mailbox is None:
        raise BadInput("give report files or folders (or - for stdin), or --imap HOST --user U")
    options = reports_check.ReportsOptions(tuple(sources), _since(since), not no_dns, fail_under, mailbox)
    named = [*sources, *([f"imap://{mailbox.host}/{folder}"] if mailbox else [])]
    label = ", ".join(named[:3]) + (" …" if len(named) > 3 else "")
    execute(
        "reports",
        label,
        opts,
        lambda ctx: run_check(
            "reports.input", label, lambda: reports_check.probe(options, ctx), reports_findings.evaluate
        ),
    )


COMMANDS: tuple[click.Command, ...] = (
    spf,
    sender,
    dmarc,
    dkim,
    reports,
)
