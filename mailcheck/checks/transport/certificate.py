"""Certificate evaluation shared by SMTP, IMAP, POP3 and the MTA-STS policy host.

The trust verdict is OpenSSL's (:mod:`mailcheck.net.openssl_verify`): the chain the server sent, the run's
trust store, the expected name, OpenSSL's default rules, as Postfix, Dovecot, Exim and swaks decide. A
chain OpenSSL accepts is never reported as broken. Where OpenSSL refuses it, its answer is named precisely
(``expired``, ``not-yet-valid``, ``hostname-mismatch``, ``self-signed``, ``untrusted``, ``incomplete-chain``,
``wrong-purpose``, ``weak-key``, ``weak-signature``), with any further fault the chain has beside it.

Stricter profiles (RFC 5280 as OpenSSL's X509_STRICT reads it, which Python 3.13's default context turns on;
Go, rustls and browsers ignoring the common name) are a separate lint: :mod:`mailcheck.checks.transport.cert_profile`.
"""

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from mailcheck.checks.transport.cert_profile import certificate_identity, profile_results
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject
from mailcheck.net.openssl_verify import OpenSslVerdict, VerifyUnavailable, openssl_verdict
from mailcheck.net.trust import TrustStore

EXPIRY_WARN_DAYS = 14
WEAK_SIGNATURES = (
    SignatureAlgorithmOID.RSA_WITH_SHA1,
    SignatureAlgorithmOID.ECDSA_WITH_SHA1,
    SignatureAlgorithmOID.RSA_WITH_MD5,
)


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    breaks_trust: bool = False


def common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else name.rfc4514_string()


def _san(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    except ValueError:  # a malformed extension: treat as absent, the lint names it
        return [], []
    return ext.get_values_for_type(x509.DNSName), [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]


def name_matches(pattern: str, name: str) -> bool:
    """RFC 6125 §6.4 as OpenSSL applies it: exact match, or a wildcard as the whole left-most label
    matching exactly one label, with at least two labels after it."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    if not pattern.startswith("*."):
        return False
    head, _, rest = name.partition(".")
    return bool(head) and rest == pattern[2:] and rest.count(".") >= 1


def names_certificate(cert: x509.Certificate, expected_name: str) -> bool:
    """Does CERT name EXPECTED_NAME as an OpenSSL client checks it (X509_check_host/X509_check_ip):
    an address only against IP subjectAltNames; a host name against DNS subjectAltNames, or the common name
    when there is no DNS subjectAltName (OpenSSL's and Python's default)."""
    dns_names, ips = _san(cert)
    try:
        return str(ipaddress.ip_address(expected_name.strip("[]"))) in ips
    except ValueError:
        pass
    patterns = dns_names or [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return any(name_matches(pattern, expected_name) for pattern in patterns)


def key_description(cert: x509.Certificate) -> tuple[str, int | None]:
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


def _has_ca_issuers(cert: x509.Certificate) -> bool:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return any(d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS for d in aia)


def _role(chain: Sequence[x509.Certificate], cert: x509.Certificate) -> str:
    return "the certificate" if cert is chain[0] else f"the chain certificate {common_name(cert.subject)!r}"


def _missing_issuer(
    chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, bool]:
    """Walk up from the leaf through the certificates the server sent: the last one reached, and whether
    its issuer is among what the server sent or the trust anchors."""
    known = {c.subject for c in chain} | {a.subject for a in anchors}
    current, seen = chain[0], {chain[0].subject}
    while current.issuer != current.subject:
        parent = next((c for c in chain if c.subject == current.issuer and c.issuer not in seen), None)
        if parent is None:
            return current, current.issuer in known
        seen.add(parent.subject)
        current = parent
    return current, True


def _validity_problem(chain: Sequence[x509.Certificate], now: dt.datetime, expired: bool) -> Problem:
    """The expired (or not yet valid) certificate OpenSSL stopped at, named."""
    for cert in chain:
        if expired and now > cert.not_valid_after_utc:
            days = (now - cert.not_valid_after_utc).days
            return Problem(
                "expired",
                f"{_role(chain, cert)} expired on {cert.not_valid_after_utc:%Y-%m-%d} ({days} days ago)",
                True,
            )
        if not expired and now < cert.not_valid_before_utc:
            return Problem(
                "not-yet-valid", f"{_role(chain, cert)} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}", True
            )
    if expired:
        return Problem("expired", "a CA certificate of the chain in the trust store has expired", True)
    return Problem("not-yet-valid", "a CA certificate of the chain in the trust store is not yet valid", True)


def _name_problem(leaf: x509.Certificate, expected_name: str) -> Problem:
    dns_names, ips = _san(leaf)
    names = ", ".join(dns_names + ips) or f"none (no subjectAltName; CN={common_name(leaf.subject)})"
    return Problem("hostname-mismatch", f"the certificate is not for {expected_name} (it names {names})", True)


def _issuer_problem(chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]) -> Problem:
    """OpenSSL found no issuer for some certificate: a missing intermediate, or a CA nobody trusts here."""
    top, issuer_known = _missing_issuer(chain, anchors)
    issuer = common_name(top.issuer)
    if not issuer_known and _has_ca_issuers(top):
        return Problem(
            "incomplete-chain",
            f"the server did not send the intermediate certificate ({issuer}); configure the full chain",
            True,
        )
    return Problem(
        "untrusted",
        f"the chain does not lead to a trusted root: {issuer} is not in the trust store (a private CA? pass "
        "it with --ca-file; a public CA's intermediate? the server must send it)",
        True,
    )


def trust_problem(
    verdict: OpenSslVerdict,
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    expected_name: str,
    now: dt.datetime,
) -> Problem:
    """OpenSSL's refusal (an X509_V_ERR code) in plain words, with a stable kind."""
    code = verdict.code
    leaf = chain[0]
    if code in (9, 10):  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
        return _validity_problem(chain, now, expired=code == 10)
    if code in (62, 64):  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
        return _name_problem(leaf, expected_name)
    if code == 18:  # DEPTH_ZERO_SELF_SIGNED_CERT
        return Problem("self-signed", f"the certificate is self-signed ({common_name(leaf.subject)})", True)
    if code == 19:  # SELF_SIGNED_CERT_IN_CHAIN
        root = next((c for c in chain[1:] if c.issuer == c.subject), chain[-1])
        return Problem(
            "untrusted",
            f"the chain ends at a root that is not in the trust store ({common_name(root.subject)}); if it is "
            "your own CA, pass it with --ca-file",
            True,
        )
    if code in (2, 20, 21):  # UNABLE_TO_GET_ISSUER_CERT(_LOCALLY), UNABLE_TO_VERIFY_LEAF_SIGNATURE
        return _issuer_problem(chain, anchors)
    if code == 26:  # INVALID_PURPOSE
        return Problem(
            "wrong-purpose",
            "a certificate in the chain is not for TLS servers (its extendedKeyUsage lacks serverAuth)",
            True,
        )
    if code in (66, 67):  # EE_KEY_TOO_SMALL, CA_KEY_TOO_SMALL
        return Problem("weak-key", f"OpenSSL refuses a key in the chain as too small ({verdict.message})", True)
    if code == 68:  # CA_MD_TOO_WEAK
        return Problem(
            "weak-signature", "OpenSSL refuses a signature in the chain as too weak (SHA-1 or MD5); reissue", True
        )
    if code == 7:  # CERT_SIGNATURE_FAILURE
        return Problem("untrusted", "a signature in the chain does not verify (a corrupt or forged certificate)", True)
    if code == 24:  # INVALID_CA
        return Problem("untrusted", "a certificate in the chain that signs others is not marked as a CA", True)
    return Problem("untrusted", f"OpenSSL refuses the chain: {verdict.message}", True)


def _further_faults(chain: Sequence[x509.Certificate], expected_name: str, now: dt.datetime) -> list[Problem]:
    """Faults OpenSSL would also have refused but stops before reporting (it names only the first)."""
    leaf = chain[0]
    found = []
    if now > leaf.not_valid_after_utc or now < leaf.not_valid_before_utc:
        found.append(_validity_problem(chain[:1], now, expired=now > leaf.not_valid_after_utc))
    if not names_certificate(leaf, expected_name):
        found.append(_name_problem(leaf, expected_name))
    return found


def _warnings(leaf: x509.Certificate, now: dt.datetime, key_type: str, key_size: int | None) -> list[Problem]:
    days_left = (leaf.not_valid_after_utc - now).days
    found = []
    if 0 <= days_left < EXPIRY_WARN_DAYS and now <= leaf.not_valid_after_utc:
        found.append(Problem("expiring", f"the certificate expires in {days_left} days"))
    if key_type in ("RSA", "DSA") and key_size is not None and key_size < 2048:
        found.append(Problem("weak-key", f"{key_type} key of {key_size} bits (use at least 2048)"))
    if leaf.signature_algorithm_oid in WEAK_SIGNATURES:
        name = leaf.signature_algorithm_oid._name
        found.append(Problem("weak-signature", f"signed with {name}, which is broken; reissue with SHA-256"))
    return found


def inspect_chain(
    chain_der: Sequence[bytes], expected_name: str, trust: TrustStore, now: dt.datetime
) -> tuple[dict[str, object], list[Problem], list[x509.Certificate]]:
    """Details of the leaf, every problem found with the chain the server sent, and the parsed chain."""
    if not chain_der:
        return {}, [Problem("untrusted", "the server sent no certificate", True)], []
    try:
        chain = [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError as exc:
        message = "the server sent a certificate that cannot be read (not valid DER X.509)"
        return {"parse_error": str(exc)}, [Problem("unparseable", message, True)], []
    leaf = chain[0]
    dns_names, ips = _san(leaf)
    key_type, key_size = key_description(leaf)
    details: dict[str, object] = {
        "subject": common_name(leaf.subject),
        "issuer": common_name(leaf.issuer),
        "san": dns_names + ips,
        "not_before": leaf.not_valid_before_utc.isoformat(),
        "not_after": leaf.not_valid_after_utc.isoformat(),
        "days_left": (leaf.not_valid_after_utc - now).days,
        "key": f"{key_type} {key_size}" if key_size else key_type,
        "signature": leaf.signature_algorithm_oid._name,
        "chain": [common_name(c.subject) for c in chain],
        "root_issuer": common_name(chain[-1].issuer),  # who stands behind the chain sent (interception shows here)
        **certificate_identity(leaf),
        "expected_name": expected_name,
    }
    problems: list[Problem] = []
    try:
        verdict = openssl_verdict(trust.context(), chain_der, expected_name.strip("[]"))
    except VerifyUnavailable as exc:
        details["openssl_error"] = str(exc)
        problems.append(Problem("unverifiable", "OpenSSL could not read the chain the server sent", True))
    else:
        details["openssl_verify"] = {"code": verdict.code, "message": verdict.message}
        if not verdict.accepted:
            first = trust_problem(verdict, chain, trust.anchors, expected_name, now)
            problems.append(first)
            kinds = {first.kind}
            for further in _further_faults(chain, expected_name, now):
                if further.kind not in kinds:
                    kinds.add(further.kind)
                    problems.append(further)
    details["trusted"] = not any(p.breaks_trust for p in problems)
    seen = {p.kind for p in problems}
    problems += [p for p in _warnings(leaf, now, key_type, key_size) if p.kind not in seen]
    return details, problems, chain


def certificate_result(
    subject: Subject,
    chain_der: Sequence[bytes],
    expected_name: str,
    trust: TrustStore,
    now: dt.datetime,
    *,
    opportunistic: bool = False,
    insecure: bool = False,
) -> list[CheckResult]:
    """The ``certificate`` finding, then the stricter-profile lint. Trust faults fail, unless TLS is
    opportunistic (SMTP on port 25 without MTA-STS or DANE, where senders deliver anyway) or the user passed
    --insecure: then they warn."""
    details, problems, chain = inspect_chain(chain_der, expected_name, trust, now)
    details["problems"] = [{"kind": p.kind, "message": p.message} for p in problems]
    lint = profile_results(subject, chain, trust.anchors, opportunistic=opportunistic)
    if not problems:
        summary = f"valid for {expected_name}, issued by {details['issuer']}, {details['days_left']} days left"
        return [subject.result(Status.PASS, summary, details), *lint]
    trust_faults = [p for p in problems if p.breaks_trust]
    first = trust_faults[0] if trust_faults else problems[0]
    status = Status.FAIL if trust_faults and not (opportunistic or insecure) else Status.WARN
    summary = "; ".join(p.message for p in problems)
    if trust_faults and opportunistic and not insecure:
        summary += " (opportunistic TLS on port 25: senders without MTA-STS or DANE deliver anyway)"
    elif trust_faults and insecure:
        summary += " (--insecure: reported, not failed)"
    error = ErrorInfo(Stage.CERTIFICATE, first.kind, first.message)
    return [subject.result(status, summary, details, error), *lint]


def withheld_reason(chain_der: Sequence[bytes], expected_name: str, trust: TrustStore, now: dt.datetime) -> str | None:
    """Why credentials must not go to this server (its certificate is not trusted for its name), or None:
    a password is only sent inside TLS whose certificate checks out, unless the user passed --insecure."""
    _details, problems, _chain = inspect_chain(chain_der, expected_name, trust, now)
    faults = [p for p in problems if p.breaks_trust]
    if not faults:
        return None
    return f"not logging in: {faults[0].message} (--insecure to log in anyway)"
