"""`mailcheck spf`: record findings, include tree and lookup limits, and check_host() agreeing with pyspf."""

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.records.spf_record import MacroContext, expand, parse_spf
from tests.conftest import Cli


def spf(cli: Cli, dns: DnsResponder, domain: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli("spf", domain, "--resolver", dns.address, "--timeout", "2", "--json", *extra)


def test_healthy_record_with_an_include_tree(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("example.test", "v=spf1 mx include:_spf.example.test -all")
    dns_server.zone.txt("example.test", "google-site-verification=abc")
    dns_server.zone.add("example.test", "MX", "10 mx.example.test.")
    dns_server.zone.host("mx.example.test", "127.0.0.10")
    dns_server.zone.txt("_spf.example.test", "v=spf1 ip4:127.0.0.0/24 include:_net.example.test ~all")
    dns_server.zone.txt("_net.example.test", "v=spf1 ip6:::1 -all")
    run = spf(cli, dns_server, "example.test")
    assert run.code == 0, run.out
    assert run.check("spf.record")["details"]["record"] == "v=spf1 mx include:_spf.example.test -all"
    includes = run.checks("spf.include")
    assert [c["details"]["domain"] for c in includes] == ["_spf.example.test", "_net.example.test"]
    assert [c["details"]["depth"] for c in includes] == [1, 2]
    lookups = run.check("spf.lookups")
    assert lookups["details"]["dns_lookups"] == 3 and lookups["details"]["dns_lookups_counting_mx_hosts"] == 4
    assert "4 if MX host address lookups are counted too" in lookups["summary"]
    assert run.check("spf.policy")["summary"].startswith("-all")


def test_multi_string_txt_is_joined_without_spaces(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.add("split.test", "TXT", '"v=spf1 ip4:127.0.0.1" " -all"')
    run = spf(cli, dns_server, "split.test")
    assert run.check("spf.record")["details"]["record"] == "v=spf1 ip4:127.0.0.1 -all"


def test_long_record_over_255_octets_is_read_whole(cli: Cli, dns_server: DnsResponder) -> None:
    record = "v=spf1 " + " ".join(f"ip4:127.0.{i}.0/24" for i in range(40)) + " -all"
    dns_server.zone.txt("long.test", record)
    run = spf(cli, dns_server, "long.test")
    assert run.check("spf.record")["details"]["record"] == record


@pytest.mark.parametrize(
    ("record", "kind", "words"),
    [
        ("v=spf1 ip4:127.0.0.0/33 -all", "syntax", "column 8: CIDR length /33 is over 32"),
        ("v=spf1 ip6:::1/140 -all", "syntax", "over 128"),
        ("v=spf1 frobnicate:x.test -all", "syntax", "unknown mechanism 'frobnicate:x.test'"),
        ("v=spf1 exists:%{q}.x.test -all", "syntax", "unknown macro letter"),
        ("v=spf1 redirect=a.test redirect=b.test", "syntax", "appears more than once"),
    ],
)
def test_syntax_errors_name_their_position(
    cli: Cli, dns_server: DnsResponder, record: str, kind: str, words: str
) -> None:
    dns_server.zone.txt("bad.test", record)
    run = spf(cli, dns_server, "bad.test")
    check = run.check("spf.record")
    assert check["status"] == "fail" and check["error"]["kind"] == kind
    assert words in check["summary"]
    assert run.code == 1


def test_no_record_and_two_records(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("none.test", "unrelated")
    assert spf(cli, dns_server, "none.test").check("spf.record")["error"]["kind"] == "not-found"
    dns_server.zone.txt("two.test", "v=spf1 -all").txt("two.test", "v=spf1 ~all")
    two = spf(cli, dns_server, "two.test").check("spf.record")
    assert two["error"]["kind"] == "multiple-records" and "2 SPF records" in two["summary"]


def test_include_loop_and_include_without_record(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("loop.test", "v=spf1 include:a.loop.test -all")
    dns_server.zone.txt("a.loop.test", "v=spf1 include:loop.test -all")
    run = spf(cli, dns_server, "loop.test")
    assert any(c["error"] and c["error"]["kind"] == "loop" for c in run.checks("spf.include"))
    dns_server.zone.txt("dangling.test", "v=spf1 include:gone.test -all")
    dangling = spf(cli, dns_server, "dangling.test")
    include = dangling.check("spf.include")
    assert include["error"]["kind"] == "permerror" and "does not exist" in include["summary"]


def test_over_ten_lookups_fails(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("big.test", "v=spf1 " + " ".join(f"include:i{i}.big.test" for i in range(6)) + " -all")
    for i in range(6):
        dns_server.zone.txt(f"i{i}.big.test", f"v=spf1 a:h{i}.big.test ip4:127.0.0.{i} -all")
        dns_server.zone.host(f"h{i}.big.test", f"127.0.1.{i}")
    run = spf(cli, dns_server, "big.test")
    lookups = run.check("spf.lookups")
    assert lookups["details"]["dns_lookups"] == 12
    assert lookups["status"] == "fail" and lookups["error"]["kind"] == "too-many-lookups"


def test_void_lookups_over_two_fail(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("void.test", "v=spf1 a:x.void.test a:y.void.test a:z.void.test -all")
    lookups = spf(cli, dns_server, "void.test").check("spf.lookups")
    assert lookups["error"]["kind"] == "too-many-void-lookups"


@pytest.mark.parametrize(
    ("record", "status", "words"),
    [
        ("v=spf1 +all", "fail", "+all lets every host"),
        ("v=spf1 ip4:127.0.0.1 ?all", "warn", "?all"),
        ("v=spf1 ip4:127.0.0.1", "warn", "no 'all' and no 'redirect'"),
        ("v=spf1 ptr -all", "warn", "deprecated"),
    ],
)
def test_policy_findings(cli: Cli, dns_server: DnsResponder, record: str, status: str, words: str) -> None:
    dns_server.zone.txt("policy.test", record)
    checks = spf(cli, dns_server, "policy.test").checks("spf.policy")
    assert any(c["status"] == status and words in c["summary"] for c in checks), checks


def test_redirect_with_all_is_noted(cli: Cli, dns_server: DnsResponder) -> None:
    dns_server.zone.txt("redir.test", "v=spf1 redirect=other.test -all")
    dns_server.zone.txt("other.test", "v=spf1 -all")
    checks = spf(cli, dns_server, "redir.test").checks("spf.policy")
    assert any("ignored because the record has 'all'" in c["summary"] for c in checks)


# check_host(): a table of (record set, IP, expected result); mailcheck's own evaluation and pyspf must agree.
ZONE = {
    "t.test": "v=spf1 ip4:127.0.0.0/30 a:web.t.test mx include:inc.t.test exists:%{i}.ok.t.test ~all",
    "inc.t.test": "v=spf1 ip6:::1/128 ip4:127.0.5.0/24 -all",
    "red.test": "v=spf1 redirect=t.test",
    "strict.test": "v=spf1 ip4:127.0.0.1 -all",
    "neutral.test": "v=spf1 ip4:127.0.0.1",
    "perm.test": "v=spf1 include:nope.test -all",
    "bad.test": "v=spf1 ip4:300.0.0.1 -all",
    "mx6.test": "v=spf1 mx/24 -all",
}


@pytest.fixture
def spf_zone(dns_server: DnsResponder) -> DnsResponder:
    for name, record in ZONE.items():
        dns_server.zone.txt(name, record)
    dns_server.zone.host("web.t.test", "127.0.2.9")
    dns_server.zone.add("t.test", "MX", "10 mx.t.test.")
    dns_server.zone.host("mx.t.test", "127.0.3.3")
    dns_server.zone.add("127.0.4.4.ok.t.test", "A", "127.0.0.2")
    dns_server.zone.add("mx6.test", "MX", "10 mx.mx6.test.")
    dns_server.zone.host("mx.mx6.test", "127.0.7.1")
    return dns_server


@pytest.mark.parametrize(
    ("domain", "ip", "expected"),
    [
        ("t.test", "127.0.0.2", "pass"),  # ip4 range
        ("t.test", "127.0.2.9", "pass"),  # a:
        ("t.test", "127.0.3.3", "pass"),  # mx
        ("t.test", "127.0.5.77", "pass"),  # include
        ("t.test", "::1", "pass"),  # include ip6
        ("t.test", "127.0.4.4", "pass"),  # exists with %{i}
        ("t.test", "127.0.9.9", "softfail"),
        ("red.test", "127.0.0.1", "pass"),  # redirect
        ("red.test", "127.0.9.9", "softfail"),
        ("strict.test", "127.0.0.2", "fail"),
        ("neutral.test", "127.0.0.2", "neutral"),
        ("perm.test", "127.0.0.1", "permerror"),
        ("bad.test", "127.0.0.1", "permerror"),
        ("missing.test", "127.0.0.1", "none"),
        ("mx6.test", "127.0.7.200", "pass"),  # mx with /24
        ("mx6.test", "127.0.8.1", "fail"),
    ],
)
def test_check_host_agrees_with_pyspf(cli: Cli, spf_zone: DnsResponder, domain: str, ip: str, expected: str) -> None:
    run = spf(cli, spf_zone, domain, "--ip", ip, "--sender", f"user@{domain}")
    check = run.check("spf.check_host")
    assert check["details"]["pyspf"]["result"] == expected
    assert check["details"]["mailcheck"]["result"] == expected
    assert "readings differ" not in check["summary"]


def test_bad_ip_option_is_a_usage_error(cli: Cli, dns_server: DnsResponder) -> None:
    run = cli("spf", "t.test", "--ip", "not-an-ip", "--resolver", dns_server.address)
    assert run.code == 2 and "is not an IP address" in run.err


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("%{s}", "strong-bad@email.example.com"),
        ("%{o}", "email.example.com"),
        ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"),
        ("%{d3}", "email.example.com"),
        ("%{d2}", "example.com"),
        ("%{d1}", "com"),
        ("%{dr}", "com.example.email"),
        ("%{d2r}", "example.email"),
        ("%{l}", "strong-bad"),
        ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"),
        ("%{lr-}", "bad.strong"),
        ("%{l1r-}", "strong"),
        ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
    ],
)
def test_macro_expansion_matches_rfc_7208_examples(spec: str, expected: str) -> None:
    # RFC 7208 §7.4 examples: sender strong-bad@email.example.com, IP 192.0.2.3
    import ipaddress

    ctx = MacroContext(ipaddress.ip_address("192.0.2.3"), "strong-bad@email.example.com", "email.example.com", "h")
    assert expand(spec, ctx) == expected


def test_ipv6_macro_expansion_is_nibbles() -> None:
    import ipaddress

    ctx = MacroContext(ipaddress.ip_address("2001:db8::cb01"), "s@example.com", "example.com", "h")
    assert expand("%{ir}.%{v}._spf.%{d2}", ctx) == (
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    )


def test_parser_never_raises_on_garbage() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.text(max_size=300))
    def check(text: str) -> None:
        parse_spf("v=spf1 " + text)

    check()


def test_cname_loop_and_huge_txt_are_findings_not_crashes(cli: Cli, dns_server: DnsResponder) -> None:
    # Given a name whose CNAME chain loops, and a 5000-character TXT record of junk
    dns_server.zone.add("loop.test", "CNAME", "a.loop.test.")
    dns_server.zone.add("a.loop.test", "CNAME", "loop.test.")
    dns_server.zone.txt("huge.test", "v=spf1 " + "x" * 5000)
    # Then each is a clear finding with a normal exit code
    looped = spf(cli, dns_server, "loop.test")
    record = looped.check("spf.record")
    assert record["status"] == "fail" and record["error"]["kind"] == "cname-loop"
    assert looped.code == 1
    huge = spf(cli, dns_server, "huge.test")
    assert huge.check("spf.record")["error"]["kind"] == "syntax" and huge.code == 1
    dns_server.zone.add("x._domainkey.keys.test", "CNAME", "y._domainkey.keys.test.")
    dns_server.zone.add("y._domainkey.keys.test", "CNAME", "x._domainkey.keys.test.")
    dkim_loop = cli("dkim", "keys.test", "-s", "x", "--resolver", dns_server.address, "--json")
    assert dkim_loop.check("dkim.key")["error"]["kind"] == "cname-loop"
