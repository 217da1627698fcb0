"""``mailcheck mx``: where mail for a domain goes (RFC 5321 §5.1, RFC 7505 null MX, RFC 2181 §10.3).

probe() asks DNS for the MX records, each host's A/AAAA and each address's PTR with its forward
confirmation; evaluate() turns those observations into findings without any I/O.
"""

import ipaddress
from dataclasses import dataclass

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.names import is_ip_address
from mailcheck.net.dns import DnsAnswer
from mailcheck.runner import Timed, attempt, timed, together


@dataclass(frozen=True)
class ReverseObservation:
    """PTR names of one address and, for each name, its forward lookup in the same family."""

    address: str
    ptr: DnsAnswer | ProbeError
    forward: tuple[tuple[str, DnsAnswer | ProbeError], ...] = ()


@dataclass(frozen=True)
class HostObservation:
    """One mail exchanger: its preference and what its name resolved to."""

    name: str
    preference: int
    implicit: bool = False
    ipv4: Timed[DnsAnswer] | None = None
    ipv6: Timed[DnsAnswer] | None = None
    reverse: tuple[ReverseObservation, ...] = ()

    @property
    def ip_literal(self) -> bool:
        return is_ip_address(self.name.strip("[]"))

    def addresses(self) -> list[str]:
        found: list[str] = []
        for lookup in (self.ipv4, self.ipv6):
            if lookup is not None and isinstance(lookup.value, DnsAnswer):
                found.extend(r.to_text() for r in lookup.value.records)
        return found


@dataclass(frozen=True)
class MxObservation:
    """Everything probe() learnt about a domain's mail exchangers."""

    domain: str
    mx: DnsAnswer
    hosts: tuple[HostObservation, ...]
    duration_ms: int


def mx_records(answer: DnsAnswer) -> list[tuple[int, str]]:
    """(preference, exchange) pairs in preference order; the null MX exchange is ``"."``."""
    pairs = []
    for record in answer.records:
        exchange = record.exchange.to_text(omit_final_dot=True).lower() or "."  # type: ignore[attr-defined]
        pairs.append((int(record.preference), exchange))  # type: ignore[attr-defined]
    return sorted(pairs)


async def probe(domain: str, ctx: ProbeContext) -> MxObservation:
    """Gather the MX records of ``domain`` and resolve every exchanger (or the implicit MX)."""
    lookup = await timed(ctx.dns.lookup(domain, "MX"))
    if lookup.error:
        raise lookup.error
    answer = lookup.value
    assert isinstance(answer, DnsAnswer)
    if answer.nxdomain:
        return MxObservation(domain, answer, (), lookup.duration_ms)
    records = mx_records(answer)
    # No MX at all: RFC 5321 §5.1 makes the domain itself the implicit MX.
    wanted = [(pref, host) for pref, host in records if host != "."] if records else [(0, domain)]
    hosts = await together(*(resolve_host(name, pref, ctx, implicit=not records) for pref, name in wanted))
    return MxObservation(domain, answer, tuple(hosts), lookup.duration_ms)


async def resolve_host(name: str, preference: int, ctx: ProbeContext, implicit: bool = False) -> HostObservation:
    """Resolve one exchanger to its addresses and check reverse DNS for each address."""
    if is_ip_address(name.strip("[]")):
        return HostObservation(name, preference, implicit)
    ipv4, ipv6 = await together(timed(ctx.dns.lookup(name, "A")), timed(ctx.dns.lookup(name, "AAAA")))
    host = HostObservation(name, preference, implicit, ipv4, ipv6)
    reverse = await together(*(reverse_lookup(address, ctx) for address in host.addresses()))
    return HostObservation(name, preference, implicit, ipv4, ipv6, tuple(reverse))


async def reverse_lookup(address: str, ctx: ProbeContext) -> ReverseObservation:
    """PTR of ``address`` and the forward lookup of every PTR name (forward-confirmed reverse DNS)."""
    ptr = await attempt(ctx.dns.reverse(address))
    if not isinstance(ptr, DnsAnswer):
        return ReverseObservation(address, ptr)
    rdtype = "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
    names = [r.to_text().rstrip(".").lower() for r in ptr.records]
    forward = await together(*(attempt(ctx.dns.lookup(name, rdtype)) for name in names))
    return ReverseObservation(address, ptr, tuple(zip(names, forward, strict=True)))


def confirmed_names(rev: ReverseObservation) -> list[str]:
    """The PTR names of the address whose own forward lookup includes it (forward-confirmed reverse DNS)."""
    return [
        name
        for name, forward in rev.forward
        if isinstance(forward, DnsAnswer) and rev.address in {r.to_text() for r in forward.records}
    ]


# --- evaluation: pure functions of the observation -------------------------------------------------------


def evaluate(obs: MxObservation, allow_private: bool = False) -> list[CheckResult]:
    """Findings for the MX set, then for each host and each address.

    ``allow_private``: private, loopback and reserved addresses are expected (an internal mail system, a lab).
    """
    results = [records_finding(obs)]
    results.extend(preference_findings(obs))
    for host in obs.hosts:
        results.append(host_finding(host, allow_private))
        results.extend(reverse_finding(host, rev) for rev in host.reverse)
    return results


def records_finding(obs: MxObservation) -> CheckResult:
    domain = obs.domain
    records = mx_records(obs.mx)
    listed = [{"preference": pref, "exchange": host} for pref, host in records]
    subject = Subject("mx.records", domain, Stage.DNS, obs.duration_ms)
    if obs.mx.nxdomain:
        return subject.result(
            Status.FAIL,
            f"{domain} does not exist (NXDOMAIN): it cannot receive mail",
            error=ErrorInfo(Stage.DNS, "nxdomain", f"{domain} does not exist"),
        )
    if any(host == "." for _, host in records):
        details = {"mx": listed, "null_mx": True}
        if len(records) == 1:
            return subject.result(Status.INFO, f"{domain} accepts no mail (null MX, RFC 7505)", details)
        return subject.result(
            Status.FAIL,
            "null MX published beside other MX records; RFC 7505 §3 requires it to be the only one",
            details,
        )
    if not records:
        details = {"mx": [], "implicit_mx": True}
        implicit = obs.hosts[0] if obs.hosts else None
        if implicit is not None and implicit.addresses():
            return subject.result(
                Status.WARN,
                f"no MX records: mail goes to {domain}'s own address (implicit MX, RFC 5321 §5.1); "
                "publish an MX record",
                details,
            )
        return subject.result(
            Status.FAIL,
            f"no MX records and no address for {domain}: it cannot receive mail",
            details,
            ErrorInfo(Stage.DNS, "nodata", f"{domain} has no MX, A or AAAA records"),
        )
    shown = ", ".join(f"{pref} {host}" for pref, host in records)
    return subject.result(
        Status.PASS,
        f"{len(records)} MX record{'s' if len(records) > 1 else ''}: {shown}",
        {"mx": listed, "authenticated": obs.mx.authenticated},
    )


def preference_findings(obs: MxObservation) -> list[CheckResult]:
    """Note exchangers sharing a preference (load spread between them) and exchangers listed twice."""
    by_preference: dict[int, list[str]] = {}
    for pref, host in mx_records(obs.mx):
        if host != ".":
            by_preference.setdefault(pref, []).append(host)
    notes = []
    for pref, hosts in sorted(by_preference.items()):
        if len(hosts) > 1:
            notes.append(f"{', '.join(hosts)} share preference {pref} (senders spread mail across them)")
    names = [host for hosts in by_preference.values() for host in hosts]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        notes.append(f"listed more than once: {', '.join(repeated)}")
    if not notes:
        return []
    subject = Subject("mx.preferences", obs.domain, Stage.DNS)
    shared = {str(p): h for p, h in by_preference.items() if len(h) > 1}
    return [subject.result(Status.INFO, "; ".join(notes), {"shared": shared, "repeated": repeated})]


def _answers(host: HostObservation) -> list[Timed[DnsAnswer]]:
    return [lookup for lookup in (host.ipv4, host.ipv6) if lookup is not None]


def _alias(host: HostObservation) -> str | None:
    for lookup in _answers(host):
        if isinstance(lookup.value, DnsAnswer) and lookup.value.aliased:
            return lookup.value.canonical_name
    return None


def host_finding(host: HostObservation, allow_private: bool = False) -> CheckResult:
    """Does this exchanger resolve, directly, to public addresses?"""
    label = "implicit MX" if host.implicit else f"MX {host.preference}"
    lookups = _answers(host)
    duration = max((lookup.duration_ms for lookup in lookups), default=None)
    subject = Subject("mx.host", host.name, Stage.DNS, duration)
    if host.ip_literal:
        return subject.result(
            Status.FAIL,
            f"{label} is an IP address, not a host name; MX must name a host (RFC 5321 §5.1, RFC 7505 §4) "
            "and most senders will not deliver to it",
            {"preference": host.preference},
        )
    addresses = host.addresses()
    errors = [lookup.error for lookup in lookups if lookup.error is not None]
    alias = _alias(host)
    details: dict[str, object] = {
        "preference": host.preference,
        "implicit": host.implicit,
        "ipv4": [a for a in addresses if ":" not in a],
        "ipv6": [a for a in addresses if ":" in a],
        "cname": alias,
    }
    if not addresses:
        if errors:
            return subject.failed(errors[0], f"could not resolve {label} host: {errors[0].message}", details)
        nxdomain = all(isinstance(lookup.value, DnsAnswer) and lookup.value.nxdomain for lookup in lookups)
        kind = "nxdomain" if nxdomain else "nodata"
        why = "does not exist (NXDOMAIN)" if nxdomain else "has no A or AAAA records"
        return subject.result(
            Status.FAIL,
            f"{label} host {host.name} {why}: mail cannot be delivered to it",
            details,
            ErrorInfo(Stage.DNS, kind, f"{host.name} {why}"),
        )
    problems: list[str] = []
    if alias:
        problems.append(f"is a CNAME for {alias}; RFC 2181 §10.3 says an MX must name the host itself")
    reserved = [a for a in addresses if not ipaddress.ip_address(a).is_global]
    if reserved and not allow_private:
        plural = "es" if len(reserved) > 1 else ""
        problems.append(
            f"has private or reserved address{plural} {', '.join(reserved)}, not reachable from the Internet"
        )
        details["reserved"] = reserved
    if errors:
        problems.append(f"one lookup failed ({errors[0].kind}): {errors[0].message}")
    if problems:
        error = errors[0].info() if errors else None
        return subject.result(Status.WARN, f"{label} {'; '.join(problems)}", details, error)
    families = " and ".join(family for family in ("IPv4", "IPv6") if details[family.lower()])
    return subject.result(Status.PASS, f"{label} resolves to {', '.join(addresses)} ({families})", details)


def reverse_finding(host: HostObservation, rev: ReverseObservation) -> CheckResult:
    """Forward-confirmed reverse DNS for one address of an exchanger."""
    subject = Subject("mx.ptr", f"{host.name} ({rev.address})", Stage.DNS)
    if isinstance(rev.ptr, ProbeError):
        return subject.failed(rev.ptr, f"PTR lookup failed: {rev.ptr.message}")
    names = [name for name, _ in rev.forward]
    if not names:
        return subject.result(
            Status.WARN,
            f"no PTR record for {rev.address}; receivers often distrust mail from an address without reverse DNS",
            {"ptr": []},
        )
    confirmed = confirmed_names(rev)
    details = {"ptr": names, "forward_confirmed": confirmed, "matches_mx_name": host.name in names}
    if confirmed:
        return subject.result(
            Status.PASS,
            f"{rev.address} → {confirmed[0]} → {rev.address} (forward-confirmed reverse DNS)",
            details,
        )
    failed = [forward for _, forward in rev.forward if isinstance(forward, ProbeError)]
    if failed:
        return subject.failed(failed[0], f"PTR {', '.join(names)}: forward lookup failed: {failed[0].message}", details)
    return subject.result(
        Status.WARN,
        f"PTR {', '.join(names)} does not resolve back to {rev.address} (not forward-confirmed)",
        details,
    )
