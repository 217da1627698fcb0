"""Where passwords come from: an environment variable, a file, or a prompt; never the command line."""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from mailcheck.names import BadInput


@dataclass(frozen=True)
class Credentials:
    """A user name and password; the password never appears in repr, output or transcript."""

    user: str
    password: str = field(repr=False)


def read_password(env_var: str | None, file: Path | None, user: str) -> str:
    """The password for ``user`` from ``env_var``, ``file`` (its first line), or a hidden prompt on a terminal."""
    if env_var:
        value = os.environ.get(env_var)
        if value is None:
            raise BadInput(f"--password-env {env_var}: that environment variable is not set")
        return value
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read --password-file {file}: {getattr(exc, 'strerror', None) or exc}") from None
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise BadInput(f"--password-file {file} is empty")
        return lines[0]
    if sys.stdin is not None and sys.stdin.isatty():
        password: str = click.prompt(f"Password for {user}", hide_input=True, err=True)
        return password
    raise BadInput("no password: give --password-env VAR or --password-file FILE (passwords are never taken from argv)")
