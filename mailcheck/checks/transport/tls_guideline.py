"""The Dutch NCSC TLS guidelines (v2.1, the reference internet.nl grades mail servers against), as tables:
each protocol version, cipher suite, key-exchange group and certificate key is good, sufficient, phase-out or
insufficient. Pure: what a grade means for a finding's status is decided here too (insufficient fails where TLS
is required and warns on opportunistic port 25; phase-out warns; good and sufficient pass)."""

import decimal
import functools

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


def worst(levels: list[str]) -> str:
    return max(levels, key=LEVELS.index) if levels else "good"


# Cipher suites by level, as internet.nl reads NCSC 2.1 appendix C with its footnotes (ECDHE with AEAD counts as
# good because versions are graded apart, footnote 52; CCM and CAMELLIA-CBC are placed by footnote 31): the
# lists internet.nl graded with from its sslyze rewrite (internetstandards/Internet.nl 642ef401,
# checks/tasks/tls/tls_constants.py, Apache-2.0). Every suite in none of them is insufficient.
SUITES_GOOD = frozenset({
    "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_128_CCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
})  # fmt: skip
SUITES_SUFFICIENT = frozenset({
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256",
    "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
    "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384", "TLS_DHE_RSA_WITH_AES_128_CCM", "TLS_DHE_RSA_WITH_AES_256_CCM",
})  # fmt: skip
SUITES_PHASE_OUT = frozenset({
    "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CCM", "TLS_RSA_WITH_AES_256_CCM",
})  # fmt: skip


def suite_level(name: str) -> str:
    """An IANA suite name (``TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384``, ``TLS_AES_128_GCM_SHA256``) graded:
    ECDHE with AEAD good; ECDHE with AES-CBC, DHE with AES and CAMELLIA-CBC sufficient; 3DES or static RSA with
    AES phase-out; the rest (NULL, RC4, EXPORT, anonymous, DES, CCM_8, ARIA, DSS, PSK) insufficient."""
    upper = name.upper()
    for level, suites in (("good", SUITES_GOOD), ("sufficient", SUITES_SUFFICIENT), ("phase-out", SUITES_PHASE_OUT)):
        if upper in suites:
            return level
    return "insufficient"


def curve_level(name: str) -> str:
    return CURVES.get(name.lower(), "insufficient")


# RFC 7919 appendix A: the ffdhe group of b bits has the prime 2^b - 2^(b-64) + {[2^(b-130) e] + X} * 2^64 - 1,
# X its own constant; the tests hold the computed primes against OpenSSL's named groups
FFDHE_X = {2048: 560316, 3072: 2625351, 4096: 5736041, 6144: 15705020, 8192: 10965728}


@functools.cache
def ffdhe_groups() -> dict[int, str]:
    """Each RFC 7919 prime → its group's name (ffdhe2048 … ffdhe8192)."""
    with decimal.localcontext() as exact:
        exact.prec = 2600  # digits: 8192 bits of e are 2,467 of them
        e, term, k = decimal.Decimal(0), decimal.Decimal(1), 0
        while term > decimal.Decimal(10) ** -2590:
            e, k = e + term, k + 1
            term /= k
        return {
            2**b - 2 ** (b - 64) + (int(decimal.Decimal(2 ** (b - 130)) * e) + x) * 2**64 - 1: f"ffdhe{b}"
            for b, x in FFDHE_X.items()
        }


def dh_group(prime: int, bits: int) -> tuple[str, str]:
    """A finite-field DHE group as NCSC 2.1 table 10 grades it (and internet.nl): RFC 7919 ffdhe3072 and up
    sufficient, ffdhe2048 phase-out; any other group (a custom one, RFC 3526's MODP groups) insufficient."""
    name = ffdhe_groups().get(prime)
    if name is None:
        return f"DH {bits} (not an RFC 7919 group)", "insufficient"
    return name, dh_level(bits)


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
