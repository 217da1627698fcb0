"""``--redact``: replace addresses, IPs and host names by consistent stand-ins before anything is parsed,
so the report can be pasted into a ticket. Hosts of one organisation stay in one stand-in organisation
(so the trace analysis still sees who is internal), private addresses stay private, public ones become
documentation addresses (RFC 5737, RFC 3849)."""

import ipaddress
import re
from dataclasses import dataclass, field

from mailcheck.headers.trace import org_domain
from mailcheck.names import is_ip_address
from mailcheck.psl import known_suffix

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b")
_IPV6_LITERAL = re.compile(r"(?<=IPv6:)([0-9A-Fa-f:.]+)")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?)(?![\w:])")
_HOST = re.compile(r"(?<![\w.@-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})\.?(?![\w-])")
# Authentication-Results property names look like host names; never touch them.
_NOT_HOSTS = re.compile(r"^(?:header|smtp|policy|body|dns|dkim|arc|spf|dmarc)\.[a-z-]+$", re.IGNORECASE)
_SPECIAL_SUFFIXES = ("test", "example", "invalid", "localhost", "local", "lan", "internal", "home.arpa")


def _known_suffix(name: str) -> bool:
    if name.lower().rsplit(".", 1)[-1] in _SPECIAL_SUFFIXES:
        return True
    return known_suffix(name)


@dataclass
class Redactor:
    orgs: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    ips: dict[str, str] = field(default_factory=dict)

    def host(self, name: str) -> str:
        key = name.lower().rstrip(".")
        if key in self.hosts:
            return self.hosts[key]
        org = org_domain(key) or key
        stand_in_org = self.orgs.setdefault(org, f"org{len(self.orgs) + 1}.example")
        if key == org:
            self.hosts[key] = stand_in_org
        else:
            self.hosts[key] = f"host{len(self.hosts) + 1}.{stand_in_org}"
        return self.hosts[key]

    def ip(self, text: str) -> str:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return text
        key = str(address)
        if key not in self.ips:
            n = len(self.ips) + 1
            if address.is_loopback:
                self.ips[key] = key
            elif address.version == 4:
                self.ips[key] = f"10.255.{n // 254}.{n % 254 + 1}" if address.is_private else f"192.0.2.{n % 254 + 1}"
            else:
                self.ips[key] = f"fd00::{n:x}" if address.is_private else f"2001:db8::{n:x}"
        return self.ips[key]

    def email(self, match: re.Match[str]) -> str:
        user = self.users.setdefault(match.group(1).lower(), f"user{len(self.users) + 1}")
        return f"{user}@{self.host(match.group(2))}"

    def text(self, text: str) -> str:
        text = _EMAIL.sub(self.email, text)
        text = _IPV6_LITERAL.sub(lambda m: self.ip(m.group(1)) if is_ip_address(m.group(1)) else m.group(0), text)
        text = _IPV6.sub(
            lambda m: self.ip(m.group(1)) if ":" in m.group(1) and is_ip_address(m.group(1)) else m.group(0), text
        )
        text = _IPV4.sub(lambda m: self.ip(m.group(1)) if is_ip_address(m.group(1)) else m.group(0), text)

        def host(match: re.Match[str]) -> str:
            name = match.group(1)
            if _NOT_HOSTS.match(name) or name.endswith(".example") or not _known_suffix(name):
                return match.group(0)
            return self.host(name)

        return _HOST.sub(host, text)


def redact(data: bytes) -> bytes:
    text = data.decode("utf-8", errors="replace")
    return Redactor().text(text).encode()
