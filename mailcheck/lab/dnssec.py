"""Signed zones for the lab DNS responder: keys, DNSKEY, DS in the parent, RRSIGs and an NSEC chain, made with
dnspython, so DNSSEC validation is tested against real signatures: secure zones, expired signatures, a DS
that matches no key (bogus), and an unsigned delegation proved by the parent's NSEC (insecure)."""

import datetime as dt
from dataclasses import dataclass, field

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ec
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from mailcheck.lab.dns import Zone, name_key

ALGORITHM = "ECDSAP256SHA256"


@dataclass
class ZoneSigning:
    """How to sign one zone of the lab: ``expired`` signs with a validity window in the past,
    ``wrong_ds`` publishes a DS in the parent for a key the zone does not use, ``signed`` False leaves it
    unsigned (an insecure delegation, proved by the parent's NSEC)."""

    origin: str
    signed: bool = True
    expired: bool = False
    wrong_ds: bool = False
    nsec3: bool = False  # an NSEC3 chain (RFC 5155: SHA-1, no salt, no extra iterations) instead of NSEC
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


def _owner_zone(owner: dns.name.Name, origins: list[dns.name.Name]) -> dns.name.Name | None:
    """The deepest zone that OWNER belongs to."""
    found = [o for o in origins if owner.is_subdomain(o)]
    return max(found, key=lambda o: len(o.labels)) if found else None


def sign(zone: Zone, plan: list[ZoneSigning], now: dt.datetime | None = None) -> str:
    """Sign the lab zone as PLAN says (parents before children); return the root anchor as a DS line."""
    now = now or dt.datetime.now(dt.UTC)
    origins = [_name(p.origin) for p in plan]
    keys: dict[dns.name.Name, DNSKEY] = {}
    for entry in plan:
        origin = _name(entry.origin)
        key = dns.dnssec.make_dnskey(entry.key.public_key(), ALGORITHM, flags=257)
        keys[origin] = key
        zone.records.pop((name_key(origin.to_text()), "DNSKEY"), None)
        if entry.signed:
            zone.add(origin.to_text(), "DNSKEY", key.to_text())
        if origin != dns.name.root:
            zone.add(origin.to_text(), "NS", f"ns.{origin.to_text()}")
            if entry.signed:
                published = key
                if entry.wrong_ds:
                    other = ec.generate_private_key(ec.SECP256R1()).public_key()
                    published = dns.dnssec.make_dnskey(other, ALGORITHM, flags=257)
                zone.add(origin.to_text(), "DS", dns.dnssec.make_ds(origin, published, "SHA256").to_text())
    for entry in plan:
        if entry.signed:
            _sign_zone(zone, entry, keys[_name(entry.origin)], origins, now)
    return ". IN DS " + dns.dnssec.make_ds(dns.name.root, keys[dns.name.root], "SHA256").to_text()


def _nsec_chain(zone: Zone, owned: dict[dns.name.Name, set[str]]) -> None:
    names = sorted(owned)
    for index, owner in enumerate(names):
        following = names[(index + 1) % len(names)]
        present = {dns.rdatatype.from_text(t) for t in owned[owner]} | {dns.rdatatype.RRSIG, dns.rdatatype.NSEC}
        bitmap = " ".join(dns.rdatatype.to_text(t) for t in sorted(present))
        zone.records[(name_key(owner.to_text()), "NSEC")] = [f"{following.to_text()} {bitmap}"]
        owned[owner].add("NSEC")


def _nsec3_chain(zone: Zone, origin: dns.name.Name, owned: dict[dns.name.Name, set[str]]) -> None:
    """NSEC3 records at <hash>.<zone> in hash order; they are signed like any other rrset of the zone."""
    hashed = sorted((dns.dnssec.nsec3_hash(owner, None, 0, 1), owner) for owner in owned)
    for index, (digest, owner) in enumerate(hashed):
        following = hashed[(index + 1) % len(hashed)][0]
        present = {dns.rdatatype.from_text(t) for t in owned[owner]} | {dns.rdatatype.RRSIG}
        bitmap = " ".join(dns.rdatatype.to_text(t) for t in sorted(present))
        record_owner = dns.name.from_text(digest, origin)
        zone.records[(name_key(record_owner.to_text()), "NSEC3")] = [f"1 0 0 - {following} {bitmap}"]
    for digest, _ in hashed:
        owned[dns.name.from_text(digest, origin)] = {"NSEC3"}


def _sign_zone(zone: Zone, entry: ZoneSigning, key: DNSKEY, origins: list[dns.name.Name], now: dt.datetime) -> None:
    origin = _name(entry.origin)
    owned: dict[dns.name.Name, set[str]] = {}
    for owner_text, rdtype in list(zone.records):
        owner = _name(owner_text or ".")
        home = _owner_zone(owner, origins)
        # a child's apex: its NS and DS belong to this (parent) zone
        at_cut = owner != origin and owner != dns.name.root and owner in origins
        if at_cut and _owner_zone(owner.parent(), origins) == origin:
            if rdtype in ("NS", "DS"):
                owned.setdefault(owner, set()).add(rdtype)
            continue
        if owner == origin and rdtype == "DS":
            continue  # the DS at a zone's apex is the parent's record, signed by the parent
        if home == origin and rdtype not in ("RRSIG", "NSEC"):
            owned.setdefault(owner, set()).add(rdtype)
    inception, expiration = (
        (now - dt.timedelta(days=30), now - dt.timedelta(days=1))
        if entry.expired
        else (now - dt.timedelta(hours=1), now + dt.timedelta(days=30))
    )
    if entry.nsec3:
        _nsec3_chain(zone, origin, owned)
    else:
        _nsec_chain(zone, owned)
    for owner, types in owned.items():
        key_text = name_key(owner.to_text())
        for rdtype in sorted(types):
            if rdtype == "NS" and owner != origin:
                continue  # delegation NS records are not signed (RFC 4035 §2.2)
            rrset = dns.rrset.from_text_list(owner, zone.ttl, "IN", rdtype, zone.records[(key_text, rdtype)])
            signature = dns.dnssec.sign(
                rrset, entry.key, origin, key, inception=inception, expiration=expiration, origin=origin
            )
            zone.records.setdefault((key_text, "RRSIG"), []).append(signature.to_text())
    zone._owners = None
