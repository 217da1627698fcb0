"""The stricter-profile lint: what some TLS clients refuse although OpenSSL's defaults accept it.

Two families, each finding with its own kind and its consequence in words:
- RFC 5280 as OpenSSL's X509_STRICT flag enforces it (Python 3.13's ``ssl.create_default_context()`` sets
  that flag, so smtplib/imaplib clients on 3.13 refuse; so does the CA/Browser Forum profile that
  Python's cryptography verifier applies): a CA without keyUsage, subjectKeyIdentifier or a critical
  basicConstraints, a certificate below the root without authorityKeyIdentifier (v3 certificates only).
- The common name: Go (1.15+), rustls and browsers match only subjectAltName.

A chain that passes OpenSSL's X509_STRICT has no finding of the first family; the tests hold this against
OpenSSL itself. ``warn`` where TLS is required, ``info`` on opportunistic port 25.
"""

from collections.abc import Sequence

from cryptography import x509

from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject

STRICT_CLIENTS = (
    "strict RFC 5280 clients (X509_STRICT: Python 3.13's default) refuse the chain; OpenSSL's defaults accept it"
)
SAN_CLIENTS = "Go, rustls and browsers ignore the common name and refuse this certificate; OpenSSL clients accept it"


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # a duplicate or malformed extension: cryptography will not read the list
        return None


def _is_ca(cert: x509.Certificate) -> bool:
    constraints = _extension(cert, x509.BasicConstraints)
    return constraints is not None and bool(constraints.value.ca)  # type: ignore[attr-defined]


def _path(chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates a client uses: from the leaf up through what the server sent, then the anchor."""
    path = [chain[0]]
    pool = list(chain[1:])
    while path[-1].issuer != path[-1].subject:
        parent = next((c for c in pool if c.subject == path[-1].issuer), None)
        if parent is None:
            parent = next((a for a in anchors if a.subject == path[-1].issuer), None)
            if parent is not None:
                path.append(parent)
            break
        pool.remove(parent)
        path.append(parent)
    return path


def _name(cert: x509.Certificate, leaf: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    label = str(attrs[0].value) if attrs else cert.subject.rfc4514_string() or "(empty subject)"
    return "the server certificate" if cert is leaf else f"the CA certificate {label!r}"


def profile_findings(chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]) -> list[tuple[str, str]]:
    """(kind, message) for each stricter-profile fault of the chain a client would build."""
    if not chain:
        return []
    leaf = chain[0]
    found: list[tuple[str, str]] = []
    if _extension(leaf, x509.SubjectAlternativeName) is None:
        found.append(("no-subject-alt-name", f"the server certificate has no subjectAltName: {SAN_CLIENTS}"))
    path = _path(chain, anchors)
    for position, cert in enumerate(path):
        if cert.version != x509.Version.v3:
            continue
        who = _name(cert, leaf)
        is_root = position == len(path) - 1 and cert.issuer == cert.subject
        if _is_ca(cert):
            if _extension(cert, x509.KeyUsage) is None:
                found.append(("missing-key-usage", f"{who} has no keyUsage extension: {STRICT_CLIENTS}"))
            if _extension(cert, x509.SubjectKeyIdentifier) is None:
                found.append(("missing-ski", f"{who} has no subjectKeyIdentifier: {STRICT_CLIENTS}"))
            constraints = _extension(cert, x509.BasicConstraints)
            if constraints is not None and not constraints.critical:
                found.append(
                    ("ca-constraints-not-critical", f"{who} has basicConstraints not marked critical: {STRICT_CLIENTS}")
                )
        if not is_root and _extension(cert, x509.AuthorityKeyIdentifier) is None:
            found.append(("missing-aki", f"{who} has no authorityKeyIdentifier: {STRICT_CLIENTS}"))
    return found


def profile_results(
    subject: Subject, chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], *, opportunistic: bool
) -> list[CheckResult]:
    """One ``<protocol>.certificate-profile`` finding per fault: warn where TLS is required, info on
    opportunistic port 25."""
    lint = Subject(subject.id.replace(".certificate", ".certificate-profile"), subject.target, Stage.CERTIFICATE)
    status = Status.INFO if opportunistic else Status.WARN
    identity = certificate_identity(chain[0]) if chain else {}
    return [
        lint.result(status, message, {"profile": kind, **identity}, ErrorInfo(Stage.CERTIFICATE, kind, message))
        for kind, message in profile_findings(chain, anchors)
    ]


def certificate_identity(cert: x509.Certificate) -> dict[str, str]:
    """Which certificate a finding is about: its subject and SHA-256 fingerprint (the report names a
    certificate shared by many endpoints once)."""
    from cryptography.hazmat.primitives import hashes

    return {"certificate": cert.subject.rfc4514_string(), "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex()}
