"""``mailcheck ns DOMAIN`` and the ``ns`` part of ``mailcheck domain``: every authoritative server of the zone
asked directly for its own copy of the mail records.

Probe: find the zone (the closest name at or above DOMAIN with NS records), its NS set through the resolver and
the delegation from one of the parent zone's servers (NS and glue), each server's addresses through the
resolver, then ask each address, without recursion, for SOA, NS, MX, the SPF/DMARC/MTA-STS/TLS-RPT/DKIM TXT
records and the MX hosts' TLSA records in the zone, once over TCP, and for its DNSKEY beside the parent's DS.
Evaluate (``nameservers_findings``): lame and unreachable servers, serials and records that differ, parent and
child NS sets, glue, server count and network diversity, IPv6, TCP, EDNS, and DNSSEC keys per server.
"""

import asyncio
from dataclasses import dataclass, field

from mailcheck.context import ProbeContext
from mailcheck.model import ProbeError, Stage
from mailcheck.net import authoritative
from mailcheck.net.authoritative import ServerReply
from mailcheck.runner import attempt

DEFAULT_PORT = 53
MAX_SERVERS = 16  # name server names asked (a zone has 2 to 8; more is a misconfiguration or abuse)
MAX_ADDRESSES = 4  # addresses asked per name server name


@dataclass(frozen=True)
class Question:
    label: str  # how findings name it: "MX", "SPF", "DMARC", "DKIM s1", "TLSA mx1.example.com"
    name: str
    rdtype: str


@dataclass
class ServerObservation:
    """One address of one name server, and what it said."""

    host: str
    address: str
    answers: dict[str, ServerReply | ProbeError] = field(default_factory=dict)  # by Question.label
    tcp: ServerReply | ProbeError | None = None
    edns_fallback: ServerReply | ProbeError | None = None  # asked without EDNS when the EDNS query failed
    dnskey: ServerReply | ProbeError | None = None

    @property
    def label(self) -> str:
        return f"{self.host} ({self.address})"

    @property
    def soa(self) -> ServerReply | ProbeError | None:
        return self.answers.get("SOA")


@dataclass
class NsObservation:
    domain: str
    zone: str | None = None
    zone_error: ProbeError | None = None
    child_ns: tuple[str, ...] = ()  # the zone's NS set as the resolver answers it (the zone's own)
    parent_zone: str | None = None
    delegation: ServerReply | ProbeError | None = None  # the referral from a parent server
    delegation_server: str | None = None
    addresses: dict[str, tuple[str, ...] | ProbeError] = field(default_factory=dict)  # NS name → its addresses
    servers: list[ServerObservation] = field(default_factory=list)
    questions: tuple[Question, ...] = ()
    ds: tuple[str, ...] | ProbeError | None = None  # the DS set at the parent (through the resolver)


def mail_questions(zone: str, domain: str, selectors: tuple[str, ...], mx_hosts: tuple[str, ...]) -> list[Question]:
    """What each server is asked: the zone's SOA and NS, and the mail records of DOMAIN it serves."""
    found = [
        Question("SOA", zone, "SOA"),
        Question("NS", zone, "NS"),
        Question("MX", domain, "MX"),
        Question("SPF", domain, "TXT"),
        Question("DMARC", f"_dmarc.{domain}", "TXT"),
        Question("MTA-STS", f"_mta-sts.{domain}", "TXT"),
        Question("TLS-RPT", f"_smtp._tls.{domain}", "TXT"),
    ]
    found += [Question(f"DKIM {s}", f"{s}._domainkey.{domain}", "TXT") for s in selectors]
    found += [Question(f"TLSA {h}", f"_25._tcp.{h}", "TLSA") for h in mx_hosts if _under(h, zone)]
    return found


def _exchange(record: object) -> str:
    return str(getattr(record, "exchange", "")).rstrip(".").lower()


def _under(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


async def _zone_of(name: str, ctx: ProbeContext) -> tuple[str, tuple[str, ...]]:
    """The closest name at or above NAME with NS records (the zone apex), and those NS names."""
    current = name
    while current:
        answer = await ctx.dns.lookup(current, "NS")
        if answer.records and not answer.aliased:
            return current, tuple(sorted(r.to_text().rstrip(".").lower() for r in answer.records))
        current = current.partition(".")[2]
    raise ProbeError(Stage.DNS, "no-zone", f"no NS records for {name} or any name above it")


async def probe(
    domain: str, ctx: ProbeContext, selectors: tuple[str, ...] = (), port: int = DEFAULT_PORT
) -> NsObservation:
    obs = NsObservation(domain)
    try:
        obs.zone, obs.child_ns = await _zone_of(domain, ctx)
    except ProbeError as exc:
        obs.zone_error = exc
        return obs
    zone = obs.zone
    mx = await attempt(ctx.dns.lookup(domain, "MX"))
    mx_hosts = () if isinstance(mx, ProbeError) else tuple(_exchange(r) for r in mx.records)
    obs.questions = tuple(mail_questions(zone, domain, selectors, mx_hosts))
    names = list(obs.child_ns[:MAX_SERVERS])

    async def addresses(host: str) -> None:
        found: list[str] = []
        failure: ProbeError | None = None
        for rdtype in ("A", "AAAA"):
            answer = await attempt(ctx.dns.lookup(host, rdtype))
            if isinstance(answer, ProbeError):
                failure = answer
            else:
                found += [r.to_text() for r in answer.records]
        obs.addresses[host] = tuple(found[:MAX_ADDRESSES]) if found or failure is None else failure

    async with asyncio.TaskGroup() as group:
        group.create_task(_delegation(obs, ctx, port))
        group.create_task(_ds(obs, ctx))
        for host in names:
            group.create_task(addresses(host))
    # the parent's NS names too, when they differ: a server only the parent lists is asked as well
    referral = obs.delegation.referral if isinstance(obs.delegation, ServerReply) else ()
    extra = [h for h in referral if h not in obs.addresses][: MAX_SERVERS - len(names)]
    if extra:
        async with asyncio.TaskGroup() as group:
            for host in extra:
                group.create_task(addresses(host))
    obs.servers = [
        ServerObservation(host, address)
        for host, found in obs.addresses.items()
        if not isinstance(found, ProbeError)
        for address in found
    ]
    async with asyncio.TaskGroup() as group:
        for server in obs.servers:
            group.create_task(_ask_server(server, obs, ctx, port))
    return obs


async def _ds(obs: NsObservation, ctx: ProbeContext) -> None:
    assert obs.zone is not None
    answer = await attempt(ctx.dns.lookup(obs.zone, "DS"))
    obs.ds = answer if isinstance(answer, ProbeError) else tuple(sorted(r.to_text() for r in answer.records))


async def _delegation(obs: NsObservation, ctx: ProbeContext, port: int) -> None:
    """The zone's NS records and glue as the parent zone's servers hand them out (a referral)."""
    assert obs.zone is not None
    parent = obs.zone.partition(".")[2]
    try:
        obs.parent_zone, parent_ns = await _zone_of(parent, ctx) if parent else ("", ())
    except ProbeError as exc:
        obs.delegation = exc
        return
    if not parent_ns:
        return  # the root zone's own delegation is the root hints: nothing to compare
    failure: ProbeError | None = None
    for host in parent_ns[:4]:
        for rdtype in ("A", "AAAA"):
            found = await attempt(ctx.dns.lookup(host, rdtype))
            if isinstance(found, ProbeError):
                continue
            for record in found.records[:2]:
                address = record.to_text()
                async with ctx.limit, ctx.host_gate(address):
                    reply = await attempt(authoritative.ask(address, port, obs.zone, "NS", ctx.timeout, ctx.transcript))
                if isinstance(reply, ServerReply) and reply.rcode == "NOERROR":
                    obs.delegation, obs.delegation_server = reply, f"{host} ({address})"
                    return
                failure = reply if isinstance(reply, ProbeError) else failure
    obs.delegation = failure or ProbeError(
        Stage.DNS, "no-delegation", f"no server of {obs.parent_zone or 'the root'} answered for {obs.zone} NS"
    )


async def _ask_server(server: ServerObservation, obs: NsObservation, ctx: ProbeContext, port: int) -> None:
    """Every question over UDP with EDNS, SOA once over TCP, DNSKEY; without EDNS only when EDNS failed."""
    assert obs.zone is not None

    async def one(name: str, rdtype: str, tcp: bool = False, edns: bool = True) -> ServerReply | ProbeError:
        async with ctx.limit, ctx.host_gate(server.address):
            return await attempt(
                authoritative.ask(server.address, port, name, rdtype, ctx.timeout, ctx.transcript, tcp=tcp, edns=edns)
            )

    soa = await one(obs.zone, "SOA")
    server.answers["SOA"] = soa
    if isinstance(soa, ProbeError) and soa.kind == "timeout":
        return  # silent: the rest would only wait as long again
    if isinstance(soa, ServerReply) and soa.rcode == "FORMERR":
        server.edns_fallback = await one(obs.zone, "SOA", edns=False)
    rest = [q for q in obs.questions if q.label != "SOA"]
    replies = await asyncio.gather(*(one(q.name, q.rdtype) for q in rest), one(obs.zone, "SOA", tcp=True))
    for question, reply in zip(rest, replies, strict=False):
        server.answers[question.label] = reply
    server.tcp = replies[-1]
    server.dnskey = await one(obs.zone, "DNSKEY")
