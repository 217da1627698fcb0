"""`mailcheck dmarc`: discovery by tree walk, policy, tags, report authorisation, organizational domain."""

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.records.dmarc_record import parse_dmarc, tree_walk_names
from tests.conftest import Cli


def dmarc(cli: Cli, dns: DnsResponder, domain: str):  # type: ignore[no-untyped-def]
    return cli("dmarc", domain, "--resolver", dns.address, "--timeout", "2", "--json")


def test_strong_policy_with_authorised_external_reports_passes(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt(
        "_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:agg@example.com,mailto:d@reports.example.net"
    )
    dns_server.zone.txt("example.com._report._dmarc.reports.example.net", "v=DMARC1")
    run = dmarc(cli, dns_server, "example.com")
    assert run.code == 0, run.out
    assert run.check("dmarc.record")["details"]["record"].startswith("v=DMARC1; p=reject")
    assert run.check("dmarc.policy")["details"]["applies"] == "reject"
    authorised = run.check("dmarc.reports", "example.com._report._dmarc.reports.example.net")
    assert authorised["status"] == "pass"


def test_p_none_and_missing_rua_warn(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("_dmarc.example.com", "v=DMARC1; p=none")
    run = dmarc(cli, dns_server, "example.com")
    assert run.check("dmarc.policy")["status"] == "warn" and "monitoring only" in run.check("dmarc.policy")["summary"]
    assert "no rua=" in run.checks("dmarc.reports")[0]["summary"]
    assert run.code == 0


def test_unauthorised_external_destination_warns(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("_dmarc.example.com", "v=DMARC1; p=quarantine; rua=mailto:x@collector.example.org")
    run = dmarc(cli, dns_server, "example.com")
    check = run.check("dmarc.reports", "example.com._report._dmarc.collector.example.org")
    assert check["status"] == "warn" and check["error"]["kind"] == "unauthorised-destination"


def test_subdomain_inherits_through_the_tree_walk(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:a@example.com")
    run = dmarc(cli, dns_server, "a.b.mail.example.com")
    record = run.check("dmarc.record")
    assert record["details"]["found_at"] == "_dmarc.example.com"
    assert record["details"]["tree_walk"] == [
        "a.b.mail.example.com",
        "b.mail.example.com",
        "mail.example.com",
        "example.com",
        "com",
    ]
    assert run.check("dmarc.policy")["details"]["applies"] == "quarantine"
    assert run.check("dmarc.org_domain")["details"]["tree_walk"] == "example.com"


def test_no_record_anywhere_fails(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("example.com", "v=spf1 -all")
    run = dmarc(cli, dns_server, "example.com")
    assert run.check("dmarc.record")["error"]["kind"] == "not-found"
    assert run.code == 1


def test_two_records_fail(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("_dmarc.example.com", "v=DMARC1; p=reject").txt("_dmarc.example.com", "v=DMARC1; p=none")
    run = dmarc(cli, dns_server, "example.com")
    assert run.check("dmarc.record")["error"]["kind"] == "multiple-records"


def test_invalid_values_say_what_receivers_use_and_removed_tags_are_noted(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("_dmarc.example.com", "v=DMARC1; p=rejekt; adkim=x; pct=50; rua=mailto:a@example.com; foo=bar")
    run = dmarc(cli, dns_server, "example.com")
    summaries = [c["summary"] for c in run.checks("dmarc.tags")]
    assert "p='rejekt' is not one of none, quarantine, reject; receivers use none" in summaries
    assert "adkim='x' is not one of r, s; receivers use r" in summaries
    assert any("pct= was removed by RFC 9989" in s for s in summaries)
    assert "unknown tags ignored: foo" in summaries
    assert run.check("dmarc.policy")["details"]["p"] == "none"


def test_testing_mode_warns(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("_dmarc.example.com", "v=DMARC1; p=reject; t=y; rua=mailto:a@example.com")
    assert "t=y" in dmarc(cli, dns_server, "example.com").check("dmarc.policy")["summary"]


def test_psd_tag_sets_the_organizational_domain(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("_dmarc.example.com", "v=DMARC1; p=reject; psd=y")
    dns_server.zone.txt("_dmarc.shop.example.com", "v=DMARC1; p=none")
    run = dmarc(cli, dns_server, "www.shop.example.com")
    org = run.check("dmarc.org_domain")["details"]
    assert org["tree_walk"] == "shop.example.com"
    assert org["public_suffix_list"] == "example.com"


def test_lookup_failure_is_an_error(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.fault("_dmarc.example.com", "servfail")
    run = dmarc(cli, dns_server, "example.com")
    assert run.check("dmarc.record")["status"] == "error"


@pytest.mark.parametrize(
    ("domain", "count"),
    [("example.com", 2), ("a.b.c.d.e.f.g.h.example.com", 8), ("com", 1)],
)
def test_tree_walk_asks_at_most_eight_names(domain: str, count: int) -> None:
    names = tree_walk_names(domain)
    assert len(names) == count and names[0] == domain and names[-1] == domain.rsplit(".", 1)[-1]


def test_garbage_record_never_raises() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.text(max_size=300))
    def check(text: str) -> None:
        parse_dmarc("v=DMARC1; " + text)

    check()
