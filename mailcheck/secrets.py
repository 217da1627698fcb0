"""Where passwords come from: an environment variable, a file, or a prompt; never the command line."""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from mailcheck.names import BadInput


@dataclass(frozen=True)
class Credentials:
    """A user name and a secret (a password, or an OAuth bearer token when ``token``); the secret never
    appears in repr, output or transcript. ``mechanism`` is --auth-mech (None: the strongest both sides have)."""

    user: str
    password: str = field(repr=False)
    mechanism: str | None = None
    token: bool = False


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


TOKEN_COMMAND_SECONDS = 60


def read_token(env_var: str | None, file: Path | None, command: str | None) -> str:
    """An OAuth 2.0 bearer token from ``env_var``, ``file`` (its first line) or the first line ``command``
    prints (run without a shell; its output is never shown, its errors only by exit status)."""
    if env_var:
        value = os.environ.get(env_var, "").strip()
        if not value:
            raise BadInput(f"--token-env {env_var}: that environment variable is not set or empty")
        return value
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read --token-file {file}: {getattr(exc, 'strerror', None) or exc}") from None
        if not lines or not lines[0].strip():
            raise BadInput(f"--token-file {file} is empty")
        return lines[0].strip()
    assert command is not None
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOKEN_COMMAND_SECONDS, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise BadInput(f"--token-command could not run: {type(exc).__name__}") from None
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise BadInput(f"--token-command printed no token (exit status {done.returncode})")
    return lines[0]
