"""Shell completions: generated from the click tree, committed, and working in a real bash."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mailcheck.completion import FILES, completion_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("shell", sorted(FILES))
def test_committed_completions_match_the_command_tree(shell: str) -> None:
    committed = (ROOT / "completions" / FILES[shell]).read_text()
    assert committed == completion_script(shell), (
        f"completions/{FILES[shell]} is stale: run python -m mailcheck.completion"
    )


def bash_complete(words: str, cword: int) -> list[str]:
    """Source the committed bash script and run its completion function as bash would on <TAB>."""
    if shutil.which("bash") is None or shutil.which("mailcheck") is None:
        pytest.skip("needs bash and an installed mailcheck on PATH")
    script = (
        f"source {ROOT / 'completions' / 'mailcheck.bash'}\n"
        f"COMP_WORDS=({words}); COMP_CWORD={cword}\n"
        "_mailcheck_completion mailcheck\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"}
    )
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_a_subcommand() -> None:
    assert "smtp" in bash_complete("mailcheck sm", 1)


def test_bash_completes_an_option_of_a_subcommand() -> None:
    assert bash_complete("mailcheck smtp mx.example.com --req", 3) == ["--require-tls"]
    assert bash_complete("mailcheck domain example.com --dkim-s", 3) == ["--dkim-selector"]


def test_bash_completes_choice_values() -> None:
    assert set(bash_complete("mailcheck smtp mx.example.com --tls ''", 4)) == {"starttls", "implicit", "none"}
