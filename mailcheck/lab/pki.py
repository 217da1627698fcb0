"""A certificate authority made at start, for the lab servers and the tests.

Issues leaf certificates with any names, validity window, key type and size, signature hash, and can make
intermediates and self-signed certificates: everything needed to play expired, wrong-name, self-signed,
untrusted-chain, weak-key and SHA-1 peers honestly.
"""

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_key(key_type: str = "ec", key_size: int = 2048) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


@dataclass(frozen=True)
class Credential:
    """A leaf certificate, its key, and the chain a server should send after it."""

    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def cert_chain_pem(self) -> bytes:
        """Leaf first, then the intermediates: what a server's certificate file holds."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.cert, *self.chain))

    @property
    def key_pem(self) -> bytes:
        return _pem_key(self.key)

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``stem.crt`` (with chain) and ``stem.key``; return their paths."""
        cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
        cert_path.write_bytes(self.cert_chain_pem)
        key_path.write_bytes(self.key_pem)
        key_path.chmod(0o600)
        return cert_path, key_path


class CertificateAuthority:
    """A CA (root, or intermediate when ``parent`` is given) that signs lab certificates."""

    def __init__(
        self,
        name: str = "mailcheck lab CA",
        parent: "CertificateAuthority | None" = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key_identifiers: bool = True,
    ) -> None:
        """``key_identifiers`` False: no subjectKeyIdentifier on the CA and no authorityKeyIdentifier on what it
        issues, as many internal CAs are made (a stricter-profile lint finding, not a trust fault)."""
        self.key = make_key()
        self.parent = parent
        self.key_identifiers = key_identifiers
        self.cert: x509.Certificate
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        issuer_key = parent.key if parent else self.key
        issuer_name = parent.cert.subject if parent else subject
        # Like a real CA, long-lived and older than anything it signs (the tests backdate leaves by months).
        start = not_before or _now() - dt.timedelta(days=3650)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(not_after or start + dt.timedelta(days=7300))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        if key_identifiers:
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
        if parent is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), critical=False
            )
        self.cert = builder.sign(issuer_key, hashes.SHA256())

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def chain(self) -> tuple[x509.Certificate, ...]:
        """Certificates a server sends above its leaf: every intermediate up to (not including) the root."""
        if self.parent is None:
            return ()
        return (self.cert, *self.parent.chain())

    def intermediate(
        self,
        name: str = "mailcheck lab intermediate",
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> "CertificateAuthority":
        return CertificateAuthority(name, parent=self, not_before=not_before, not_after=not_after)

    def write_pem(self, path: Path) -> Path:
        path.write_bytes(self.cert_pem)
        return path

    def issue(
        self,
        *names: str,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key_type: str = "ec",
        key_size: int = 2048,
        hash_algorithm: hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None = None,
        send_chain: bool = True,
        ca_issuers_url: str | None = None,
    ) -> Credential:
        """A server certificate for ``names`` (DNS names or IP addresses), valid for 90 days by default."""
        key = make_key(key_type, key_size)
        start = not_before or _now() - dt.timedelta(hours=1)
        end = not_after or start + dt.timedelta(days=90)
        common_name = names[0] if names else "mailcheck lab server"
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        if self.key_identifiers:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        if names:
            builder = builder.add_extension(_san(names), critical=False)
        if ca_issuers_url:
            access = x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers_url)
            )
            builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
        cert = builder.sign(self.key, hash_algorithm or hashes.SHA256())
        return Credential(cert, key, self.chain() if send_chain else ())


def self_signed(*names: str, not_after: dt.datetime | None = None) -> Credential:
    """A certificate signed by its own key, as an unconfigured server presents."""
    key = make_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "localhost")])
    start = _now() - dt.timedelta(hours=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + dt.timedelta(days=90))
    )
    if names:
        builder = builder.add_extension(_san(names), critical=False)
    return Credential(builder.sign(key, hashes.SHA256()), key)
