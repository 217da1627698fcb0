"""Shell completion, tested by behaviour: the loaders in completions/ sourced by a real bash, zsh and fish
complete subcommands, options and choices from the installed mailcheck command.

Nothing here compares the text click generates: that changes with click's releases and is not ours."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.debian import need_commands

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"


@pytest.fixture(scope="module")
def shell_env() -> dict[str, str]:
    """The environment a user's shell has: the installed mailcheck first on PATH."""
    bindir = Path(sys.executable).parent
    if not (bindir / "mailcheck").exists() and shutil.which("mailcheck") is None:
        pytest.skip("needs the installed mailcheck command (pip install -e '.[test]')")
    path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "NO_COLOR": "1"}


def bash_complete(env: dict[str, str], words: str, cword: int) -> list[str]:
    """Source the committed loader and run the completion function as bash would on <TAB>."""
    need_commands({"bash": "bash"}, "bash completion")
    script = (
        f"source {COMPLETIONS / 'mailcheck.bash'}\n"
        f"COMP_WORDS=({words}); COMP_CWORD={cword}\n"
        "_mailcheck_completion mailcheck\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_a_subcommand(shell_env: dict[str, str]) -> None:
    assert "smtp" in bash_complete(shell_env, "mailcheck sm", 1)


def test_bash_completes_an_option_of_a_subcommand(shell_env: dict[str, str]) -> None:
    assert bash_complete(shell_env, "mailcheck smtp mx.example.com --req", 3) == ["--require-tls"]
    assert bash_complete(shell_env, "mailcheck domain example.com --dkim-s", 3) == ["--dkim-selector"]


def test_bash_completes_choice_values(shell_env: dict[str, str]) -> None:
    assert set(bash_complete(shell_env, "mailcheck smtp mx.example.com --tls ''", 4)) == {
        "starttls",
        "implicit",
        "none",
    }


def fish_complete(env: dict[str, str], line: str) -> list[str]:
    """fish's own `complete -C` after sourcing the committed loader: what <TAB> would offer."""
    need_commands({"fish": "fish"}, "fish completion")
    script = f"source {COMPLETIONS / 'mailcheck.fish'}; complete -C '{line}'"
    done = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    return [entry.split("\t", 1)[0] for entry in done.stdout.splitlines() if entry]


def test_fish_completes_a_subcommand(shell_env: dict[str, str]) -> None:
    assert "smtp" in fish_complete(shell_env, "mailcheck sm")


def test_fish_completes_an_option_and_a_choice(shell_env: dict[str, str]) -> None:
    assert fish_complete(shell_env, "mailcheck smtp mx.example.com --req") == ["--require-tls"]
    assert set(fish_complete(shell_env, "mailcheck smtp mx.example.com --tls ")) == {"starttls", "implicit", "none"}


class ZshTerminal:
    """An interactive zsh in a tmux pane with the committed _mailcheck on $fpath: keys in, screen out."""

    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.env = {**env, "ZDOTDIR": str(home), "HOME": str(home), "TERM": "xterm"}
        self.socket = f"mc-zsh-{uuid.uuid4().hex[:8]}"
        (home / ".zshrc").write_text(f"fpath=({COMPLETIONS} $fpath)\nautoload -Uz compinit\ncompinit -u\nPS1='$ '\n")

    def start(self) -> None:
        self.tmux("new-session", "-d", "-x", "120", "-y", "20", "zsh", "-i")
        self.wait_for(lambda screen: "$" in screen)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30, env=self.env
        )
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, ready: Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.1)
        return screen

    def complete(self, typed: str, expect: str) -> str:
        """Type a command line, press <TAB>, and return the screen once EXPECT shows (or the timeout)."""
        self.tmux("send-keys", "-t", "0", "C-u")
        self.tmux("send-keys", "-t", "0", "-l", typed)
        self.tmux("send-keys", "-t", "0", "Tab")
        return self.wait_for(lambda screen: expect in screen)

    def stop(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def zsh(shell_env: dict[str, str], tmp_path: Path) -> Iterator[ZshTerminal]:
    need_commands({"zsh": "zsh", "tmux": "tmux"}, "zsh completion")
    terminal = ZshTerminal(shell_env, tmp_path)
    terminal.start()
    yield terminal
    terminal.stop()


def test_zsh_completes_a_subcommand(zsh: ZshTerminal) -> None:
    screen = zsh.complete("mailcheck sm", "mailcheck smtp")
    assert "$ mailcheck smtp" in screen


def test_zsh_completes_an_option_of_a_subcommand(zsh: ZshTerminal) -> None:
    screen = zsh.complete("mailcheck smtp mx.example.com --req", "--require-tls")
    assert "$ mailcheck smtp mx.example.com --require-tls" in screen
