"""The options every subcommand accepts (contract: --resolver, --timeout, --ca-file, --json/--format,
--fail-on, -v), gathered into one object that builds the ProbeContext."""

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mailcheck.model import DEFAULT_TIMEOUT, Status
from mailcheck.names import resolver_address
from mailcheck.render import FORMATS

if TYPE_CHECKING:
    from mailcheck.context import ProbeContext


@dataclass(frozen=True)
class CommonOptions:
    resolvers: tuple[tuple[str, int], ...]
    timeout: float
    ca_file: Path | None
    format: str
    fail_on: Status
    verbose: bool
    show_all: bool = False

    def context(self) -> "ProbeContext":
        # Imported here: the DNS stack is heavy and --help/--version must start fast.
        from mailcheck.context import ProbeContext
        from mailcheck.transcript import Transcript

        transcript = Transcript(lambda line: click.echo(line, err=True)) if self.verbose else Transcript()
        return ProbeContext.create(list(self.resolvers) or None, self.timeout, self.ca_file, transcript)


def _resolver_specs(given: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    specs = list(given)
    if not specs:
        specs = [s for s in re.split(r"[,\s]+", os.environ.get("MAILCHECK_RESOLVER", "")) if s]
    return tuple(resolver_address(spec) for spec in specs)


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared options to a click command; the command receives them as ``opts``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fmt = "json" if kwargs.pop("as_json") else kwargs.pop("fmt")
        kwargs.pop("fmt", None)
        opts = CommonOptions(
            resolvers=_resolver_specs(kwargs.pop("resolver")),
            timeout=kwargs.pop("timeout"),
            ca_file=kwargs.pop("ca_file"),
            format=fmt,
            fail_on=Status(kwargs.pop("fail_on")),
            verbose=kwargs.pop("verbose"),
            show_all=kwargs.pop("show_all"),
        )
        return command(*args, opts=opts, **kwargs)

    decorators = [
        click.option(
            "--resolver",
            multiple=True,
            metavar="IP[:PORT]",
            help="Send every DNS question here (repeatable; env MAILCHECK_RESOLVER, comma-separated). "
            "Default: the system resolvers.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True, max=600),
            default=DEFAULT_TIMEOUT,
            show_default=True,
            metavar="SECONDS",
            help="Bound on each network step (one DNS query, one connect, one reply).",
        ),
        click.option(
            "--ca-file",
            type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
            help="Extra trust anchors (PEM) for TLS verification, added to the system store.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON document (same as --format json)."),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="report",
            show_default=True,
            help="Output format: report (a diagnosis by stage), table (every check in a grid), json, junit.",
        ),
        click.option("--all", "show_all", is_flag=True, help="In the report, detail every check, passing ones too."),
        click.option(
            "--fail-on",
            type=click.Choice(["fail", "warn"]),
            default="fail",
            show_default=True,
            help="Lowest status that makes the exit code 1.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Print the protocol transcript to stderr."),
    ]
    for decorate in reversed(decorators):
        wrapper = decorate(wrapper)
    return wrapper
