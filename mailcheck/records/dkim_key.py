"""DKIM key records (RFC 6376 §3.6.1, RFC 8463 for Ed25519): tags, the decoded key, and what is wrong."""

import base64
import binascii
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key


def parse_tags(text: str) -> dict[str, str]:
    """``k=rsa; p=MIIB...`` → {"k": "rsa", "p": "MIIB..."}; white space inside values is dropped (§3.2)."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip()
        if sep and name and name not in tags:
            tags[name] = "".join(value.split())
    return tags


@dataclass(frozen=True)
class DkimKey:
    text: str
    tags: dict[str, str]
    key_type: str
    bits: int | None = None
    revoked: bool = False
    problems: tuple[str, ...] = field(default=())

    @property
    def testing(self) -> bool:
        return "y" in self.tags.get("t", "").split(":")

    @property
    def strict_subdomains(self) -> bool:
        return "s" in self.tags.get("t", "").split(":")

    @property
    def hashes(self) -> list[str]:
        return [h for h in self.tags.get("h", "").split(":") if h]


def parse_key(text: str) -> DkimKey:
    tags = parse_tags(text)
    problems: list[str] = []
    if "v" in tags and tags["v"] != "DKIM1":
        problems.append(f"v={tags['v']!r}: must be DKIM1")
    if "v" in tags and not text.strip().startswith("v="):
        problems.append("v= must be the first tag")
    key_type = tags.get("k", "rsa").lower()
    if "p" not in tags:
        return DkimKey(text, tags, key_type, problems=(*problems, "no p= tag: this is not a key record"))
    if tags["p"] == "":
        return DkimKey(text, tags, key_type, revoked=True, problems=tuple(problems))
    try:
        raw = base64.b64decode(tags["p"], validate=True)
    except (binascii.Error, ValueError):
        return DkimKey(text, tags, key_type, problems=(*problems, "p= is not valid base64"))
    bits: int | None = None
    if key_type == "rsa":
        try:
            key = load_der_public_key(raw)
        except ValueError as exc:
            return DkimKey(text, tags, key_type, problems=(*problems, f"p= is not an RSA public key ({exc})"))
        if not isinstance(key, rsa.RSAPublicKey):
            return DkimKey(text, tags, key_type, problems=(*problems, f"k=rsa but p= holds a {type(key).__name__}"))
        bits = key.key_size
    elif key_type == "ed25519":
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            return DkimKey(text, tags, key_type, problems=(*problems, "p= is not a 32-byte Ed25519 key"))
        bits = 256
    else:
        problems.append(f"k={key_type!r} is not a known key type (rsa, ed25519)")
    bad_hashes = [h for h in tags.get("h", "").split(":") if h and h not in ("sha256", "sha1")]
    if bad_hashes:
        problems.append(f"h= lists unknown hash algorithm(s) {', '.join(bad_hashes)}")
    return DkimKey(text, tags, key_type, bits, problems=tuple(problems))


# Common selectors of widely used providers and defaults; selectors cannot be listed from DNS, so discovery
# tries these and reports which exist.
COMMON_SELECTORS = (
    "default", "dkim", "mail", "selector1", "selector2", "google", "k1", "k2", "k3", "s1", "s2", "smtp", "mx",
    "key1", "key2", "dkim1", "sig1", "fm1", "fm2", "fm3", "protonmail", "protonmail2", "protonmail3", "zoho",
    "mandrill", "mailjet", "everlytickey1", "everlytickey2", "mxvault", "pm", "scph0920", "ses", "amazonses",
)  # fmt: skip
