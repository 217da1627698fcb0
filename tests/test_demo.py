"""`mailcheck demo`: the whole report offline, against the built-in loopback lab."""

import json
import re

from tests.conftest import Cli


def test_demo_shows_a_passing_and_a_failing_domain_and_a_trace(cli: Cli) -> None:
    run = cli("demo", "--timeout", "1")
    assert run.code == 1  # the broken domain fails, as it should
    out = run.out
    assert "$ mailcheck domain good.test" in out and "$ mailcheck domain broken.test" in out
    assert "$ mailcheck headers" in out
    # three reports, each opening with its verdict line
    assert len(re.findall(r"^(INFO|PASS|WARN|FAIL|ERROR): ", out, re.MULTILINE)) == 3
    assert "STARTTLS not offered" in out and "certificate expired on" in out and "12 DNS lookups" in out


def test_demo_json_prints_the_commands_documents(cli: Cli) -> None:
    run = cli("demo", "--json", "--timeout", "1")
    decoder = json.JSONDecoder()
    documents, index, text = [], 0, run.out
    while index < len(text.rstrip()):
        while text[index].isspace():
            index += 1
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    assert [(d["command"], d["target"]) for d in documents][:2] == [("domain", "good.test"), ("domain", "broken.test")]
    assert documents[0]["status"] in ("pass", "info")
    assert documents[1]["status"] == "fail"
    assert documents[2]["command"] == "headers"
    assert all(d["schema"] == 1 for d in documents)


def test_two_labs_at_once_do_not_collide(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mailcheck.lab.world import MailLab

    first = MailLab(tmp_path / "a").start()
    try:
        second = MailLab(tmp_path / "b").start()
        try:
            assert first.resolver != second.resolver
            assert first.smtp_port != second.smtp_port
        finally:
            second.stop()
    finally:
        first.stop()
