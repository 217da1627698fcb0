"""Trust: the system store plus ``--ca-file``, loaded once per run, in the two forms the checks need.

- ``anchors``: the trusted roots as parsed certificates (to name an issuer, lint a chain, match DANE);
- ``context()``: an OpenSSL client context with the same anchors, which gives the trust verdict
  (:mod:`mailcheck.net.openssl_verify`).
"""

import functools
import os
import ssl
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from mailcheck.model import ProbeError, Stage
from mailcheck.net.openssl_verify import verifying_context


@functools.cache
def system_anchors() -> tuple[x509.Certificate, ...]:
    """The system's trusted roots (the PEM bundle OpenSSL would use); empty when there is none."""
    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            try:
                # Some distribution bundles hold old roots with non-positive serials; cryptography warns.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return tuple(x509.load_pem_x509_certificates(Path(candidate).read_bytes()))
            except ValueError:
                continue
    return ()


@functools.cache
def load_ca_file(path: Path) -> tuple[x509.Certificate, ...]:
    """Certificates from a user's PEM file; ProbeError (stage ``input``) when it holds none."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProbeError(Stage.INPUT, "unreadable", f"cannot read CA file {path}: {exc.strerror}") from None
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        raise ProbeError(Stage.INPUT, "syntax", f"CA file {path} holds no PEM certificate") from None


@dataclass(frozen=True)
class TrustStore:
    """The anchors of one run: the system store (unless ``system`` is off) plus the user's ``--ca-file``."""

    anchors: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    ca_file: Path | None = None
    system: bool = True

    def context(self) -> ssl.SSLContext:
        """An OpenSSL client context trusting exactly these anchors, checking host names."""
        return _verifying_context(self.ca_file, self.system)


@functools.cache
def _verifying_context(ca_file: Path | None, system: bool) -> ssl.SSLContext:
    return verifying_context(str(ca_file) if ca_file else None, system=system)


NO_TRUST = TrustStore(system=False)


@functools.cache
def trust_store(ca_file: Path | None) -> TrustStore:
    """The run's trust, loaded once (the CA file is read and parsed once per run, not per host)."""
    extra = load_ca_file(ca_file) if ca_file else ()
    return TrustStore(system_anchors() + extra, ca_file)
