"""DNSSEC validated by mailcheck itself, on the zoo of signed zones (tests/dnssec_zoo.py: every shape of
answer, denial, delegation, chain and fault, with the verdicts BIND and Unbound give them, which
test_dnssec_oracles.py checks) served by the lab responder; plus anchors, resolvers that strip signatures,
DANE on validated TLSA only, and hostile DNSSEC records that must never raise."""

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mailcheck.lab.dns import DnsResponder, Zone
from mailcheck.lab.dnssec import SignedWorld, ZonePlan, sign
from mailcheck.lab.pki import self_signed
from mailcheck.net.dns import DnsClient
from mailcheck.net.dnssec import DnssecValidator, parse_anchors
from tests.conftest import Cli
from tests.dnssec_zoo import SHAPES, Shape, start_zoo


class Zoo:
    def __init__(self, responder: DnsResponder, world: SignedWorld, anchor_file: Path, anchor: str) -> None:
        self.dns = responder
        self.world = world
        self.anchor_file = anchor_file
        self.anchor = anchor

    def options(self) -> list[str]:
        return ["--resolver", self.dns.address, "--trust-anchor", str(self.anchor_file), "--timeout", "2", "--json"]

    def dnssec(self, cli: Cli, name: str, rdtype: str):  # type: ignore[no-untyped-def]
        return cli("dnssec", name, rdtype, *self.options())


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zoo]:
    responder, world, anchor = start_zoo()
    anchor_file = tmp_path_factory.mktemp("anchors") / "root.anchor"
    anchor_file.write_text(f"; the zoo's root\n{anchor}\n")
    yield Zoo(responder, world, anchor_file, anchor)
    responder.stop()


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{s.name}/{s.rdtype}/{s.what}" for s in SHAPES])
def test_each_shape_gets_the_verdict_validators_give(zoo: Zoo, cli: Cli, shape: Shape) -> None:
    # Given one shape of the zoo; When `mailcheck dnssec NAME TYPE` validates it
    run = zoo.dnssec(cli, shape.name, shape.rdtype)
    answer = run.check("dnssec.answer")
    # Then the verdict is BIND's and Unbound's, decided by mailcheck itself, bogus the only failure
    assert answer["details"]["state"] == shape.state, answer
    assert answer["details"]["decided_by"] == "mailcheck"
    assert run.code == (1 if shape.state == "bogus" else 0), run.out
    if shape.blame:
        assert answer["details"]["zone"] == shape.blame, answer


@pytest.mark.parametrize(
    ("name", "rdtype", "words"),
    [
        ("expired.test", "MX", "the RRSIG on expired.test. DNSKEY by key"),
        ("expired.test", "MX", "expired on 20"),
        ("future.test", "MX", "is not valid before 20"),
        ("wrongds.test", "MX", "no DNSKEY of wrongds.test. matches the DS its parent publishes"),
        ("stripped.nsec.test", "MX", "came without a signature, but its zone nsec.test. is signed"),
        ("nothing.nsec.test", "TXT", "proves that no wildcard *.nsec.test. exists"),
        ("other.wild.nsec.test", "A", "expanded from the wildcard *.wild.nsec.test."),
        ("tobogus.nsec.test", "MX", "expired.test."),
        ("plain.nsec.test", "MX", "unsigned delegation (its parent's signed NSEC record shows no DS)"),
        ("plain.nsec3.test", "MX", "signed NSEC3 record shows no DS"),
        ("plain.optout.test", "MX", "NSEC3 opt-out span of optout.test."),
        ("_mta-sts.nsec.test", "TXT", "does not exist, proven by the signed NSEC records of nsec.test."),
        ("nsec3.test", "TLSA", "has no TLSA records, proven by the signed NSEC3 records"),
        ("_tcp.mx.nsec.test", "TXT", "empty non-terminal"),
        ("unknownds.test", "MX", "digest 200"),
        ("privalg.test", "MX", "algorithm 253"),
        ("_mta-sts.manyiter.test", "TXT", "500 iterations"),
        ("alias.nsec.test", "MX", "via 1 CNAME/DNAME record"),
    ],
)
def test_the_reason_names_the_link_and_the_proof(zoo: Zoo, cli: Cli, name: str, rdtype: str, words: str) -> None:
    answer = zoo.dnssec(cli, name, rdtype).check("dnssec.answer")
    assert words in answer["summary"], answer["summary"]


def test_the_wrong_anchor_makes_everything_bogus(zoo: Zoo, cli: Cli) -> None:
    # an anchor for the real root (the built-in one): the lab's root key matches none of it
    run = cli("dnssec", "nsec.test", "MX", "--resolver", zoo.dns.address, "--timeout", "2", "--json")
    assert run.check("dnssec.answer")["details"]["state"] == "bogus"


def test_a_signed_domain_without_mta_sts_or_tlsa_has_no_dnssec_finding(zoo: Zoo, cli: Cli) -> None:
    # Given signed domains (NSEC, NSEC3, opt-out parent) that publish no MTA-STS, DMARC or TLSA records
    for domain in ("nsec.test", "nsec3.test", "signed.optout.test"):
        # When `mailcheck domain` checks DNSSEC and DANE
        run = cli("domain", domain, "--only", "dnssec,dane", *zoo.options())
        # Then every answer, denials included, is secure: nothing to warn about, nothing failed
        answers = {c["target"]: c for c in run.checks("dnssec.answer")}
        assert answers and {c["details"]["state"] for c in answers.values()} == {"secure"}, answers
        assert f"TXT _mta-sts.{domain}" in answers and "does not exist, proven" in str(answers), answers
        assert all(c["status"] in ("pass", "info") for c in run.checks()), run.out
        assert run.code == 0, run.out


def test_an_unsigned_domain_under_an_opt_out_parent_is_insecure(zoo: Zoo, cli: Cli) -> None:
    run = cli("domain", "plain.optout.test", "--only", "dnssec", *zoo.options())
    states = {c["details"]["state"] for c in run.checks("dnssec.answer")}
    assert states == {"insecure"}, run.out
    assert run.code == 0, run.out


def test_a_sha1_ds_does_not_stop_the_run(zoo: Zoo, cli: Cli) -> None:
    # dnspython refuses to *make* a SHA-1 DS; validating one is required (RFC 8624 §3.3)
    for command in (("dnssec", "sha1ds.test", "MX"), ("domain", "sha1ds.test", "--only", "dnssec")):
        run = cli(*command, *zoo.options())
        assert run.code == 0 and "internal error" not in run.err, run.err
        assert {c["details"]["state"] for c in run.checks("dnssec.answer")} == {"secure"}


def test_dane_follows_a_validated_cname_and_refuses_an_unproven_wildcard(zoo: Zoo, cli: Cli) -> None:
    # Given TLSA behind a CNAME into another signed zone (RFC 7671 §7)
    behind_cname = cli("domain", "ed.test", "--only", "dane", *zoo.options())
    assert behind_cname.check("dane.tlsa")["details"]["dnssec_state"] == "secure", behind_cname.out
    # And a TLSA expanded from a wildcard, once with its NSEC proof and once with the proof stripped
    proven = cli("domain", "dane.nsec.test", "--only", "dane", *zoo.options()).check("dane.tlsa")
    unproven = cli("domain", "dane.nsec3.test", "--only", "dane", *zoo.options()).check("dane.tlsa")
    # Then DANE applies to the first; the second is bogus, and DANE does not pass on it
    assert proven["details"]["dnssec_state"] == "secure", proven
    assert unproven["details"]["dnssec_state"] == "bogus" and unproven["status"] == "fail", unproven


def test_a_resolver_that_strips_signatures_is_indeterminate(cli: Cli, dns_server: DnsResponder, tmp_path: Path) -> None:
    dns_server.zone.add("unsigned.test", "MX", "10 mx.unsigned.test.")
    anchor = tmp_path / "a"
    anchor.write_text(". IN DS 12345 13 2 " + "00" * 32 + "\n")
    run = cli("dnssec", "unsigned.test", "MX", "--resolver", dns_server.address, "--trust-anchor", str(anchor),
              "--timeout", "1", "--json")  # fmt: skip
    answer = run.check("dnssec.answer")
    assert answer["details"]["state"] == "indeterminate" and answer["status"] == "info"
    assert "no DNSSEC chain reachable through this resolver" in answer["summary"] and run.code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (". IN DS 20326 8 2\n", "line 1"),
        ("example.com IN A 192.0.2.1\n", "only DS or DNSKEY"),
        ("; nothing\n", "no DS or DNSKEY record"),
    ],
)
def test_malformed_anchor_file_is_a_usage_error_naming_the_line(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    anchor = tmp_path / "bad.anchor"
    anchor.write_text(content)
    run = cli("dnssec", "example.com", "--trust-anchor", str(anchor), "--resolver", "127.0.0.1:9")
    assert run.code == 2 and message in run.err


def test_an_anchor_for_an_unrelated_zone_is_reported(zoo: Zoo, cli: Cli, tmp_path: Path) -> None:
    anchor = tmp_path / "other.anchor"
    anchor.write_text("example.org. IN DS 12345 13 2 " + "00" * 32 + "\n")
    run = cli("dnssec", "nsec.test", "MX", "--resolver", zoo.dns.address, "--trust-anchor", str(anchor),
              "--json")  # fmt: skip
    answer = run.check("dnssec.answer")
    assert answer["details"]["state"] == "indeterminate" and "do not cover nsec.test." in answer["summary"]


def test_dane_passes_on_a_tlsa_that_mailcheck_validated(cli: Cli, tmp_path: Path) -> None:
    # Given a DANE-EE TLSA in a signed zone and a resolver without the AD bit
    table = Zone()
    credential = self_signed("mx.secure.test")
    spki = credential.cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    table.add("secure.test", "MX", "10 mx.secure.test.")
    table.host("mx.secure.test", "127.0.0.40", ptr=False)
    table.add("_25._tcp.mx.secure.test", "TLSA", f"3 1 1 {hashlib.sha256(spki).hexdigest()}")
    world, anchor = sign(table, [ZonePlan("."), ZonePlan("test."), ZonePlan("secure.test.", nsec3=True)])
    anchor_file = tmp_path / "root.anchor"
    anchor_file.write_text(anchor + "\n")
    with DnsResponder() as responder:
        responder.world = world
        run = cli("domain", "secure.test", "--only", "dane,dnssec", "--resolver", responder.address,
                  "--trust-anchor", str(anchor_file), "--timeout", "2", "--json")  # fmt: skip
    # Then the TLSA passes, on mailcheck's own validation
    tlsa = run.check("dane.tlsa")
    assert tlsa["status"] == "pass" and tlsa["details"]["dnssec_decided_by"] == "mailcheck", tlsa
    assert {c["details"]["state"] for c in run.checks("dnssec.answer")} == {"secure"}


# --- hostile and malformed DNSSEC records: a verdict, never an exception ---

Section = list[dns.rrset.RRset]


def _replace(section: Section, rdtype: int, make: Callable[[dns.rrset.RRset], dns.rrset.RRset]) -> Section:
    return [make(r) if r.rdtype == rdtype else r for r in section]


def _rdata(rrset: dns.rrset.RRset, **changes: object) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(rrset.name, rrset.ttl, [r.replace(**changes) for r in rrset])


def _generic(rrset: dns.rrset.RRset, wire: bytes) -> dns.rrset.RRset:
    """RRSET's type with raw RDATA WIRE that dnspython's own classes would refuse to build."""
    return dns.rrset.from_rdata(rrset.name, rrset.ttl, dns.rdata.GenericRdata(dns.rdataclass.IN, rrset.rdtype, wire))


def _text(rrset: dns.rrset.RRset, rdtype: str, text: str) -> dns.rrset.RRset:
    return dns.rrset.from_text(rrset.name, rrset.ttl, "IN", rdtype, text)


HOSTILE: dict[str, tuple[str, str, Callable[[Section, Section], tuple[Section, Section]]]] = {
    "NSEC3 of an unknown hash algorithm": (
        "_mta-sts.nsec3.test",
        "TXT",
        lambda a, p: (a, _replace(p, dns.rdatatype.NSEC3, lambda r: _rdata(r, algorithm=99))),
    ),
    "NSEC3 with 65535 iterations": (
        "_mta-sts.nsec3.test",
        "TXT",
        lambda a, p: (a, _replace(p, dns.rdatatype.NSEC3, lambda r: _rdata(r, iterations=65535))),
    ),
    "NSEC3 owner that is not base32hex": (
        "nsec3.test",
        "TLSA",
        lambda a, p: (
            a,
            [
                dns.rrset.from_rdata_list(dns.name.from_text("!!notbase32!!.nsec3.test."), r.ttl, list(r))
                if r.rdtype in (dns.rdatatype.NSEC3, dns.rdatatype.RRSIG)
                and r.name != dns.name.from_text("nsec3.test.")
                else r
                for r in p
            ],
        ),
    ),
    "NSEC whose next name is itself": (
        "nothing.nsec.test",
        "MX",
        lambda a, p: (a, _replace(p, dns.rdatatype.NSEC, lambda r: _text(r, "NSEC", f"{r.name} A"))),
    ),
    "NSEC with an empty type bitmap": (
        "nsec.test",
        "TLSA",
        lambda a, p: (a, _replace(p, dns.rdatatype.NSEC, lambda r: _text(r, "NSEC", f"{r[0].next}"))),
    ),
    "RRSIG claiming 200 labels": (
        "nsec.test",
        "MX",
        lambda a, p: (_replace(a, dns.rdatatype.RRSIG, lambda r: _rdata(r, labels=200)), p),
    ),
    "RRSIG by an unrelated signer": (
        "nsec.test",
        "MX",
        lambda a, p: (
            _replace(a, dns.rdatatype.RRSIG, lambda r: _rdata(r, signer=dns.name.from_text("evil.example."))),
            p,
        ),
    ),
    "RRSIG signed by the name itself for a DS": (
        "nsec.test",
        "DS",
        lambda a, p: (
            _replace(a, dns.rdatatype.RRSIG, lambda r: _rdata(r, signer=dns.name.from_text("nsec.test."))),
            p,
        ),
    ),
    "RRSIG ending before it starts": (
        "nsec.test",
        "MX",
        lambda a, p: (_replace(a, dns.rdatatype.RRSIG, lambda r: _rdata(r, expiration=1, inception=2**31)), p),
    ),
    "RRSIG with an empty signature": (
        "nsec.test",
        "MX",
        lambda a, p: (_replace(a, dns.rdatatype.RRSIG, lambda r: _rdata(r, signature=b"")), p),
    ),
    "DNSKEY with a 3-byte ECDSA key": (
        "rsa.test",
        "DNSKEY",
        lambda a, p: (_replace(a, dns.rdatatype.DNSKEY, lambda r: _rdata(r, key=b"abc", algorithm=13)), p),
    ),
    "DS with an empty digest": (
        "ed.test",
        "DS",
        lambda a, p: (_replace(a, dns.rdatatype.DS, lambda r: _generic(r, r[0].to_wire()[:4])), p),
    ),
    "NSEC3 cut short on the wire": (
        "_mta-sts.nsec3.test",
        "TXT",
        lambda a, p: (a, _replace(p, dns.rdatatype.NSEC3, lambda r: _generic(r, r[0].to_wire()[:7]))),
    ),
    "a CNAME to itself, signed": (
        "loop.nsec.test",
        "MX",
        lambda a, p: ([dns.rrset.from_text("loop.nsec.test.", 300, "IN", "CNAME", "loop.nsec.test.")], p),
    ),
    "NSEC3 and NSEC mixed, both unsigned": (
        "_mta-sts.nsec.test",
        "TXT",
        lambda a, p: (
            a,
            [r for r in p if r.rdtype != dns.rdatatype.RRSIG]
            + [dns.rrset.from_text("aaaa.nsec.test.", 300, "IN", "NSEC3", "1 0 0 - 00000000 A")],
        ),
    ),
    "a DNAME to the root": (
        "x.dname.nsec.test",
        "A",
        lambda a, p: ([dns.rrset.from_text("dname.nsec.test.", 300, "IN", "DNAME", ".")], p),
    ),
}


# Signed by the zone, these still tell the truth: an apex NSEC with no types denies TLSA there; an apex NSEC
# whose next name is the apex says the zone has no other name, so the asked name does not exist
TRUE_WHEN_SIGNED = {"NSEC with an empty type bitmap", "NSEC whose next name is itself"}


HOSTILE_RUNS = [(case, False) for case in HOSTILE] + [
    (case, True) for case in HOSTILE if not case.startswith("RRSIG") and case not in TRUE_WHEN_SIGNED
]  # re-signing replaces a broken RRSIG, so those cases run as sent only


@pytest.mark.parametrize(
    ("case", "signed"), HOSTILE_RUNS, ids=[f"{c}-{'re-signed' if s else 'as-sent'}" for c, s in HOSTILE_RUNS]
)
def test_hostile_dnssec_records_get_a_verdict_never_an_exception(zoo: Zoo, case: str, signed: bool) -> None:
    # Given a server that sends malformed or lying DNSSEC records: as they come, and signed afresh by the
    # zone's own key (a broken signer), so the proof logic itself meets them, not only the signature check
    name, rdtype, rewrite = HOSTILE[case]

    def hostile(answer: Section, authority: Section) -> tuple[Section, Section]:
        answer, authority = rewrite(answer, authority)
        return (zoo.world.resign(answer), zoo.world.resign(authority)) if signed else (answer, authority)

    zoo.world.rewrite[(name, rdtype)] = hostile
    question = (name, rdtype) if rdtype not in ("DNSKEY", "DS") else (f"mx.{name}", "A")

    async def judge() -> tuple[str, str]:
        validator = DnssecValidator(DnsClient([("127.0.0.1", zoo.dns.port)], 2.0), parse_anchors([zoo.anchor]))
        status = await validator.status(*question)
        return status.state, status.reason

    try:
        state, reason = asyncio.run(judge())
    finally:
        del zoo.world.rewrite[(name, rdtype)]
    # When mailcheck validates; Then no exception escapes, and the answer is never taken as secure
    # (a message dnspython cannot parse at all is indeterminate: there is no answer to judge)
    unparsed = state == "indeterminate" and "malformed answer" in reason
    assert state in ("bogus", "insecure") or unparsed, (case, state, reason)
    assert "no answer within" not in reason, reason  # the lab did send the hostile answer
