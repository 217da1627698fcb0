"""The header fields of a message, read leniently with the standard library (compat32 keeps raw values)."""

import email.parser
import email.policy
import email.utils
from email.message import Message

from mailcheck.message import header_block


def parse_headers(data: bytes) -> Message:
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    return parser.parsebytes(header_block(data))


def header_values(headers: Message, name: str) -> list[str]:
    """All values of ``name``, top (most recent) first, unfolded."""
    return [" ".join(str(v).split()) for v in headers.get_all(name, [])]


def address_domain(address: str) -> str | None:
    _, _, domain = address.strip().strip("<>").rpartition("@")
    return domain.lower().rstrip(".") or None


def author_domains(headers: Message) -> list[str]:
    """Domains of the RFC5322.From addresses (DMARC needs exactly one)."""
    found = []
    for _, address in email.utils.getaddresses(header_values(headers, "From")):
        domain = address_domain(address) if "@" in address else None
        if domain:
            found.append(domain)
    return found
