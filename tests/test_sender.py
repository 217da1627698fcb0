"""`mailcheck sender` and the DNS blocklists (RFC 5782), against lab lists on the loopback DNS responder:
an IP list, a domain list, a list that refuses queries (127.255.255.254), a dead list and a silent one."""

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.smtp import SmtpBehaviour
from mailcheck.records.dnsbl import DEFAULT_IP_LISTS, interpret, query_name
from tests.conftest import Cli, SmtpLab

GOOD_IP, LISTED_IP = "203.0.113.10", "203.0.113.66"


def blocklists(zone: DnsResponder) -> None:
    z = zone.zone
    # an IP list with its RFC 5782 test point, and one listing
    z.add("2.0.0.127.bl.lab.test", "A", "127.0.0.2")
    z.txt("2.0.0.127.bl.lab.test", "test point")
    z.add("66.113.0.203.bl.lab.test", "A", "127.0.0.2")
    z.txt("66.113.0.203.bl.lab.test", "Listed for spam-trap hits, see https://bl.lab.test/203.0.113.66")
    z.add("ns.bl.lab.test", "A", "127.0.0.1")
    # a domain list
    z.add("test.dbl.lab.test", "A", "127.0.1.2")
    z.add("spammy.test.dbl.lab.test", "A", "127.0.1.2")
    z.add("ns.dbl.lab.test", "A", "127.0.0.1")
    # a list that refuses this resolver, as large lists do public resolvers
    for code, zone_name in (("254", "refusing"), ("252", "refusing252"), ("255", "refusing255")):
        for name in ("2.0.0.127", "1.0.0.127", "10.113.0.203", "66.113.0.203"):
            z.add(f"{name}.{zone_name}.lab.test", "A", f"127.255.255.{code}")
    # a list whose servers answer REFUSED
    for name in ("2.0.0.127", "1.0.0.127", "10.113.0.203"):
        zone.fault(f"{name}.rcode-refused.lab.test", "refused")
    # a dead list (the zone answers nothing) and a silent one
    z.add("ns.dead.lab.test", "A", "127.0.0.1")
    for name in ("2.0.0.127", "1.0.0.127", "10.113.0.203"):
        zone.fault(f"{name}.silent.lab.test", "drop")


def world(zone: DnsResponder) -> None:
    z = zone.zone
    z.host("mail.sender.test", GOOD_IP)
    z.host("dirty.sender.test", LISTED_IP)
    z.txt("sender.test", f"v=spf1 ip4:{GOOD_IP} ip4:{LISTED_IP} -all")
    z.txt("_dmarc.sender.test", "v=DMARC1; p=reject")
    z.add("77.113.0.203.in-addr.arpa", "PTR", "unconfirmed.sender.test.")
    z.txt("spammy.test", "v=spf1 -all")
    blocklists(zone)


def sender(cli: Cli, dns: DnsResponder, ip: str, domain: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli(
        "sender", ip, "--domain", domain, "--resolver", dns.address, "--timeout", "1", "--allow-private",
        "--json", *extra,
    )  # fmt: skip


def test_a_clean_sender_passes_every_line(cli: Cli, dns_server: DnsResponder) -> None:
    world(dns_server)
    run = sender(cli, dns_server, GOOD_IP, "sender.test", "--helo", "mail.sender.test",
                 "--blocklist", "bl.lab.test", "--domain-blocklist", "dbl.lab.test")  # fmt: skip
    assert run.code == 0, run.out
    assert run.check("sender.ptr")["details"]["forward_confirmed"] == ["mail.sender.test"]
    assert run.check("sender.helo")["status"] == "pass"
    assert run.check("sender.spf")["status"] == "pass" and "Microsoft (May 2025)" in run.check("sender.spf")["summary"]
    assert run.check("sender.dmarc")["status"] == "pass"
    assert run.check("blocklist.ip")["status"] == "pass"
    assert {c["target"] for c in run.checks("blocklist.domain")} == {
        "sender.test on dbl.lab.test",
        "mail.sender.test on dbl.lab.test",
    }


def test_a_listed_address_fails_with_the_lists_reason(cli: Cli, dns_server: DnsResponder) -> None:
    world(dns_server)
    run = sender(cli, dns_server, LISTED_IP, "sender.test", "--blocklist", "bl.lab.test",
                 "--domain-blocklist", "dbl.lab.test")  # fmt: skip
    listed = run.check("blocklist.ip")
    assert listed["status"] == "fail" and listed["error"]["kind"] == "listed"
    assert "spam-trap hits" in listed["summary"] and listed["details"]["codes"] == ["127.0.0.2"]
    assert run.code == 1


def test_a_listed_domain_and_a_missing_ptr(cli: Cli, dns_server: DnsResponder) -> None:
    world(dns_server)
    run = sender(cli, dns_server, "203.0.113.99", "spammy.test", "--blocklist", "bl.lab.test",
                 "--domain-blocklist", "dbl.lab.test")  # fmt: skip
    assert run.check("blocklist.domain", "spammy.test on dbl.lab.test")["status"] == "fail"
    assert run.check("sender.ptr")["error"]["kind"] == "no-ptr"
    assert run.check("sender.spf")["details"]["result"] == "fail"
    assert run.check("sender.dmarc")["error"]["kind"] == "not-found"


def test_reverse_dns_that_does_not_resolve_back_fails(cli: Cli, dns_server: DnsResponder) -> None:
    world(dns_server)
    run = sender(cli, dns_server, "203.0.113.77", "sender.test", "--blocklist", "bl.lab.test",
                 "--domain-blocklist", "dbl.lab.test")  # fmt: skip
    assert run.check("sender.ptr")["error"]["kind"] == "ptr-mismatch"


@pytest.mark.parametrize(
    ("zone", "kind"),
    [
        ("refusing.lab.test", "list-refused"),
        ("refusing252.lab.test", "list-refused"),
        ("refusing255.lab.test", "list-refused"),
        ("rcode-refused.lab.test", "list-refused"),
        ("dead.lab.test", "list-unusable"),
        ("silent.lab.test", "timeout"),
    ],
)
def test_lists_that_cannot_answer_are_never_a_listing_or_a_pass(
    cli: Cli, dns_server: DnsResponder, zone: str, kind: str
) -> None:
    world(dns_server)
    run = sender(cli, dns_server, GOOD_IP, "sender.test", "--blocklist", zone, "--domain-blocklist", "dbl.lab.test")
    check = run.check("blocklist.ip")
    assert check["status"] == "error" and check["error"]["kind"] == kind, check
    if kind == "list-refused":
        assert "--resolver" in check["summary"] and "not at fault" in check["summary"]
        # a resolver the lists refuse makes the run inconclusive (3), never failed (1), when nothing else fails
        assert run.code == 3, run.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sender", "not-an-ip", "--domain", "example.com"], "is not an IP address"),
        (["sender", "10.0.0.1", "--domain", "example.com"], "--allow-private"),
        (["sender", "203.0.113.1", "--domain", "bad..domain"], "empty label"),
    ],
)
def test_bad_input_is_a_usage_error(cli: Cli, args: list[str], message: str) -> None:
    run = cli(*args)
    assert run.code == 2 and message in run.err


def test_query_names_follow_rfc_5782() -> None:
    assert query_name("192.0.2.99", "bl.example") == "99.2.0.192.bl.example"
    assert query_name("2001:db8:1:2:3:4:567:89ab", "bl.example") == (
        "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example"
    )
    assert query_name("Example.COM", "dbl.example") == "example.com.dbl.example"
    zen = DEFAULT_IP_LISTS[0]
    assert interpret(zen, ["127.255.255.254"]).state == "refused"
    assert interpret(zen, ["127.0.0.10"]).meanings[0].startswith("PBL")
    assert interpret(zen, ["10.0.0.1"]).state == "refused"  # outside 127/8: no listing
    assert interpret(zen, []).state == "clean"


@pytest.mark.parametrize("open_relay", [True, False], ids=["open-relay", "refuses"])
def test_relay_test(cli: Cli, smtp_lab: SmtpLab, open_relay: bool) -> None:
    # Given a server that relays for anyone, or one that refuses (554 5.7.1 Relay access denied)
    behaviour = SmtpBehaviour(hostname="mx.lab.test", open_relay=open_relay)
    server = smtp_lab.start(behaviour)
    run = cli(*smtp_lab.args(server), "--relay-test", "--json")
    relay = run.check("smtp.relay")
    if open_relay:
        assert relay["status"] == "fail" and relay["error"]["kind"] == "open-relay" and run.code == 1
    else:
        assert relay["status"] == "pass" and "554 5.7.1" in relay["summary"] and run.code == 0
    # inside TLS, never DATA, always RSET and QUIT
    assert behaviour.verbs.index("STARTTLS") < behaviour.verbs.index("MAIL")
    assert "DATA" not in behaviour.verbs and behaviour.verbs[-2:] == ["RSET", "QUIT"]


def test_domain_checks_each_public_mx_address_on_the_ip_lists(cli: Cli, dns_server: DnsResponder) -> None:
    # Given a domain whose MX has a public address, listed on the lab list (nothing is connected to:
    # only the mx and blocklist parts run, both DNS)
    world(dns_server)
    dns_server.zone.add("public.test", "MX", "10 mx.public.test.")
    dns_server.zone.host("mx.public.test", "44.1.2.3")
    dns_server.zone.add("3.2.1.44.bl.lab.test", "A", "127.0.0.4")
    run = cli("domain", "public.test", "--only", "mx,blocklist", "--blocklist", "bl.lab.test",
              "--resolver", dns_server.address, "--timeout", "1", "--json")  # fmt: skip
    listed = run.check("blocklist.ip")
    assert listed["target"] == "44.1.2.3 on bl.lab.test" and listed["error"]["kind"] == "listed"
    skipped = cli("domain", "public.test", "--only", "mx", "--resolver", dns_server.address, "--json")
    assert not skipped.checks("blocklist.ip")


BULK = """\
From: news@shop.example
To: bob@example.org
Subject: This week's offers
List-Id: <offers.shop.example>
List-Unsubscribe: <mailto:unsub@shop.example?subject=unsubscribe>{https}
{post}DKIM-Signature: v=1; a=rsa-sha256; d=shop.example; s=s1; h=from:to:subject{signed}; bh=x; b=y

Hello
"""


@pytest.mark.parametrize(
    ("https", "post", "signed", "status", "kind"),
    [
        (", <https://shop.example/u/1>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n",
         ":list-unsubscribe:list-unsubscribe-post", "pass", None),
        (", <https://shop.example/u/1>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n", "", "warn",
         "unsigned-unsubscribe"),
        ("", "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n", "", "fail", "no-one-click-unsubscribe"),
        (", <https://shop.example/u/1>", "", "", "fail", "no-one-click-unsubscribe"),
    ],
    ids=["one-click-signed", "one-click-unsigned", "mailto-only", "no-post-header"],
)  # fmt: skip
def test_bulk_mail_needs_one_click_unsubscribe(
    cli: Cli, https: str, post: str, signed: str, status: str, kind: str | None
) -> None:
    message = BULK.format(https=https, post=post, signed=signed)
    check = cli("headers", "-", "--json", input=message).check("bulk.unsubscribe")
    assert check["status"] == status and (check["error"] or {}).get("kind") == kind, check
    assert check["details"]["bulk_because"] == "it has a List-Id"


def test_personal_mail_is_not_held_to_bulk_rules(cli: Cli) -> None:
    plain = "From: alice@example.org\nTo: bob@example.net\nSubject: hi\n\nhello\n"
    assert not cli("headers", "-", "--json", input=plain).checks("bulk.unsubscribe")
