"""What to do about a finding: the "change" column of the troubleshooting guide that ships with the package,
looked up by stage and error kind, so the report's hints and the guide can never disagree."""

import functools
import re
from importlib import resources
from typing import TYPE_CHECKING

from mailcheck.model import CLEAR_TEXT_PORTS, endpoint_port

if TYPE_CHECKING:
    from mailcheck.model import CheckResult

_SECTION = re.compile(r"^## (\w+)")
_ROW = re.compile(r"^\|(.+)\|\s*$")
_KIND = re.compile(r"`([a-z0-9-]+)`")


@functools.cache
def _table() -> dict[tuple[str, str], str]:
    """(stage, kind) → the guide's "change" text; stage "" holds the first entry for each kind."""
    try:
        text = resources.files("mailcheck").joinpath("troubleshooting.md").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    found: dict[tuple[str, str], str] = {}
    stage = ""
    for line in text.splitlines():
        heading = _SECTION.match(line)
        if heading:
            stage = heading.group(1)
            continue
        row = _ROW.match(line)
        if not row:
            continue
        cells = [cell.strip() for cell in row.group(1).split("|")]
        if len(cells) < 4 or cells[0] in ("kind", "") or set(cells[0]) <= set("-"):
            continue
        change = cells[-1].replace("`", "")
        if change in ("", "—"):
            continue
        for kind in _KIND.findall(cells[0]):
            found.setdefault((stage, kind), change)
            found.setdefault(("", kind), change)
    return found


def hint(stage: str, kind: str) -> str | None:
    """The guide's advice for KIND at STAGE (or for KIND anywhere), if it gives any."""
    table = _table()
    return table.get((stage, kind)) or table.get(("", kind))


_SOFTWARE = re.compile(r"^([A-Z][\w ]*?): ")  # "Postfix: …", "Microsoft Exchange: …"
_EXPLAIN = re.compile(r"`?mailcheck explain [0-9. ]+`?")
_REPLY_CODE = re.compile(r"\b([245]\d\d)(?:[ -]([245]\.\d{1,3}\.\d{1,3}))?\b")


def hint_for(check: "CheckResult") -> str | None:
    """The guide's advice for CHECK's error, fitted to it: a ``mailcheck explain`` it quotes names the codes this
    server replied (``mailcheck explain 421 4.3.2``), or is left out when the finding has none."""
    if check.error is None:
        return None
    kind = check.error.kind
    if kind == "timeout" and check.error.stage.value == "greeting" and endpoint_port(check.target) in CLEAR_TEXT_PORTS:
        kind = "silent-greeting"  # "try --tls implicit" is no advice where the server speaks first in clear text
    advice = hint(check.error.stage.value, kind)
    software = check.details.get("software")
    if advice and isinstance(software, str):
        advice = for_software(advice, software)
    if not advice or "mailcheck explain" not in advice:
        return advice
    codes = _reply_codes(check)
    if codes:
        return _EXPLAIN.sub(f"mailcheck explain {codes}", advice)
    return _EXPLAIN.sub("", advice).strip(" ;") or None


def for_software(advice: str, software: str) -> str:
    """Of advice written per software ("Postfix: …; Exim: …; use …"), the part for SOFTWARE and the parts that
    name none; all of it when SOFTWARE has no part of its own."""
    parts = advice.split("; ")
    named = {part: _SOFTWARE.match(part) for part in parts}
    own = [part for part, found in named.items() if found and found.group(1) == software]
    if not own:
        return advice
    return "; ".join(part for part, found in named.items() if part in own or not found)


def _reply_codes(check: "CheckResult") -> str | None:
    reply = check.details.get("reply")
    if isinstance(reply, dict) and reply.get("code"):
        return " ".join(str(p) for p in (reply.get("code"), reply.get("enhanced")) if p)
    found = _REPLY_CODE.search(check.summary)
    return " ".join(p for p in found.groups() if p) if found else None
