"""DNS and MX: ``mailcheck mx``, ``mailcheck ns`` and ``mailcheck dnssec``."""

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailcheck.commands.run import ALLOW_PRIVATE, execute
from mailcheck.names import BadInput, domain_name
from mailcheck.options import CommonOptions, common_options

if TYPE_CHECKING:
    from mailcheck.net.dnssec import TrustAnchors


@click.command()
@click.argument("domain")
@ALLOW_PRIVATE
@common_options
def mx(domain: str, allow_private: bool, opts: CommonOptions) -> None:
    """Where mail for DOMAIN goes: MX records, their hosts and addresses, reverse DNS.

    Recognises null MX (RFC 7505), implicit MX, MX hosts that are CNAMEs or IP literals, private
    addresses and hosts without forward-confirmed reverse DNS.
    """
    import functools

    from mailcheck.checks.routing import mx as mx_check
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


@click.command()
@click.argument("name")
@click.argument("rdtype", default="A", metavar="[TYPE]")
@TRUST_ANCHOR
@common_options
def dnssec(name: str, rdtype: str, trust_anchor: Path | None, opts: CommonOptions) -> None:
    """Validate the DNSSEC chain of NAME's TYPE records (default A) yourself, through --resolver: secure,
    insecure (with the NSEC proof), bogus (with the link that broke) or indeterminate."""
    from mailcheck.checks.routing import dnssec as dnssec_check
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


NS_PORT = click.option(
    "--ns-port",
    type=click.IntRange(1, 65535),
    default=53,
    show_default=True,
    help="Port to ask each authoritative name server on (a hidden primary or a test setup may use another).",
)


@click.command()
@click.argument("domain")
@click.option(
    "--dkim-selector", "dkim_selectors", multiple=True, metavar="S", help="DKIM selector to compare too (repeatable)."
)
@NS_PORT
@common_options
def ns(domain: str, dkim_selectors: tuple[str, ...], ns_port: int, opts: CommonOptions) -> None:
    """Ask every authoritative name server of DOMAIN's zone directly, and compare their answers.

    The zone's NS set (from the resolver, and from the parent zone's servers with their glue), each server's
    addresses through --resolver, then each address asked without recursion for SOA, NS, MX and the
    SPF/DMARC/MTA-STS/TLS-RPT/DKIM records: lame or silent servers, stale secondaries (older SOA serial,
    different records), parent/zone NS mismatches, missing or wrong glue, one network, IPv6, TCP, EDNS and
    the DNSKEY each server serves against the parent's DS. The one command that sends DNS questions to
    servers other than --resolver.
    """
    from mailcheck.checks.routing import nameservers as ns_check
    from mailcheck.checks.routing import nameservers_findings
    from mailcheck.runner import run_check

    name = domain_name(domain)
    selectors = tuple(s.lower() for s in dkim_selectors)
    execute(
        "ns",
        name,
        opts,
        lambda ctx: run_check(
            "ns.servers",
            name,
            lambda: ns_check.probe(name, ctx, selectors, ns_port),
            nameservers_findings.evaluate,
        ),
    )


COMMANDS: tuple[click.Command, ...] = (
    mx,
    ns,
    dnssec,
)
