"""The Dutch NCSC TLS guidelines (v2.1, the reference internet.nl grades mail servers against), as tables:
each protocol version, cipher suite, key-exchange group and certificate key is good, sufficient, phase-out or
insufficient. Pure: what a grade means for a finding's status is decided here too (insufficient fails where TLS
is required and warns on opportunistic port 25; phase-out warns; good and sufficient pass)."""

import re

from mailcheck.model import Status

LEVELS = ("good", "sufficient", "phase-out", "insufficient")

VERSIONS = {
    "TLS 1.3": "good",
    "TLS 1.2": "sufficient",
    "TLS 1.1": "phase-out",
    "TLS 1.0": "phase-out",
    "SSL 3.0": "insufficient",
    "SSL 2.0": "insufficient",
}

# key-exchange groups: NCSC table 9 (ECDHE curves) and RFC 7919 finite-field sizes (table 10)
CURVES = {
    "x25519": "good", "x448": "good", "secp256r1": "good", "prime256v1": "good", "secp384r1": "good",
    "secp521r1": "good", "secp224r1": "phase-out",
}  # fmt: skip
_SUITE = re.compile(r"^TLS_(?:(?P<kex>[A-Z0-9_]+?)_WITH_)?(?P<cipher>[A-Z0-9_]+?)_(?P<mac>SHA\d*|MD5|CCM(?:_8)?)$")


def worst(levels: list[str]) -> str:
    return max(levels, key=LEVELS.index) if levels else "good"


def suite_level(name: str) -> str:
    """An IANA suite name (``TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384``, ``TLS_AES_128_GCM_SHA256``) graded:
    ECDHE with AEAD good; ECDHE with AES-CBC and DHE with AES sufficient; 3DES or static RSA phase-out; the rest
    (NULL, RC4, EXPORT, anonymous, DES, CBC-less oddities) insufficient."""
    found = _SUITE.match(name.upper())
    if found is None:
        return "insufficient"
    kex, cipher = found.group("kex"), found.group("cipher")
    if kex is None:  # TLS 1.3: every standard suite is AEAD with an ephemeral exchange
        return "good" if cipher in ("AES_256_GCM", "AES_128_GCM", "CHACHA20_POLY1305") else "sufficient"
    if any(bad in kex for bad in ("ANON", "NULL", "EXPORT", "KRB5", "PSK", "SRP")) or "EXPORT" in cipher:
        return "insufficient"
    aead = cipher in ("AES_256_GCM", "AES_128_GCM", "CHACHA20_POLY1305")
    aes_cbc = cipher in ("AES_256_CBC", "AES_128_CBC")
    if cipher == "3DES_EDE_CBC":
        return "phase-out" if kex.startswith(("ECDHE", "DHE", "RSA")) else "insufficient"
    if kex.startswith("ECDHE_"):
        return "good" if aead else "sufficient" if aes_cbc or cipher.startswith("AES") else "insufficient"
    if kex.startswith("DHE_"):
        return "sufficient" if aead or aes_cbc or cipher.startswith("AES") else "insufficient"
    if kex == "RSA":
        return "phase-out" if aead or aes_cbc or cipher.startswith("AES") else "insufficient"
    return "insufficient"


def curve_level(name: str) -> str:
    return CURVES.get(name.lower(), "insufficient")


def dh_level(bits: int) -> str:
    """A finite-field DHE group by size: at least 3072 bits sufficient, 2048 phase-out, below insufficient."""
    if bits >= 3072:
        return "sufficient"
    return "phase-out" if bits >= 2048 else "insufficient"


def key_level(kind: str, bits: int) -> str:
    """The certificate's public key: RSA at least 3072 good, 2048 sufficient; ECDSA P-256/P-384 and EdDSA good."""
    if kind == "RSA":
        return "good" if bits >= 3072 else "sufficient" if bits >= 2048 else "insufficient"
    if kind in ("EC", "Ed25519", "Ed448"):
        return "good" if bits >= 256 or kind != "EC" else "insufficient"
    return "insufficient"


def status_of(level: str, tls_required: bool) -> Status:
    if level == "insufficient":
        return Status.FAIL if tls_required else Status.WARN
    if level == "phase-out":
        return Status.WARN
    return Status.PASS
