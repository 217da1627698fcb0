"""Renderers show server-controlled text as data: no terminal escapes, no rich markup taking effect."""

import io
import json

from mailcheck.model import ErrorInfo, Report, Stage, Status, Subject
from mailcheck.render import render
from mailcheck.textsafe import printable

HOSTILE = "evil\x1b[31mRED\x1b[0m [bold]loud[/bold] \x07bell\u202eevil\r\nInjected: yes"


def hostile_report() -> Report:
    subject = Subject("smtp.greeting", HOSTILE, Stage.GREETING, 3)
    check = subject.result(
        Status.FAIL, f"banner: {HOSTILE}", {"banner": HOSTILE}, ErrorInfo(Stage.GREETING, "x", HOSTILE)
    )
    return Report("smtp", HOSTILE, (check,), 3, "0.1.0")


def test_printable_escapes_controls_and_bidi() -> None:
    assert printable("a\x1b[31mb") == "a\\x1b[31mb"
    assert printable("x\u202ey") == "x\\u202ey"
    assert printable("tab\there\r\n") == "tab\\there\\r\\n"
    assert printable("back\\slash") == "back\\\\slash"
    assert printable("é ü 中") == "é ü 中"
    assert printable("a" * 10, limit=4) == "aaaa... (6 more characters)"


def test_table_output_contains_no_escape_sequences_and_keeps_markup_literal() -> None:
    out = io.StringIO()
    render(hostile_report(), "table", out)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[31mRED" in text
    assert "[bold]loud[/bold]" in text


def test_report_output_contains_no_escape_sequences_and_keeps_markup_literal() -> None:
    out = io.StringIO()
    render(hostile_report(), "report", out, show_all=True)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[31mRED" in text
    assert "[bold]loud[/bold]" in text


def test_json_keeps_the_data_exact() -> None:
    out = io.StringIO()
    render(hostile_report(), "json", out)
    doc = json.loads(out.getvalue())
    assert doc["checks"][0]["details"]["banner"] == HOSTILE


def test_junit_is_well_formed_with_hostile_text() -> None:
    import xml.etree.ElementTree as ET

    out = io.StringIO()
    render(hostile_report(), "junit", out)
    root = ET.fromstring(out.getvalue().split("\n", 1)[1])
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "\x1b" not in (failure.get("message") or "")
