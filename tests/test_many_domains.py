"""Many domains: one probe per MX server per run, resumable JSON Lines output, the shard contract, and the
summary of a run."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.batch import shard_of
from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer
from mailcheck.lab.world import MailLab
from tests.conftest import Cli, SmtpLab

SHARED = [f"customer{i}.test" for i in range(30)]


def shared_world(lab: MailLab) -> None:
    """Thirty domains whose MX are the same two provider hosts, as real domains share Google's or Microsoft's."""
    for name in SHARED:
        if (name, "MX") not in lab.dns.zone.records:
            lab.dns.zone.add(name, "MX", "10 mx1.good.test.", "20 mx2.good.test.")


def sessions(lab: MailLab, address: str) -> int:
    server = next(s for s in lab.servers if isinstance(s, SmtpLabServer) and s.host == address)
    return server.behaviour.verbs.count("QUIT")


def test_each_shared_mx_server_is_probed_once_per_run(cli: Cli, mail_lab: MailLab, tmp_path: Path) -> None:
    # Given thirty domains sharing two MX servers
    shared_world(mail_lab)
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(SHARED) + "\n")
    before = {a: sessions(mail_lab, a) for a in ("127.0.0.11", "127.0.0.12")}
    run = cli("domain", "--from-file", str(listing), *mail_lab.options(), "--only", "mx,smtp", "--concurrency", "30",
              "--per-host", "1", "--timeout", "2")  # fmt: skip
    documents = [json.loads(line) for line in run.out.splitlines()]
    # Then every domain gets the servers' findings, and each server saw one session in all
    assert len(documents) == 30
    for document in documents:
        ids = {(c["id"], c["target"].split(":")[0]) for c in document["checks"]}
        assert ("smtp.starttls", "mx1.good.test") in ids and ("smtp.starttls", "mx2.good.test") in ids
    assert {a: sessions(mail_lab, a) - n for a, n in before.items()} == {"127.0.0.11": 1, "127.0.0.12": 1}


@pytest.mark.parametrize(
    ("behaviour", "kind", "sessions"),
    [
        # throttling: one session for all twenty domains, and the one retry after a backoff (--retries 1)
        (SmtpBehaviour(banner="421 4.3.2 mx.busy.test too many connections, try later"), "rate-limited", 2),
        (SmtpBehaviour(silent=True), "timeout", 1),  # a tarpit: connects, never greets
    ],
)
def test_a_refusing_or_tarpitting_shared_mx_is_asked_once_not_stormed(
    cli: Cli,
    smtp_lab: SmtpLab,
    dns_server: DnsResponder,
    tmp_path: Path,
    behaviour: SmtpBehaviour,
    kind: str,
    sessions: int,
) -> None:
    # Given twenty domains whose one MX server answers 421 at the greeting, or never greets
    server = smtp_lab.start(behaviour, name="mx.busy.test", address="127.0.0.31")
    names = [f"busy{i}.test" for i in range(20)]
    for name in names:
        dns_server.zone.add(name, "MX", "10 mx.busy.test.")
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(names) + "\n")
    run = cli("domain", "--from-file", str(listing), "--resolver", dns_server.address, "--only", "mx,smtp",
              "--mx-port", str(server.port), "--allow-private", "--concurrency", "20", "--timeout", "1")  # fmt: skip
    documents = [json.loads(line) for line in run.out.splitlines()]
    # Then every domain is told what the server did, and the server saw one connection, not one per domain
    assert len(documents) == 20
    for document in documents:
        greeting = next(c for c in document["checks"] if c["id"].startswith("smtp."))
        assert greeting["status"] in ("fail", "error") and greeting["error"]["kind"] == kind, greeting
    assert server.connections == sessions


def test_output_file_and_resume(cli: Cli, mail_lab: MailLab, tmp_path: Path) -> None:
    shared_world(mail_lab)
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(SHARED[:3]) + "\n")
    output = tmp_path / "run.jsonl"
    common = [*mail_lab.options(), "--only", "mx", "--output", str(output)]
    first = cli("domain", "--from-file", str(listing), *common)
    assert first.out == "" and len(output.read_text().splitlines()) == 3
    # a crash mid-write leaves at most a cut line; resuming checks only what is not complete
    with output.open("a") as handle:
        handle.write('{"target": "customer3.te')
        handle.write("\n")
    listing.write_text("\n".join(SHARED[:5]) + "\n")
    cli("domain", "--from-file", str(listing), *common, "--resume")
    targets = []
    for line in output.read_text().splitlines():
        try:
            targets.append(json.loads(line)["target"])
        except json.JSONDecodeError:
            continue
    assert sorted(targets) == sorted(SHARED[:5])
    assert cli("domain", "--from-file", str(listing), *mail_lab.options(), "--resume").code == 2


@given(st.lists(st.text(min_size=1, max_size=5), max_size=40), st.integers(min_value=1, max_value=7))
def test_shards_cover_the_input_exactly_once(lines: list[str], count: int) -> None:
    shards = [shard_of(lines, (index, count)) for index in range(count)]
    positions = sorted(p for index in range(count) for p in range(index, len(lines), count))
    assert positions == list(range(len(lines)))
    assert sorted(line for shard in shards for line in shard) == sorted(lines)


def test_summary_of_merged_shards(cli: Cli, mail_lab: MailLab, tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("good.test\nbroken.test\nnowhere.test\n")
    outputs = []
    for index in range(2):
        output = tmp_path / f"shard{index}.jsonl"
        cli("domain", "--from-file", str(listing), *mail_lab.options(), "--only", "spf,dmarc",
            "--shard", f"{index}/2", "--output", str(output))  # fmt: skip
        outputs.append(str(output))
    run = cli("summary", *outputs, "--json")
    doc = json.loads(run.out)
    assert doc["domains"] == 3 and run.code == 1
    kinds = {(k["check"], k["kind"]): k for k in doc["failure_kinds"]}
    assert kinds[("spf.lookups", "too-many-lookups")]["examples"] == ["broken.test"]
    assert doc["checks"]["spf.record"]["pass"] >= 1
    text = cli("summary", *outputs)
    assert (
        text.out.startswith("FAIL: 3 domains") and "too-many-lookups" in text.out and "(e.g. broken.test)" in text.out
    )


def test_summary_skips_unreadable_lines_and_counts_repeats_once(cli: Cli, tmp_path: Path) -> None:
    good = {"target": "a.test", "status": "fail", "checks": [
        {"id": "spf.record", "status": "fail", "error": {"kind": "not-found"}}]}  # fmt: skip
    lines = [json.dumps(good), "not json", json.dumps({"target": "b.test", "checks": [{"no": "id"}]}),
             json.dumps([1, 2]), json.dumps(good)]  # fmt: skip
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    doc = json.loads(cli("summary", str(path), "--json").out)
    assert doc["domains"] == 1 and doc["duplicate_domains"] == 1 and doc["unreadable_lines"] == 3
    assert doc["failure_kinds"][0]["kind"] == "not-found"
    assert cli("summary", str(tmp_path / "missing.jsonl")).code == 2


def test_a_reader_that_goes_away_ends_the_run_quietly(dns_server: DnsResponder, tmp_path: Path) -> None:
    # `mailcheck domain --from-file ... | head`: the reports outgrow the pipe, the reader closes its end
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(f"d{i}.test" for i in range(400)) + "\n")
    command = [sys.executable, "-m", "mailcheck", "domain", "--from-file", str(listing), "--only", "mx,spf,dmarc",
               "--resolver", dns_server.address, "--timeout", "5", "--json"]  # fmt: skip
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert run.stdout is not None
    assert run.stdout.read(200).startswith(b'{"schema": 1')
    run.stdout.close()
    _, errors = run.communicate(timeout=120)
    assert run.returncode == 141
    assert errors == b""  # no "internal error", no traceback


def test_dns_rate_spaces_the_questions(cli: Cli, dns_server: DnsResponder, tmp_path: Path) -> None:
    # Given twenty domains, each costing an MX, A and AAAA question (no MX host: the domain is its own)
    names = [f"paced{i}.test" for i in range(20)]
    for i, name in enumerate(names):
        dns_server.zone.add(name, "A", f"127.0.9.{i + 1}")
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(names) + "\n")
    start = time.monotonic()
    run = cli("domain", "--from-file", str(listing), "--resolver", dns_server.address, "--only", "mx",
              "--allow-private", "--concurrency", "20", "--dns-rate", "40", "--timeout", "5")  # fmt: skip
    elapsed = time.monotonic() - start
    asked = len(dns_server.queries)
    # Then every domain is checked, and the questions went out no faster than 40 a second
    assert len(run.out.splitlines()) == 20 and asked >= 60
    assert elapsed >= (asked - 1) / 40
    assert all('"kind": "timeout"' not in line for line in run.out.splitlines())  # waiting for a turn is ours
