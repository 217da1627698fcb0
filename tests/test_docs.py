"""The troubleshooting guide covers every error kind the code can emit, and every stage."""

import re
from pathlib import Path

from mailcheck.model import Stage

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "mailcheck" / "troubleshooting.md").read_text()

# Where kinds are written in the code: ProbeError/ErrorInfo(Stage.X, "kind"), certificate Problem("kind"),
# the DNS and stream helpers, classification functions returning ("kind", message), and reply tables.
PATTERNS = [
    r'(?:ProbeError|ErrorInfo)\(\s*Stage\.\w+,\s*"([a-z0-9]+(?:-[a-z0-9]+)*)"',
    r'(?<![A-Za-z])Problem\(\s*"([a-z0-9-]+)"',
    r'_failure\(name, rdtype, "([a-z0-9-]+)"',
    r'_error\(\s*(?:stage|Stage\.\w+),\s*"([a-z0-9-]+)"',
    r'return "([a-z0-9-]+)", f?"',
    r'\(\s*"([a-z][a-z0-9-]+)",\s*"[^"]* [^"]*"\s*\),',  # ("kind", "a sentence") in reply tables
]
# Kinds built at run time: the ARC chain verdict and SPF check_host() results that fail.
DYNAMIC = {"arc-fail", "arc-none", "fail", "softfail", "permerror", "temperror"}
DYNAMIC |= {f"spf-{result}" for result in ("fail", "softfail", "neutral", "none", "permerror", "temperror")}


def emitted_kinds() -> set[str]:
    kinds: set[str] = set(DYNAMIC)
    for path in (ROOT / "mailcheck").rglob("*.py"):
        text = path.read_text()
        for pattern in PATTERNS:
            kinds.update(re.findall(pattern, text))
    return kinds


def test_every_error_kind_is_documented() -> None:
    kinds = emitted_kinds()
    assert len(kinds) > 50  # the scan itself works
    missing = sorted(k for k in kinds if f"`{k}`" not in GUIDE)
    assert not missing, f"kinds missing from mailcheck/troubleshooting.md: {missing}"


def test_every_stage_has_a_section() -> None:
    for stage in Stage:
        assert re.search(rf"^## {stage.value}\b", GUIDE, re.MULTILINE), stage.value


def test_readme_names_every_command() -> None:
    from mailcheck.cli import main

    readme = (ROOT / "README.md").read_text()
    for name in main.commands:
        assert f"mailcheck {name}" in readme, name
