"""`mailcheck domain` against the lab world: a healthy domain passes, a broken one shows each fault at its stage."""

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mailcheck.lab.https import Document, HttpsLabServer
from mailcheck.lab.pki import self_signed
from mailcheck.lab.server import server_context
from mailcheck.lab.world import MailLab
from mailcheck.records.mtasts_policy import mx_matches, parse_policy
from tests.conftest import Cli, SmtpLab


def domain(cli: Cli, lab: MailLab, name: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli("domain", name, *lab.options(), "--timeout", "1", *extra)


def test_healthy_domain_passes_every_check(cli: Cli, mail_lab: MailLab) -> None:
    run = domain(cli, mail_lab, "good.test", "--dkim-selector", "lab1", "--json")
    assert run.code == 0, run.out
    doc = run.json()
    assert {c["status"] for c in doc["checks"]} <= {"pass", "info"}, [
        c for c in doc["checks"] if c["status"] not in ("pass", "info")
    ]
    ids = {c["id"] for c in doc["checks"]}
    for expected in (
        "mx.records",
        "smtp.starttls",
        "smtp.certificate",
        "mtasts.policy",
        "mtasts.mx",
        "dane.match",
        "tlsrpt.record",
        "spf.record",
        "dkim.key",
        "dmarc.policy",
        "imap.tls",
    ):
        assert expected in ids, expected
    # MTA-STS is enforced and DANE present, so certificate checks on the MX are strict
    assert all(c["status"] == "pass" for c in run.checks("dane.match"))


def test_broken_domain_reports_each_fault_at_its_stage(cli: Cli, mail_lab: MailLab) -> None:
    run = domain(cli, mail_lab, "broken.test", "--json")
    assert run.code == 1
    cname = run.check("mx.host", "mail.broken.test")
    assert cname["status"] == "warn" and cname["details"]["cname"] == "mx1.broken.test"
    port = mail_lab.smtp_port
    assert run.check("smtp.starttls", f"mail.broken.test:{port} (127.0.0.21)")["error"]["kind"] == "not-offered"
    expired = run.check("smtp.certificate", f"mx2.broken.test:{port} (127.0.0.22)")
    assert expired["error"]["kind"] == "expired" and expired["status"] == "warn"  # opportunistic: no MTA-STS, no DANE
    silent = run.check("smtp.greeting", f"mx3.broken.test:{port} (127.0.0.23)")
    assert silent["stage"] == "greeting" and silent["error"]["kind"] == "timeout"
    assert run.check("spf.lookups")["error"]["kind"] == "too-many-lookups"
    assert run.check("dmarc.policy")["details"]["applies"] == "none"
    assert (
        run.check("dmarc.reports", "broken.test._report._dmarc.collector.example.net")["error"]["kind"]
        == "unauthorised-destination"
    )


def test_silent_mx_costs_one_timeout(cli: Cli, mail_lab: MailLab) -> None:
    import time

    start = time.monotonic()
    domain(cli, mail_lab, "broken.test", "--only", "smtp", "--json")
    assert time.monotonic() - start < 3.5  # --timeout 1: the silent MX is waited on once, concurrently


def test_results_are_in_path_order_worst_first_within_a_section(cli: Cli, mail_lab: MailLab) -> None:
    section_of = {
        "mx": 0,
        "smtp": 1,
        "mtasts": 2,
        "dane": 2,
        "tlsrpt": 2,
        "spf": 3,
        "dkim": 3,
        "dmarc": 3,
        "bimi": 3,
        "mailbox": 4,
    }
    severity = {"pass": 0, "info": 1, "warn": 2, "fail": 3, "error": 4}
    checks = [c for c in domain(cli, mail_lab, "broken.test", "--json").checks() if c["id"].split(".")[0] in section_of]
    keys = [(section_of[c["id"].split(".")[0]], -severity[c["status"]]) for c in checks]
    assert keys == sorted(keys)


def test_mta_sts_enforce_makes_mx_certificate_faults_fail(cli: Cli, mail_lab: MailLab, tmp_path: Path) -> None:
    # Given strict.test: its MX has an expired certificate, and it publishes MTA-STS in enforce mode
    zone = mail_lab.dns.zone
    zone.add("strict.test", "MX", "10 mx2.broken.test.")
    zone.txt("_mta-sts.strict.test", "v=STSv1; id=1")
    policy = b"version: STSv1\nmode: enforce\nmx: mx2.broken.test\nmax_age: 3600\n"
    https = HttpsLabServer(
        server_context(mail_lab.ca.issue("mta-sts.strict.test"), tmp_path),
        {"/.well-known/mta-sts.txt": Document(policy)},
        host="127.0.0.31",
        port=mail_lab.https_port,
    ).start()
    zone.host("mta-sts.strict.test", "127.0.0.31")
    try:
        run = domain(cli, mail_lab, "strict.test", "--only", "mx,smtp,mta-sts", "--json")
    finally:
        https.stop()
    assert run.check("mtasts.policy")["details"]["mode"] == "enforce"
    cert = run.check("smtp.certificate")
    assert cert["status"] == "fail" and cert["error"]["kind"] == "expired"


def test_dane_mismatch_and_unsigned_answers(cli: Cli, mail_lab: MailLab) -> None:
    zone = mail_lab.dns.zone
    key = ("_25._tcp.mx1.good.test", "TLSA")
    genuine = list(zone.records[key])
    zone.add("dane.test", "MX", "10 mx1.good.test.")
    try:
        # Given a second, wrong TLSA record beside the genuine one: still a match
        zone.add(*key, "3 1 1 " + "00" * 32)
        assert (
            domain(cli, mail_lab, "dane.test", "--only", "smtp,dane", "--json").check("dane.match")["status"] == "pass"
        )
        # Given only the wrong record, and answers without the AD bit
        zone.records[key] = ["3 1 1 " + "00" * 32]
        mail_lab.dns.authenticated = False
        run = domain(cli, mail_lab, "dane.test", "--only", "smtp,dane", "--json")
        assert run.check("dane.match")["error"]["kind"] == "tlsa-mismatch"
        assert run.check("dane.tlsa")["error"]["kind"] == "insecure"
        # and with DANE published, the MX certificate check is strict, not opportunistic
        assert "opportunistic" not in run.check("smtp.certificate")["summary"]
    finally:
        mail_lab.dns.authenticated = True
        zone.records[key] = genuine
        zone.remove("dane.test")


def test_skip_and_only_select_parts(cli: Cli, mail_lab: MailLab) -> None:
    only = domain(cli, mail_lab, "good.test", "--only", "spf,dmarc", "--json")
    assert {c["id"].split(".")[0] for c in only.checks()} == {"spf", "dmarc"}
    skipped = domain(cli, mail_lab, "good.test", "--skip", "smtp,mailbox,dane", "--json")
    assert not any(c["id"].startswith(("smtp.", "mailbox.", "imap.", "dane.")) for c in skipped.checks())
    assert cli("domain", "good.test", "--only", "nonsense").code == 2


def test_junit_output(cli: Cli, mail_lab: MailLab) -> None:
    run = domain(cli, mail_lab, "broken.test", "--only", "spf,dmarc", "--format", "junit")
    import xml.etree.ElementTree as ET

    root = ET.fromstring(run.out.split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None and int(suite.get("failures") or 0) >= 1
    assert any(case.find("failure") is not None for case in suite.iter("testcase"))


def test_expect_assertions_become_checks(cli: Cli, mail_lab: MailLab, tmp_path: Path) -> None:
    expect = tmp_path / "expect.toml"
    expect.write_text(
        '[mx]\nhosts = ["mx1.good.test", "mx2.good.test"]\n'
        '[spf]\nall = "-all"\n'
        '[dmarc]\npolicy = "quarantine"\n'
        '[mta_sts]\nmode = "enforce"\n'
        '[tls]\nmin_version = "1.2"\n'
        '[dkim]\nselectors = ["lab1"]\n'
    )
    good = domain(cli, mail_lab, "good.test", "--dkim-selector", "lab1", "--expect", str(expect), "--json")
    expectations = [c for c in good.checks() if c["id"].startswith("expect.")]
    assert len(expectations) == 6 and all(c["status"] == "pass" for c in expectations), expectations
    bad = domain(cli, mail_lab, "broken.test", "--expect", str(expect), "--json")
    failed = {c["id"] for c in bad.checks() if c["id"].startswith("expect.") and c["status"] == "fail"}
    assert {"expect.mx.hosts", "expect.dmarc.policy", "expect.mta_sts.mode", "expect.spf.all"} <= failed
    expect.write_text("[dmarc]\npolicy = 'strong'\n")
    assert cli("domain", "good.test", "--expect", str(expect)).code == 2
    expect.write_text("[nonsense]\nx = 1\n")
    assert "unknown section" in cli("domain", "good.test", "--expect", str(expect)).err


def test_from_file_streams_json_lines_and_shards(cli: Cli, mail_lab: MailLab, tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("good.test\n# a comment\nbroken.test\nnot a domain!\n")
    run = cli("domain", "--from-file", str(listing), *mail_lab.options(), "--only", "spf,dmarc", "--timeout", "1")
    documents = [json.loads(line) for line in run.out.splitlines()]
    assert sorted(d["target"] for d in documents) == ["broken.test", "good.test", "not a domain!"]
    bad = next(d for d in documents if d["target"] == "not a domain!")
    assert bad["checks"][0]["stage"] == "input" and bad["status"] == "error"
    assert run.code == 1
    shard = cli("domain", "--from-file", str(listing), *mail_lab.options(), "--only", "spf", "--shard", "1/2")
    assert [json.loads(line)["target"] for line in shard.out.splitlines()] == ["broken.test"]
    assert cli("domain", "--from-file", str(listing), "--shard", "2/2").code == 2


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("mx.example.com", "mx.example.com", True),
        ("*.example.com", "mx.example.com", True),
        ("*.example.com", "a.mx.example.com", False),
        ("*.example.com", "example.com", False),
        ("mx.example.com", "MX.Example.COM.", True),
    ],
)
def test_mta_sts_mx_patterns(pattern: str, host: str, matches: bool) -> None:
    assert mx_matches(pattern, host) is matches


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n", None),
        ("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 86400\n", "version must be STSv1"),
        ("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 86400\n", "mode must be"),
        ("version: STSv1\nmode: enforce\nmax_age: 86400\n", "no mx: lines"),
        ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 99999999\n", "over the limit"),
        ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: soon\n", "number of seconds"),
    ],
)
def test_mta_sts_policy_syntax(text: str, problem: str | None) -> None:
    problems = parse_policy(text).problems
    assert (problem is None and not problems) or any(problem in p for p in problems if problem)


def test_mta_sts_fetch_faults(cli: Cli, mail_lab: MailLab, tmp_path: Path) -> None:
    zone = mail_lab.dns.zone
    cases = {
        "redirect.test": (Document(b"", 302, headers={"Location": "https://elsewhere.example/"}), "redirect"),
        "html.test": (Document(b"version: STSv1\n", 200, "text/html"), "content-type"),
        "missing.test": (None, "http-status"),
    }
    for index, (name, (document, kind)) in enumerate(cases.items()):
        address = f"127.0.0.{40 + index}"
        zone.txt(f"_mta-sts.{name}", "v=STSv1; id=1")
        zone.host(f"mta-sts.{name}", address)
        documents = {"/.well-known/mta-sts.txt": document} if document else {}
        server = HttpsLabServer(
            server_context(mail_lab.ca.issue(f"mta-sts.{name}"), tmp_path),
            documents,
            host=address,
            port=mail_lab.https_port,
        ).start()
        try:
            run = domain(cli, mail_lab, name, "--only", "mta-sts", "--json")
        finally:
            server.stop()
        policy = run.check("mtasts.policy")
        assert policy["status"] == "fail" and policy["error"]["kind"] == kind, policy


def test_mta_sts_policy_without_content_length_is_read_to_the_end(cli: Cli, mail_lab: MailLab, tmp_path: Path) -> None:
    # Given a policy server that sends no Content-Length and the body in small pieces before closing
    zone = mail_lab.dns.zone
    zone.add("trickle.test", "MX", "10 mx1.good.test.")
    zone.txt("_mta-sts.trickle.test", "v=STSv1; id=1")
    zone.host("mta-sts.trickle.test", "127.0.0.44")
    policy = b"version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmax_age: 86400\r\n"
    server = HttpsLabServer(
        server_context(mail_lab.ca.issue("mta-sts.trickle.test"), tmp_path),
        {"/.well-known/mta-sts.txt": Document(policy, trickle=True)},
        host="127.0.0.44",
        port=mail_lab.https_port,
    ).start()
    try:
        run = domain(cli, mail_lab, "trickle.test", "--only", "mx,mta-sts", "--json")
    finally:
        server.stop()
    # Then the whole policy was read: every field, and the MX matched
    policy_check = run.check("mtasts.policy")
    assert policy_check["status"] == "pass" and policy_check["details"]["max_age"] == 86400
    assert run.check("mtasts.mx")["status"] == "pass"


def test_dead_resolver_means_nothing_could_be_checked(cli: Cli) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = cli("domain", "example.test", "--resolver", f"127.0.0.1:{port}", "--timeout", "1", "--json")
    assert run.code == 3
    assert {c["status"] for c in run.checks()} == {"error"}
    assert {c["stage"] for c in run.checks()} == {"dns"}


def test_dane_ee_with_a_self_signed_certificate_is_no_failure(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given an MX whose self-signed certificate is pinned by DANE-EE (TLSA 3 1 1), as RFC 7672 §3.1.1 allows
    credential = self_signed("mx.dane-ee.test")
    server = smtp_lab.start(name="mx.dane-ee.test", credential=credential)
    spki = credential.cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    zone = smtp_lab.dns.zone
    zone.add("dane-ee.test", "MX", "10 mx.dane-ee.test.")
    zone.add("_25._tcp.mx.dane-ee.test", "TLSA", f"3 1 1 {hashlib.sha256(spki).hexdigest()}")
    run = cli(
        "domain",
        "dane-ee.test",
        "--only",
        "smtp,dane",
        "--mx-port",
        str(server.port),
        "--allow-private",
        "--resolver",
        smtp_lab.dns.address,
        "--ca-file",
        str(smtp_lab.ca_file),
        "--timeout",
        "2",
        "--json",
    )
    # Then DANE senders deliver (the TLSA matches), and PKIX's complaint is a warning, not a failure
    assert run.check("dane.match")["status"] == "pass"
    certificate = run.check("smtp.certificate")
    assert certificate["error"]["kind"] == "self-signed" and certificate["status"] == "warn"
