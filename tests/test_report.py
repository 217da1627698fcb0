"""The default report reads like a diagnosis: verdict first, one strip per endpoint, findings in full,
within the terminal's width, plain when piped, ASCII where the terminal cannot show the symbols."""

import io
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck.lab.world import MailLab
from mailcheck.model import CheckResult, ErrorInfo, Report, Stage, Status
from mailcheck.render import render
from tests.conftest import Cli
from tests.debian import need_commands

# Ten MX hosts, each broken at a different stage (or healthy but for another name), in the lab world
TEN = {
    "a": "127.0.0.21",  # no STARTTLS
    "b": "127.0.0.22",  # expired certificate, for another name
    "c": "127.0.0.23",  # silent greeting
    "d": "127.0.0.11",  # a healthy server, certificate for another name
    "e": "127.0.0.12",
    "f": "127.0.0.97",  # nothing listens: connection refused
    "g": None,  # the name has no address
    "h": "127.0.0.98",
    "i": "127.0.0.21",
    "j": "127.0.0.22",
}


@pytest.fixture(scope="module")
def ten_mx(mail_lab: MailLab) -> Iterator[MailLab]:
    zone = mail_lab.dns.zone
    zone.add("ten.test", "MX", *(f"{10 + i} {name}.ten.test." for i, name in enumerate(TEN)))
    for name, address in TEN.items():
        if address:
            zone.host(f"{name}.ten.test", address)
        else:
            zone.add(f"{name}.ten.test", "TXT", '"no address here"')
    zone.txt("ten.test", "v=spf1 mx -all")
    zone.txt("_dmarc.ten.test", "v=DMARC1; p=none")
    yield mail_lab


def report_text(cli: Cli, lab: MailLab, domain: str, columns: int, *extra: str) -> str:
    run = cli("domain", domain, *lab.options(), "--timeout", "1", *extra, env={"COLUMNS": str(columns)})
    return run.out


def test_ten_broken_mx_hosts_fit_ninety_lines_at_80_columns(cli: Cli, ten_mx: MailLab) -> None:
    out = report_text(cli, ten_mx, "ten.test", 80)
    lines = out.splitlines()
    assert len(lines) <= 90, out
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert re.match(r"FAIL: \d+ failed, (\d+ not checked, )?\d+ warnings?, \d+ passed", lines[0]), lines[0]
    # one strip per endpoint (its address left out: each host:port has one), the failing stage visible in it
    for name, address in TEN.items():
        if address:
            assert f"  {name}.ten.test:{ten_mx.smtp_port}  " in out, name
    assert "STARTTLS ✗" in out and "greeting ✗" in out and "connect ✗" in out
    # every failure's finding starts unbroken on its own line (a fact about several endpoints said once)
    findings = [line for line in lines if line.lstrip().startswith(("✗ fail", "? error"))]
    assert len(findings) >= 4 and "on 2 endpoints" in out
    assert all(re.match(r"^\s+[✗?] (fail|error)\s+\w+: \S", line) for line in findings), findings


def test_a_healthy_domain_fits_forty_five_lines(cli: Cli, mail_lab: MailLab) -> None:
    out = report_text(cli, mail_lab, "good.test", 80, "--dkim-selector", "lab1")
    lines = out.splitlines()
    assert len(lines) <= 45, out
    assert lines[0].startswith(("PASS:", "INFO:")) and "passed" in lines[0]
    assert "mx1.good.test" in out and "TLS1.3 ✓" in out and "certificate ✓" in out


def test_wider_terminals_are_used(cli: Cli, ten_mx: MailLab) -> None:
    narrow = report_text(cli, ten_mx, "ten.test", 80).splitlines()
    wide = report_text(cli, ten_mx, "ten.test", 160).splitlines()
    assert len(wide) < len(narrow) and max(map(len, wide)) > 80


def test_all_details_every_check(cli: Cli, mail_lab: MailLab) -> None:
    short = report_text(cli, mail_lab, "good.test", 120, "--dkim-selector", "lab1")
    every = report_text(cli, mail_lab, "good.test", 120, "--dkim-selector", "lab1", "--all")
    assert "✓ pass" not in short and "✓ pass  certificate: valid for mx1.good.test" in every


def test_ascii_fallback_and_no_colour_when_piped(ten_mx: MailLab, cli: Cli) -> None:
    doc = cli("domain", "ten.test", *ten_mx.options(), "--timeout", "1", "--json").json()
    checks = tuple(
        CheckResult(
            c["id"], c["target"], Stage(c["stage"]), Status(c["status"]), c["summary"], c["details"],
            c["duration_ms"], ErrorInfo(Stage(c["error"]["stage"]), c["error"]["kind"], c["error"]["message"])
            if c["error"] else None,
        )
        for c in doc["checks"]
    )  # fmt: skip
    report = Report(doc["command"], doc["target"], checks, doc["duration_ms"], "0")
    # an output whose encoding cannot show the symbols gets ASCII marks; nothing is colour-coded when piped
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    render(report, "report", out)
    out.flush()
    text = raw.getvalue().decode("ascii")
    assert "STARTTLS x" in text and "\x1b" not in text


class Terminal:
    """The installed command in a real terminal (tmux): what a person would see on the screen."""

    def __init__(self, columns: int, rows: int) -> None:
        self.socket = f"mc-report-{uuid.uuid4().hex[:8]}"
        self.size = (str(columns), str(rows))

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        return done.stdout

    def run(self, argv: list[str]) -> str:
        """Run ARGV in a fresh pane and return everything it printed (screen and scrollback)."""
        marker = Path(f"/tmp/{self.socket}.done")
        command = " ".join(f"'{a}'" for a in argv) + f"; touch {marker}; sleep 60"
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        subprocess.run(
            ["tmux", "-L", self.socket, "new-session", "-d", "-x", self.size[0], "-y", self.size[1], command],
            env={**env, "TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
            check=True,
            timeout=30,
        )
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        screen = self.tmux("capture-pane", "-p", "-S", "-500")
        self.tmux("kill-server")
        marker.unlink(missing_ok=True)
        return screen


@pytest.mark.parametrize(("columns", "rows"), [(80, 24), (120, 40)])
def test_in_a_real_terminal(columns: int, rows: int, ten_mx: MailLab) -> None:
    need_commands({"tmux": "tmux"}, "report in a real terminal")
    if not (Path(sys.executable).parent / "mailcheck").exists() and shutil.which("mailcheck") is None:
        pytest.skip("needs the installed mailcheck command")
    mailcheck = str(Path(sys.executable).parent / "mailcheck")
    screen = Terminal(columns, rows).run([mailcheck, "domain", "ten.test", *ten_mx.options(), "--timeout", "1"])
    lines = [line for line in screen.splitlines() if line.strip()]
    assert lines[0].startswith("FAIL: ") and "failed" in lines[0], screen
    assert all(len(line) <= columns for line in lines)
    strips = [line for line in lines if re.match(r"^\s+[a-j]\.ten\.test:\d+( \(127\.0\.0\.\d+\))?  ", line)]
    assert len(strips) == sum(1 for a in TEN.values() if a), screen
    assert "STARTTLS ✗" in screen and "greeting ✗" in screen
