"""Our own check_host() (RFC 7208 §4–§6) over the shared DNS client, used to cross-check pyspf.

Limits per §4.6.4: 10 DNS-querying terms, 2 void lookups, 10 MX or PTR names per mechanism.
"""

import dataclasses
import ipaddress
from dataclasses import dataclass, field

from mailcheck.model import ProbeError
from mailcheck.net.dns import DnsAnswer, DnsClient
from mailcheck.records.spf_record import MacroContext, SpfRecord, Term, expand, is_spf, parse_spf, uses_validated_name

LOOKUP_LIMIT = 10
VOID_LIMIT = 2
NAME_LIMIT = 10


class SpfAbort(Exception):
    """Ends evaluation with ``result`` (temperror or permerror) and a reason."""

    def __init__(self, result: str, reason: str) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason


@dataclass(frozen=True)
class SpfVerdict:
    result: str
    mechanism: str | None
    domain: str
    reason: str


@dataclass
class _State:
    lookups: int = 0
    voids: int = 0
    path: list[str] = field(default_factory=list)

    def spend(self, term: Term) -> None:
        self.lookups += 1
        if self.lookups > LOOKUP_LIMIT:
            raise SpfAbort("permerror", f"more than {LOOKUP_LIMIT} DNS lookups (at {term.text})")


def spf_texts(answer: DnsAnswer) -> list[str]:
    """SPF records among TXT records; multi-string TXT is joined without spaces (§3.3)."""
    return [t for t in answer.txt_values() if is_spf(t)]


async def fetch_record(domain: str, dns: DnsClient) -> SpfRecord | None:
    """The domain's one SPF record; None when it has none (or cannot exist: a malformed name); SpfAbort for
    DNS errors or several records."""
    if malformed(domain) is not None:
        return None
    try:
        answer = await dns.lookup(domain, "TXT")
    except ProbeError as err:
        raise SpfAbort("temperror", f"TXT lookup of {domain} failed: {err.message}") from None
    texts = spf_texts(answer)
    if not texts:
        return None
    if len(texts) > 1:
        raise SpfAbort("permerror", f"{domain} publishes {len(texts)} SPF records")
    return parse_spf(texts[0])


def malformed(domain: str) -> str | None:
    """Why DOMAIN cannot be an SPF <domain> (§4.3: an over-long or empty label, not multi-label, a literal),
    or None when it can."""
    name = domain.rstrip(".")
    labels = name.split(".")
    if len(labels) < 2:
        return f"{domain!r} is not a multi-label domain name"
    if any(not label for label in labels):
        return f"{domain!r} has an empty label"
    if any(len(label.encode()) > 63 for label in labels):
        return f"{domain!r} has a label over 63 octets"
    if len(name.encode()) > 253:
        return f"{domain!r} is over 253 octets"
    return None


def client_address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The client address as SPF sees it: an IPv4-mapped IPv6 address is IPv4 (§5, RFC 4291 §2.5.5.2)."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class Evaluator:
    def __init__(self, dns: DnsClient, ip: str, sender: str, helo: str) -> None:
        self.dns = dns
        self.ip = client_address(ip)
        self.sender = sender
        self.helo = helo
        self.state = _State()

    async def check_host(self, domain: str) -> SpfVerdict:
        why = malformed(domain)
        if why is not None:
            return SpfVerdict("none", None, domain, f"{why}: check_host() returns none (RFC 7208 §4.3)")
        try:
            return await self._check(domain)
        except SpfAbort as abort:
            return SpfVerdict(abort.result, None, domain, abort.reason)

    async def _check(self, domain: str) -> SpfVerdict:
        if domain in self.state.path:
            raise SpfAbort("permerror", f"include loop: {' → '.join([*self.state.path, domain])}")
        self.state.path.append(domain)
        try:
            record = await fetch_record(domain, self.dns)
            if record is None:
                return SpfVerdict("none", None, domain, f"{domain} has no SPF record")
            if record.problems:
                raise SpfAbort("permerror", f"{domain}: {record.problems[0]}")
            macros = MacroContext(self.ip, self.sender, domain, self.helo)
            for term in record.mechanisms:
                if await self._matches(term, domain, macros):
                    return SpfVerdict(term.result, term.text, domain, f"matched {term.text} in {domain}")
            redirect = record.modifier("redirect")
            if redirect is not None and not any(t.name == "all" for t in record.mechanisms):
                self.state.spend(redirect)
                target = await self._target(redirect, domain, macros)
                verdict = await self._check(target)
                if verdict.result == "none":
                    raise SpfAbort("permerror", f"redirect to {target}, which has no SPF record")
                return verdict
            return SpfVerdict("neutral", None, domain, f"no mechanism in {domain} matched")
        finally:
            self.state.path.pop()

    async def _target(self, term: Term, domain: str, macros: MacroContext) -> str:
        if not term.domain_spec:
            return domain
        if uses_validated_name(term.domain_spec):
            macros = dataclasses.replace(macros, validated_name=await self._validated_name(domain))
        return expand(term.domain_spec, macros)

    async def _validated_name(self, domain: str) -> str:
        """%{p} (§7.3): a PTR name of the client whose addresses include it; one under DOMAIN if there is
        one; "unknown" when none validates. Lookup errors count as no name."""
        try:
            answer = await self.dns.reverse(str(self.ip))
        except ProbeError:
            return "unknown"
        validated = []
        for record in list(answer.records)[:NAME_LIMIT]:
            name = record.to_text().rstrip(".")
            try:
                if self.ip in await self._addresses(name, count_void=False):
                    validated.append(name)
            except SpfAbort:
                continue
        lowered = domain.lower()
        for name in validated:
            if name.lower() == lowered or name.lower().endswith("." + lowered):
                return name
        return validated[0] if validated else "unknown"

    async def _addresses(
        self, name: str, count_void: bool = True
    ) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        rdtype = "AAAA" if self.ip.version == 6 else "A"
        answer = await self._lookup(name, rdtype, count_void)
        return [ipaddress.ip_address(r.to_text()) for r in answer.records]

    async def _lookup(self, name: str, rdtype: str, count_void: bool = True) -> DnsAnswer:
        if malformed(name) is not None:
            # §4.8: a target name that is no valid domain name (e.g. made too long by macros) does not
            # exist; it is not a DNS failure
            answer = DnsAnswer(name, rdtype, (), name, nxdomain=True)
        else:
            try:
                answer = await self.dns.lookup(name, rdtype)
            except ProbeError as err:
                raise SpfAbort("temperror", f"{rdtype} lookup of {name} failed: {err.message}") from None
        if not answer.records and count_void:
            self.state.voids += 1
            if self.state.voids > VOID_LIMIT:
                raise SpfAbort("permerror", f"more than {VOID_LIMIT} void lookups (last: {rdtype} {name})")
        return answer

    def _in_network(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, term: Term) -> bool:
        prefix = term.cidr6 if address.version == 6 else term.cidr4
        width = 128 if address.version == 6 else 32
        network = ipaddress.ip_network(f"{address}/{width if prefix is None else prefix}", strict=False)
        return self.ip in network

    async def _matches(self, term: Term, domain: str, macros: MacroContext) -> bool:
        name = term.name
        if name == "all":
            return True
        if name in ("ip4", "ip6"):
            return term.network is not None and self.ip.version == term.network.version and self.ip in term.network
        self.state.spend(term)
        target = await self._target(term, domain, macros)
        if name == "include":
            verdict = await self._check(target)
            if verdict.result in ("temperror", "permerror"):
                raise SpfAbort(verdict.result, verdict.reason)
            if verdict.result == "none":
                raise SpfAbort("permerror", f"include:{target} has no SPF record")
            return verdict.result == "pass"
        if name == "a":
            return any(self._in_network(a, term) for a in await self._addresses(target))
        if name == "mx":
            answer = await self._lookup(target, "MX")
            if len(answer.records) > NAME_LIMIT:
                raise SpfAbort("permerror", f"{target} has more than {NAME_LIMIT} MX records")
            for record in answer.records:
                host = record.exchange.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
                if any(self._in_network(a, term) for a in await self._addresses(host, count_void=False)):
                    return True
            return False
        if name == "exists":
            answer = await self._lookup(target, "A")
            return bool(answer.records)
        if name == "ptr":
            return await self._ptr_matches(target)
        return False

    async def _ptr_matches(self, target: str) -> bool:
        try:
            answer = await self.dns.reverse(str(self.ip))
        except ProbeError:
            return False  # §5.5: a PTR lookup error means no match, not temperror
        target = target.lower().rstrip(".")
        for record in list(answer.records)[:NAME_LIMIT]:
            name = record.to_text().rstrip(".").lower()  # §5.5: names compare without regard to case
            if not (name == target or name.endswith("." + target)):
                continue
            try:
                forward = await self._addresses(name, count_void=False)
            except SpfAbort:
                continue
            if self.ip in forward:
                return True
        return False
