"""Tools around the checks: ``mailcheck demo`` (the lab world), ``completion`` (shell scripts) and ``explain``
(reply and response codes, offline)."""

import click

from mailcheck.names import BadInput


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the commands' JSON documents instead of tables.")
@click.option("--keep", is_flag=True, help="Leave the lab running afterwards (until Ctrl-C) to explore it.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.2, max=60),
    default=2.0,
    show_default=True,
    help="Per-step bound inside the lab.",
)
def demo(as_json: bool, keep: bool, timeout: float) -> None:
    """See every part of mailcheck work, offline: start a mail lab on loopback (DNS, SMTP with STARTTLS,
    MTA-STS over HTTPS, IMAP, a CA made at start), check a healthy and a broken domain and trace a sample
    message, then shut it all down. Exits 1, because the broken domain fails."""
    from mailcheck.demo import run_demo

    raise click.exceptions.Exit(run_demo(click.get_current_context().find_root().command, as_json, keep, timeout))


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (see README: Shell completion)."""
    from mailcheck.completion import completion_script

    click.echo(completion_script(click.get_current_context().find_root().command, shell), nl=False)


@click.command()
@click.argument("codes", nargs=-1, required=True)
def explain(codes: tuple[str, ...]) -> None:
    """Explain codes offline: SMTP reply codes (550), enhanced status codes (5.7.1), IMAP and POP3 response
    codes (AUTHENTICATIONFAILED, SYS/TEMP), e.g. `mailcheck explain 550 5.7.1`."""
    from mailcheck.replycodes import MAILBOX_CODES, explain_enhanced, explain_reply, is_enhanced_code, is_reply_code

    for code in codes:
        bare = code.strip("[]").upper()
        if is_reply_code(code):
            click.echo(f"{code}: {explain_reply(int(code))}")
        elif is_enhanced_code(code):
            click.echo(f"{code}: {explain_enhanced(code)}")
        elif bare in MAILBOX_CODES:
            protocol = "POP3" if "/" in bare or bare in ("AUTH", "IN-USE", "LOGIN-DELAY") else "IMAP"
            click.echo(f"[{bare}] ({protocol}): {MAILBOX_CODES[bare][1]}")
        else:
            raise BadInput(
                f"{code!r} is not an SMTP reply code (550), an enhanced status code (5.7.1) or an IMAP/POP3 "
                "response code (AUTHENTICATIONFAILED, SYS/TEMP)"
            )


COMMANDS: tuple[click.Command, ...] = (
    demo,
    completion,
    explain,
)
