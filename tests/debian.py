"""Debian packages the tests need beyond Python: installed with apt-get when running as root (CI does),
otherwise the test is skipped with the reason shown."""

import os
import shutil
import subprocess

import pytest

_tried: set[str] = set()


def install(packages: list[str], env: dict[str, str] | None = None) -> None:
    """apt-get install PACKAGES (update first); raises CalledProcessError/OSError with apt's output."""
    full_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", **(env or {})}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        subprocess.run(argv, check=True, capture_output=True, text=True, timeout=900, env=full_env)


def need_commands(commands: dict[str, str], purpose: str) -> None:
    """Make sure each command (key) is on PATH, installing its Debian package (value) if it is not.

    Skips the calling test, naming what is missing and why, where that cannot be done."""
    missing = {command: package for command, package in commands.items() if shutil.which(command) is None}
    if not missing:
        return
    packages = sorted(set(missing.values()))
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip(f"{purpose}: needs {', '.join(packages)} (Debian packages; installing them needs root)")
    if not _tried.issuperset(packages):
        _tried.update(packages)
        try:
            install(packages)
        except (subprocess.SubprocessError, OSError) as exc:
            detail = (getattr(exc, "stderr", "") or "").strip()[-300:]
            pytest.skip(f"{purpose}: apt-get could not install {', '.join(packages)}: {exc} {detail}".strip())
    still = [command for command in missing if shutil.which(command) is None]
    if still:
        pytest.skip(f"{purpose}: {', '.join(still)} still not on PATH after installing {', '.join(packages)}")
