"""DNSSEC validation by mailcheck itself (RFC 4033–4035, RFC 5155), through the configured resolver.

An answer the checks rely on is asked again with the DO bit (and CD, so a validating resolver hands over the
signatures instead of judging them), then:

- signed: its RRSIG is checked with the signer zone's DNSKEY set, that set with a key matching the DS the
  parent publishes (itself checked the same way), up to a trust anchor (the IANA root key by default):
  ``secure``, or ``bogus`` with the link that broke (expired signature, DS matching no key, ...);
- unsigned: an ancestor's delegation is proved insecure by the parent's signed NSEC/NSEC3 record for it
  (NS bit set, DS bit clear): ``insecure``; a signed DS for an ancestor makes the unsigned answer ``bogus``;
- no signatures reachable at all (a resolver that strips them, a timeout): ``indeterminate``, which is the
  resolver's doing, not the domain's.

Uses dnspython's DNSSEC primitives (over ``cryptography``).
"""

from dataclasses import dataclass, field
from typing import Any

import dns.dnssec
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from mailcheck.model import ProbeError
from mailcheck.net.dns import DnsClient
from mailcheck.net.dnssec_keys import SignatureError, describe_ds, ds_matches, signing_labels, usable_ds, verify
from mailcheck.net.dnssec_proofs import MALFORMED, Proof, prove_denial, prove_wildcard_expansion
from mailcheck.net.dnssec_proofs import type_name as _type_name

# The IANA root trust anchors (https://data.iana.org/root-anchors/root-anchors.xml): KSK-2017 and KSK-2024.
IANA_ROOT_ANCHORS = (
    ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
)


class AnchorError(ValueError):
    """A trust anchor file that cannot be read; the message names the line."""


@dataclass(frozen=True)
class TrustAnchors:
    """DS and DNSKEY records of zones trusted without a parent (the root, or a lab's own)."""

    ds: dict[dns.name.Name, list[dns.rdata.Rdata]] = field(default_factory=dict)
    dnskey: dict[dns.name.Name, list[dns.rdata.Rdata]] = field(default_factory=dict)

    @property
    def zones(self) -> list[dns.name.Name]:
        return sorted(set(self.ds) | set(self.dnskey), key=lambda n: len(n.labels))


def parse_anchors(lines: list[str] | tuple[str, ...], source: str = "trust anchors") -> TrustAnchors:
    """DS or DNSKEY records in zone-file form (``. IN DS 20326 8 2 E06D...``), one a line; # or ; comments."""
    anchors = TrustAnchors()
    for number, raw in enumerate(lines, start=1):
        line = raw.split(";", 1)[0].split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        try:
            owner = dns.name.from_text(words[0])
            rest = words[1:]
            if rest and rest[0].isdigit():
                rest = rest[1:]  # a TTL
            if rest and rest[0].upper() == "IN":
                rest = rest[1:]
            rdtype = rest[0].upper()
            if rdtype not in ("DS", "DNSKEY"):
                raise AnchorError(f"{source} line {number}: only DS or DNSKEY records can be anchors, not {rdtype}")
            rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, " ".join(rest[1:]))
        except AnchorError:
            raise
        except (IndexError, dns.exception.DNSException, ValueError) as exc:
            raise AnchorError(f"{source} line {number}: not a DS or DNSKEY record ({exc}): {raw.strip()!r}") from None
        target = anchors.ds if rdtype == "DS" else anchors.dnskey
        target.setdefault(owner, []).append(rdata)
    if not anchors.ds and not anchors.dnskey:
        raise AnchorError(f"{source}: no DS or DNSKEY record in it")
    return anchors


DEFAULT_ANCHORS = parse_anchors(IANA_ROOT_ANCHORS, "built-in root anchors")


@dataclass(frozen=True)
class DnssecStatus:
    """``secure``, ``insecure``, ``bogus`` or ``indeterminate``, with why, and who decided."""

    state: str
    reason: str
    decided_by: str = "mailcheck"
    zone: str | None = None  # the zone whose link decided (the signer, or the insecure delegation)
    unanswered: bool = False  # indeterminate because the resolver did not answer at all (not checked)


class _Bogus(Exception):
    def __init__(self, message: str, zone: dns.name.Name | None = None) -> None:
        super().__init__(message)
        self.zone = zone


class _Indeterminate(Exception):
    def __init__(self, message: str, unanswered: bool = False) -> None:
        super().__init__(message)
        self.unanswered = unanswered


@dataclass(frozen=True)
class _Link:
    """The verdict on one record set or denial along the answer's CNAME/DNAME chain."""

    secure: bool
    reason: str
    zone: dns.name.Name
    alias: bool = False  # a CNAME or DNAME followed


@dataclass(frozen=True)
class _Insecure:
    reason: str
    zone: dns.name.Name


MAX_CHAIN = 12
_DENIAL_TYPES = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)


class DnssecValidator:
    """Validates answers for one run (RFC 4033–4035, 5155, 6840, 8624); each zone's keys are validated once.

    Each record set along a CNAME/DNAME chain is validated in its own zone; a denial by the NSEC/NSEC3
    records of the zone the name is in; an unsigned record set or denial is insecure only where an insecure
    delegation above it is proven (a signed no-DS proof, opt-out, or a DS of algorithms or digests no
    validator uses), bogus under a signed zone."""

    def __init__(self, dns_client: DnsClient, anchors: TrustAnchors = DEFAULT_ANCHORS, now: float | None = None):
        self.dns = dns_client
        self.anchors = anchors
        self.now = now
        self._keys: dict[dns.name.Name, dns.rrset.RRset | _Insecure] = {}
        self._zones: dict[dns.name.Name, dns.name.Name | _Insecure] = {}
        self._reachable: dict[dns.name.Name, str | None] = {}

    async def _ask(self, name: dns.name.Name, rdtype: str) -> dns.message.Message:
        try:
            return await self.dns.query_dnssec(name.to_text(), rdtype)
        except ProbeError as err:
            raise _Indeterminate(f"{rdtype} {name} was not answered: {err.message}", unanswered=True) from None

    # --- signatures and keys ---

    async def _verify_rrset(self, rrset: dns.rrset.RRset, section: list[dns.rrset.RRset]) -> tuple[_Link, Any]:
        """RRSET validated with its RRSIGs from SECTION in the signer's zone: (link, the RRSIG that verified)."""
        what = f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"
        sigs = _find(section, rrset.name, dns.rdatatype.RRSIG, rrset.rdtype)
        if sigs is None:
            state = await self._zone_of(rrset.name)
            if isinstance(state, _Insecure):
                return _Link(False, state.reason, state.zone), None
            raise _Bogus(f"{what} came without a signature, but its zone {state} is signed", state)
        strict = rrset.rdtype == dns.rdatatype.DS  # a DS is signed by the parent, never the zone itself
        signers = [
            s.signer for s in sigs if rrset.name.is_subdomain(s.signer) and not (strict and s.signer == rrset.name)
        ]
        if not signers:
            raise _Bogus(f"{what} is signed by {sigs[0].signer}, which is not a zone above it", rrset.name)
        signer = max(signers, key=len)
        keys = await self.zone_keys(signer)
        if isinstance(keys, _Insecure):
            return _Link(False, keys.reason, keys.zone), None
        try:
            sig = verify(rrset, [s for s in sigs if s.signer == signer], keys, self.now)
        except SignatureError as exc:
            raise _Bogus(str(exc), signer) from None
        return _Link(True, f"{what} signed by {signer}", signer), sig

    async def zone_keys(self, zone: dns.name.Name) -> dns.rrset.RRset | _Insecure:
        """ZONE's DNSKEY set validated up to a trust anchor, or why the zone is insecure."""
        if zone in self._keys:
            return self._keys[zone]
        anchored_keys = self.anchors.dnskey.get(zone) or []
        trusted = self.anchors.ds.get(zone)
        if trusted is None and not anchored_keys:
            parent_ds = await self._ds_of(zone)
            if isinstance(parent_ds, _Insecure):
                self._keys[zone] = parent_ds
                return parent_ds
            trusted = parent_ds
        usable = usable_ds(trusted or [])
        if trusted and not usable and not anchored_keys:
            found = _Insecure(
                f"{zone} is signed only with algorithms or DS digests no validator uses "
                f"({describe_ds(trusted)}; RFC 8624): treated as unsigned",
                zone,
            )
            self._keys[zone] = found
            return found
        response = await self._ask(zone, "DNSKEY")
        keys = _find(response.answer, zone, dns.rdatatype.DNSKEY)
        if keys is None:
            raise _Bogus(f"{zone} has a DS at its parent, but no DNSKEY set came back for it", zone)
        matching = [k for k in keys if k in anchored_keys or any(ds_matches(zone, k, d) for d in usable)]
        if not matching:
            raise _Bogus(f"no DNSKEY of {zone} matches the DS its parent publishes ({describe_ds(usable)}) "
                         "or the trust anchor", zone)  # fmt: skip
        sigs = _find(response.answer, zone, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
        if sigs is None:
            raise _Bogus(f"the DNSKEY set of {zone} came without a signature", zone)
        try:
            verify(keys, list(sigs), dns.rrset.from_rdata_list(zone, keys.ttl, matching), self.now)
        except SignatureError as exc:
            raise _Bogus(f"the DNSKEY set of {zone} is not signed by the key its DS names: {exc}", zone) from None
        self._keys[zone] = keys
        return keys

    async def _ds_of(self, zone: dns.name.Name) -> list[dns.rdata.Rdata] | _Insecure:
        """The validated DS records for ZONE at its parent, or the proof (or the parent's state) that it has
        none. A parent proving that ZONE is no delegation at all makes ZONE's signatures bogus."""
        if zone == dns.name.root:
            raise _Indeterminate("the root is not among the trust anchors")
        response = await self._ask(zone, "DS")
        ds = _find(response.answer, zone, dns.rdatatype.DS)
        if ds is not None:
            link, _ = await self._verify_rrset(ds, response.answer)
            if not link.secure:
                return _Insecure(link.reason, link.zone)
            return list(ds)
        judged = await self._no_ds(zone, response)
        if isinstance(judged, _Insecure):
            return judged
        raise _Bogus(f"{zone} signs records, but its parent proves it has no DS ({judged.reason})", zone)

    async def _no_ds(self, name: dns.name.Name, response: dns.message.Message) -> _Insecure | _Link:
        """A DS answer without a DS for NAME, judged: an insecure delegation (the parent's proof shows one
        without DS, or an opt-out span), an insecure parent, or the secure link proving NAME is no delegation
        (it lies inside the link's signed zone)."""
        link, proof = await self._denial(name, dns.rdatatype.DS, response, parent=True)
        if proof is not None and proof.delegation:
            return _Insecure(proof.reason, name)
        if not link.secure:
            return _Insecure(link.reason, link.zone)
        return link

    # --- unsigned answers: where is the insecure delegation? ---

    async def _zone_of(self, name: dns.name.Name) -> dns.name.Name | _Insecure:
        """For an unsigned answer at NAME: the secure zone it belongs to (so the answer is bogus), or the
        insecure delegation above it (RFC 4035 §5.2), found by asking for DS from NAME upwards."""
        if name in self._zones:
            return self._zones[name]
        candidate = name
        while True:
            if candidate in self.anchors.ds or candidate in self.anchors.dnskey:
                found: dns.name.Name | _Insecure = candidate
                break
            response = await self._ask(candidate, "DS")
            ds = _find(response.answer, candidate, dns.rdatatype.DS)
            if ds is not None:
                keys = await self.zone_keys(candidate)
                found = keys if isinstance(keys, _Insecure) else candidate
                break
            if any(r.rdtype in _DENIAL_TYPES for r in response.authority):
                judged = await self._no_ds(candidate, response)
                found = judged if isinstance(judged, _Insecure) else judged.zone  # inside that signed zone
                break
            if candidate == dns.name.root:
                raise _Indeterminate("no signed proof of an insecure delegation came back")
            candidate = candidate.parent()
        self._zones[name] = found
        return found

    # --- denial of existence ---

    async def _denial(
        self, qname: dns.name.Name, qtype: int, response: dns.message.Message, parent: bool = False
    ) -> tuple[_Link, Proof | None]:
        """Validate the NXDOMAIN/NODATA in RESPONSE for QNAME/QTYPE by its NSEC/NSEC3 records (PARENT: a DS
        question, answered by the zone above QNAME)."""
        nxdomain = response.rcode() == dns.rcode.NXDOMAIN
        what = f"{qname} {'does not exist' if nxdomain else 'has no ' + _type_name(qtype) + ' records'}"
        proofs = [r for r in response.authority if r.rdtype in _DENIAL_TYPES]
        signer = _proof_signer(qname, response.authority, parent)
        if signer is None:
            state = await self._zone_of(qname.parent() if parent and qname != dns.name.root else qname)
            if isinstance(state, _Insecure):
                return _Link(False, state.reason, state.zone), None
            raise _Bogus(f"the answer that {what} came without the NSEC/NSEC3 records that prove it, but its "
                         f"zone {state} is signed", state)  # fmt: skip
        chosen = [r for r in proofs if _signed_by(r, response.authority, signer)]
        for rrset in chosen:
            link, _ = await self._verify_rrset(rrset, response.authority)
            if not link.secure:
                return link, None
        proof = prove_denial(qname, qtype, nxdomain, signer, chosen)
        if proof.insecure:
            return _Link(False, proof.reason, signer), proof
        if not proof.proven:
            raise _Bogus(f"the answer that {what} is not proven: {proof.reason}", signer)
        kind = "NSEC3" if any(r.rdtype == dns.rdatatype.NSEC3 for r in chosen) else "NSEC"
        return _Link(True, f"{proof.reason}, proven by the signed {kind} records of {signer}", signer), proof

    # --- the answer ---

    async def _links(self, owner: dns.name.Name, qtype: int, response: dns.message.Message) -> list[_Link]:
        """Each link of the answer to OWNER/QTYPE: the CNAME/DNAME records followed, then the answer or its
        denial."""
        links: list[_Link] = []
        current = owner
        for _ in range(MAX_CHAIN):
            found = _find(response.answer, current, qtype)
            if found is not None:
                links += await self._record_links(found, response)
                return links
            dname = _dname_above(current, response.answer)
            if dname is not None and qtype != dns.rdatatype.DNAME:
                link, _ = await self._verify_rrset(dname, response.answer)
                links.append(_Link(link.secure, link.reason, link.zone, alias=True))
                current = current.relativize(dname.name).derelativize(dname[0].target)
                continue
            alias = _find(response.answer, current, dns.rdatatype.CNAME)
            if alias is not None and qtype != dns.rdatatype.CNAME:
                links += await self._record_links(alias, response, alias=True)
                current = alias[0].target
                continue
            link, _ = await self._denial(current, qtype, response)
            links.append(link)
            return links
        raise _Bogus(f"the CNAME/DNAME chain from {owner} is longer than {MAX_CHAIN}", owner)

    async def _record_links(
        self, rrset: dns.rrset.RRset, response: dns.message.Message, alias: bool = False
    ) -> list[_Link]:
        """RRSET validated in its zone (ALIAS: a CNAME followed), and, when its RRSIG shows it was expanded
        from a wildcard, the proof that the name itself does not exist."""
        link, sig = await self._verify_rrset(rrset, response.answer)
        links = [_Link(link.secure, link.reason, link.zone, alias=alias)]
        if link.secure and sig is not None and int(sig.labels) < signing_labels(rrset.name):
            links.append(await self._wildcard(rrset.name, int(sig.labels), link.zone, response))
        return links

    async def _wildcard(
        self, owner: dns.name.Name, labels: int, zone: dns.name.Name, response: dns.message.Message
    ) -> _Link:
        chosen = [
            r for r in response.authority if r.rdtype in _DENIAL_TYPES and _signed_by(r, response.authority, zone)
        ]
        for rrset in chosen:
            link, _ = await self._verify_rrset(rrset, response.authority)
            if not link.secure:
                return link
        proof = prove_wildcard_expansion(owner, labels, zone, chosen)
        if proof.insecure:
            return _Link(False, proof.reason, zone)
        if not proof.proven:
            raise _Bogus(proof.reason, zone)
        return _Link(True, proof.reason, zone)

    async def _unreachable(self, anchor: dns.name.Name) -> str | None:
        """Why no chain can be built from ANCHOR through this resolver (None when its DNSKEY set comes back
        signed). Asked once per run, so a resolver that strips DNSSEC records costs one question, not a walk
        per answer."""
        if anchor not in self._reachable:
            try:
                response = await self._ask(anchor, "DNSKEY")
            except _Indeterminate as exc:
                self._reachable[anchor] = str(exc)
            else:
                signed = _find(response.answer, anchor, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
                self._reachable[anchor] = (
                    None if signed is not None else f"the resolver returns no signed DNSKEY set for {anchor}"
                )
        return self._reachable[anchor]

    async def status(self, name: str, rdtype: str) -> DnssecStatus:
        """Is the NAME/RDTYPE answer secure, insecure, bogus or indeterminate?"""
        import dns._features

        if not dns._features.have("dnssec"):
            # dnspython checks signatures only with a cryptography it accepts (2.9 wants 50; sslyze caps it below)
            return DnssecStatus(
                "indeterminate",
                "this installation cannot check signatures: dnspython's DNSSEC support needs a newer cryptography "
                "(pip install -U 'cryptography' or, with the tls extra, dnspython<2.9)",
            )
        owner = dns.name.from_text(name)
        covering = [z for z in self.anchors.zones if owner.is_subdomain(z)]
        if not covering:
            listed = ", ".join(z.to_text() for z in self.anchors.zones)
            return DnssecStatus(
                "indeterminate", f"the trust anchors ({listed}) do not cover {owner}: nothing to validate from"
            )
        why = await self._unreachable(max(covering, key=lambda z: len(z.labels)))
        if why is not None:
            unanswered = "was not answered" in why
            return DnssecStatus(
                "indeterminate", f"no DNSSEC chain reachable through this resolver: {why}", unanswered=unanswered
            )
        try:
            response = await self._ask(owner, rdtype)
            if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                raise _Indeterminate(f"the resolver answered {dns.rcode.to_text(response.rcode())}")
            links = await self._links(owner, dns.rdatatype.from_text(rdtype), response)
        except _Bogus as exc:
            zone = exc.zone.to_text(omit_final_dot=True) if exc.zone is not None else None
            return DnssecStatus("bogus", str(exc), zone=zone)
        except _Indeterminate as exc:
            return DnssecStatus(
                "indeterminate", f"no DNSSEC chain reachable through this resolver: {exc}", unanswered=exc.unanswered
            )
        except MALFORMED as exc:
            return DnssecStatus("bogus", f"malformed DNSSEC records in the answer ({exc})")
        return _verdict(links)


def _verdict(links: list[_Link]) -> DnssecStatus:
    weak = next((link for link in links if not link.secure), None)
    aliases = sum(link.alias for link in links)
    via = f" (via {aliases} CNAME/DNAME record{'s' if aliases > 1 else ''}, each validated)" if aliases else ""
    if weak is not None:
        return DnssecStatus("insecure", weak.reason + via, zone=weak.zone.to_text(omit_final_dot=True))
    last = links[-1]
    reason = last.reason if "proven" in last.reason else f"{last.reason}, validated up to a trust anchor"
    return DnssecStatus("secure", reason + via, zone=last.zone.to_text(omit_final_dot=True))


def _proof_signer(qname: dns.name.Name, authority: list[dns.rrset.RRset], parent: bool) -> dns.name.Name | None:
    """The zone whose signed NSEC/NSEC3 records speak about QNAME: the deepest signer above it (strictly above
    for a DS question)."""
    signers = {
        sig.signer
        for rrset in authority
        if rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers in _DENIAL_TYPES
        for sig in rrset
        if qname.is_subdomain(sig.signer) and not (parent and sig.signer == qname and qname != dns.name.root)
    }
    return max(signers, key=len) if signers else None


def _signed_by(rrset: dns.rrset.RRset, authority: list[dns.rrset.RRset], signer: dns.name.Name) -> bool:
    sigs = _find(authority, rrset.name, dns.rdatatype.RRSIG, rrset.rdtype)
    return sigs is not None and any(s.signer == signer for s in sigs)


def _dname_above(name: dns.name.Name, section: list[dns.rrset.RRset]) -> dns.rrset.RRset | None:
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.DNAME and name.is_subdomain(rrset.name) and name != rrset.name:
            return rrset
    return None


def _find(
    section: list[dns.rrset.RRset], name: dns.name.Name, rdtype: int, covers: int = dns.rdatatype.NONE
) -> dns.rrset.RRset | None:
    for rrset in section:
        if rrset.name == name and rrset.rdtype == rdtype and (covers == dns.rdatatype.NONE or rrset.covers == covers):
            return rrset
    return None
