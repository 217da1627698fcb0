"""Trust anchors: the system store plus ``--ca-file``, loaded once per run."""

import functools
import os
import ssl
import warnings
from pathlib import Path

from cryptography import x509

from mailcheck.model import ProbeError, Stage


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


def trust_anchors(ca_file: Path | None) -> tuple[x509.Certificate, ...]:
    extra = load_ca_file(ca_file) if ca_file else ()
    return system_anchors() + extra
