"""The Public Suffix List, offline (the publicsuffixlist package ships it): one parsed copy per process."""

import functools
import ipaddress

from publicsuffixlist import PublicSuffixList


@functools.cache
def suffix_list() -> PublicSuffixList:
    return PublicSuffixList()


@functools.cache
def registrable_domain(name: str) -> str | None:
    """``mx.mail.example.co.uk`` → ``example.co.uk``; None for IPs, bare names and public suffixes."""
    name = name.lower().rstrip(".")
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    if "." not in name:
        return None
    found = suffix_list().privatesuffix(name)
    return str(found) if found else None


def known_suffix(name: str) -> bool:
    """True when the name ends in a suffix the list knows (not just any string with a dot)."""
    return bool(suffix_list().publicsuffix(name.lower(), accept_unknown=False))
