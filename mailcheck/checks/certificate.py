"""Certificate evaluation shared by SMTP, IMAP and POP3: pure functions of the chain the server sent.

Each fault gets its own kind (``expired``, ``not-yet-valid``, ``hostname-mismatch``, ``self-signed``,
``untrusted``, ``incomplete-chain``, ``weak-key``, ``weak-signature``) so the report says which one it is,
instead of one opaque "verify failed".
"""

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject

EXPIRY_WARN_DAYS = 14
TRUST_KINDS = ("expired", "not-yet-valid", "hostname-mismatch", "self-signed", "untrusted", "incomplete-chain")


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str

    @property
    def breaks_trust(self) -> bool:
        return self.kind in TRUST_KINDS


def _common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else name.rfc4514_string()


def _san(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return ext.get_values_for_type(x509.DNSName), [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]


def name_matches(pattern: str, name: str) -> bool:
    """RFC 6125 §6.4: exact match, or a wildcard as the whole left-most label matching exactly one label."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    if not pattern.startswith("*."):
        return False
    head, _, rest = name.partition(".")
    return bool(head) and rest == pattern[2:] and rest.count(".") >= 1


def _key_description(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # any failure (bad signature, unsupported key) means "not self-signed"
        return False
    return True


def _has_ca_issuers(cert: x509.Certificate) -> bool:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return False
    return any(d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS for d in aia)


def _chain_problem(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    now: dt.datetime,
) -> Problem | None:
    """Does the chain lead to a trust anchor? Checked at a time inside the leaf's validity and for a name the
    leaf holds, so expiry and name faults are reported on their own and not mistaken for trust faults."""
    if any(leaf == anchor for anchor in anchors):
        return None
    if _self_signed(leaf):
        return Problem("self-signed", f"the certificate is self-signed ({_common_name(leaf.subject)})")
    if not anchors:
        return Problem("untrusted", "no trust anchors available (no system store, no --ca-file)")
    dns_names, ips = _san(leaf)
    subject: DNSName | IPAddress
    if dns_names:
        subject = DNSName(dns_names[0].replace("*", "x", 1))
    elif ips:
        subject = IPAddress(ipaddress.ip_address(ips[0]))
    else:
        subject = DNSName(_common_name(leaf.subject))
    clamped = min(max(now, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
    failure: Exception | None = None
    for at in dict.fromkeys((now, clamped)):
        try:
            verifier = PolicyBuilder().store(Store(list(anchors))).time(at).build_server_verifier(subject)
            verifier.verify(leaf, list(intermediates))
            return None
        except (VerificationError, ValueError) as exc:
            failure = exc
    issuer = _common_name(leaf.issuer)
    presented = {c.subject for c in intermediates} | {a.subject for a in anchors}
    if leaf.issuer not in presented and _has_ca_issuers(leaf):
        return Problem(
            "incomplete-chain",
            f"the server did not send the intermediate certificate ({issuer}); configure the full chain",
        )
    return Problem("untrusted", f"the chain does not lead to a trusted root (issuer {issuer}): {failure}")


def inspect_chain(
    chain_der: Sequence[bytes],
    expected_name: str,
    anchors: Sequence[x509.Certificate],
    now: dt.datetime,
) -> tuple[dict[str, object], list[Problem]]:
    """Details of the leaf and every problem found with the chain the server sent."""
    if not chain_der:
        return {}, [Problem("untrusted", "the server sent no certificate")]
    try:
        chain = [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError as exc:
        return {}, [Problem("untrusted", f"the server sent a certificate that cannot be parsed: {exc}")]
    leaf, intermediates = chain[0], chain[1:]
    dns_names, ips = _san(leaf)
    key_type, key_size = _key_description(leaf)
    days_left = (leaf.not_valid_after_utc - now).days
    signature = leaf.signature_algorithm_oid._name
    details: dict[str, object] = {
        "subject": _common_name(leaf.subject),
        "issuer": _common_name(leaf.issuer),
        "san": dns_names + ips,
        "not_before": leaf.not_valid_before_utc.isoformat(),
        "not_after": leaf.not_valid_after_utc.isoformat(),
        "days_left": days_left,
        "key": f"{key_type} {key_size}" if key_size else key_type,
        "signature": signature,
        "chain": [_common_name(c.subject) for c in chain],
        "expected_name": expected_name,
    }
    problems: list[Problem] = []
    if now > leaf.not_valid_after_utc:
        problems.append(
            Problem(
                "expired", f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d} ({-days_left} days ago)"
            )
        )
    elif now < leaf.not_valid_before_utc:
        problems.append(
            Problem("not-yet-valid", f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}")
        )
    try:
        target_ip = ipaddress.ip_address(expected_name.strip("[]"))
        name_ok = str(target_ip) in ips
    except ValueError:
        name_ok = any(name_matches(pattern, expected_name) for pattern in dns_names)
    if not name_ok:
        names = ", ".join(dns_names + ips) or f"none (no subjectAltName; CN={_common_name(leaf.subject)})"
        problems.append(Problem("hostname-mismatch", f"the certificate is not for {expected_name} (it names {names})"))
    chain_problem = _chain_problem(leaf, intermediates, anchors, now)
    if chain_problem is not None:
        problems.append(chain_problem)
    details["trusted"] = chain_problem is None
    if 0 <= days_left < EXPIRY_WARN_DAYS and now <= leaf.not_valid_after_utc:
        problems.append(Problem("expiring", f"the certificate expires in {days_left} days"))
    if key_type in ("RSA", "DSA") and key_size is not None and key_size < 2048:
        problems.append(Problem("weak-key", f"{key_type} key of {key_size} bits (use at least 2048)"))
    if leaf.signature_algorithm_oid in (
        SignatureAlgorithmOID.RSA_WITH_SHA1,
        SignatureAlgorithmOID.ECDSA_WITH_SHA1,
        SignatureAlgorithmOID.RSA_WITH_MD5,
    ):
        problems.append(Problem("weak-signature", f"signed with {signature}, which is broken; reissue with SHA-256"))
    return details, problems


def certificate_result(
    subject: Subject,
    chain_der: Sequence[bytes],
    expected_name: str,
    anchors: Sequence[x509.Certificate],
    now: dt.datetime,
    *,
    opportunistic: bool = False,
    insecure: bool = False,
) -> CheckResult:
    """The ``certificate`` finding. Trust faults fail, unless TLS is opportunistic (SMTP on port 25 without
    MTA-STS or DANE, where senders deliver anyway) or the user passed --insecure: then they warn."""
    details, problems = inspect_chain(chain_der, expected_name, anchors, now)
    details["problems"] = [{"kind": p.kind, "message": p.message} for p in problems]
    if not problems:
        return subject.result(
            Status.PASS,
            f"valid for {expected_name}, issued by {details['issuer']}, {details['days_left']} days left",
            details,
        )
    trust = [p for p in problems if p.breaks_trust]
    first = trust[0] if trust else problems[0]
    status = Status.FAIL if trust and not (opportunistic or insecure) else Status.WARN
    summary = "; ".join(p.message for p in problems)
    if trust and opportunistic and not insecure:
        summary += " (opportunistic TLS on port 25: senders without MTA-STS or DANE deliver anyway)"
    elif trust and insecure:
        summary += " (--insecure: reported, not failed)"
    return subject.result(status, summary, details, ErrorInfo(Stage.CERTIFICATE, first.kind, first.message))
