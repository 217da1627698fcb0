"""Keys, DS digests and signatures for DNSSEC validation: which algorithms and digests a validator uses
(RFC 8624), which DS records count (RFC 4509 §3), and a signature check that says in words why it failed.
Pure functions, no I/O."""

import datetime as dt
import hashlib
import time
from typing import Any

import dns.dnssec
import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset

# RFC 8624 §3.1: algorithms a validator MUST (or may still) validate; RSAMD5, DSA, ECC-GOST and the private
# algorithms are not, and a zone signed only with them is insecure (RFC 4035 §5.2, RFC 6840 §5.2).
SUPPORTED_ALGORITHMS = {5: "RSASHA1", 7: "RSASHA1-NSEC3-SHA1", 8: "RSASHA256", 10: "RSASHA512",
                        13: "ECDSAP256SHA256", 14: "ECDSAP384SHA384", 15: "ED25519", 16: "ED448"}  # fmt: skip
# RFC 8624 §3.3: SHA-1 must still be validated (dnspython's policy only refuses to *make* one).
DS_DIGESTS = {1: "sha1", 2: "sha256", 4: "sha384"}
ZONE_KEY = 0x0100


class SignatureError(Exception):
    """No signature over a record set verifies; the message says why, signature by signature."""


def usable_ds(records: list[Any]) -> list[Any]:
    """The DS records a validator uses: known digest and algorithm; SHA-1 ones ignored when a stronger digest
    is published for the zone (RFC 4509 §3, as BIND does; Unbound accepts either)."""
    usable = [d for d in records if d.digest_type in DS_DIGESTS and d.algorithm in SUPPORTED_ALGORITHMS]
    if any(d.digest_type != 1 for d in usable):
        usable = [d for d in usable if d.digest_type != 1]
    return usable


def ds_matches(zone: dns.name.Name, key: Any, ds: Any) -> bool:
    """Does DS name KEY (RFC 4034 §5.1.4: digest over the owner name and the DNSKEY RDATA)?"""
    if ds.algorithm != key.algorithm or ds.key_tag != dns.dnssec.key_id(key) or ds.digest_type not in DS_DIGESTS:
        return False
    return bool(ds_digest(zone, key, ds.digest_type) == ds.digest)


def ds_digest(zone: dns.name.Name, key: Any, digest_type: int) -> bytes:
    """The digest a DS of DIGEST_TYPE carries for KEY of ZONE: over the owner name and the DNSKEY RDATA."""
    return hashlib.new(DS_DIGESTS[digest_type], zone.to_digestable() + key.to_digestable()).digest()


def describe_ds(records: list[Any]) -> str:
    return ", ".join(f"{d.key_tag}/{_algorithm(d.algorithm)}/digest {d.digest_type}" for d in records)


def _algorithm(number: int) -> str:
    return SUPPORTED_ALGORITHMS.get(number) or f"algorithm {number}"


def _when(stamp: int) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def signing_labels(name: dns.name.Name) -> int:
    """The labels an RRSIG over NAME counts (RFC 4034 §3.1.3): without the root, without a leading ``*``; an
    RRSIG with fewer signed an expansion of a wildcard."""
    return len(name.labels) - 1 - (1 if name.is_wild() else 0)


def rrsig_labels_ok(rrset: dns.rrset.RRset, sig: Any) -> bool:
    return int(sig.labels) <= signing_labels(rrset.name)


def verify(rrset: dns.rrset.RRset, sigs: list[Any], keys: dns.rrset.RRset, now: float | None = None) -> Any:
    """The first RRSIG in SIGS that verifies RRSET with one of KEYS (the signer zone's validated DNSKEYs);
    SignatureError naming what is wrong with each otherwise (expired on DATE, no key with that tag, ...)."""
    moment = time.time() if now is None else now
    what = f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"
    problems: list[str] = []
    for sig in sigs:
        tag = sig.key_tag
        if sig.signer != keys.name:
            problems.append(f"the RRSIG by key {tag} names the signer {sig.signer}, not {keys.name}")
            continue
        candidates = [k for k in keys if k.algorithm == sig.algorithm and dns.dnssec.key_id(k) == tag]
        candidates = [k for k in candidates if k.flags & ZONE_KEY and k.protocol == 3]
        if not candidates:
            problems.append(f"no trusted DNSKEY of {keys.name} has the tag {tag} ({_algorithm(sig.algorithm)})")
        elif moment > sig.expiration:
            problems.append(f"the RRSIG on {what} by key {tag} expired on {_when(sig.expiration)}")
        elif moment < sig.inception:
            problems.append(f"the RRSIG on {what} by key {tag} is not valid before {_when(sig.inception)}")
        elif not rrsig_labels_ok(rrset, sig):
            problems.append(f"the RRSIG on {what} by key {tag} claims more labels than the name has")
        else:
            try:
                dns.dnssec.validate_rrsig(
                    rrset, sig, {keys.name: dns.rrset.from_rdata_list(keys.name, keys.ttl, candidates)}, now=moment
                )
            except (dns.exception.DNSException, ValueError, TypeError) as exc:  # a malformed key: no verdict of its own
                problems.append(f"the RRSIG on {what} by key {tag} does not verify ({exc})")
            else:
                return sig
    if not problems:
        problems.append(f"{what} came without a signature")
    raise SignatureError("; ".join(dict.fromkeys(problems)))
