"""OpenSSL's own verdict on a certificate chain, from the OpenSSL that Python's ``ssl`` uses.

Mail servers and clients (Postfix, Dovecot, Exim, swaks, Python's smtplib) decide trust with OpenSSL's
X509_verify_cert under its default flags, so its answer is the one that matters. Python exposes that
verification only inside a handshake, so this module runs one in memory: a verifying client
``SSLObject`` with the run's trust store and the expected name reads a TLS 1.2 ServerHello and Certificate
message that carry exactly the chain the server sent. OpenSSL verifies a TLS 1.2 server's chain as soon as
the Certificate message arrives (before any key exchange), so no private key is needed: either the client
fails with a certificate verification error (OpenSSL's code and message), or it goes on to wait for the
ServerKeyExchange, which means the chain was accepted. No byte leaves the process.
"""

import contextlib
import os
import ssl
import struct
from collections.abc import Sequence
from dataclasses import dataclass

# RFC 5246 §7.4: handshake message types; §6.2.1: a record carries at most 2^14 bytes.
_SERVER_HELLO, _CERTIFICATE = 2, 11
_RECORD_MAX = 16384
_TLS12 = b"\x03\x03"
# Suites a TLS 1.2 client offers by default; which one is picked does not matter, as OpenSSL verifies the
# chain before it compares the suite's key type with the certificate's.
_PREFERRED_SUITES = (0xC02F, 0xC02B, 0xC030, 0xC02C, 0x009E, 0xCCA8, 0xCCA9, 0x003C)
# Errors OpenSSL raises only once the chain was verified and accepted: the leaf's key type does not suit
# the suite played here (an EC key under an RSA suite), which is no fault of the server's.
_AFTER_VERIFICATION = {"WRONG_CERTIFICATE_TYPE", "UNKNOWN_CERTIFICATE_TYPE"}


@dataclass(frozen=True)
class OpenSslVerdict:
    """OpenSSL's answer: ``code`` is the X509_V_* error (0 when the chain and name were accepted)."""

    code: int
    message: str

    @property
    def accepted(self) -> bool:
        return self.code == 0


class VerifyUnavailable(Exception):
    """OpenSSL did not get as far as verifying (unparseable certificate, oversized chain, ...)."""


def verifying_context(cafile: str | None = None, *, system: bool = True) -> ssl.SSLContext:
    """A client context as OpenSSL-based mail software builds one: the system store plus extra anchors,
    peer verification and host name checks on, OpenSSL's default flags and security level (no
    X509_STRICT, no partial chains)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if system:
        context.load_default_certs()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    # Only the TLS 1.2 message flow is played here; chain verification is the same for every version.
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def _handshake_message(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _records(handshake: bytes) -> bytes:
    out = bytearray()
    for start in range(0, len(handshake), _RECORD_MAX):
        fragment = handshake[start : start + _RECORD_MAX]
        out += b"\x16" + _TLS12 + struct.pack("!H", len(fragment)) + fragment
    return bytes(out)


def _offered_suites(client_hello: bytes) -> tuple[bytes, set[int]]:
    """The session id and the cipher suites of the ClientHello record the client wrote."""
    body = client_hello[5 + 4 :]  # record header, handshake header
    offset = 2 + 32
    session_id = body[offset + 1 : offset + 1 + body[offset]]
    offset += 1 + body[offset]
    (length,) = struct.unpack_from("!H", body, offset)
    suites = {struct.unpack_from("!H", body, offset + 2 + i)[0] for i in range(0, length, 2)}
    return session_id, suites


def _server_flight(client_hello: bytes, chain_der: Sequence[bytes]) -> bytes:
    session_id, offered = _offered_suites(client_hello)
    suite = next((s for s in _PREFERRED_SUITES if s in offered), min(offered) if offered else 0x009C)
    # renegotiation_info (RFC 5746), empty: OpenSSL clients refuse servers that do not send it.
    extensions = b"\xff\x01\x00\x01\x00"
    hello = (
        _TLS12
        + os.urandom(32)
        + bytes([len(session_id)])
        + session_id
        + struct.pack("!H", suite)
        + b"\x00"
        + struct.pack("!H", len(extensions))
        + extensions
    )
    certificates = b"".join(len(der).to_bytes(3, "big") + der for der in chain_der)
    certificate = len(certificates).to_bytes(3, "big") + certificates
    return _records(_handshake_message(_SERVER_HELLO, hello) + _handshake_message(_CERTIFICATE, certificate))


def openssl_verdict(context: ssl.SSLContext, chain_der: Sequence[bytes], server_name: str) -> OpenSslVerdict:
    """Would an OpenSSL client with CONTEXT accept CHAIN_DER (leaf first, as sent) for SERVER_NAME (a host
    name or an address literal)? Raises VerifyUnavailable when OpenSSL stops before verifying."""
    if not chain_der:
        raise VerifyUnavailable("the server sent no certificate")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=server_name)
    with contextlib.suppress(ssl.SSLWantReadError):
        client.do_handshake()  # writes the ClientHello, then wants the server's answer
    incoming.write(_server_flight(outgoing.read(), chain_der))
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        return OpenSslVerdict(0, "ok")
    except ssl.SSLCertVerificationError as exc:
        return OpenSslVerdict(int(exc.verify_code), str(exc.verify_message))
    except ssl.SSLError as exc:
        if exc.reason in _AFTER_VERIFICATION:
            return OpenSslVerdict(0, "ok")
        raise VerifyUnavailable(exc.reason or str(exc)) from None
    raise VerifyUnavailable("the verifying handshake ended unexpectedly")
