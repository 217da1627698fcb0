"""How a command runs: its checks in a fresh context, the report rendered in the chosen format, the exit code of
the contract; and the pieces several command families share (--allow-private, a group with a default subcommand)."""

import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn

import click

from mailcheck.model import CheckResult
from mailcheck.options import CommonOptions

if TYPE_CHECKING:
    from mailcheck.context import ProbeContext


class DefaultCommandGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to ``default_command``:
    ``mailcheck dmarc example.com`` is ``mailcheck dmarc check example.com``."""

    default_command = "check"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


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
