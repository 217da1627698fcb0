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

# The IANA root trust anchors (https://data.iana.org/root-anchors/root-anchors.xml): KSK-2017 and KSK-2024.
IANA_ROOT_ANCHORS = (
    ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
)
DS_DIGESTS = {1: "SHA1", 2: "SHA256", 4: "SHA384"}


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
    pass


class _Indeterminate(Exception):
    def __init__(self, message: str, unanswered: bool = False) -> None:
        super().__init__(message)
        self.unanswered = unanswered


class DnssecValidator:
    """Validates answers for one run; zone keys are validated once and cached."""

    def __init__(self, dns_client: DnsClient, anchors: TrustAnchors = DEFAULT_ANCHORS, now: float | None = None):
        self.dns = dns_client
        self.anchors = anchors
        self.now = now
        self._keys: dict[dns.name.Name, dns.rrset.RRset] = {}
        self._reachable: dict[dns.name.Name, str | None] = {}

    async def _ask(self, name: dns.name.Name, rdtype: str) -> dns.message.Message:
        try:
            return await self.dns.query_dnssec(name.to_text(), rdtype)
        except ProbeError as err:
            raise _Indeterminate(f"{rdtype} {name} was not answered: {err.message}", unanswered=True) from None

    def _check(self, rrset: dns.rrset.RRset, sigs: dns.rrset.RRset, keys: dns.rrset.RRset) -> None:
        try:
            dns.dnssec.validate(rrset, sigs, {keys.name: keys}, now=self.now)
        except dns.exception.ValidationFailure as exc:
            what = f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"
            raise _Bogus(f"the signature on {what} does not verify ({exc})") from None

    async def _signed_set(
        self, name: dns.name.Name, rdtype: str, missing: Exception
    ) -> tuple[dns.rrset.RRset, dns.rrset.RRset]:
        """NAME's RDTYPE set and its RRSIGs; MISSING when the set is absent, indeterminate when unsigned."""
        response = await self._ask(name, rdtype)
        code = dns.rdatatype.from_text(rdtype)
        found = _find(response.answer, name, code)
        sigs = _find(response.answer, name, dns.rdatatype.RRSIG, code)
        if found is None:
            raise missing
        if sigs is None:
            raise _Indeterminate(f"the {rdtype} set of {name} came back without signatures")
        return found, sigs

    async def zone_keys(self, zone: dns.name.Name) -> dns.rrset.RRset:
        """ZONE's DNSKEY set, validated up to a trust anchor."""
        if zone in self._keys:
            return self._keys[zone]
        keys, sigs = await self._signed_set(zone, "DNSKEY", missing=_Indeterminate(f"no DNSKEY for {zone} came back"))
        trusted = self.anchors.ds.get(zone) or []
        anchored_keys = self.anchors.dnskey.get(zone) or []
        if not trusted and not anchored_keys:
            trusted = await self.validated_ds(zone)
        matching = [k for k in keys if _matches(zone, k, trusted) or k in anchored_keys]
        if not matching:
            raise _Bogus(f"no DNSKEY of {zone} matches the DS its parent publishes (or the trust anchor)")
        self._check(keys, sigs, dns.rrset.from_rdata_list(zone, keys.ttl, matching))
        self._keys[zone] = keys
        return keys

    async def validated_ds(self, zone: dns.name.Name) -> list[dns.rdata.Rdata]:
        if zone == dns.name.root:
            raise _Indeterminate("the root is not among the trust anchors")
        missing = _Bogus(f"{zone} is signed, but its parent publishes no DS for it (an island of trust)")
        ds, sigs = await self._signed_set(zone, "DS", missing=missing)
        signers = [s.signer for s in sigs if zone.is_subdomain(s.signer) and s.signer != zone]
        if not signers:
            raise _Bogus(f"the DS of {zone} is not signed by a parent zone")
        parent_keys = await self.zone_keys(signers[0])
        self._check(ds, sigs, parent_keys)
        return list(ds)

    async def _insecure_delegation(self, name: dns.name.Name) -> DnssecStatus:
        """An unsigned answer: find the ancestor whose parent proves it has no DS (NSEC/NSEC3, RFC 4035 §5.2)."""
        candidate = name
        while candidate != dns.name.root:
            if candidate in self.anchors.ds or candidate in self.anchors.dnskey:
                raise _Bogus(f"an unsigned answer under the trust anchor {candidate}")
            response = await self._ask(candidate, "DS")
            ds = _find(response.answer, candidate, dns.rdatatype.DS)
            if ds is not None and _find(response.answer, candidate, dns.rdatatype.RRSIG, dns.rdatatype.DS):
                raise _Bogus(f"{candidate} is a signed zone (its parent has a DS), but the answer came unsigned")
            proof = await self._no_ds_proof(candidate, response)
            if proof is not None:
                return DnssecStatus("insecure", proof, zone=candidate.to_text(omit_final_dot=True))
            candidate = candidate.parent()
        raise _Indeterminate("no signed proof of an insecure delegation came back")

    async def _no_ds_proof(self, candidate: dns.name.Name, response: dns.message.Message) -> str | None:
        for rrset in response.authority:
            if (rrset.rdtype == dns.rdatatype.NSEC and rrset.name == candidate) or (
                rrset.rdtype == dns.rdatatype.NSEC3 and _nsec3_owner_matches(rrset, candidate)
            ):
                bits = _types(rrset[0])
            else:
                continue
            if dns.rdatatype.NS not in bits or dns.rdatatype.DS in bits or dns.rdatatype.SOA in bits:
                return None  # not a delegation point: keep walking up
            sigs = _find(response.authority, rrset.name, dns.rdatatype.RRSIG, rrset.rdtype)
            if sigs is None:
                return None
            self._check(rrset, sigs, await self.zone_keys(sigs[0].signer))
            kind = dns.rdatatype.to_text(rrset.rdtype)
            return f"{candidate} is an unsigned delegation (its parent's signed {kind} record shows no DS)"
        return None

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
            answer = _find(response.answer, owner, dns.rdatatype.from_text(rdtype))
            sigs = _find(response.answer, owner, dns.rdatatype.RRSIG, dns.rdatatype.from_text(rdtype))
            if answer is not None and sigs is not None:
                signer = sigs[0].signer
                self._check(answer, sigs, await self.zone_keys(signer))
                return DnssecStatus("secure", f"signed by {signer}, validated up to a trust anchor", zone=str(signer))
            return await self._insecure_delegation(owner)
        except _Bogus as exc:
            return DnssecStatus("bogus", str(exc))
        except _Indeterminate as exc:
            return DnssecStatus(
                "indeterminate", f"no DNSSEC chain reachable through this resolver: {exc}", unanswered=exc.unanswered
            )


def _find(
    section: list[dns.rrset.RRset], name: dns.name.Name, rdtype: int, covers: int = dns.rdatatype.NONE
) -> dns.rrset.RRset | None:
    for rrset in section:
        if rrset.name == name and rrset.rdtype == rdtype and (covers == dns.rdatatype.NONE or rrset.covers == covers):
            return rrset
    return None


def _matches(zone: dns.name.Name, key: dns.rdata.Rdata, trusted: list[dns.rdata.Rdata]) -> bool:
    for ds in trusted:
        digest = DS_DIGESTS.get(getattr(ds, "digest_type", 0))
        if digest is None:
            continue
        try:
            if dns.dnssec.make_ds(zone, key, digest) == ds:
                return True
        except (dns.exception.UnsupportedAlgorithm, ValueError):
            continue
    return False


def _types(record: dns.rdata.Rdata) -> set[int]:
    found: set[int] = set()
    for window, bitmap in record.windows:  # type: ignore[attr-defined]
        for index, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    found.add(window * 256 + index * 8 + bit)
    return found


def _nsec3_owner_matches(rrset: dns.rrset.RRset, candidate: dns.name.Name) -> bool:
    record = rrset[0]
    zone = rrset.name.parent()
    if not candidate.is_subdomain(zone):
        return False
    hashed = dns.dnssec.nsec3_hash(candidate, record.salt, record.iterations, record.algorithm)
    return rrset.name.labels[0].decode().upper() == hashed.upper()
