"""Run pyspf's check_host() with its DNS pointed at the configured resolvers, never anywhere else.

pyspf looks names up through the module function ``spf.DNSLookup``; we replace it with one that asks a
synchronous dnspython resolver configured exactly like the run's DnsClient. pyspf is synchronous, so it runs
in a worker thread.
"""

import asyncio
from collections.abc import Sequence
from typing import Any

from mailcheck.net.dns import sync_resolver


def _lookup_function(nameservers: Sequence[tuple[str, int]] | None, timeout: float) -> Any:
    import dns.resolver
    import spf

    resolver = sync_resolver(nameservers, timeout)

    def lookup(name: str, qtype: str, tcpfallback: bool = True, timeout: float = 30) -> list[tuple[Any, Any]]:
        found: list[tuple[Any, Any]] = []
        try:
            answer = resolver.resolve(name, qtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return found
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise spf.TempError(f"DNS {exc}") from None
        for rdata in answer.rrset or ():
            if qtype in ("A", "AAAA"):
                found.append(((name, qtype), rdata.address))
            elif qtype == "MX":
                found.append(((name, qtype), (rdata.preference, rdata.exchange)))
            elif qtype == "PTR":
                found.append(((name, qtype), rdata.target.to_text(True)))
            elif qtype in ("TXT", "SPF"):
                found.append(((name, qtype), rdata.strings))
        return found

    return lookup


def _check(
    ip: str, sender: str, helo: str, nameservers: Sequence[tuple[str, int]] | None, timeout: float
) -> dict[str, Any]:
    import spf

    spf.DNSLookup = _lookup_function(nameservers, timeout)
    query = spf.query(ip, sender, helo, timeout=timeout)
    result, _code, explanation = query.check()
    return {"result": result, "mechanism": getattr(query, "mechanism", None), "explanation": explanation}


async def pyspf_check_host(
    ip: str, sender: str, helo: str, nameservers: Sequence[tuple[str, int]] | None, timeout: float
) -> dict[str, Any]:
    """pyspf's verdict: ``{"result", "mechanism", "explanation"}``."""
    return await asyncio.to_thread(_check, ip, sender, helo, nameservers, timeout)
