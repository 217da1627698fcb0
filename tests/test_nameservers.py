"""``mailcheck ns``: every authoritative server of a zone asked directly, against real DNS servers on loopback.

The world: a resolver (the lab responder, playing the recursive resolver the user gives with --resolver), the
parent zone's server (``test.``, answering with a referral: NS and glue, no AA), and one server per name server
of the child zone, each serving its own copy — all on one port, on addresses of their own (127.0.53.x), as
authoritative servers share port 53 on the Internet.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.dnssec
import dns.name
import dns.rdtypes.ANY.DNSKEY
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from mailcheck.lab.dns import DnsResponder, Zone
from tests.conftest import Cli

SERIAL = 2026120102
SPF = "v=spf1 mx -all"


def child_zone(serial: int = SERIAL, spf: str = SPF, ns: tuple[str, ...] = ()) -> Zone:
    """One server's copy of shop.test."""
    zone = Zone()
    zone.add("shop.test", "SOA", f"ns1.shop.test. hostmaster.shop.test. {serial} 3600 600 604800 300")
    zone.add("shop.test", "NS", *(f"{n}." for n in ns))
    zone.add("shop.test", "MX", "10 mx1.shop.test.")
    zone.txt("shop.test", spf)
    zone.txt("_dmarc.shop.test", "v=DMARC1; p=reject; rua=mailto:d@shop.test")
    zone.host("mx1.shop.test", "192.0.2.25", ptr=False)
    return zone


@dataclass
class NsWorld:
    resolver: DnsResponder
    port: int
    servers: dict[str, DnsResponder] = field(default_factory=dict)  # name server name → its server

    def args(self, *extra: str) -> list[str]:
        return ["--resolver", self.resolver.address, "--ns-port", str(self.port), "--timeout", "2", "--json", *extra]


@contextlib.contextmanager
def world(
    child: dict[str, tuple[str, Zone]], parent_ns: tuple[str, ...], glue: dict[str, str], resolver_ns: tuple[str, ...]
) -> Iterator[NsWorld]:
    """CHILD: name server name → (its address, the zone copy it serves); PARENT_NS and GLUE: the delegation the
    test. server hands out; RESOLVER_NS: the NS set the resolver answers (the zone's own)."""
    resolver_zone = Zone()
    resolver_zone.add("shop.test", "NS", *(f"{n}." for n in resolver_ns))
    resolver_zone.add("shop.test", "MX", "10 mx1.shop.test.")
    resolver_zone.add("test", "NS", "a.nic.test.")
    resolver_zone.host("a.nic.test", "127.0.53.10", ptr=False)
    for name, (address, _) in child.items():
        resolver_zone.host(name, address, ptr=False)
    with contextlib.ExitStack() as stack:
        resolver = stack.enter_context(DnsResponder(resolver_zone))
        parent_zone = Zone()
        parent_zone.add("test", "SOA", "a.nic.test. hostmaster.nic.test. 1 3600 600 604800 300")
        parent_zone.add("shop.test", "NS", *(f"{n}." for n in parent_ns))
        for name, address in glue.items():
            parent_zone.add(name, "A", address)
        parent = DnsResponder(parent_zone, host="127.0.53.10")
        parent.delegations.add("shop.test")
        stack.enter_context(parent)
        built = NsWorld(resolver, parent.port)
        for name, (address, zone) in child.items():
            built.servers[name] = stack.enter_context(DnsResponder(zone, host=address, port=parent.port))
        yield built


NS = ("ns1.shop.test", "ns2.dns-host.test")


@pytest.fixture
def healthy() -> Iterator[NsWorld]:
    # two networks (127.0.53.0/24 and 127.0.54.0/24), as RFC 2182 asks
    child = {"ns1.shop.test": ("127.0.53.1", child_zone(ns=NS)), "ns2.dns-host.test": ("127.0.54.2", child_zone(ns=NS))}
    with world(child, NS, {"ns1.shop.test": "127.0.53.1"}, NS) as built:
        yield built


def test_a_consistent_zone_gives_one_passing_line(cli: Cli, healthy: NsWorld) -> None:
    run = cli("ns", "shop.test", *healthy.args())
    summary = run.check("ns.servers")
    assert summary["status"] == "pass", run.out
    assert summary["summary"].startswith("2 name servers (2 addresses) answer with authority and agree"), summary
    assert f"SOA serial {SERIAL}" in summary["summary"] and "SPF" in summary["summary"], summary
    # and nothing warns or fails (two servers without IPv6 is a note, not a fault)
    assert not [c for c in run.checks() if c["status"] in ("warn", "fail", "error")], run.out
    assert run.code == 0


BROKEN_NS = (
    "ns1.shop.test",  # healthy
    "ns2.shop.test",  # healthy, but without DNS over TCP; no glue at the parent
    "ns3.dns-host.test",  # a stale secondary: older serial, last year's SPF
    "ns4.dns-host.test",  # lame: REFUSED
    "ns5.dns-host.test",  # lame: answers without the AA bit
)


@pytest.fixture
def broken() -> Iterator[NsWorld]:
    child = {
        "ns1.shop.test": ("127.0.53.1", child_zone(ns=BROKEN_NS)),
        "ns2.shop.test": ("127.0.53.2", child_zone(ns=BROKEN_NS)),
        "ns3.dns-host.test": ("127.0.53.3", child_zone(SERIAL - 1, "v=spf1 a -all", BROKEN_NS)),
        "ns4.dns-host.test": ("127.0.53.4", child_zone(ns=BROKEN_NS)),
        "ns5.dns-host.test": ("127.0.53.5", child_zone(ns=BROKEN_NS)),
    }
    # the parent still delegates to a retired ns6 instead of ns5, and its glue for ns1 is an old address
    parent_ns = (*BROKEN_NS[:4], "ns6.dns-host.test")
    with world(child, parent_ns, {"ns1.shop.test": "127.0.53.99"}, BROKEN_NS) as built:
        built.servers["ns2.shop.test"].tcp = False
        built.servers["ns4.dns-host.test"].fault("*", "refused")
        built.servers["ns5.dns-host.test"].fault("*", "no-aa")
        yield built


def test_lame_stale_and_inconsistent_servers_are_each_named(cli: Cli, broken: NsWorld) -> None:
    run = cli("ns", "shop.test", *broken.args())
    by_id = {}
    for check in run.checks():
        by_id.setdefault(check["id"], []).append(check)
    # the stale secondary: which server is behind, with both serials
    (serial,) = by_id["ns.serial"]
    assert serial["status"] == "warn" and "1 of 3 name servers serve an older copy" in serial["summary"], serial
    assert f"{SERIAL - 1} at ns3.dns-host.test" in serial["summary"] and str(SERIAL) in serial["summary"], serial
    # the SPF record that differs, with the differing values and who serves which
    (spf,) = [c for c in by_id["ns.records"] if c["target"] == "SPF"]
    assert '(ns3.dns-host.test (serial 2026120101, behind)) serve "v=spf1 a -all"' in spf["summary"], spf
    assert f'the others serve "{SPF}"' in spf["summary"], spf
    # the lame servers: REFUSED, and answering without authority
    lame = {c["target"]: c for c in by_id["ns.server"] if c["status"] == "fail"}
    assert "answers REFUSED" in lame["ns4.dns-host.test (127.0.53.4)"]["summary"], lame
    assert "without authority (the AA bit unset)" in lame["ns5.dns-host.test (127.0.53.5)"]["summary"], lame
    # the server without TCP
    (tcp,) = by_id["ns.tcp"]
    assert tcp["target"] == "ns2.shop.test (127.0.53.2)" and "RFC 7766" in tcp["summary"], tcp
    # the parent's NS set differs from the zone's
    mismatch = [c for c in by_id["ns.delegation"] if (c["error"] or {}).get("kind") == "ns-mismatch"]
    assert mismatch and "only at the parent: ns6.dns-host.test" in mismatch[0]["summary"], by_id["ns.delegation"]
    assert "only in the zone: ns5.dns-host.test" in mismatch[0]["summary"], mismatch
    # glue: missing for ns2 (inside the zone), wrong for ns1
    glue = {c["target"]: c for c in by_id["ns.glue"]}
    assert glue["ns2.shop.test"]["status"] == "fail" and "no glue" in glue["ns2.shop.test"]["summary"], glue
    assert glue["ns1.shop.test"]["status"] == "warn" and "127.0.53.99" in glue["ns1.shop.test"]["summary"], glue
    # the server only the parent lists has no address at all
    assert any(c["target"] == "ns6.dns-host.test" and c["status"] in ("fail", "error") for c in by_id["ns.server"])
    # and the healthy servers are not blamed for anything
    blamed = {c["target"] for c in run.checks() if c["status"] in ("warn", "fail") and "127.0.53.1)" in c["target"]}
    assert not blamed, blamed
    assert run.code == 1


def test_no_server_answering_from_here_is_the_vantage_point(cli: Cli, healthy: NsWorld) -> None:
    # Given a network that lets DNS through only to its own resolver: every authoritative server stays silent
    for server in healthy.servers.values():
        server.fault("*", "drop")
    run = cli("ns", "shop.test", *healthy.args())
    # Then the finding is "cannot be checked from here" (exit 3), not a name server failure
    (silent,) = [c for c in run.checks("ns.server")]
    assert silent["status"] == "error" and "this network may allow DNS only to its own resolver" in silent["summary"]
    assert run.code == 3, run.out


def test_a_server_that_does_not_speak_edns(cli: Cli, healthy: NsWorld) -> None:
    healthy.servers["ns2.dns-host.test"].fault("*", "no-edns")
    run = cli("ns", "shop.test", *healthy.args())
    (edns,) = run.checks("ns.edns")
    assert edns["status"] == "warn" and "does not speak EDNS" in edns["summary"], edns
    assert edns["target"] == "ns2.dns-host.test (127.0.54.2)"


def _dnskey() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return dns.dnssec.make_dnskey(key, dns.dnssec.Algorithm.ED25519, flags=257).to_text()


def test_a_server_serving_keys_the_parents_ds_does_not_name(cli: Cli, healthy: NsWorld) -> None:
    # Given a zone whose parent publishes a DS for the current key, and a secondary still serving the old key
    current, old = _dnskey(), _dnskey()
    healthy.servers["ns1.shop.test"].zone.add("shop.test", "DNSKEY", current)
    healthy.servers["ns2.dns-host.test"].zone.add("shop.test", "DNSKEY", old)
    record = dns.rdata.from_text("IN", "DNSKEY", current)
    assert isinstance(record, dns.rdtypes.ANY.DNSKEY.DNSKEY)
    healthy.resolver.zone.add(
        "shop.test", "DS", dns.dnssec.make_ds(dns.name.from_text("shop.test"), record, "SHA256").to_text()
    )
    run = cli("ns", "shop.test", *healthy.args())
    (dnssec,) = run.checks("ns.dnssec")
    # Then the server with the old key is named: validating resolvers asking it get bogus answers
    assert dnssec["status"] == "fail" and "(ns2.dns-host.test)" in dnssec["summary"], dnssec
    assert "bogus" in dnssec["summary"]


def test_bad_domain_is_a_usage_error(cli: Cli) -> None:
    run = cli("ns", "not a domain", "--resolver", "127.0.0.1:9")
    assert run.code == 2 and "Traceback" not in run.err


def test_the_ns_part_of_domain_runs_when_asked(cli: Cli, healthy: NsWorld) -> None:
    healthy.resolver.zone.txt("shop.test", SPF)
    # Given `mailcheck domain` with the opt-in ns part added to a DNS-only run
    run = cli("domain", "shop.test", "--only", "spf", "--with", "ns", *healthy.args())
    # Then the name servers are compared there too, in the DNS section, beside the SPF checks
    assert run.check("ns.servers")["status"] == "pass", run.out
    assert run.checks("spf.record"), run.out
    # And without --with, the part does not run (it is the one part that asks servers other than --resolver)
    plain = cli("domain", "shop.test", "--only", "spf", *healthy.args())
    assert not plain.checks("ns.servers") and plain.checks("spf.record"), plain.out
    # And an unknown part is a usage error naming the known ones
    bad = cli("domain", "shop.test", "--with", "nameservers", *healthy.args())
    assert bad.code == 2 and "unknown part(s) nameservers" in bad.err and "ns" in bad.err, bad.err
