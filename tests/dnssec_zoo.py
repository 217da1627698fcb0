"""The DNSSEC zoo: one signed world with every shape a validator meets on the Internet, each with the verdict
BIND's delv and Unbound give it (tests/test_dnssec_oracles.py checks that they do, test_dnssec.py that
mailcheck does). Zones under ``test.``; the root and ``test.`` are signed with NSEC."""

from dataclasses import dataclass

from mailcheck.lab.dns import DnsResponder, Zone
from mailcheck.lab.dnssec import SignedWorld, ZonePlan, sign


@dataclass(frozen=True)
class Shape:
    name: str
    rdtype: str
    state: str  # secure / insecure / bogus
    what: str
    tamper: tuple[str, ...] = ()
    blame: str | None = None  # for bogus: the zone the reason must name
    # Where the references disagree: what the other one says, and the rule mailcheck follows with the first
    dissent: tuple[str, str, str] | None = None  # (reference, its verdict, the rule mailcheck follows)


PLANS = [
    ZonePlan("."),
    ZonePlan("test."),
    ZonePlan("nsec.test."),
    ZonePlan("nsec3.test.", nsec3=True),
    ZonePlan("salted.test.", nsec3=True, iterations=10, salt="aabbccdd"),
    ZonePlan("manyiter.test.", nsec3=True, iterations=500),
    ZonePlan("optout.test.", nsec3=True, optout=True),
    ZonePlan("plain.optout.test.", signed=False),
    ZonePlan("signed.optout.test."),
    ZonePlan("plain.nsec.test.", signed=False),
    ZonePlan("plain.nsec3.test.", signed=False),
    ZonePlan("island.nsec.test.", ds=()),
    ZonePlan("rsa.test.", algorithm="RSASHA256"),
    ZonePlan("rsasha1.test.", algorithm="RSASHA1"),
    ZonePlan("ed.test.", algorithm="ED25519"),
    ZonePlan("sha1ds.test.", ds=("SHA1",)),
    ZonePlan("sha384ds.test.", ds=("SHA384",)),
    ZonePlan("unknownds.test.", ds=(200,)),
    ZonePlan("mixedds.test.", ds=("SHA1", "wrong-SHA256")),
    ZonePlan("goodsha1ds.test.", ds=("wrong-SHA1", "SHA256")),
    ZonePlan("privalg.test.", algorithm="PRIVATEDNS"),
    ZonePlan("expired.test.", validity="expired"),
    ZonePlan("future.test.", validity="future"),
    ZonePlan("wrongds.test.", ds=("wrong-SHA256",)),
]

SHAPES = [
    # answers
    Shape("nsec.test", "MX", "secure", "an answer in an NSEC zone"),
    Shape("nsec3.test", "MX", "secure", "an answer in an NSEC3 zone"),
    Shape("rsa.test", "MX", "secure", "RSASHA256"),
    Shape("rsasha1.test", "MX", "secure", "RSASHA1 (RFC 8624: must validate)"),
    Shape("ed.test", "MX", "secure", "Ed25519"),
    Shape("sha1ds.test", "MX", "secure", "only a SHA-1 DS (RFC 8624: must validate)"),
    Shape("sha384ds.test", "MX", "secure", "a SHA-384 DS"),
    Shape("goodsha1ds.test", "MX", "secure", "a right SHA-256 DS beside a wrong SHA-1 one"),
    # denial of existence
    Shape("_mta-sts.nsec.test", "TXT", "secure", "NXDOMAIN proved by NSEC"),
    Shape("_mta-sts.nsec3.test", "TXT", "secure", "NXDOMAIN proved by NSEC3"),
    Shape("_mta-sts.salted.test", "TXT", "secure", "NXDOMAIN proved by salted NSEC3 with iterations"),
    Shape("nsec.test", "TLSA", "secure", "NODATA proved by NSEC"),
    Shape("nsec3.test", "TLSA", "secure", "NODATA proved by NSEC3"),
    Shape("_25._tcp.mx.nsec.test", "TLSA", "secure", "no TLSA for an MX (NXDOMAIN, NSEC)"),
    Shape("_tcp.mx.nsec.test", "TXT", "secure", "an empty non-terminal (NSEC)"),
    Shape("_tcp.mx.nsec3.test", "TXT", "secure", "an empty non-terminal (NSEC3)"),
    Shape("host.wild.nsec.test", "A", "secure", "a wildcard answer with its NSEC proof"),
    Shape("host.wild.nsec3.test", "A", "secure", "a wildcard answer with its NSEC3 proof"),
    Shape("host.wild.nsec.test", "MX", "secure", "a wildcard NODATA (NSEC)"),
    Shape("host.wild.nsec3.test", "MX", "secure", "a wildcard NODATA (NSEC3)"),
    Shape("nothere.test", "MX", "secure", "NXDOMAIN in the parent zone"),
    Shape("_mta-sts.manyiter.test", "TXT", "insecure", "NSEC3 with 500 iterations (RFC 9276)"),
    # delegations
    Shape("plain.nsec.test", "MX", "insecure", "an unsigned delegation proved by NSEC"),
    Shape("mx.plain.nsec.test", "A", "insecure", "a name under an unsigned delegation"),
    Shape("plain.nsec3.test", "MX", "insecure", "an unsigned delegation proved by NSEC3"),
    Shape("plain.optout.test", "MX", "insecure", "an unsigned delegation under NSEC3 opt-out"),
    Shape("_mta-sts.plain.optout.test", "TXT", "insecure", "NXDOMAIN under an opt-out delegation"),
    Shape("signed.optout.test", "MX", "secure", "a signed delegation in an opt-out zone"),
    Shape(
        "nothere.optout.test",
        "MX",
        "insecure",
        "NXDOMAIN in an opt-out span",
        dissent=(
            "delv",
            "secure",
            "as Unbound: an opt-out span may hide an unsigned delegation (RFC 5155 §6), "
            "so the name's absence is not proven",
        ),
    ),
    Shape("optout.test", "TXT", "secure", "NODATA at the apex of an opt-out zone"),
    Shape("island.nsec.test", "MX", "insecure", "a signed zone whose parent proves no DS"),
    Shape("unknownds.test", "MX", "insecure", "only a DS of an unknown digest type"),
    Shape("privalg.test", "MX", "insecure", "only the private algorithm 253"),
    # CNAME and DNAME
    Shape("alias.nsec.test", "MX", "secure", "a CNAME into another secure zone"),
    Shape("toplain.nsec.test", "MX", "insecure", "a CNAME into an insecure zone"),
    Shape("tobogus.nsec.test", "MX", "bogus", "a CNAME into a bogus zone", blame="expired.test"),
    Shape("tonothing.nsec.test", "MX", "secure", "a CNAME to a name that does not exist"),
    Shape("_25._tcp.mx.ed.test", "TLSA", "secure", "TLSA behind a CNAME (RFC 7671 §7)"),
    Shape("mx.dname.nsec.test", "A", "secure", "a name under a DNAME"),
    Shape("host.walias.nsec.test", "A", "secure", "a CNAME expanded from a wildcard, with its proof"),
    Shape("_25._tcp.mxw.nsec.test", "TLSA", "secure", "a TLSA expanded from a wildcard, with its proof"),
    Shape("_25._tcp.mxw.nsec3.test", "TLSA", "bogus", "a wildcard TLSA without its proof", ("strip-proof",)),
    # bogus
    Shape("expired.test", "MX", "bogus", "expired signatures", blame="expired.test"),
    Shape("future.test", "MX", "bogus", "signatures not yet valid", blame="future.test"),
    Shape("wrongds.test", "MX", "bogus", "a DS matching no key", blame="wrongds.test"),
    Shape(
        "mixedds.test",
        "MX",
        "bogus",
        "a right SHA-1 DS beside a wrong SHA-256 one",
        dissent=("unbound-host", "secure", "as BIND: RFC 4509 §3, a SHA-1 DS is ignored beside a SHA-256 one"),
    ),
    Shape("stripped.nsec.test", "MX", "bogus", "an answer with its RRSIG stripped", ("strip-rrsig",)),
    Shape("corrupt.nsec.test", "MX", "bogus", "a corrupted RRSIG", ("corrupt-rrsig",)),
    Shape("_mta-sts.nsec3.test", "MX", "bogus", "NXDOMAIN without its proof", ("strip-proof",)),
    Shape("nothing.nsec.test", "TXT", "bogus", "NXDOMAIN without the wildcard proof", ("first-proof-only",)),
    Shape("gone.nsec3.test", "TXT", "bogus", "NSEC3 NXDOMAIN without the next closer", ("first-proof-only",)),
    Shape("nsec3.test", "TXT", "bogus", "NODATA without its NSEC3", ("strip-proof",)),
    Shape("other.wild.nsec.test", "A", "bogus", "a wildcard answer without its proof", ("strip-proof",)),
    Shape("other.wild.nsec3.test", "A", "bogus", "a wildcard answer without its NSEC3 proof", ("strip-proof",)),
]


def table() -> Zone:
    zone = Zone()
    for plan in PLANS:
        origin = plan.origin.rstrip(".")
        if origin:
            zone.add(origin, "MX", f"10 mx.{origin}.")
            zone.host(f"mx.{origin}", "127.0.0.40", ptr=False)
    zone.add("*.wild.nsec.test", "A", "127.0.0.41")
    zone.add("*.wild.nsec3.test", "A", "127.0.0.41")
    zone.add("alias.nsec.test", "CNAME", "mx.nsec3.test.")
    for origin in ("nsec.test", "nsec3.test"):
        zone.add(f"_465._tcp.mx.{origin}", "TLSA", "3 1 1 " + "cd" * 32)  # so _tcp.mx.<origin> is an ENT
    zone.add("toplain.nsec.test", "CNAME", "mx.plain.nsec.test.")
    zone.add("tobogus.nsec.test", "CNAME", "mx.expired.test.")
    zone.add("tonothing.nsec.test", "CNAME", "nowhere.nsec3.test.")
    zone.add("_25._tcp.mx.ed.test", "CNAME", "_25._tcp.mx.rsa.test.")
    zone.add("_25._tcp.mx.rsa.test", "TLSA", "3 1 1 " + "ab" * 32)
    zone.add("dname.nsec.test", "DNAME", "nsec3.test.")
    zone.add("*.walias.nsec.test", "CNAME", "mx.nsec3.test.")
    for origin in ("nsec.test", "nsec3.test"):  # DANE for an MX whose TLSA comes from a wildcard
        zone.add(f"dane.{origin}", "MX", f"10 mxw.{origin}.")
        zone.host(f"mxw.{origin}", "127.0.0.40", ptr=False)
        zone.add(f"*._tcp.mxw.{origin}", "TLSA", "3 1 1 " + "ef" * 32)
    for name in ("stripped.nsec.test", "corrupt.nsec.test"):
        zone.add(name, "MX", f"10 mx.{name}.")
    return zone


def start_zoo() -> tuple[DnsResponder, SignedWorld, str]:
    """The zoo served on loopback: the responder (started), its world, the root anchor line."""
    responder = DnsResponder()
    world, anchor = sign(table(), PLANS)
    for shape in SHAPES:
        if shape.tamper:
            world.tamper[(shape.name, shape.rdtype)] = set(shape.tamper)
    responder.world = world
    return responder.start(), world, anchor
