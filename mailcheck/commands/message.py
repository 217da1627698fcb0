"""The message: ``mailcheck headers``, a trace of a received message's path, offline."""

import click

from mailcheck.commands.run import execute
from mailcheck.options import CommonOptions, common_options


@click.command()
@click.argument("source", default="-", metavar="[FILE|-]")
@click.option("--redact", is_flag=True, help="Replace addresses, IPs and host names by consistent stand-ins.")
@common_options
def headers(source: str, redact: bool, opts: CommonOptions) -> None:
    """Trace a message's path from its headers, offline: hops oldest first with delays and clock skew,
    TLS per hop, chain gaps, where it entered the receiving organisation, which authentication results to
    trust, DKIM-Signature lint and spam-filter verdicts. FILE is a whole .eml, headers only, a paste, or an
    Outlook .msg (with the msg extra)."""
    from mailcheck.checks.message import headers as headers_check
    from mailcheck.headers import outlook_msg
    from mailcheck.message import read_input
    from mailcheck.runner import run_check

    data = read_input(source)
    label = "stdin" if source == "-" else source
    if outlook_msg.is_outlook_msg(data):
        data = outlook_msg.internet_headers(data, label)
    if redact:
        from mailcheck.headers.redact import redact as redact_text

        data = redact_text(data)
    execute(
        "headers",
        label,
        opts,
        lambda ctx: run_check("headers.input", label, lambda: headers_check.probe(data, label), headers_check.evaluate),
    )


COMMANDS: tuple[click.Command, ...] = (headers,)
