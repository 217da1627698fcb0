"""TLS for every protocol: the client context, what a handshake negotiated, and the chain the server sent.

The handshake runs without verification so the chain is always captured; verification is done afterwards,
separately, by :mod:`mailcheck.checks.transport.certificate`, so each fault gets its own name.
"""

import contextlib
import ssl
from dataclasses import dataclass, field

from mailcheck.model import ProbeError, Stage


@dataclass(frozen=True)
class TlsFacts:
    """What one TLS handshake negotiated."""

    version: str
    cipher: str
    bits: int | None
    chain_der: tuple[bytes, ...] = field(repr=False, default=())
    handshake_ms: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"version": self.version, "cipher": self.cipher, "bits": self.bits, "handshake_ms": self.handshake_ms}


def client_context() -> ssl.SSLContext:
    """A client context that accepts any certificate (checked later) and any protocol the library allows,
    so old servers can still be reached and reported on."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with contextlib.suppress(ssl.SSLError):  # a library without SECLEVEL keeps its defaults
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def peer_chain(ssl_object: ssl.SSLObject) -> tuple[bytes, ...]:
    """The certificates the server sent, leaf first, in DER.

    Python 3.13 has ``get_unverified_chain()``; 3.10–3.12 have it on the private ``_sslobj``.
    """
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    chain = getter() if getter is not None else None
    if not chain:
        leaf = ssl_object.getpeercert(binary_form=True)
        return (leaf,) if leaf else ()
    return tuple(c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain)  # type: ignore[attr-defined]


def tls_facts(ssl_object: ssl.SSLObject, handshake_ms: int) -> TlsFacts:
    cipher = ssl_object.cipher()
    return TlsFacts(
        version=ssl_object.version() or "unknown",
        cipher=cipher[0] if cipher else "unknown",
        bits=cipher[2] if cipher else None,
        chain_der=peer_chain(ssl_object),
        handshake_ms=handshake_ms,
    )


def handshake_error(exc: BaseException) -> ProbeError:
    """Name a failed handshake: the alert or reason the TLS library gave, as a stable kind plus its text."""
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or "").lower()
        text = exc.reason or str(exc)
        if "wrong_version_number" in reason or "record_layer_failure" in reason or "packet_length" in reason:
            return ProbeError(
                Stage.TLS,
                "not-tls",
                f"the server did not answer with TLS ({text}): is this port plain text or STARTTLS?",
            )
        if "excessive_message_size" in reason:
            return ProbeError(
                Stage.CERTIFICATE,
                "oversized-chain",
                "the server's certificate chain is larger than OpenSSL clients accept (100 KiB): send only the "
                "leaf and its intermediates",
            )
        if "alert" in reason:
            return ProbeError(Stage.TLS, "alert", f"the server sent a TLS alert: {text}")
        if "unsupported_protocol" in reason or "no_protocols" in reason or "version" in reason:
            return ProbeError(Stage.TLS, "protocol-version", f"no TLS version in common: {text}")
        if "no_shared_cipher" in reason or "handshake_failure" in reason:
            return ProbeError(Stage.TLS, "handshake-failure", f"TLS handshake failed: {text}")
        return ProbeError(Stage.TLS, "handshake-failure", f"TLS handshake failed: {text}")
    if isinstance(exc, ConnectionResetError):
        return ProbeError(Stage.TLS, "reset", "the server reset the connection during the TLS handshake")
    if isinstance(exc, (ConnectionError, EOFError)):
        return ProbeError(Stage.TLS, "closed", "the server closed the connection during the TLS handshake")
    return ProbeError(Stage.TLS, "handshake-failure", f"TLS handshake failed: {exc}")
