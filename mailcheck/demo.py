"""``mailcheck demo``: the whole report offline, against the loopback lab world (see mailcheck.lab.world).

It runs the real commands — ``domain`` on a healthy and a broken domain, ``headers`` on a message the lab
signed — exactly as a user would see them, then shuts the lab down (or keeps it running with --keep).
"""

import datetime as dt
import email.utils
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import click

from mailcheck.lab.world import BROKEN, GOOD, MailLab


def sample_message(lab: MailLab) -> bytes:
    """A message as it arrives at good.test: its trace, the receiver's results, a real DKIM signature."""
    import dkim

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def at(seconds: int) -> str:
        return email.utils.format_datetime(now + dt.timedelta(seconds=seconds))

    body = b"Hello Bob,\r\nthe lab report is attached.\r\n"
    head = (
        f"From: Alice <alice@{GOOD}>\r\nTo: bob@{GOOD}\r\nSubject: lab report\r\nDate: {at(-40)}\r\n"
        f"Message-ID: <demo.{now.timestamp():.0f}@{GOOD}>\r\n"
    ).encode()
    signature: bytes = dkim.sign(
        head + b"\r\n" + body,
        b"lab1",
        GOOD.encode(),
        lab.dkim_key_pem,
        include_headers=[b"from", b"to", b"subject", b"date"],
    )
    trace = (
        f"Received: from mx1.{GOOD} (mx1.{GOOD} [127.0.0.11]) by imap.{GOOD} with LMTPS id 7Hq2; {at(0)}\r\n"
        f"Authentication-Results: mx1.{GOOD}; dkim=pass header.d={GOOD} header.s=lab1;"
        f" spf=pass smtp.mailfrom=alice@{GOOD}; dmarc=pass header.from={GOOD}\r\n"
        f"Received: from laptop.example.net (laptop.example.net [198.51.100.23]) "
        f"(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))"
        f" by mx1.{GOOD} (Postfix) with ESMTPS id 4Xa1; {at(-3)}\r\n"
        f"Received: from [192.168.1.20] (unknown [203.0.113.77])"
        f" by laptop.example.net with ESMTPSA id 9zz; {at(-38)}\r\n"
    ).encode()
    return trace + signature + head + b"\r\n" + body


def run_command(root: click.Command, args: list[str], as_json: bool) -> int:
    """Run one mailcheck command of ROOT (the ``mailcheck`` group) in this process, as the user would type it;
    return its exit code."""
    if not as_json:
        click.secho(f"\n$ mailcheck {' '.join(args)}", bold=True)
    # Without standalone mode click returns the command's exit code instead of exiting.
    code = root.main(args, prog_name="mailcheck", standalone_mode=False)
    return int(code or 0)


def run_demo(
    root: click.Command, as_json: bool, keep: bool, timeout: float, echo: Callable[[str], None] = click.echo
) -> int:
    with tempfile.TemporaryDirectory(prefix="mailcheck-lab-") as workdir:
        lab = MailLab(Path(workdir)).start()
        try:
            options = [*lab.options(), "--timeout", f"{timeout:g}"]
            fmt = ["--format", "json"] if as_json else []
            message = Path(workdir) / "sample.eml"
            message.write_bytes(sample_message(lab))
            codes = [
                run_command(root, ["domain", GOOD, "--dkim-selector", "lab1", *options, *fmt], as_json),
                run_command(root, ["domain", BROKEN, *options, *fmt], as_json),
                run_command(root, ["headers", str(message), *fmt], as_json),
            ]
            if keep:
                keep_running(lab, message, echo)
        finally:
            lab.stop()
    return max(codes)


def keep_running(lab: MailLab, message: Path, echo: Callable[[str], None]) -> None:
    """Leave the lab up and say how to explore it, until Ctrl-C."""
    options = " ".join(lab.options())
    echo(
        f"\nThe lab is running. Explore it with the other commands, for example:\n"
        f"  mailcheck domain {GOOD} --dkim-selector lab1 {options}\n"
        f"  mailcheck smtp mx2.{BROKEN} --port {lab.smtp_port} --resolver {lab.resolver} --ca-file {lab.ca_file} -v\n"
        f"  mailcheck mailbox {GOOD} --resolver {lab.resolver} --ca-file {lab.ca_file}\n"
        f"  mailcheck headers {message}\n"
        "Press Ctrl-C to stop it."
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    echo("lab stopped")
