"""`mailcheck mx` against zones served by the lab DNS responder: one test per case and fault."""

import socket
import time

import pytest

from mailcheck.lab.dns import DnsResponder
from tests.conftest import Cli


def healthy(dns: DnsResponder) -> None:
    """example.test: two MX hosts on loopback addresses with forward-confirmed reverse DNS."""
    dns.zone.add("example.test", "MX", "20 mx2.example.test.", "10 mx1.example.test.")
    dns.zone.host("mx1.example.test", "127.0.0.10", "::1")
    dns.zone.host("mx2.example.test", "127.0.0.11")


def mx(cli: Cli, dns: DnsResponder, *args: str):  # type: ignore[no-untyped-def]
    return cli("mx", *args, "--resolver", dns.address, "--timeout", "2", "--json")


def test_healthy_domain_lists_mx_in_preference_order_and_passes(cli: Cli, dns_server: DnsResponder) -> None:
    # Given a domain with two MX hosts that resolve and have forward-confirmed PTRs
    healthy(dns_server)
    # When mailcheck mx runs with private addresses expected (the lab is on loopback)
    run = mx(cli, dns_server, "example.test", "--allow-private")
    # Then every check passes, MX are in preference order, and both families are reported
    assert run.code == 0, run.out
    doc = run.json()
    assert doc["schema"] == 1 and doc["command"] == "mx" and doc["target"] == "example.test"
    assert doc["status"] == "pass"
    records = run.check("mx.records")
    assert [m["exchange"] for m in records["details"]["mx"]] == ["mx1.example.test", "mx2.example.test"]
    host = run.check("mx.host", "mx1.example.test")
    assert host["details"]["ipv4"] == ["127.0.0.10"] and host["details"]["ipv6"] == ["::1"]
    ptr = run.check("mx.ptr", "mx1.example.test (127.0.0.10)")
    assert ptr["status"] == "pass" and ptr["details"]["forward_confirmed"] == ["mx1.example.test"]
    assert all(isinstance(c["duration_ms"], int) for c in doc["checks"])


def test_private_addresses_are_noted_unless_expected(cli: Cli, dns_server: DnsResponder) -> None:
    healthy(dns_server)
    run = mx(cli, dns_server, "example.test")
    host = run.check("mx.host", "mx2.example.test")
    assert host["status"] == "warn"
    assert host["details"]["reserved"] == ["127.0.0.11"]
    assert "not reachable from the Internet" in host["summary"]
    assert run.code == 0  # warn is below the default --fail-on
    assert mx(cli, dns_server, "example.test", "--fail-on", "warn").code == 1


def test_null_mx_means_the_domain_accepts_no_mail(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("nomail.test", "MX", "0 .")
    run = mx(cli, dns_server, "nomail.test")
    records = run.check("mx.records")
    assert records["status"] == "info"
    assert "accepts no mail (null MX, RFC 7505)" in records["summary"]
    assert run.checks("mx.host") == []
    assert run.code == 0


def test_null_mx_beside_other_mx_fails(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("mixed.test", "MX", "0 .", "10 mx.mixed.test.")
    dns_server.zone.host("mx.mixed.test", "127.0.0.20")
    run = mx(cli, dns_server, "mixed.test", "--allow-private")
    assert run.check("mx.records")["status"] == "fail"
    assert "RFC 7505" in run.check("mx.records")["summary"]
    assert run.code == 1


def test_no_mx_falls_back_to_implicit_mx_on_the_domain_address(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.host("implicit.test", "127.0.0.30")
    run = mx(cli, dns_server, "implicit.test", "--allow-private")
    records = run.check("mx.records")
    assert records["status"] == "warn" and records["details"]["implicit_mx"] is True
    assert "implicit MX" in records["summary"]
    host = run.check("mx.host", "implicit.test")
    assert host["details"]["implicit"] is True and host["details"]["ipv4"] == ["127.0.0.30"]


def test_no_mx_and_no_address_cannot_receive_mail(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("bare.test", "just text")
    run = mx(cli, dns_server, "bare.test")
    records = run.check("mx.records")
    assert records["status"] == "fail"
    assert records["error"] == {"stage": "dns", "kind": "nodata", "message": "bare.test has no MX, A or AAAA records"}
    assert run.code == 1


def test_nonexistent_domain_is_nxdomain(cli: Cli, dns_server: DnsResponder) -> None:
    run = mx(cli, dns_server, "missing.test")
    records = run.check("mx.records")
    assert records["status"] == "fail" and records["error"]["kind"] == "nxdomain"
    assert run.code == 1


def test_mx_pointing_at_a_cname_is_flagged(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("alias.test", "MX", "10 mail.alias.test.")
    dns_server.zone.add("mail.alias.test", "CNAME", "real.alias.test.")
    dns_server.zone.host("real.alias.test", "127.0.0.40")
    run = mx(cli, dns_server, "alias.test", "--allow-private")
    host = run.check("mx.host", "mail.alias.test")
    assert host["status"] == "warn"
    assert host["details"]["cname"] == "real.alias.test"
    assert "RFC 2181 §10.3" in host["summary"]


def test_mx_pointing_at_an_ip_literal_fails_without_resolving_it(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("literal.test", "MX", "10 127.0.0.1.")
    run = mx(cli, dns_server, "literal.test")
    host = run.check("mx.host", "127.0.0.1")
    assert host["status"] == "fail" and "is an IP address" in host["summary"]
    assert ("127.0.0.1", "A") not in dns_server.queries


@pytest.mark.parametrize(
    ("zone_setup", "kind"),
    [
        (lambda z: None, "nxdomain"),
        (lambda z: z.txt("gone.broken.test", "no address here"), "nodata"),
    ],
)
def test_mx_host_that_does_not_resolve_is_a_dns_fail(cli: Cli, dns_server: DnsResponder, zone_setup, kind) -> None:  # type: ignore[no-untyped-def]
    dns_server.zone.add("broken.test", "MX", "10 gone.broken.test.")
    zone_setup(dns_server.zone)
    run = mx(cli, dns_server, "broken.test")
    host = run.check("mx.host", "gone.broken.test")
    assert host["status"] == "fail"
    assert host["stage"] == "dns" and host["error"]["kind"] == kind
    assert run.code == 1


def test_shared_preferences_are_noted(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("shared.test", "MX", "10 a.shared.test.", "10 b.shared.test.")
    dns_server.zone.host("a.shared.test", "127.0.0.50").host("b.shared.test", "127.0.0.51")
    run = mx(cli, dns_server, "shared.test", "--allow-private")
    note = run.check("mx.preferences")
    assert note["status"] == "info" and note["details"]["shared"] == {"10": ["a.shared.test", "b.shared.test"]}
    assert run.code == 0


def test_missing_and_unconfirmed_reverse_dns_warn(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("rdns.test", "MX", "10 a.rdns.test.", "20 b.rdns.test.")
    dns_server.zone.host("a.rdns.test", "127.0.0.60", ptr=False)
    dns_server.zone.host("b.rdns.test", "127.0.0.61", ptr=False)
    dns_server.zone.add("61.0.0.127.in-addr.arpa", "PTR", "elsewhere.rdns.test.")
    dns_server.zone.host("elsewhere.rdns.test", "127.0.0.99", ptr=False)
    run = mx(cli, dns_server, "rdns.test", "--allow-private")
    missing = run.check("mx.ptr", "a.rdns.test (127.0.0.60)")
    assert missing["status"] == "warn" and "no PTR record" in missing["summary"]
    unconfirmed = run.check("mx.ptr", "b.rdns.test (127.0.0.61)")
    assert unconfirmed["status"] == "warn" and "not forward-confirmed" in unconfirmed["summary"]
    assert unconfirmed["details"]["ptr"] == ["elsewhere.rdns.test"]


def test_servfail_for_the_domain_is_an_error_and_exit_3(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.fault("sick.test", "servfail")
    run = mx(cli, dns_server, "sick.test")
    records = run.check("mx.records")
    assert records["status"] == "error"
    assert records["error"]["stage"] == "dns" and records["error"]["kind"] == "servfail"
    assert run.code == 3


def test_servfail_for_one_host_is_an_error_for_that_host_only(cli: Cli, dns_server: DnsResponder) -> None:
    healthy(dns_server)
    dns_server.fault("mx2.example.test", "servfail")
    run = mx(cli, dns_server, "example.test", "--allow-private")
    assert run.check("mx.host", "mx1.example.test")["status"] == "pass"
    failed = run.check("mx.host", "mx2.example.test")
    assert failed["status"] == "error" and failed["error"]["kind"] == "servfail"
    assert run.code == 3  # inconclusive: nothing failed, one host could not be checked


def test_refused_answer_is_told_apart(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.fault("*", "refused")
    run = mx(cli, dns_server, "example.test")
    assert run.check("mx.records")["error"]["kind"] == "refused"
    assert run.code == 3


def test_resolver_that_never_answers_ends_within_the_timeout(cli: Cli, dns_server: DnsResponder) -> None:
    # Given a resolver that drops every query
    dns_server.fault("*", "drop")
    # When mailcheck asks it with a 1 second timeout
    start = time.monotonic()
    run = cli("mx", "example.test", "--resolver", dns_server.address, "--timeout", "1", "--json")
    elapsed = time.monotonic() - start
    # Then it gives up with status error, kind timeout, exit 3, and does not run far past the bound
    records = run.check("mx.records")
    assert records["status"] == "error" and records["error"]["kind"] == "timeout"
    assert run.code == 3
    assert elapsed < 5


def test_slow_answers_within_the_timeout_still_count(cli: Cli, dns_server: DnsResponder) -> None:
    healthy(dns_server)
    dns_server.fault("example.test", "slow", delay=0.3)
    run = mx(cli, dns_server, "example.test", "--allow-private")
    assert run.check("mx.records")["status"] == "pass"


def test_truncated_udp_answer_is_retried_over_tcp(cli: Cli, dns_server: DnsResponder) -> None:
    healthy(dns_server)
    dns_server.fault("example.test", "truncate")
    run = mx(cli, dns_server, "example.test", "--allow-private")
    assert run.check("mx.records")["status"] == "pass"


def test_resolver_that_is_down_gives_exit_3(cli: Cli) -> None:
    # Given a loopback port where nothing listens
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = cli("mx", "example.test", "--resolver", f"127.0.0.1:{port}", "--timeout", "1", "--json")
    records = run.check("mx.records")
    assert records["status"] == "error" and records["error"]["kind"] in ("unreachable", "timeout")
    assert run.code == 3


def test_idn_domain_is_asked_for_as_its_a_label(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("xn--bcher-kva.example", "MX", "10 mx.xn--bcher-kva.example.")
    dns_server.zone.host("mx.xn--bcher-kva.example", "127.0.0.70")
    run = mx(cli, dns_server, "bücher.example", "--allow-private")
    assert run.json()["target"] == "xn--bcher-kva.example"
    assert ("xn--bcher-kva.example", "MX") in dns_server.queries
    assert run.code == 0


def test_resolver_from_environment(cli: Cli, dns_server: DnsResponder) -> None:
    healthy(dns_server)
    run = cli("mx", "example.test", "--json", "--allow-private", env={"MAILCHECK_RESOLVER": dns_server.address})
    assert run.code == 0
    assert ("example.test", "MX") in dns_server.queries


def test_table_output_shows_each_check_and_a_summary(cli: Cli, dns_server: DnsResponder) -> None:
    healthy(dns_server)
    dns_server.fault("mx2.example.test", "servfail")
    run = cli("mx", "example.test", "--resolver", dns_server.address, "--allow-private", "--format", "table")
    assert run.code == 3
    assert "mailcheck mx example.test" in run.out
    assert "mx.host" in run.out and "mx2.example.test" in run.out and "servfail" in run.out
    assert "result: ERROR" in run.out


def test_report_output_opens_with_the_verdict_and_details_the_error(cli: Cli, dns_server: DnsResponder) -> None:
    healthy(dns_server)
    dns_server.fault("mx2.example.test", "servfail")
    run = cli("mx", "example.test", "--resolver", dns_server.address, "--allow-private")
    lines = run.out.splitlines()
    assert lines[0].startswith("ERROR: 1 not checked") and lines[1] == "mailcheck mx example.test"
    assert "DNS and MX" in run.out and "SERVFAIL" in run.out and "mx2.example.test" in run.out


def test_junit_output_marks_failures(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("broken.test", "MX", "10 gone.broken.test.")
    run = cli("mx", "broken.test", "--resolver", dns_server.address, "--format", "junit")
    assert run.code == 1
    assert run.out.startswith("<?xml")
    assert '<failure message="MX 10 host gone.broken.test does not exist (NXDOMAIN)' in run.out


def test_verbose_prints_the_dns_transcript_to_stderr(cli: Cli, dns_server: DnsResponder) -> None:
    healthy(dns_server)
    run = cli("mx", "example.test", "--resolver", dns_server.address, "--json", "-v", "--allow-private")
    assert "-> DNS MX example.test?" in run.err
    answer = next(line for line in run.err.splitlines() if line.startswith("<- DNS MX example.test:"))
    assert "10 mx1.example.test." in answer and "20 mx2.example.test." in answer
    assert run.json()["status"] == "pass"  # stdout stays one JSON document
