"""Where mailcheck stands: ``mailcheck egress``."""

import click

from mailcheck.commands.run import execute
from mailcheck.names import BadInput, domain_name, is_ip_address, parse_host_port
from mailcheck.options import CommonOptions, common_options


@click.command()
@click.argument("targets", nargs=-1, metavar="[HOST[:PORT]]...")
@click.option(
    "--port",
    "ports",
    type=click.IntRange(1, 65535),
    multiple=True,
    help="A port to test (repeatable; default 25, 587 and 465). A HOST:PORT target is tried on its port only.",
)
@click.option(
    "--blocklist",
    "blocklists",
    multiple=True,
    metavar="ZONE",
    help="A DNS blocklist whose answers to this resolver to test (repeatable; default: the lists `sender` asks).",
)
@common_options
def egress(targets: tuple[str, ...], ports: tuple[int, ...], blocklists: tuple[str, ...], opts: CommonOptions) -> None:
    """What this machine can reach, before blaming a domain: outbound TCP to ports 25, 587 and 465 over IPv4 and
    IPv6 (to the HOSTs given, else to large providers' MX and submission hosts) and what they greet with; which
    resolvers answer and whether they pass DNSSEC records; whether the DNS blocklists answer them.

    A blocked port is a failure of this network (exit 1), a list refusing this resolver an error (exit 3)."""
    from mailcheck.checks.transport import outbound
    from mailcheck.records.dnsbl import DEFAULT_IP_LISTS, custom_list
    from mailcheck.runner import run_check

    given = []
    for spec in targets:
        host, port = parse_host_port(spec, 0, "target")
        if not host:
            raise BadInput(f"invalid target {spec!r}: expected HOST or HOST:PORT")
        given.append((host if is_ip_address(host) else domain_name(host), port))
    wanted = ports or tuple(sorted({p for _, p in given if p})) or outbound.DEFAULT_PORTS
    if given and not ports and any(p == 0 for _, p in given):
        wanted = tuple(sorted(set(wanted) | set(outbound.DEFAULT_PORTS)))
    lists = [custom_list(zone, "ip") for zone in blocklists] or list(DEFAULT_IP_LISTS)
    execute(
        "egress",
        "this machine",
        opts,
        lambda ctx: run_check(
            "egress.port", "this machine", lambda: outbound.probe(given, wanted, lists, ctx), outbound.evaluate
        ),
    )


COMMANDS: tuple[click.Command, ...] = (egress,)
