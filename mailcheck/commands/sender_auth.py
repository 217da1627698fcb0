"""Sender authentication: ``mailcheck spf``, ``sender``, ``dmarc check|evaluate`` and ``dkim keys|verify``."""

import click

from mailcheck.commands.run import ALLOW_PRIVATE, DefaultCommandGroup, execute
from mailcheck.names import BadInput, domain_name
from mailcheck.options import CommonOptions, common_options


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


COMMANDS: tuple[click.Command, ...] = (
    spf,
    sender,
    dmarc,
    dkim,
)
