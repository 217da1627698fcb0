"""Shell completion scripts, generated from the click command tree (never written by hand, so they cannot
drift from the commands). ``mailcheck completion bash|zsh|fish`` prints one; completions/ holds them."""

from click.shell_completion import get_completion_class

FILES = {"bash": "mailcheck.bash", "zsh": "_mailcheck", "fish": "mailcheck.fish"}


def completion_script(shell: str) -> str:
    from mailcheck.cli import main

    completion_class = get_completion_class(shell)
    if completion_class is None:
        raise ValueError(f"no completion for {shell}")
    return completion_class(main, {}, "mailcheck", "_MAILCHECK_COMPLETE").source()


def write_all(directory: str = "completions") -> None:
    """Regenerate completions/ (python -m mailcheck.completion)."""
    from pathlib import Path

    for shell, name in FILES.items():
        (Path(directory) / name).write_text(completion_script(shell))


if __name__ == "__main__":
    write_all()
