"""What this machine can reach: ``mailcheck egress``, the first thing a support person asks for.

For each port (25, 587, 465 by default) and address family, can a TCP connection be made to hosts known to
answer, and what do they greet with; which resolvers answer, and do they pass DNSSEC records; do the DNS
blocklists answer them. Targets are given (``HOST[:PORT]``) or the large providers' hosts: their MX hosts for
port 25 (looked up through the resolver), their submission hosts for 587 and 465.
"""

import asyncio
import time
from dataclasses import dataclass, field

import dns.rdatatype

from mailcheck.checks.sender_auth.blocklist import ListObservation, probe_list
from mailcheck.checks.transport.connection import Endpoint, resolve_endpoints
from mailcheck.checks.transport.egress import DEFAULT_REFERENCE_DOMAINS, provider_mx_host
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.dns import DnsAnswer
from mailcheck.net.smtp import read_reply
from mailcheck.net.stream import LineConnection
from mailcheck.records.dnsbl import Blocklist
from mailcheck.runner import attempt
from mailcheck.textsafe import printable

DEFAULT_PORTS = (25, 587, 465)
# Submission hosts of large providers that answer on 587 (STARTTLS) and 465 (implicit TLS) from anywhere.
DEFAULT_SUBMISSION_HOSTS = {
    587: ("smtp.gmail.com", "smtp.office365.com"),
    465: ("smtp.gmail.com", "smtp.mail.yahoo.com"),
}
FAMILIES = {4: "IPv4", 6: "IPv6"}


@dataclass
class PortReach:
    """One port in one address family: who answered (or why nobody did)."""

    port: int
    family: int
    reached: Endpoint | None = None
    connect_ms: int | None = None
    greeting: str | None = None
    failures: list[tuple[Endpoint, ProbeError]] = field(default_factory=list)


@dataclass
class OutboundObservation:
    resolvers: str
    resolver_answer: DnsAnswer | ProbeError | None = None
    resolver_ms: int | None = None
    dnssec_records: bool | None = None
    reach: list[PortReach] = field(default_factory=list)
    untested_ports: list[int] = field(default_factory=list)  # no target for the port could be looked up
    lookup_failures: dict[str, ProbeError] = field(default_factory=dict)
    lists: list[ListObservation] = field(default_factory=list)


async def _targets_for(port: int, given: list[tuple[str, int]], ctx: ProbeContext) -> list[str]:
    """Hosts to try on PORT: the given ones for that port (0: any port), else the providers' defaults."""
    if given:
        return [host for host, target_port in given if target_port in (0, port)]
    if port in DEFAULT_SUBMISSION_HOSTS:
        return list(DEFAULT_SUBMISSION_HOSTS[port])
    hosts = [await provider_mx_host(domain, ctx) for domain in DEFAULT_REFERENCE_DOMAINS]
    return [h for h in hosts if h is not None]


async def _greeting(endpoint: Endpoint, ctx: ProbeContext) -> tuple[int, str | None] | ProbeError:
    start = time.monotonic()
    conn = await attempt(LineConnection.open(endpoint.address, endpoint.port, ctx.timeout, ctx.transcript))
    if isinstance(conn, ProbeError):
        return conn
    connect_ms = int((time.monotonic() - start) * 1000)
    try:
        if endpoint.port == 465:
            return connect_ms, None  # implicit TLS: the greeting comes only after a handshake; reaching is enough
        reply = await attempt(read_reply(conn, Stage.GREETING))
        return connect_ms, None if isinstance(reply, ProbeError) else printable(f"{reply.code} {reply.text}", 200)
    finally:
        await conn.close()


async def _reach(port: int, family: int, endpoints: list[Endpoint], ctx: ProbeContext) -> PortReach:
    found = PortReach(port, family)
    for endpoint in endpoints:
        outcome = await _greeting(endpoint, ctx)
        if isinstance(outcome, ProbeError):
            found.failures.append((endpoint, outcome))
            continue
        found.reached, (found.connect_ms, found.greeting) = endpoint, outcome
        break
    return found


async def probe(
    given: list[tuple[str, int]], ports: tuple[int, ...], lists: list[Blocklist], ctx: ProbeContext
) -> OutboundObservation:
    obs = OutboundObservation(ctx.dns.servers)
    start = time.monotonic()
    obs.resolver_answer = await attempt(ctx.dns.lookup(DEFAULT_REFERENCE_DOMAINS[0], "MX"))
    obs.resolver_ms = int((time.monotonic() - start) * 1000)
    if not isinstance(obs.resolver_answer, ProbeError):
        signed = await attempt(ctx.dns.query_dnssec(".", "DNSKEY"))
        obs.dnssec_records = not isinstance(signed, ProbeError) and any(
            r.rdtype == dns.rdatatype.RRSIG for r in signed.answer
        )

    async def port_reach(port: int) -> list[PortReach]:
        endpoints: list[Endpoint] = []
        for host in await _targets_for(port, given, ctx):
            found = await attempt(resolve_endpoints(host, port, (4, 6), ctx))
            if isinstance(found, ProbeError):
                obs.lookup_failures[host] = found
            else:
                endpoints.extend(found)
        if not endpoints:
            obs.untested_ports.append(port)
        by_family = {f: [e for e in endpoints if (":" in e.address) == (f == 6)] for f in FAMILIES}
        return list(await asyncio.gather(*(_reach(port, f, by_family[f], ctx) for f in FAMILIES if by_family[f])))

    reaches, lists_seen = await asyncio.gather(
        asyncio.gather(*(port_reach(port) for port in ports)),
        asyncio.gather(*(probe_list(blocklist, [], ctx) for blocklist in lists)),
    )
    obs.reach = [r for per_port in reaches for r in per_port]
    obs.lists = list(lists_seen)
    return obs


def evaluate(obs: OutboundObservation) -> list[CheckResult]:
    results = [_resolver_finding(obs)]
    if obs.dnssec_records is not None:
        subject = Subject("egress.dnssec", obs.resolvers, Stage.DNS)
        if obs.dnssec_records:
            said = "the resolver passes DNSSEC records (the root's DNSKEY set came signed): mailcheck validates itself"
            results.append(subject.result(Status.PASS, said))
        else:
            said = "the resolver strips DNSSEC records: DNSSEC answers are indeterminate from here, DANE falls back "
            results.append(subject.result(Status.INFO, said + "on the resolver's AD bit"))
    results += [_port_finding(reach) for reach in obs.reach]
    for port in sorted(obs.untested_ports):
        message = f"port {port} could not be tested: no host to try on it could be looked up (see egress.target)"
        subject = Subject("egress.port", f"port {port}", Stage.DNS)
        results.append(
            subject.result(Status.ERROR, message, {"port": port}, ErrorInfo(Stage.DNS, "no-target", message))
        )
    for host, failure in obs.lookup_failures.items():
        # the host is a reference, not the user's domain: not looking it up says something about the resolver
        message = f"{host} could not be looked up through {obs.resolvers}: {failure.message}"
        error = ErrorInfo(failure.stage, "target-unresolved", message)
        results.append(Subject("egress.target", host, failure.stage).result(Status.ERROR, message, {}, error))
    results += [_list_finding(listed) for listed in obs.lists]
    return results


def _resolver_finding(obs: OutboundObservation) -> CheckResult:
    subject = Subject("egress.resolver", obs.resolvers, Stage.DNS, obs.resolver_ms)
    answer = obs.resolver_answer
    if isinstance(answer, ProbeError):
        return subject.failed(answer, f"the resolver does not answer: {answer.message}")
    if answer is not None and not answer.records:
        # a name every resolver on the Internet knows: a resolver that denies it filters or only knows a lab
        message = (
            f"{obs.resolvers} answers, but says {answer.name} has no MX records ({answer.outcome}): a filtering "
            "or private resolver; checks of public domains through it will be wrong"
        )
        return subject.result(Status.WARN, message, {"reference": answer.name, "outcome": answer.outcome})
    return subject.result(Status.PASS, f"{obs.resolvers} answers ({obs.resolver_ms} ms)")


def _port_finding(reach: PortReach) -> CheckResult:
    family = FAMILIES[reach.family]
    subject = Subject("egress.port", f"port {reach.port} over {family}", Stage.CONNECT, reach.connect_ms)
    details: dict[str, object] = {"port": reach.port, "family": family}
    if reach.reached is not None:
        details.update({"reached": reach.reached.label, "greeting": reach.greeting})
        said = f"; it greets: {reach.greeting}" if reach.greeting else ""
        return subject.result(Status.PASS, f"reached {reach.reached.label} in {reach.connect_ms} ms{said}", details)
    details["tried"] = [f"{e.label}: {f.kind}" for e, f in reach.failures]
    tried = "; ".join(f"{e.label}: {f.message}" for e, f in reach.failures[:3])
    if reach.failures and all(f.kind == "no-route" for _, f in reach.failures):
        message = f"this machine has no {family} route (tried {tried}); servers reachable only over {family} "
        message += "cannot be checked from here"
        return subject.result(Status.WARN, message, details, ErrorInfo(Stage.CONNECT, "no-route", message))
    message = f"no host answered on port {reach.port} over {family} (tried {tried}): this network blocks "
    message += f"outbound port {reach.port}" + (
        "; mail checks of MX hosts need a host that can reach port 25 (e.g. a VPS with port 25 opened)"
        if reach.port == 25
        else ""
    )
    return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.CONNECT, "egress-blocked", message))


def _list_finding(listed: ListObservation) -> CheckResult:
    blocklist = listed.blocklist
    subject = Subject("egress.blocklist", blocklist.zone, Stage.DNS)
    details = {"list": blocklist.name, "zone": blocklist.zone}
    health = listed.health
    if health is None:
        return subject.result(
            Status.PASS, f"{blocklist.name} answers this resolver (its test point is listed)", details
        )
    refused = "refused" in health or (
        isinstance(listed.listed_point, ProbeError) and listed.listed_point.kind == "refused"
    )
    kind = "list-refused" if refused else "list-unusable"
    message = f"{blocklist.name} cannot be used from here: {health}"
    if refused:
        message += "; use your own resolver (--resolver) for blocklist checks"
    return subject.result(Status.ERROR, message, details, ErrorInfo(Stage.DNS, kind, message))
