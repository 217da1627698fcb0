"""The report says each fact once: its length measured in a real terminal (tmux, 80 columns) on two worlds
(tests/report_worlds.py), with every failure and warning still named, and the hints fitting their findings."""

import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck.checks.transport import software as software_module
from mailcheck.lab.world import MailLab
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status
from mailcheck.render.grouping import group_findings, meaning
from mailcheck.render.hints import hint_for
from mailcheck.render.report import SECTIONS
from tests.conftest import Cli
from tests.debian import need_commands
from tests.report_worlds import ReportWorld, healthy, ten_broken_mx

MAILCHECK = Path(sys.executable).with_name("mailcheck")


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ReportWorld]]:
    made = {
        "healthy": healthy(tmp_path_factory.mktemp("healthy")),
        "ten": ten_broken_mx(tmp_path_factory.mktemp("ten")),
    }
    yield made
    for world in made.values():
        world.stop()


def in_terminal(argv: list[str], columns: int = 80) -> list[str]:
    """ARGV run in a real terminal (a tmux pane COLUMNS wide); the lines it printed."""
    need_commands({"tmux": "tmux"}, "the report measured in a real terminal")
    socket, marker = f"mc-{uuid.uuid4().hex[:8]}", f"END-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    command = f"{shlex.join(argv)}; echo {marker}"

    def tmux(*args: str) -> str:
        done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=30, env=env)
        return done.stdout

    tmux("new-session", "-d", "-x", str(columns), "-y", "50", "sh", "-c", f"{command}; sleep 60")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-p", "-J", "-S", "-3000")
            if marker in screen:
                lines = screen.splitlines()
                return lines[: lines.index(marker)]
            time.sleep(0.3)
        raise AssertionError(f"no end marker in the pane: {screen[-2000:]}")
    finally:
        tmux("kill-server")


def named_in(lines: list[str], check: dict[str, object]) -> bool:
    text = re.sub(r"\s+", " ", " ".join(lines))
    summary = str(check["summary"])
    result = CheckResult(str(check["id"]), str(check["target"]), Stage(str(check["stage"])), Status.WARN, summary)
    return any(piece[:40] in text for piece in (summary, meaning(result)))


@pytest.mark.parametrize(("world", "budget"), [("healthy", 45), ("ten", 90)])
def test_the_report_fits_its_budget_and_names_every_problem(
    cli: Cli, worlds: dict[str, ReportWorld], world: str, budget: int
) -> None:
    lab = worlds[world]
    # Given a domain whose problems repeat across endpoints, hosts and addresses
    argv = [str(MAILCHECK), "domain", lab.domain, *lab.options()]
    # When the report is printed in an 80-column terminal
    lines = in_terminal(argv)
    # Then it fits the budget
    assert len(lines) <= budget, "\n".join(lines)
    # And nothing wraps back to the margin: after the verdict, only section titles start at column 0
    titles = {title for title, _ in SECTIONS} | {"Other checks"}
    assert all(not line or line.startswith(" ") or line in titles for line in lines[2:]), "\n".join(lines)
    # And every failure and warning of the run is still said
    document = cli("domain", lab.domain, *lab.options(), "--json").json()
    problems = [c for c in document["checks"] if c["status"] in ("fail", "warn")]
    assert problems or world == "healthy"
    missing = [f"{c['id']} {c['target']}: {c['summary']}" for c in problems if not named_in(lines, c)]
    assert not missing, "\n".join(missing) + "\n---\n" + "\n".join(lines)
    # And --all lists each finding on its own
    everything = cli("domain", lab.domain, *lab.options(), "--all").out
    assert "(--all lists each)" not in everything
    flat = re.sub(r"\s+", " ", everything)
    for check in problems:
        assert str(check["summary"])[:40] in flat, check


def _check(
    id_: str, target: str, summary: str, kind: str, status: Status = Status.WARN, **details: object
) -> CheckResult:
    return CheckResult(id_, target, Stage.CERTIFICATE, status, summary, details, None,
                       ErrorInfo(Stage.CERTIFICATE, kind, summary))  # fmt: skip


def test_findings_group_by_fact_across_endpoints_and_protocols() -> None:
    # Given the same lint fault on a certificate served by endpoints of three protocols, and a PTR fact per address
    lint = "the CA certificate has no subjectKeyIdentifier (RFC 5280 §4.2.1.2)"
    checks = [
        _check("smtp.certificate-profile", "mx1.a.test:25 (127.0.0.1)", lint, "no-ski"),
        _check("imap.certificate-profile", "imap.a.test:993 (127.0.0.2)", lint, "no-ski"),
        _check("pop3.certificate-profile", "pop.a.test:995 (127.0.0.3)", lint, "no-ski"),
        _check("mx.ptr", "mx1.a.test", "no PTR record for 127.0.0.1", "no-ptr"),
        _check("mx.ptr", "mx2.a.test", "no PTR record for 127.0.0.2", "no-ptr"),
        _check("mx.ptr", "mx3.a.test", "no PTR record for 127.0.0.3", "no-ptr", Status.FAIL),
    ]
    groups = group_findings(checks)
    # Then one group per fact: the lint on three endpoints, the PTR warning on two hosts, the failure apart
    assert [len(g.checks) for g in groups] == [3, 2, 1]
    assert groups[0].summary == lint and groups[1].summary == "no PTR record for …"


# --- every hint the report can print, against the finding it is attached to ---

HINTS: list[tuple[str, str, str, str]] = [
    # (check id, error kind, summary, words the hint must hold)
    ("smtp.greeting", "rejected", "the server refused the session: 421 4.3.2 mx Service shutting down",
     "mailcheck explain 421 4.3.2"),
    ("smtp.greeting", "rejected", "the server refused the session: 554 5.7.1 go away", "mailcheck explain 554 5.7.1"),
    ("smtp.envelope", "rejected", "RCPT TO:<a@b.test>: 550 5.1.1 no such user", "mailcheck explain 550 5.1.1"),
    ("spf.record", "multiple-records", "x.test publishes 2 SPF records: a permerror (RFC 7208 §4.5); merge them "
     "into one", "merge into one"),
    ("spf.record", "permerror", "include:y.test does not exist: a permerror", "remove or fix the include"),
    ("smtp.connect", "egress-blocked", "… and so did the reference MX", "run from a host that can reach port 25"),
    ("smtp.greeting", "timeout", "no reply from the server within 10s; the server accepted the connection but never "
     "greeted", "check the server's load and connection limits"),
]  # fmt: skip

# Every (check, kind) the two worlds and the demo lab can print with a hint, and words the hint must hold: a new
# finding gets reviewed here before its hint is printed
WORLD_HINTS = {
    ("dmarc.reports", "unauthorised-destination"): "_report._dmarc",
    ("smtp.certificate", "expired"): "renew",
    ("smtp.certificate", "hostname-mismatch"): "issue a certificate for the",
    ("smtp.certificate", "self-signed"): "public CA",
    ("smtp.certificate-profile", "missing-aki"): "authorityKeyIdentifier",
    ("imap.certificate-profile", "missing-aki"): "authorityKeyIdentifier",
    ("pop3.certificate-profile", "missing-aki"): "authorityKeyIdentifier",
    ("mtasts.certificate-profile", "missing-aki"): "authorityKeyIdentifier",
    ("smtp.certificate-profile", "missing-ski"): "subjectKeyIdentifier",
    ("imap.certificate-profile", "missing-ski"): "subjectKeyIdentifier",
    ("pop3.certificate-profile", "missing-ski"): "subjectKeyIdentifier",
    ("mtasts.certificate-profile", "missing-ski"): "subjectKeyIdentifier",
    ("smtp.connect", "refused"): "start the service",
    ("smtp.greeting", "rejected"): "mailcheck explain 421 4.3.2",
    ("smtp.greeting", "timeout"): "--tls implicit",  # the lab's MX port is not one where the server speaks first
    ("smtp.starttls", "not-offered"): "enable STARTTLS",
    ("smtp.starttls", "unavailable"): "TLS configuration",
    ("spf.lookups", "too-many-lookups"): "flatten",
}


@pytest.mark.parametrize(("check_id", "kind", "summary", "words"), HINTS, ids=[f"{h[0]}/{h[1]}" for h in HINTS])
def test_each_hint_fits_its_finding(check_id: str, kind: str, summary: str, words: str) -> None:
    stage = {"smtp.greeting": Stage.GREETING, "smtp.envelope": Stage.ENVELOPE, "smtp.connect": Stage.CONNECT,
             "smtp.certificate": Stage.CERTIFICATE}.get(check_id, Stage.RECORD)  # fmt: skip
    target = "mx.example.com:25 (192.0.2.1)"
    check = CheckResult(check_id, target, stage, Status.FAIL, summary, {}, None, ErrorInfo(stage, kind, summary))
    advice = hint_for(check)
    assert advice is not None and words in advice, advice


def test_every_hint_printed_for_the_worlds_fits_its_finding(
    cli: Cli, worlds: dict[str, ReportWorld], mail_lab: MailLab
) -> None:
    # Given every finding the two worlds and the demo lab produce
    runs = [[lab.domain, *lab.options()] for lab in worlds.values()]
    runs += [[domain, *mail_lab.options(), "--timeout", "2"] for domain in ("good.test", "broken.test")]
    for argv in runs:
        document = cli("domain", *argv, "--json").json()
        for raw in document["checks"]:
            if raw["status"] not in ("warn", "fail", "error") or not raw["error"]:
                continue
            stage = Stage(raw["error"]["stage"])
            check = CheckResult(raw["id"], raw["target"], Stage(raw["stage"]), Status(raw["status"]), raw["summary"],
                                raw["details"], None, ErrorInfo(stage, raw["error"]["kind"], raw["error"]["message"]))  # fmt: skip
            advice = hint_for(check) or ""
            # Then its hint is the reviewed one for this kind of finding
            expected = WORLD_HINTS.get((raw["id"], raw["error"]["kind"]))
            assert expected is not None, f"no reviewed hint for {raw['id']} {raw['error']['kind']}: {advice!r}"
            assert expected in advice, (raw["summary"], advice)
            # And a quoted `mailcheck explain` names this finding's own reply codes, never another's
            for quoted in re.findall(r"mailcheck explain ([0-9. ]+)", advice):
                code = quoted.split()[0]
                assert code in raw["summary"] or code in json.dumps(raw["details"]), (raw, advice)


@pytest.mark.parametrize(
    ("software", "own", "others"),
    [
        ("Exim", "tls_require_ciphers", ["smtpd_tls_protocols", "ssl_min_protocol", 'protocols "tlsv1.2']),
        ("OpenSMTPD", 'protocols "tlsv1.2:tlsv1.3"', ["smtpd_tls_protocols", "tls_require_ciphers"]),
        ("Dovecot", "ssl_min_protocol", ["smtpd_tls_protocols", "tls_require_ciphers"]),
        (None, "smtpd_tls_protocols", []),  # a greeting that names no software: every MTA's setting
        ("Sendmail", "smtpd_tls_protocols", []),  # software the guide has no line for: all of it, not nothing
    ],
)
def test_weak_protocol_advice_quotes_the_servers_own_software(
    software: str | None, own: str, others: list[str]
) -> None:
    details = {"software": software} if software else {}
    # the built-in scan's finding (no tls extra) and the grade's say the same thing, and get the same advice
    for check_id, kind, summary in (
        ("smtp.tls-scan", "weak-protocol", "accepts TLS 1.0 (TLSv1 ECDHE-RSA-AES256-SHA): deprecated (RFC 8996)"),
        ("smtp.tls-grade", "grade-version", "TLS 1.0 accepted: phase-out (NCSC)"),
    ):
        check = CheckResult(check_id, "mx.example.com:25 (192.0.2.1)", Stage.TLS, Status.WARN, summary, details,
                            None, ErrorInfo(Stage.TLS, kind, summary))  # fmt: skip
        advice = hint_for(check) or ""
        assert own in advice and not [o for o in others if o in advice], (kind, advice)


@pytest.mark.parametrize(
    ("greeting", "named"),
    [
        ("mx.example.com ESMTP Exim 4.96 Tue, 01 Dec 2026 10:00:00 +0000", "Exim"),
        ("mx.example.com ESMTP Postfix (Debian/GNU)", "Postfix"),
        ("mx.example.com ESMTP OpenSMTPD", "OpenSMTPD"),
        ("[CAPABILITY IMAP4rev1 STARTTLS] Dovecot (Debian) ready.", "Dovecot"),
        ("mx.example.com Microsoft ESMTP MAIL Service ready at Tue, 1 Dec 2026", "Microsoft Exchange"),
        ("mx.example.com ESMTP ready", None),
    ],
)
def test_the_software_a_greeting_names(greeting: str, named: str | None) -> None:
    assert software_module.named_in(greeting) == named
