"""The command line's root: the ``mailcheck`` group, its global options, the exit codes for what goes wrong
outside a check (bad input, Ctrl-C, a reader that went away, an internal error), and one ``add_command`` per
command family of :mod:`mailcheck.commands`. Imports run one way: from here down.

Heavy modules are imported inside the commands that need them, so ``--help`` and ``--version`` start fast.
"""

import os
import sys
from typing import Any

import click

from mailcheck import __version__
from mailcheck.commands import FAMILIES
from mailcheck.model import EXIT_UNCHECKED, EXIT_USAGE
from mailcheck.names import BadInput


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


@click.group(cls=MailcheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mailcheck")
def main() -> None:
    """Diagnose the path an email takes, stage by stage.

    Exit codes: 0 nothing at or above --fail-on, 1 a check at or above it, 2 usage error or bad input,
    3 inconclusive: nothing failed, but some checks could not be made from here (no resolver answered, no
    network, port 25 blocked on the way out, throttled, a blocklist refusing this resolver).
    """


for family in FAMILIES:
    for command in family.COMMANDS:
        main.add_command(command)
