"""Proofs of non-existence (RFC 4035 §5.4, RFC 5155 §8, RFC 6840 §4): what a set of NSEC or NSEC3 records,
already validated as signed by ZONE, proves about a name. Pure functions over dnspython records, no I/O.

A :class:`Proof` is ``proven`` (secure), ``insecure`` (NSEC3 opt-out covering the name, an NSEC3 hash or
iteration count a validator does not compute: RFC 5155 §8.1, RFC 9276 §3.2), or neither (bogus, with the
reason in words). ``delegation`` marks a no-DS proof at a delegation point: an insecure delegation.
"""

import base64
import binascii
from dataclasses import dataclass

import dns.dnssec
import dns.exception
import dns.name
import dns.rdatatype
import dns.rrset

Name = dns.name.Name

# What malformed records a server sends can raise inside dnspython's name and hash code.
MALFORMED = (dns.exception.DNSException, ValueError, IndexError, binascii.Error)
# RFC 9276 §3.2: validators may treat NSEC3 records with more iterations as insecure; BIND 9.18 and Unbound
# 1.17 (the references in the tests) both do so above 150.
MAX_NSEC3_ITERATIONS = 150
NSEC3_SHA1 = 1
OPT_OUT = 1


@dataclass(frozen=True)
class Proof:
    proven: bool
    reason: str
    insecure: bool = False
    delegation: bool = False


def bitmap_types(record: object) -> set[int]:
    """The types an NSEC or NSEC3 record says exist at its name."""
    found: set[int] = set()
    for window, bitmap in getattr(record, "windows", ()):
        for index, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    found.add(window * 256 + index * 8 + bit)
    return found


def type_name(code: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(code))


def _ancestor(name: Name, labels: int) -> Name:
    """NAME cut to its last LABELS labels (plus the root)."""
    return Name(name.labels[-(labels + 1) :])


def _common(a: Name, b: Name) -> Name:
    """The nearest ancestor A and B share."""
    return Name(a.labels[-a.fullcompare(b)[2] :])


def prove_denial(qname: Name, qtype: int, nxdomain: bool, zone: Name, records: list[dns.rrset.RRset]) -> Proof:
    """Does RECORDS (NSEC or NSEC3 rrsets of ZONE) prove that QNAME does not exist (NXDOMAIN) or has no
    QTYPE records (NODATA, also at an empty non-terminal or through a wildcard)?"""
    nsec3 = [r for r in records if r.rdtype == dns.rdatatype.NSEC3]
    if nsec3:
        return _Nsec3(zone, nsec3).denial(qname, qtype, nxdomain)
    nsec = [r for r in records if r.rdtype == dns.rdatatype.NSEC]
    if not nsec:
        return Proof(False, f"no NSEC or NSEC3 record of {zone} came with the answer")
    return _Nsec(zone, nsec).denial(qname, qtype, nxdomain)


def prove_wildcard_expansion(owner: Name, rrsig_labels: int, zone: Name, records: list[dns.rrset.RRset]) -> Proof:
    """An answer at OWNER signed as an expansion of a wildcard (RRSIG labels < OWNER's): the records must show
    that OWNER itself does not exist (RFC 4035 §5.3.4, RFC 5155 §8.8)."""
    encloser = _ancestor(owner, rrsig_labels)
    nsec3 = [r for r in records if r.rdtype == dns.rdatatype.NSEC3]
    if nsec3:
        chain = _Nsec3(zone, nsec3)
        if chain.unusable:
            return Proof(False, chain.unusable, insecure=True)
        next_closer = _ancestor(owner, rrsig_labels + 1)
        if chain.covering(next_closer) is not None:
            return Proof(True, f"expanded from the wildcard *.{encloser}, {next_closer} proven absent by NSEC3")
        why = f"no NSEC3 record of {zone} covers {next_closer}"
    elif not records:
        why = f"no NSEC or NSEC3 record of {zone} came with it"
    else:
        nsec = [r for r in records if r.rdtype == dns.rdatatype.NSEC]
        if _Nsec(zone, nsec).covering(owner) is not None:
            return Proof(True, f"expanded from the wildcard *.{encloser}, {owner} proven absent by NSEC")
        why = f"no NSEC record of {zone} covers {owner}"
    return Proof(False, f"the answer for {owner} was expanded from the wildcard *.{encloser}, but {why}")


class _Nsec:
    def __init__(self, zone: Name, records: list[dns.rrset.RRset]) -> None:
        self.zone = zone
        self.records = [r for r in records if r.name.is_subdomain(zone) and len(r)]

    def at(self, name: Name) -> dns.rrset.RRset | None:
        return next((r for r in self.records if r.name == name), None)

    def covering(self, name: Name) -> dns.rrset.RRset | None:
        """The NSEC whose span (owner, next) holds NAME strictly; not one that only an ancestor delegation
        or DNAME could have made (RFC 6840 §4.1)."""
        for rrset in self.records:
            owner, following = rrset.name, rrset[0].next
            # the last NSEC of a zone wraps round to the apex: it covers names after it, under that apex
            inside = owner < name and (name < following or (following <= owner and name.is_subdomain(following)))
            if inside and name.is_subdomain(self.zone) and not self._cut_above(rrset, name):
                return rrset
        return None

    @staticmethod
    def _cut_above(rrset: dns.rrset.RRset, name: Name) -> bool:
        types = bitmap_types(rrset[0])
        delegation = dns.rdatatype.NS in types and dns.rdatatype.SOA not in types
        return name.is_subdomain(rrset.name) and (delegation or dns.rdatatype.DNAME in types)

    def denial(self, qname: Name, qtype: int, nxdomain: bool) -> Proof:
        at = self.at(qname)
        if at is not None:
            return _type_absent(at, qname, qtype, "NSEC")
        covering = self.covering(qname)
        if covering is None:
            return Proof(False, f"no NSEC record of {self.zone} covers {qname}")
        if covering[0].next.is_subdomain(qname) and covering[0].next != qname:
            if nxdomain:
                return Proof(False, f"NXDOMAIN for {qname}, but the NSEC records show names below it")
            return Proof(True, f"{qname} is an empty non-terminal")
        encloser = max(_common(qname, covering.name), _common(qname, covering[0].next), key=len)
        if not encloser.is_subdomain(self.zone):
            encloser = self.zone
        wildcard = Name((b"*", *encloser.labels))
        if nxdomain:
            if self.at(wildcard) is not None:
                return Proof(False, f"NXDOMAIN for {qname}, but the wildcard {wildcard} exists")
            if self.covering(wildcard) is None:
                return Proof(False, f"no NSEC record of {self.zone} proves that no wildcard {wildcard} exists")
            return Proof(True, f"{qname} does not exist")
        at_wildcard = self.at(wildcard)
        if at_wildcard is None:
            return Proof(False, f"{qname} is proven absent, yet the answer was NODATA, not NXDOMAIN")
        return _type_absent(at_wildcard, qname, qtype, "NSEC")


def _type_absent(record: dns.rrset.RRset, qname: Name, qtype: int, kind: str) -> Proof:
    """NODATA from the record at the name (or its wildcard): the type and CNAME are absent, and the record
    is from the right side of a zone cut (RFC 6840 §4.1: the parent's record at a delegation proves only the
    absence of DS; the child's apex record never does)."""
    types = bitmap_types(record[0])
    at_cut = dns.rdatatype.NS in types and dns.rdatatype.SOA not in types
    if qtype == dns.rdatatype.DS:
        if dns.rdatatype.SOA in types and record.name != dns.name.root:
            return Proof(False, f"the {kind} record for {qname} is the child zone's, not its parent's")
        if dns.rdatatype.DS in types:
            return Proof(False, f"the {kind} record for {qname} says a DS exists")
        if at_cut:
            return Proof(
                True,
                f"{qname} is an unsigned delegation (its parent's signed {kind} record shows no DS)",
                delegation=True,
            )
        return Proof(True, f"{qname} has no DS and is not a delegation")
    if at_cut:
        return Proof(False, f"the {kind} record for {qname} is the parent's at a delegation, not the zone's")
    for present in (qtype, dns.rdatatype.CNAME):
        if present in types:
            return Proof(False, f"the {kind} record for {qname} says {type_name(present)} exists")
    return Proof(True, f"{qname} has no {type_name(qtype)} records")


class _Nsec3:
    def __init__(self, zone: Name, records: list[dns.rrset.RRset]) -> None:
        self.zone = zone
        usable, self.unusable = [], ""
        for rrset in records:
            if not rrset.name.is_subdomain(zone) or rrset.name.parent() != zone or not len(rrset):
                continue
            record = rrset[0]
            if record.algorithm != NSEC3_SHA1:
                self.unusable = f"NSEC3 hash algorithm {record.algorithm} is unknown (RFC 5155 §8.1)"
                continue
            if record.iterations > MAX_NSEC3_ITERATIONS:
                self.unusable = (
                    f"the NSEC3 records of {zone} use {record.iterations} iterations, above the "
                    f"{MAX_NSEC3_ITERATIONS} validators compute (RFC 9276 §3.2)"
                )
                continue
            try:
                owner = base64.b32hexdecode(rrset.name.labels[0].upper())
            except (binascii.Error, ValueError):
                continue
            usable.append((owner, rrset))
        self.records = usable
        if usable:
            self.unusable = ""

    def _hash(self, name: Name, rrset: dns.rrset.RRset) -> bytes:
        record = rrset[0]
        text = dns.dnssec.nsec3_hash(name, record.salt or None, record.iterations, record.algorithm)
        return base64.b32hexdecode(text)

    def matching(self, name: Name) -> dns.rrset.RRset | None:
        return next((r for owner, r in self.records if owner == self._hash(name, r)), None)

    def covering(self, name: Name) -> dns.rrset.RRset | None:
        for owner, rrset in self.records:
            digest, following = self._hash(name, rrset), rrset[0].next
            if owner < digest < following or (following <= owner and (digest > owner or digest < following)):
                return rrset
        return None

    def closest_encloser(self, qname: Name) -> tuple[Name, Name, dns.rrset.RRset] | str:
        """RFC 5155 §8.3: the closest encloser (a match), the next closer name and the NSEC3 covering it; or
        why there is no such proof."""
        candidate, below = qname, None
        while candidate.is_subdomain(self.zone):
            match = self.matching(candidate)
            if match is not None:
                types = bitmap_types(match[0])
                if (dns.rdatatype.NS in types and dns.rdatatype.SOA not in types) or dns.rdatatype.DNAME in types:
                    return f"the closest encloser {candidate} is a delegation or DNAME: it cannot deny {qname}"
                if below is None:
                    return f"{qname} exists (an NSEC3 record matches it)"
                covering = self.covering(below)
                if covering is None:
                    return f"no NSEC3 record of {self.zone} covers the next closer name {below}"
                return candidate, below, covering
            if candidate == self.zone:
                break
            candidate, below = candidate.parent(), candidate
        return f"no NSEC3 record of {self.zone} matches an ancestor of {qname}"

    def denial(self, qname: Name, qtype: int, nxdomain: bool) -> Proof:
        if not self.records:
            return Proof(False, self.unusable or f"no NSEC3 record of {self.zone}", insecure=bool(self.unusable))
        match = self.matching(qname)
        if match is not None:
            if nxdomain:
                return Proof(False, f"NXDOMAIN for {qname}, but an NSEC3 record shows that it exists")
            return _type_absent(match, qname, qtype, "NSEC3")
        proof = self.closest_encloser(qname)
        if isinstance(proof, str):
            return Proof(False, proof)
        encloser, next_closer, covering = proof
        opt_out = bool(covering[0].flags & OPT_OUT)
        wildcard = Name((b"*", *encloser.labels))
        if nxdomain:
            if opt_out:
                return Proof(False, f"{next_closer} is in an NSEC3 opt-out span of {self.zone}", insecure=True)
            if self.covering(wildcard) is None:
                return Proof(False, f"no NSEC3 record of {self.zone} proves that no wildcard {wildcard} exists")
            return Proof(True, f"{qname} does not exist")
        if qtype == dns.rdatatype.DS and opt_out:
            why = f"{next_closer} is an unsigned delegation at most (in an NSEC3 opt-out span of {self.zone})"
            return Proof(False, why, insecure=True, delegation=True)
        at_wildcard = self.matching(wildcard)
        if at_wildcard is not None:
            return _type_absent(at_wildcard, qname, qtype, "NSEC3")
        if opt_out:
            return Proof(False, f"{next_closer} is in an NSEC3 opt-out span of {self.zone}", insecure=True)
        return Proof(False, f"no NSEC3 record of {self.zone} matches {qname} or a wildcard for it")
