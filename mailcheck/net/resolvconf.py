"""The system's resolvers, read the way the C library reads them: ``/etc/resolv.conf`` (resolv.conf(5)).

mailcheck reads the file itself instead of taking dnspython's reading: what dnspython hands back changed
between versions (``Do53Nameserver`` objects, then plain strings), and a silent mismatch there left every
user without a resolver. Where there is no resolv.conf to read (Windows), dnspython's view of the system is
taken and each entry it can return is understood (:func:`plain_resolvers`).

What is honoured and what is not (README, "Resolvers"):
- ``nameserver``: IPv4 and IPv6 addresses, IPv6 with a ``%scope`` (link-local); the first three, as the
  C library uses (MAXNS); lines that are not an address are skipped, as the C library skips them.
- ``options``: ``timeout``, ``attempts``, ``rotate``, ``ndots``, ``edns0``, ``trust-ad``, ``use-vc`` and the
  rest are read and ignored on purpose: mailcheck asks only fully qualified names (so ``ndots``/``search``
  never apply), its ``--timeout`` bounds every question, each attempt waits at most 2 s, and resolvers are
  asked in the order given.
- systemd-resolved's stub (``nameserver 127.0.0.53``) is an ordinary resolver address; it passes DNSSEC
  records through when asked with the DO bit, so mailcheck validates as it does with any other resolver.
"""

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

RESOLV_CONF = Path("/etc/resolv.conf")
MAXNS = 3  # resolv.h: the C library uses at most three name servers


class NoSystemResolver(Exception):
    """The system configuration names no resolver mailcheck can use."""


@dataclass(frozen=True)
class SystemResolvers:
    """The resolvers the system names, as (address, port), and what was read but not used, in words."""

    servers: tuple[tuple[str, int], ...]
    source: str
    ignored: tuple[str, ...] = ()


def parse_resolv_conf(text: str, source: str = str(RESOLV_CONF)) -> SystemResolvers:
    """The ``nameserver`` addresses of a resolv.conf text; NoSystemResolver (naming SOURCE) when none."""
    servers: list[tuple[str, int]] = []
    ignored: list[str] = []
    for raw in text.splitlines():
        words = raw.split()
        if not words or words[0].startswith(("#", ";")):
            continue
        keyword, values = words[0], words[1:]
        if keyword == "nameserver":
            address = _address(values[0]) if values else None
            if address is None:
                ignored.append(f"nameserver {' '.join(values)!r} is not an IP address")
            elif len(servers) >= MAXNS:
                ignored.append(f"nameserver {address} (the C library uses the first {MAXNS})")
            elif (address, 53) not in servers:
                servers.append((address, 53))
        elif keyword == "options":
            ignored.extend(f"options {value}" for value in values)
    if not servers:
        raise NoSystemResolver(f"{source} names no resolver (no 'nameserver' line); give --resolver IP")
    return SystemResolvers(tuple(servers), source, tuple(ignored))


def _address(text: str) -> str | None:
    """TEXT as a resolver address (IPv6 keeps its ``%scope``), or None."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def read_resolv_conf(path: Path = RESOLV_CONF) -> SystemResolvers:
    """The resolvers named in PATH; NoSystemResolver naming the file when it is missing, unreadable or empty."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise NoSystemResolver(f"cannot read {path} ({exc.strerror}); give --resolver IP") from None
    return parse_resolv_conf(text, str(path))


def plain_resolvers(entries: Iterable[object], source: str) -> SystemResolvers:
    """Plain-DNS resolvers among dnspython's name-server entries, in every form dnspython returns: an address
    string (2.9 for resolv.conf), a ``Do53Nameserver``; DNS-over-HTTPS/TLS/QUIC entries are skipped, named."""
    servers: list[tuple[str, int]] = []
    ignored: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            address = _address(entry)
            if address is None:
                ignored.append(f"{entry} (not plain DNS: mailcheck asks over UDP/TCP port 53 only)")
            else:
                servers.append((address, 53))
            continue
        kind = type(entry).__name__
        address = getattr(entry, "address", None)
        port = getattr(entry, "port", 53)
        if kind == "Do53Nameserver" and isinstance(address, str) and _address(address) and isinstance(port, int):
            servers.append((str(_address(address)), port))
        else:
            where = getattr(entry, "url", None) or address or "?"
            ignored.append(f"{kind} {where} (not plain DNS: mailcheck asks over UDP/TCP port 53 only)")
    if not servers:
        skipped = f" ({'; '.join(ignored)})" if ignored else ""
        raise NoSystemResolver(f"{source} names no plain-DNS resolver{skipped}; give --resolver IP")
    return SystemResolvers(tuple(servers), source, tuple(ignored))


def system_resolvers() -> SystemResolvers:
    """The system's resolvers: resolv.conf where the system has one, else dnspython's view of the system."""
    if os.name != "nt" or RESOLV_CONF.exists():
        return read_resolv_conf(RESOLV_CONF)
    import dns.resolver

    try:
        entries = dns.resolver.Resolver().nameservers
    except dns.resolver.NoResolverConfiguration:
        raise NoSystemResolver("the system configuration names no resolver; give --resolver IP") from None
    return plain_resolvers(entries, "the system configuration")
