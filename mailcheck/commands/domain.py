"""The whole path: ``mailcheck domain`` (one domain, or many with --from-file) and ``mailcheck summary`` of a
many-domain run's JSON Lines."""

import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailcheck.commands.dns import NS_PORT, TRUST_ANCHOR, load_trust_anchors
from mailcheck.commands.run import ALLOW_PRIVATE, execute
from mailcheck.commands.server_options import (
    REFERENCE_MX,
    RETRIES,
    TLS_GRADE,
    TLS_PROFILE,
    TLS_SCAN,
    reference_mx_hosts,
)
from mailcheck.model import EXIT_FAIL, EXIT_OK, EXIT_UNCHECKED, CheckResult
from mailcheck.names import BadInput, domain_name
from mailcheck.options import CommonOptions, common_options

if TYPE_CHECKING:
    from mailcheck.context import ProbeContext


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


@click.command()
@click.argument("domain", required=False)
@click.option(
    "--skip",
    metavar="PARTS",
    help="Comma-separated parts to skip: mx,dnssec,blocklist,smtp,mta-sts,dane,tls-rpt,spf,dkim,dmarc,bimi,mailbox.",
)
@click.option("--only", metavar="PARTS", help="Run only these parts (comma-separated).")
@click.option(
    "--with",
    "with_parts",
    metavar="PARTS",
    help="Add parts that run only when asked: ns (every authoritative name server asked directly on --ns-port).",
)
@NS_PORT
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
@TLS_SCAN
@TLS_GRADE
@TLS_PROFILE
@TRUST_ANCHOR
@REFERENCE_MX
@RETRIES
@common_options
def domain(
    domain: str | None,
    skip: str | None,
    only: str | None,
    with_parts: str | None,
    ns_port: int,
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
    tls_grade: bool,
    tls_profile: str,
    trust_anchor: Path | None,
    reference_mx: tuple[str, ...],
    retries: int,
    opts: CommonOptions,
) -> None:
    """Check the whole mail path of DOMAIN in one run: MX, SMTP + STARTTLS on every MX address, MTA-STS,
    DANE, TLS-RPT, SPF, DKIM, DMARC, BIMI and the mailbox endpoints, concurrently.

    With --from-file, check many domains and write one JSON document per line (streamed as each finishes).
    """
    from mailcheck.checks.domain import DEFAULT_PARTS, DomainOptions
    from mailcheck.checks.transport.tls_grade import depth

    tls_scan, tls_grade = depth(tls_scan, tls_grade, tls_profile)

    skipped, chosen = parse_parts(skip, "--skip"), parse_parts(only, "--only")
    added = parse_parts(with_parts, "--with")
    parts = frozenset(((chosen or set(DEFAULT_PARTS)) | added) - skipped)
    if not parts:
        raise BadInput("--skip/--only leave nothing to check")
    from mailcheck.records import dnsbl

    lists = tuple(dnsbl.custom_list(domain_name(z), "ip") for z in ip_lists) or dnsbl.DEFAULT_IP_LISTS
    options = DomainOptions(
        parts=parts,
        dkim_selectors=tuple(s.lower() for s in dkim_selectors),
        allow_private=allow_private,
        mx_port=mx_port,
        mta_sts_port=mta_sts_port,
        insecure=insecure,
        blocklists=lists,
        tls_scan=tls_scan,
        tls_grade=tls_grade,
        tls_profile=tls_profile,
        trust_anchors=load_trust_anchors(trust_anchor) if trust_anchor is not None else None,
        reference_mx=reference_mx_hosts(reference_mx),
        retries=retries,
        ns_port=ns_port,
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


@click.command()
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
    raise click.exceptions.Exit(EXIT_FAIL if worst.get("fail") else EXIT_UNCHECKED if worst.get("error") else EXIT_OK)


COMMANDS: tuple[click.Command, ...] = (
    domain,
    summary,
)
