"""A signed DNS world for the lab responder: zones cut from the lab's record table, each signed as its plan
says (algorithm, NSEC or NSEC3 with opt-out, salt and iterations, DS digests, validity window), answered the way
a recursive resolver answers a client that sets the DO bit: the RRSIGs of every record set, CNAME and DNAME
chains followed across zones, and the NSEC/NSEC3 records an authoritative server adds to prove NXDOMAIN,
NODATA, empty non-terminals, wildcard expansions and unsigned delegations (RFC 4035 §3.1.3, RFC 5155 §7.2).

Validation is judged against these answers, so the zones are built the way signers build them; the tests let
BIND's delv and Unbound judge the same answers. Faults that signers never make are ``tamper`` switches.
"""

import base64
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.RRSIG import RRSIG

from mailcheck.lab.dns import Zone
from mailcheck.net.dnssec_keys import ds_digest, signing_labels
from mailcheck.net.dnssec_proofs import type_name

Name = dns.name.Name
Section = list[dns.rrset.RRset]
IN = dns.rdataclass.IN
PRIVATE_ALGORITHM = 253  # PRIVATEDNS: no validator supports it, so a zone signed only with it is insecure
TAMPERS = ("strip-rrsig", "strip-proof", "first-proof-only", "corrupt-rrsig")


@dataclass
class ZonePlan:
    """How one zone of the world is signed.

    ``ds`` lists the parent's DS records for the zone: digest names (``SHA1``, ``SHA256``, ``SHA384``),
    ``wrong-SHA256`` (a DS for a key the zone does not use) or a number (a digest type nobody supports);
    empty: the parent proves there is no DS (an unsigned delegation, or an island of trust when ``signed``)."""

    origin: str
    signed: bool = True
    algorithm: str = "ECDSAP256SHA256"  # RSASHA256, RSASHA1, ED25519, or PRIVATEDNS (unsupported)
    nsec3: bool = False
    optout: bool = False
    iterations: int = 0
    salt: str = ""  # hex
    ds: tuple[str | int, ...] = ("SHA256",)
    validity: str = "valid"  # "expired" (ended 3 days ago) or "future" (starts in 3 days: beyond any clock skew)

    def __post_init__(self) -> None:
        if not self.signed:
            self.ds = ()


def _private_key(algorithm: str) -> Any:
    if algorithm.startswith("RSA"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ED25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class _SignedZone:
    origin: Name
    plan: ZonePlan
    nodes: dict[Name, dict[int, dns.rrset.RRset]] = field(default_factory=dict)
    sigs: dict[tuple[Name, int], dns.rrset.RRset] = field(default_factory=dict)
    nsec: list[tuple[Name, dns.rrset.RRset]] = field(default_factory=list)  # canonical order
    nsec3: list[tuple[bytes, dns.rrset.RRset]] = field(default_factory=list)  # hash order
    empty_non_terminals: set[Name] = field(default_factory=set)
    key: DNSKEY | None = None
    private: Any = None

    def hashed(self, name: Name) -> bytes:
        salt = bytes.fromhex(self.plan.salt) if self.plan.salt else None
        text = dns.dnssec.nsec3_hash(name, salt, self.plan.iterations, 1)
        return base64.b32hexdecode(text)

    def exists(self, name: Name) -> bool:
        return name in self.nodes or name in self.empty_non_terminals


def _apex_records(origin: Name, ttl: int) -> dict[int, dns.rrset.RRset]:
    text = origin.to_text()
    ns = f"ns.{text}" if origin != dns.name.root else "ns.root-servers.test."
    return {
        dns.rdatatype.SOA: dns.rrset.from_text(origin, ttl, IN, "SOA", f"{ns} hostmaster.{ns} 1 3600 600 86400 300"),
        dns.rdatatype.NS: dns.rrset.from_text(origin, ttl, IN, "NS", ns),
    }


class SignedWorld:
    """Zones cut from a lab record table and signed as planned; :meth:`answer` resolves like a recursive
    resolver over all of them. ``tamper[(name, type)]`` (or ``[(name, "*")]``) names faults to apply to that
    question's answer: ``strip-rrsig``, ``strip-proof``, ``first-proof-only``, ``corrupt-rrsig``."""

    def __init__(self, table: Zone, plans: list[ZonePlan], now: dt.datetime | None = None) -> None:
        self.now = now or dt.datetime.now(dt.UTC)
        self.ttl = table.ttl
        self.zones: dict[Name, _SignedZone] = {}
        self.tamper: dict[tuple[str, str], set[str]] = {}
        # (name, type) → a function rewriting (answer, authority) as a hostile server would
        self.rewrite: dict[tuple[str, str], Callable[[Section, Section], tuple[Section, Section]]] = {}
        for plan in sorted(plans, key=lambda p: len(dns.name.from_text(p.origin).labels)):
            origin = dns.name.from_text(plan.origin)
            self.zones[origin] = _SignedZone(origin, plan)
            self.zones[origin].nodes[origin] = _apex_records(origin, self.ttl)
        if dns.name.root not in self.zones:
            raise ValueError("a signed world needs a plan for the root")
        for (owner, rdtype), values in table.records.items():
            if rdtype in ("RRSIG", "NSEC", "NSEC3", "DNSKEY", "DS", "SOA"):
                continue
            name = dns.name.from_text(owner or ".")
            zone = self.zone_of(name)
            rrset = dns.rrset.from_text_list(name, self.ttl, IN, rdtype, values)
            zone.nodes.setdefault(name, {})[rrset.rdtype] = rrset
        for zone in self.zones.values():  # parents first
            self._keys_and_cut(zone)
        for zone in self.zones.values():
            self._sign(zone)

    # --- building ---

    def zone_of(self, name: Name, below_apex: bool = False) -> _SignedZone:
        """The deepest zone NAME is in (BELOW_APEX: a zone's apex counts as its parent's, as for DS)."""
        found = [o for o in self.zones if name.is_subdomain(o) and not (below_apex and o == name != dns.name.root)]
        return self.zones[max(found, key=lambda o: len(o.labels))]

    def _keys_and_cut(self, zone: _SignedZone) -> None:
        plan, origin = zone.plan, zone.origin
        if plan.signed:
            zone.key, zone.private = _make_key(plan.algorithm)
            zone.nodes[origin][dns.rdatatype.DNSKEY] = dns.rrset.from_rdata(origin, self.ttl, zone.key)
        if origin == dns.name.root:
            return
        parent = self.zone_of(origin, below_apex=True)
        cut = parent.nodes.setdefault(origin, {})
        cut[dns.rdatatype.NS] = zone.nodes[origin][dns.rdatatype.NS]
        records = [_ds(origin, zone.key, digest) for digest in plan.ds if zone.key is not None]
        if records:
            cut[dns.rdatatype.DS] = dns.rrset.from_rdata_list(origin, self.ttl, records)

    def _sign(self, zone: _SignedZone) -> None:
        origin = zone.origin
        cuts = {o for o in self.zones if o != origin and self.zone_of(o, below_apex=True) is zone}
        for name in zone.nodes:
            ancestor = name.parent() if name != origin else origin
            while ancestor != origin and ancestor.is_subdomain(origin):
                if ancestor not in zone.nodes:
                    zone.empty_non_terminals.add(ancestor)
                ancestor = ancestor.parent()
        if not zone.plan.signed:
            return
        if zone.plan.nsec3:
            self._nsec3_chain(zone, cuts)
        else:
            self._nsec_chain(zone)
        inception, expiration = {
            "expired": (self.now - dt.timedelta(days=30), self.now - dt.timedelta(days=3)),
            "future": (self.now + dt.timedelta(days=3), self.now + dt.timedelta(days=30)),
        }.get(zone.plan.validity, (self.now - dt.timedelta(hours=1), self.now + dt.timedelta(days=30)))
        for name, rrsets in zone.nodes.items():
            for rdtype, rrset in rrsets.items():
                if name in cuts and rdtype != dns.rdatatype.DS:
                    continue  # delegation NS records are not signed (RFC 4035 §2.2)
                zone.sigs[(name, rdtype)] = self._signature(zone, rrset, inception, expiration)
        for _, rrset in zone.nsec + zone.nsec3:
            zone.sigs[(rrset.name, rrset.rdtype)] = self._signature(zone, rrset, inception, expiration)

    def _signature(self, zone: _SignedZone, rrset: dns.rrset.RRset, start: dt.datetime, end: dt.datetime) -> Any:
        assert zone.key is not None
        if zone.key.algorithm == PRIVATE_ALGORITHM:
            labels = signing_labels(rrset.name)
            rdata = RRSIG(  # type: ignore[no-untyped-call]
                IN, dns.rdatatype.RRSIG, rrset.rdtype, PRIVATE_ALGORITHM, labels, rrset.ttl, int(end.timestamp()),
                int(start.timestamp()), dns.dnssec.key_id(zone.key), zone.origin, os.urandom(64),
            )  # fmt: skip
        else:
            rdata = dns.dnssec.sign(rrset, zone.private, zone.origin, zone.key, inception=start, expiration=end)
        return dns.rrset.from_rdata(rrset.name, rrset.ttl, rdata)

    @staticmethod
    def _bitmap(zone: _SignedZone, name: Name, nsec: bool) -> str:
        """The types at NAME, with RRSIG where anything there is signed (always, for NSEC: the NSEC is)."""
        types = {type_name(t) for t in zone.nodes.get(name, {})}
        if nsec:
            types |= {"NSEC", "RRSIG"}
        elif types - {"NS"} or name == zone.origin:
            types.add("RRSIG")
        return " ".join(sorted(types, key=dns.rdatatype.from_text))

    def _nsec_chain(self, zone: _SignedZone) -> None:
        names = sorted(zone.nodes)
        for index, name in enumerate(names):
            following = names[(index + 1) % len(names)]
            record = dns.rrset.from_text(
                name, self.ttl, IN, "NSEC", f"{following} {self._bitmap(zone, name, nsec=True)}"
            )
            zone.nsec.append((name, record))

    def _nsec3_chain(self, zone: _SignedZone, cuts: set[Name]) -> None:
        plan = zone.plan
        salt = plan.salt or "-"
        zone.nodes[zone.origin][dns.rdatatype.NSEC3PARAM] = dns.rrset.from_text(
            zone.origin, 0, IN, "NSEC3PARAM", f"1 0 {plan.iterations} {salt}"
        )
        unsigned_cuts = {c for c in cuts if dns.rdatatype.DS not in zone.nodes.get(c, {})}
        names = set(zone.nodes) | zone.empty_non_terminals
        if plan.optout:
            # opt-out: unsigned delegations (and names that exist only above them) get no NSEC3 (RFC 5155 §6)
            names -= unsigned_cuts
            names = {n for n in names if n in zone.nodes or any(m.is_subdomain(n) for m in names if m != n)}
        hashed = sorted((zone.hashed(n), n) for n in names)
        flags = 1 if plan.optout else 0
        for index, (digest, name) in enumerate(hashed):
            following = base64.b32hexencode(hashed[(index + 1) % len(hashed)][0]).decode()
            owner = dns.name.from_text(base64.b32hexencode(digest).decode(), zone.origin)
            bitmap = "" if name in zone.empty_non_terminals else self._bitmap(zone, name, nsec=False)
            text = f"1 {flags} {plan.iterations} {salt} {following} {bitmap}".rstrip()
            zone.nsec3.append((digest, dns.rrset.from_text(owner, self.ttl, IN, "NSEC3", text)))

    # --- answering ---

    def answer(self, qname: Name, qtype: int) -> tuple[dns.rcode.Rcode, list[dns.rrset.RRset], list[dns.rrset.RRset]]:
        """RCODE, answer and authority sections (with every RRSIG) for QNAME/QTYPE, CNAMEs followed."""
        answer: list[dns.rrset.RRset] = []
        authority: list[dns.rrset.RRset] = []
        name, seen = qname, set()
        rcode = dns.rcode.NOERROR
        for _ in range(8):
            zone = self.zone_of(name, below_apex=qtype == dns.rdatatype.DS)
            rcode, found, proof, target = _Lookup(self, zone, name, qtype).run()
            answer += found
            authority += [r for r in proof if r not in authority]
            if target is None or target in seen:
                break
            seen.add(name)
            name = target
        return rcode, answer, authority

    def respond(self, query: dns.message.Message, response: dns.message.Message) -> None:
        question = query.question[0]
        rcode, answer, authority = self.answer(question.name, question.rdtype)
        answer, authority = self._tampered(question.name, question.rdtype, answer, authority)
        if not query.ednsflags & dns.flags.DO:
            dnssec_types = (dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
            answer = [r for r in answer if r.rdtype not in dnssec_types or r.rdtype == question.rdtype]
            authority = [r for r in authority if r.rdtype not in dnssec_types]
        response.set_rcode(rcode)
        response.answer += answer
        response.authority += authority

    def resign(self, section: Section) -> Section:
        """SECTION with each record set signed afresh by the zone it belongs to (its old RRSIGs dropped): what
        a broken or malicious signer serves, so the proofs themselves are judged, not only their signatures."""
        signed: Section = []
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.RRSIG:
                continue
            zone = self.zone_of(rrset.name, below_apex=rrset.rdtype == dns.rdatatype.DS)
            signed.append(rrset)
            if zone.key is not None:
                start, end = self.now - dt.timedelta(hours=1), self.now + dt.timedelta(days=1)
                signed.append(self._signature(zone, rrset, start, end))
        return signed

    def _tampered(
        self, qname: Name, qtype: int, answer: list[dns.rrset.RRset], authority: list[dns.rrset.RRset]
    ) -> tuple[list[dns.rrset.RRset], list[dns.rrset.RRset]]:
        key = qname.to_text(omit_final_dot=True).lower()
        faults = self.tamper.get((key, type_name(qtype)), set()) | self.tamper.get((key, "*"), set())
        if "strip-rrsig" in faults:
            answer = [r for r in answer if r.rdtype != dns.rdatatype.RRSIG]
        if "corrupt-rrsig" in faults:
            answer = [_corrupted(r) if r.rdtype == dns.rdatatype.RRSIG else r for r in answer]
        denial = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
        if "strip-proof" in faults:
            authority = [r for r in authority if r.rdtype not in denial and r.covers not in denial]
        if "first-proof-only" in faults:
            proofs = [r.name for r in authority if r.rdtype in denial]
            authority = [r for r in authority if r.name not in proofs[1:]]
        rewrite = self.rewrite.get((key, type_name(qtype)))
        if rewrite is not None:
            answer, authority = rewrite(list(answer), list(authority))
        return answer, authority


class _Lookup:
    """One question against one zone, as an authoritative server answers it (RFC 1034 §4.3.2, RFC 4035
    §3.1.3, RFC 5155 §7.2): (rcode, answer, authority, CNAME target to follow)."""

    def __init__(self, world: SignedWorld, zone: _SignedZone, qname: Name, qtype: int) -> None:
        self.world, self.zone, self.qname, self.qtype = world, zone, qname, qtype
        self.answer: list[dns.rrset.RRset] = []
        self.authority: list[dns.rrset.RRset] = []

    def signed(self, rrset: dns.rrset.RRset, owner: Name | None = None) -> list[dns.rrset.RRset]:
        sig = self.zone.sigs.get((rrset.name, rrset.rdtype))
        found = [rrset, sig] if sig is not None else [rrset]
        if owner is not None:  # a wildcard expansion: the records and signatures under the asked name
            found = [dns.rrset.from_rdata_list(owner, r.ttl, list(r)) for r in found]
        return found

    def run(self) -> tuple[dns.rcode.Rcode, list[dns.rrset.RRset], list[dns.rrset.RRset], Name | None]:
        zone, qname, _qtype = self.zone, self.qname, self.qtype
        dname = self._dname()
        if dname is not None:
            return dns.rcode.NOERROR, self.answer, self.authority, dname
        node = zone.nodes.get(qname)
        if node is not None:
            return self._at_node(node, qname, None)
        if qname in zone.empty_non_terminals:
            self._soa()
            self._deny_type(qname)
            return dns.rcode.NOERROR, self.answer, self.authority, None
        encloser = self._closest_encloser()
        wildcard = dns.name.Name((b"*", *encloser.labels))
        if wildcard in zone.nodes:
            self._cover(qname, encloser)
            return self._at_node(zone.nodes[wildcard], wildcard, qname)
        self._soa()
        self._cover(qname, encloser)
        self._cover_wildcard(wildcard)
        return dns.rcode.NXDOMAIN, self.answer, self.authority, None

    def _at_node(
        self, node: dict[int, dns.rrset.RRset], owner: Name, asked: Name | None
    ) -> tuple[dns.rcode.Rcode, list[dns.rrset.RRset], list[dns.rrset.RRset], Name | None]:
        if self.qtype in node:
            self.answer += self.signed(node[self.qtype], asked)
            return dns.rcode.NOERROR, self.answer, self.authority, None
        if dns.rdatatype.CNAME in node:
            self.answer += self.signed(node[dns.rdatatype.CNAME], asked)
            return dns.rcode.NOERROR, self.answer, self.authority, node[dns.rdatatype.CNAME][0].target
        self._soa()
        self._deny_type(owner)
        return dns.rcode.NOERROR, self.answer, self.authority, None

    def _dname(self) -> Name | None:
        """A DNAME at an ancestor of the name (in this zone): it and the CNAME it synthesizes (RFC 6672)."""
        for depth in range(len(self.zone.origin), len(self.qname)):
            ancestor = dns.name.Name(self.qname.labels[-depth:])
            dname = self.zone.nodes.get(ancestor, {}).get(dns.rdatatype.DNAME)
            if dname is not None:
                self.answer += self.signed(dname)
                target = self.qname.relativize(ancestor).derelativize(dname[0].target)
                self.answer.append(dns.rrset.from_text(self.qname, 0, IN, "CNAME", target.to_text()))
                return target
        return None

    def _closest_encloser(self) -> Name:
        name = self.qname
        while name != self.zone.origin:
            name = name.parent()
            if self.zone.exists(name):
                return name
        return self.zone.origin

    def _soa(self) -> None:
        self.authority += self.signed(self.zone.nodes[self.zone.origin][dns.rdatatype.SOA])

    def _add_proof(self, rrset: dns.rrset.RRset | None) -> None:
        if rrset is not None and rrset not in self.authority:
            self.authority += self.signed(rrset)

    def _nsec_covering(self, name: Name) -> dns.rrset.RRset | None:
        before = [r for owner, r in self.zone.nsec if owner <= name]
        return before[-1] if before else (self.zone.nsec[-1][1] if self.zone.nsec else None)

    def _nsec3_for(self, name: Name, match: bool) -> dns.rrset.RRset | None:
        chain = self.zone.nsec3
        if not chain:
            return None
        digest = self.zone.hashed(name)
        for own, rrset in chain:
            if own == digest:
                return rrset if match else None
        if match:
            return None
        before = [r for own, r in chain if own < digest]
        return before[-1] if before else chain[-1][1]

    def _deny_type(self, name: Name) -> None:
        """NODATA at NAME (an existing name or an empty non-terminal)."""
        if self.zone.nsec:
            at = next((r for owner, r in self.zone.nsec if owner == name), None)
            self._add_proof(at or self._nsec_covering(name))
        elif self.zone.nsec3:
            matching = self._nsec3_for(name, match=True)
            if matching is not None:
                self._add_proof(matching)
            else:  # an opt-out delegation (RFC 5155 §7.2.4): closest encloser proof, next closer covered
                encloser = name.parent()
                while self._nsec3_for(encloser, match=True) is None and encloser != self.zone.origin:
                    encloser = encloser.parent()
                self._cover(name, encloser)

    def _cover(self, qname: Name, encloser: Name) -> None:
        """QNAME does not exist: the NSEC covering it, or the NSEC3 matching the closest encloser and the
        NSEC3 covering the next closer name (RFC 5155 §7.2.1)."""
        if self.zone.nsec:
            self._add_proof(self._nsec_covering(qname))
        elif self.zone.nsec3:
            next_closer = dns.name.Name(qname.labels[-(len(encloser.labels) + 1) :])
            self._add_proof(self._nsec3_for(encloser, match=True))
            self._add_proof(self._nsec3_for(next_closer, match=False))

    def _cover_wildcard(self, wildcard: Name) -> None:
        if self.zone.nsec:
            self._add_proof(self._nsec_covering(wildcard))
        elif self.zone.nsec3:
            self._add_proof(self._nsec3_for(wildcard, match=False))


def _make_key(algorithm: str) -> tuple[DNSKEY, Any]:
    if algorithm == "PRIVATEDNS":
        # RFC 4034 appendix A.1.1: the key of algorithm 253 starts with a domain name naming the algorithm
        key = dns.name.from_text("private.example.").to_digestable() + os.urandom(64)
        return DNSKEY(IN, dns.rdatatype.DNSKEY, 257, 3, PRIVATE_ALGORITHM, key), None  # type: ignore[no-untyped-call]
    private = _private_key(algorithm)
    return dns.dnssec.make_dnskey(private.public_key(), algorithm, flags=257), private


def _ds(origin: Name, key: DNSKEY, digest: str | int) -> dns.rdata.Rdata:
    """A DS record for KEY, made by hand so any digest can be published (dnspython refuses to make SHA-1)."""
    if isinstance(digest, int):
        value, number = os.urandom(32), digest
    else:
        wrong = digest.startswith("wrong-")
        name = digest.removeprefix("wrong-")
        number = {"SHA1": 1, "SHA256": 2, "SHA384": 4}[name]
        value = ds_digest(origin, key, number)
        if wrong:  # the digest of some other key: flipped, so it matches none
            value = bytes(b ^ 0xFF for b in value)
    text = f"{dns.dnssec.key_id(key)} {key.algorithm} {number} {value.hex()}"
    return dns.rdata.from_text(IN, dns.rdatatype.DS, text)


def _corrupted(rrset: dns.rrset.RRset) -> dns.rrset.RRset:
    records = []
    for sig in rrset:
        signature = bytearray(sig.signature)
        signature[len(signature) // 2] ^= 0xFF
        records.append(sig.replace(signature=bytes(signature)))
    return dns.rrset.from_rdata_list(rrset.name, rrset.ttl, records)


def anchor_for(world: SignedWorld) -> str:
    """The root's DS, as a trust anchor line."""
    key = world.zones[dns.name.root].key
    assert key is not None
    return ". IN DS " + _ds(dns.name.root, key, "SHA256").to_text()


def sign(table: Zone, plans: list[ZonePlan], now: dt.datetime | None = None) -> tuple[SignedWorld, str]:
    """Sign the lab TABLE as PLANS say; the world (for :attr:`DnsResponder.world`) and the root anchor line."""
    world = SignedWorld(table, plans, now)
    return world, anchor_for(world)
