"""The command line: a click group and thin subcommands (parse, build the context, run, render, exit).

Heavy modules are imported inside the commands that need them, so ``--help`` and ``--version`` start fast.
"""

import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import click

from mailcheck import __version__
from mailcheck.context import ProbeContext
from mailcheck.model import EXIT_UNCHECKED, EXIT_USAGE, CheckResult
from mailcheck.names import BadInput, domain_name
from mailcheck.options import CommonOptions, common_options


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
            if os.environ.get("MAILCHECK_DEBUG"):
                raise
            click.echo(
                f"mailcheck: internal error: {type(exc).__name__}: {exc} (MAILCHECK_DEBUG=1 shows the traceback)",
                err=True,
            )
            ctx.exit(EXIT_UNCHECKED)


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
    checks: Callable[[ProbeContext], Awaitable[list[CheckResult]]],
) -> NoReturn:
    """Run ``checks``, render the report in the chosen format and exit with the contract's code."""
    from mailcheck.render import render
    from mailcheck.runner import make_report, run_sync

    ctx = opts.context()
    start = time.monotonic()
    results = run_sync(checks(ctx))
    report = make_report(command, target, results, start)
    render(report, opts.format, sys.stdout)
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
