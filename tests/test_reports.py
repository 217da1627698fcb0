"""``mailcheck reports``: DMARC aggregate, TLS-RPT and DMARC failure reports.

The real reports are parsedmarc's samples (tests/data/dmarc-reports, Apache-2.0, provenance in its README); the
expected values below were read off each file by hand. Synthetic reports cover the verdict classes, the CI gate
and every hostile-input case; each is made in the test.
"""

import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.reports.aggregate import ReportError, parse_aggregate
from mailcheck.reports.sources import Document, Unreadable, documents
from mailcheck.reports.tlsrpt import parse_tlsrpt
from tests.conftest import Cli

FIXTURES = Path(__file__).parent / "data" / "dmarc-reports"


# --- each real report, read as its file says ---


@pytest.mark.parametrize(
    ("name", "org", "domain", "policy", "records", "messages"),
    [
        ("fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz", "FastMail Pty Ltd", "indemed.com",
         "none", 1, 1),
        ("estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip", "XYZ Corporation",
         "example.com", "none", 1, 1),
        ("protection.outlook.com!example.com!1711756800!1711843200.xml", "Outlook.com", "example.com", "none", 1, 1),
        ("zoho.com!example.com!1581753600!1581840000.xml", "zoho.com", "example.com", "none", 8, 9),
        ("nice-input.xml", "google.com", "example.com", "none", 20, 3047),
        ("nice-input.xml.gz", "google.com", "example.com", "none", 20, 3047),
        ("twilight.eml", "google.com", "twlnet.com", "reject", 1, 1),
    ],
)  # fmt: skip
def test_each_aggregate_report(name: str, org: str, domain: str, policy: str, records: int, messages: int) -> None:
    (document,) = [d for d in documents([str(FIXTURES / name)]) if isinstance(d, Document)]
    report = parse_aggregate(document.data)
    assert (report.org, report.policy.domain, report.policy.p) == (org, domain, policy)
    assert (len(report.rows), report.messages) == (records, messages)


def test_the_outlook_report_keeps_its_identifiers() -> None:
    path = FIXTURES / "protection.outlook.com!example.com!1711756800!1711843200.xml"
    (row,) = parse_aggregate(path.read_bytes()).rows
    assert (row.source_ip, row.envelope_from, row.header_from) == ("100.24.188.149", "example.com", "example.com")
    assert not row.aligned and row.spf[0].scope == "mfrom" and row.spf[0].result == "fail"


@pytest.mark.parametrize(
    ("name", "org", "policy", "successful", "failed", "failures"),
    [
        ("rfc8460.json", "Company-X", ("sts", "company-y.example"), 5326, 303,
         [("certificate-expired", 100), ("starttls-not-supported", 200), ("validation-failure", 3)]),
        ("smtp_tls.json", "Example Inc.", ("sts", "example.com"), 0, 3,
         [("validation-failure", 2), ("validation-failure", 1)]),
        ("google.com_smtp_tls_report.eml", "Google Inc.", ("no-policy-found", "cardinalhealth.ca"), 48, 0, []),
    ],
)  # fmt: skip
def test_each_tls_report(
    name: str, org: str, policy: tuple[str, str], successful: int, failed: int, failures: list[tuple[str, int]]
) -> None:
    (document,) = [d for d in documents([str(FIXTURES / name)]) if isinstance(d, Document)]
    report = parse_tlsrpt(document.data)
    (result,) = report.policies
    assert report.org == org and (result.policy_type, result.domain) == policy
    assert (result.successful, result.failed) == (successful, failed)
    assert [(f.result_type, f.count) for f in result.failures] == failures


def test_the_fixture_folder_as_a_user_runs_it(cli: Cli) -> None:
    # Given every sample, as a folder a user would point the command at (README and LICENSE included)
    run = cli("reports", str(FIXTURES), "--no-dns", "--json")
    summary = run.check("reports.input", "reports")
    # Then the reports are counted, the same Google report read twice (plain and gzipped) counts once
    assert summary["details"]["aggregate"] == 10 and summary["details"]["tlsrpt"] == 3, summary
    assert "1 duplicate counted once" in summary["summary"], summary
    # And the broken and empty files are named, the run going on
    inputs = {c["target"].rsplit("/", 1)[-1]: c for c in run.checks("reports.input") if c["target"] != "reports"}
    assert (
        inputs["invalid_xml.xml"]["status"] == "warn" and "not well-formed XML" in inputs["invalid_xml.xml"]["summary"]
    )
    assert inputs["empty.xml"]["status"] == "info" and "empty" in inputs["empty.xml"]["summary"]
    # And each domain has its verdict, with the counts of the files
    domains = {c["target"]: c for c in run.checks("reports.domain")}
    assert domains["twlnet.com"]["status"] == "pass" and domains["twlnet.com"]["summary"].startswith("at p=reject")
    example = domains["example.com"]
    assert example["details"]["messages"] == 1 + 1 + 3047 + 1 + 9 + 1 + 1, example["details"]
    assert example["summary"].startswith("ready for p=quarantine"), example
    # And Zoho's report, whose verdict contradicts its own raw results, is called a contradiction, not a fault
    zoho = [c for c in run.checks("reports.source") if "zoho.com" in c["summary"]]
    assert zoho and all("contradicts itself" in c["summary"] for c in zoho), zoho
    # And TLS-RPT failures are in words, with the command that probes that MX
    expired = [c for c in run.checks("reports.tlsrpt") if "certificate-expired" in c["summary"]]
    assert expired and "mailcheck smtp mx1.mail.company-y.example" in expired[0]["summary"], expired
    assert run.code == 0


# --- synthetic reports: the verdict classes ---


def aggregate(
    domain: str,
    rows: list[dict[str, Any]],
    policy: str = "none",
    org: str = "receiver.example",
    report_id: str = "1",
    end: int = 1796000000,
) -> bytes:
    """An RFC 7489 appendix C report; each row: ip, count, dkim/spf (evaluated), and raw dkim/spf results."""
    records = []
    for row in rows:
        dkim = "".join(
            f"<dkim><domain>{d}</domain><selector>s1</selector><result>{r}</result></dkim>"
            for d, r in row.get("raw_dkim", [])
        )
        spf = "".join(
            f"<spf><domain>{d}</domain><scope>mfrom</scope><result>{r}</result></spf>"
            for d, r in row.get("raw_spf", [])
        )
        reason = f"<reason><type>{row['reason']}</type></reason>" if row.get("reason") else ""
        records.append(
            f"<record><row><source_ip>{row['ip']}</source_ip><count>{row['count']}</count><policy_evaluated>"
            f"<disposition>{row.get('disposition', 'none')}</disposition><dkim>{row['dkim']}</dkim>"
            f"<spf>{row['spf']}</spf>{reason}</policy_evaluated></row><identifiers>"
            f"<header_from>{domain}</header_from><envelope_from>{row.get('envelope', domain)}</envelope_from>"
            f"</identifiers><auth_results>{dkim}{spf}</auth_results></record>"
        )
    return (
        f'<?xml version="1.0"?><feedback><report_metadata><org_name>{org}</org_name><email>d@{org}</email>'
        f"<report_id>{report_id}</report_id><date_range><begin>{end - 86400}</begin><end>{end}</end></date_range>"
        f"</report_metadata><policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf>"
        f"<p>{policy}</p><sp>{policy}</sp><pct>100</pct></policy_published>{''.join(records)}</feedback>"
    ).encode()  # fmt: skip


SHOP = [
    # the domain's own servers, aligned
    {"ip": "192.0.2.10", "count": 900, "dkim": "pass", "spf": "pass", "raw_dkim": [("shop.example", "pass")],
     "raw_spf": [("shop.example", "pass")]},
    # a new ESP: in the domain's SPF, but bouncing to its own domain and signing as itself
    {"ip": "198.51.100.9", "count": 100, "dkim": "fail", "spf": "fail", "envelope": "bounce.esp.example",
     "raw_dkim": [("esp.example", "pass")], "raw_spf": [("bounce.esp.example", "pass")]},
    # a mailing list: SPF broken by the forward, the domain's DKIM signature survived
    {"ip": "203.0.113.50", "count": 30, "dkim": "pass", "spf": "fail", "reason": "mailing_list",
     "envelope": "lists.example.net", "raw_dkim": [("shop.example", "pass")], "raw_spf": [("lists.example.net", "pass")]},
    # a spoofer
    {"ip": "203.0.113.66", "count": 25, "dkim": "fail", "spf": "fail", "envelope": "spam.example",
     "raw_spf": [("spam.example", "pass")]},
]  # fmt: skip


@pytest.fixture
def shop_world(dns_server: DnsResponder, tmp_path: Path) -> Path:
    dns_server.zone.txt("shop.example", "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.9 -all")
    dns_server.zone.add("9.100.51.198.in-addr.arpa", "PTR", "o1.esp.example.")
    dns_server.zone.add("10.2.0.192.in-addr.arpa", "PTR", "mail.shop.example.")
    (tmp_path / "google.com!shop.example!1.xml").write_bytes(aggregate("shop.example", SHOP, org="google.com"))
    return tmp_path


def test_a_new_esp_without_alignment_is_named_with_the_fix(
    cli: Cli, dns_server: DnsResponder, shop_world: Path
) -> None:
    run = cli("reports", str(shop_world), "--resolver", dns_server.address, "--json")
    # Then the domain is not ready: 90 % of its own mail aligns, and the failing source is its ESP
    verdict = run.check("reports.domain", "shop.example")
    assert verdict["status"] == "warn" and verdict["summary"].startswith("not ready for p=quarantine: 90.0 %")
    assert "198.51.100.9 (o1.esp.example)" in verdict["summary"], verdict
    (esp,) = run.checks("reports.source")
    assert esp["target"] == "shop.example: 198.51.100.9 (o1.esp.example)", esp
    assert "the envelope sender's domain is bounce.esp.example" in esp["summary"], esp
    assert "mailcheck sender 198.51.100.9 --domain shop.example" in esp["summary"], esp
    # And the list and the spoofer are classed apart, not counted as the domain's own
    assert run.check("reports.forwarders", "shop.example")["summary"].startswith("forwarders and lists: 1 sources, 30")
    others = run.check("reports.others", "shop.example")["summary"]
    assert "1 sources, 25 messages" in others and "under p=none they were delivered" in others, others
    classes = verdict["details"]["classes"]
    assert {k: v["messages"] for k, v in classes.items()} == {
        "aligned": 900,
        "failing": 100,
        "forwarder": 30,
        "other": 25,
    }


def test_without_dns_the_esp_is_still_found_by_its_own_signals(cli: Cli, shop_world: Path) -> None:
    # SPF passes for bounce.esp.example, not the domain's organisation; without DNS the ESP is not known as
    # the domain's own: it is "other", and the verdict speaks of the mail it can attribute
    run = cli("reports", str(shop_world), "--no-dns", "--json")
    verdict = run.check("reports.domain", "shop.example")
    assert verdict["details"]["classes"]["failing"]["messages"] == 0, verdict
    assert verdict["summary"].startswith("ready for p=quarantine: 100.0 %"), verdict


def test_fail_under_is_a_ci_gate(cli: Cli, dns_server: DnsResponder, shop_world: Path) -> None:
    gate = cli("reports", str(shop_world), "--resolver", dns_server.address, "--fail-under", "95", "--json")
    assert gate.code == 1 and gate.check("reports.threshold")["status"] == "fail", gate.out
    passed = cli("reports", str(shop_world), "--resolver", dns_server.address, "--fail-under", "85", "--json")
    assert passed.code == 0 and not passed.checks("reports.threshold")


def test_since_leaves_older_reports_out(cli: Cli, tmp_path: Path) -> None:
    old = aggregate("shop.example", SHOP[:1], report_id="old", end=1700000000)  # 2023-11-14
    new = aggregate("shop.example", SHOP[3:], report_id="new", end=1796000000)  # 2026-11-29
    (tmp_path / "old.xml").write_bytes(old)
    (tmp_path / "new.xml").write_bytes(new)
    run = cli("reports", str(tmp_path), "--no-dns", "--since", "2026-01-01", "--json")
    assert "1 before --since left out" in run.check("reports.input", "reports")["summary"]
    assert run.check("reports.domain", "shop.example")["details"]["messages"] == 25
    bad = cli("reports", str(tmp_path), "--since", "yesterday")
    assert bad.code == 2 and "YYYY-MM-DD" in bad.err


def test_a_failure_report_with_the_original_headers(cli: Cli, tmp_path: Path) -> None:
    # an RFC 6591 §B.1-style authentication failure report, with the failed message's headers
    arf = (
        "From: dmarc@receiver.example\r\nTo: ruf@shop.example\r\nSubject: FW: invoice\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nA DMARC failure report.\r\n"
        "--b\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: auth-failure\r\nUser-Agent: Receiver/1.0\r\nVersion: 1\r\nAuth-Failure: dmarc\r\n"
        "Source-IP: 203.0.113.66\r\nReported-Domain: shop.example\r\n"
        "Authentication-Results: mx.receiver.example; dmarc=fail header.from=shop.example; spf=pass "
        "smtp.mailfrom=spam.example\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Received: from spam.example (spam.example [203.0.113.66]) by mx.receiver.example (Postfix) with ESMTP "
        "id 1; Mon, 23 Nov 2026 10:00:01 +0000\r\nFrom: billing@shop.example\r\nSubject: invoice\r\n\r\n"
        "--b--\r\n"
    )
    (tmp_path / "failure.eml").write_text(arf)
    run = cli("reports", str(tmp_path), "--no-dns", "--json")
    (failure,) = run.checks("reports.failure")
    assert "auth-failure (dmarc) for shop.example from 203.0.113.66" in failure["summary"], failure
    assert "dmarc=fail" in failure["summary"] and "came through 1 hops" in failure["summary"], failure


# --- hostile input: every attack is an input finding, the run goes on ---


def _read(tmp_path: Path, name: str, data: bytes) -> list[Document | Unreadable]:
    (tmp_path / name).write_bytes(data)
    return list(documents([str(tmp_path / name)]))


def test_external_entities_and_dtds_are_refused() -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback>&x;</feedback>'
    laughs = b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><feedback>&b;</feedback>'
    for data in (xxe, laughs):
        with pytest.raises(ReportError, match="refused"):
            parse_aggregate(data)


def test_a_zip_bomb_is_an_input_finding(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("r.xml", b"<feedback>" + b" " * (100 * 1024 * 1024))
    (found,) = _read(tmp_path, "bomb.zip", buffer.getvalue())
    assert isinstance(found, Unreadable) and "decompression bomb" in found.why, found


def test_a_gzip_bomb_is_an_input_finding(tmp_path: Path) -> None:
    (found,) = _read(tmp_path, "bomb.xml.gz", gzip.compress(b"<feedback>" + b"\0" * (80 * 1024 * 1024)))
    assert isinstance(found, Unreadable) and "decompression bomb" in found.why, found


def test_zip_member_paths_are_never_files(tmp_path: Path) -> None:
    # a member named to climb out of any folder: nothing is written, the name is only a label
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../../tmp/evil.xml", aggregate("shop.example", SHOP[:1]))
    (found,) = _read(tmp_path, "r.zip", buffer.getvalue())
    assert isinstance(found, Document) and found.origin.endswith("!../../../tmp/evil.xml")
    assert not Path("/tmp/evil.xml").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["r.zip"]


def test_too_many_zip_members(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(40):
            archive.writestr(f"{index}.xml", b"<feedback/>")
    (found,) = _read(tmp_path, "many.zip", buffer.getvalue())
    assert isinstance(found, Unreadable) and "a zip of 40 files" in found.why


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<feedback>\xff\xfe broken</feedback>", "XML"),
        (b"<html><body>not a report</body></html>", "not a DMARC aggregate report"),
        (b'{"policies": "no"}', "not an SMTP TLS report"),
        (b"{" * 100_000, "not readable JSON"),
    ],
)
def test_broken_documents_are_named_and_the_run_goes_on(cli: Cli, tmp_path: Path, data: bytes, words: str) -> None:
    (tmp_path / "broken.xml").write_bytes(data)
    (tmp_path / "good.xml").write_bytes(aggregate("shop.example", SHOP[:1]))
    run = cli("reports", str(tmp_path), "--no-dns", "--json")
    broken = run.check("reports.input", str(tmp_path / "broken.xml"))
    assert broken["status"] == "warn" and words in broken["summary"], broken
    assert run.check("reports.domain", "shop.example")["details"]["messages"] == 900
    assert "Traceback" not in run.err


def test_values_are_bounded() -> None:
    long = "a" * 100_000
    report = parse_aggregate(aggregate("shop.example", [{**SHOP[0], "envelope": long}], org=long))
    assert len(report.org) <= 255 and len(report.rows[0].envelope_from) <= 255


def test_a_record_with_a_bad_address_is_counted_not_fatal() -> None:
    rows = [{**SHOP[0], "ip": "not-an-ip"}, SHOP[3]]
    report = parse_aggregate(aggregate("shop.example", rows))
    assert report.skipped == 1 and [r.source_ip for r in report.rows] == ["203.0.113.66"]


def test_json_output_is_one_document(cli: Cli) -> None:
    run = cli("reports", str(FIXTURES / "rfc8460.json"), "--no-dns", "--json")
    assert json.loads(run.out)["command"] == "reports"
