"""Findings of the name-server checks (``nameservers`` probes): one finding per fact — a lame or silent
server, serials or mail records that differ (with the differing values and who serves which), parent and zone
NS sets, glue, count and networks, IPv6, TCP, EDNS, DNSSEC keys — and one passing line for a consistent zone."""

import ipaddress
from collections.abc import Iterable

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from mailcheck.checks.routing.nameservers import NsObservation, ServerObservation
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.authoritative import ServerReply
from mailcheck.net.dnssec_keys import ds_matches

# which TXT records a label compares: the policy record among the name's TXT records
TXT_PREFIX = {"SPF": "v=spf1", "DMARC": "v=dmarc1", "MTA-STS": "v=stsv1", "TLS-RPT": "v=tlsrptv1"}
MIN_IPV6_SERVERS = 2  # internet.nl's test: at least two name servers reachable over IPv6


def evaluate(obs: NsObservation) -> list[CheckResult]:
    zone = obs.zone or obs.domain
    if obs.zone_error is not None:
        return [Subject("ns.delegation", obs.domain, Stage.DNS).failed(obs.zone_error)]
    results = [*_delegation(obs, zone), *_addresses(obs)]
    answering, server_results = _servers(obs)
    results += server_results
    if answering:
        results += _differences(obs, answering)
        results += _dnssec(obs, answering)
    results += _networks(obs)
    problems = [r for r in results if r.status in (Status.FAIL, Status.WARN, Status.ERROR)]
    results.insert(0, _summary(obs, zone, answering, problems))
    return results


def _summary(
    obs: NsObservation, zone: str, answering: list[ServerObservation], problems: list[CheckResult]
) -> CheckResult:
    subject = Subject("ns.servers", zone, Stage.DNS)
    hosts = sorted({s.host for s in obs.servers})
    asked = f"{len(hosts)} name server{'s' if len(hosts) != 1 else ''} ({len(obs.servers)} addresses)"
    details = {"zone": zone, "servers": [s.label for s in obs.servers], "answering": [s.label for s in answering]}
    if problems or not answering:
        return subject.result(Status.INFO, f"{asked} asked directly; {len(answering)} answer with authority", details)
    serial = _serial(answering[0])
    compared = ", ".join(q.label for q in obs.questions if q.label != "SOA")
    message = f"{asked} answer with authority and agree: SOA serial {serial}, {compared}"
    return subject.result(Status.PASS, message, details)


def _delegation(obs: NsObservation, zone: str) -> list[CheckResult]:
    subject = Subject("ns.delegation", zone, Stage.DNS)
    child = set(obs.child_ns)
    results = []
    if len(child) < 2:
        message = (
            f"{zone} has {len(child)} name server: one outage takes the whole zone and its mail down "
            "(RFC 1034 §4.1, RFC 2182 §5: at least two, on separate networks)"
        )
        results.append(
            subject.result(Status.WARN, message, {"ns": sorted(child)}, ErrorInfo(Stage.DNS, "single-ns", message))
        )
    delegation = obs.delegation
    if isinstance(delegation, ProbeError):
        message = f"could not ask the parent zone for the delegation: {delegation.message}"
        results.append(subject.result(Status.ERROR, message, {}, ErrorInfo(Stage.DNS, delegation.kind, message)))
    elif isinstance(delegation, ServerReply):
        listed = delegation.referral or tuple(r.rstrip(".").lower() for r in delegation.records)
        parent = set(listed)
        details = {"parent": sorted(parent), "zone": sorted(child), "asked": obs.delegation_server}
        if parent and parent != child:
            only_parent, only_child = sorted(parent - child), sorted(child - parent)
            parts = [f"only at the parent: {', '.join(only_parent)}"] if only_parent else []
            parts += [f"only in the zone: {', '.join(only_child)}"] if only_child else []
            message = (
                f"the parent zone ({obs.parent_zone or 'root'}) and {zone} list different name servers "
                f"({'; '.join(parts)}): resolvers use either set, so a change reaches only some of them"
            )
            results.append(subject.result(Status.WARN, message, details, ErrorInfo(Stage.DNS, "ns-mismatch", message)))
        elif parent and len(child) >= 2:
            results.append(
                subject.result(Status.PASS, f"delegated to {len(child)} name servers, as {zone} lists them", details)
            )
        results += _glue(obs, zone, delegation)
    return results


def _glue(obs: NsObservation, zone: str, delegation: ServerReply) -> list[CheckResult]:
    """Glue for the name servers inside the zone: missing (unreachable) or different from the zone's own."""
    results = []
    for host in delegation.referral:
        if not (host == zone or host.endswith("." + zone)):
            continue  # out-of-zone names are found without glue
        subject = Subject("ns.glue", host, Stage.DNS)
        glue = set(delegation.glue.get(host, ()))
        resolved = obs.addresses.get(host)
        own = set(resolved) if isinstance(resolved, tuple) else set()
        if not glue:
            message = (
                f"the parent gives no glue for {host}, which is inside {zone}: a resolver cannot find its address "
                "without asking it first"
            )
            results.append(subject.result(Status.FAIL, message, {}, ErrorInfo(Stage.DNS, "missing-glue", message)))
        elif own and glue != own:
            message = (
                f"the parent's glue for {host} is {', '.join(sorted(glue))}, but {zone} says "
                f"{', '.join(sorted(own))}: resolvers that use the glue ask the wrong address"
            )
            details = {"glue": sorted(glue), "zone": sorted(own)}
            results.append(subject.result(Status.WARN, message, details, ErrorInfo(Stage.DNS, "wrong-glue", message)))
    return results


def _addresses(obs: NsObservation) -> list[CheckResult]:
    results = []
    for host, found in obs.addresses.items():
        subject = Subject("ns.server", host, Stage.DNS)
        if isinstance(found, ProbeError):
            results.append(subject.failed(found))
        elif not found:
            message = "no A or AAAA record: this name server cannot be reached"
            results.append(subject.result(Status.FAIL, message, {}, ErrorInfo(Stage.DNS, "no-address", message)))
    return results


def _servers(obs: NsObservation) -> tuple[list[ServerObservation], list[CheckResult]]:
    """The servers that answer with authority, and a finding for each that does not (or lacks TCP or EDNS)."""
    silent = [s for s in obs.servers if isinstance(s.soa, ProbeError) and s.soa.kind == "timeout"]
    if obs.servers and len(silent) == len(obs.servers):
        message = (
            f"no name server of {obs.zone} answered from here ({len(silent)} addresses, each asked directly on "
            "the DNS port): this network may allow DNS only to its own resolver; run from another network"
        )
        subject = Subject("ns.server", obs.zone or obs.domain, Stage.DNS)
        return [], [subject.result(Status.ERROR, message, {}, ErrorInfo(Stage.DNS, "ns-silent-here", message))]
    answering, results = [], []
    for server in obs.servers:
        subject = Subject("ns.server", server.label, Stage.DNS)
        soa = server.soa
        if isinstance(server.edns_fallback, ServerReply) and server.edns_fallback.answered:
            soa = server.edns_fallback
            message = (
                "answers a query with EDNS with FORMERR: it does not speak EDNS (RFC 6891), and "
                "since DNS Flag Day 2019 resolvers no longer work around that"
            )
            results.append(
                Subject("ns.edns", server.label, Stage.DNS).result(
                    Status.WARN, message, {}, ErrorInfo(Stage.DNS, "no-edns", message)
                )
            )
        if isinstance(soa, ProbeError) or soa is None:
            results.append(subject.failed(soa) if soa else subject.result(Status.ERROR, "not asked", {}))
            continue
        if not soa.answered:
            why = f"answers {soa.rcode}" if soa.rcode != "NOERROR" else "answers without authority (the AA bit unset)"
            message = (
                f"{why} for {obs.zone}: a lame delegation — it is listed as a name server but does "
                "not serve the zone, so resolvers that ask it fail or get stale data"
            )
            results.append(
                subject.result(
                    Status.FAIL,
                    message,
                    {"rcode": soa.rcode, "aa": soa.authoritative},
                    ErrorInfo(Stage.DNS, "lame", message),
                )
            )
            continue
        answering.append(server)
        if isinstance(server.tcp, ProbeError):
            message = (
                f"no answer over TCP ({server.tcp.message}): RFC 7766 §5 requires it, and "
                "large answers (long TXT records, DNSSEC) fail without it"
            )
            results.append(
                Subject("ns.tcp", server.label, Stage.DNS).result(
                    Status.WARN, message, {}, ErrorInfo(Stage.DNS, "no-tcp", message)
                )
            )
    return answering, results


def _serial(server: ServerObservation) -> int | None:
    soa = server.soa
    if isinstance(server.edns_fallback, ServerReply):
        soa = server.edns_fallback
    if not isinstance(soa, ServerReply) or not soa.records:
        return None
    fields = soa.records[0].split()
    return int(fields[2]) if len(fields) >= 3 and fields[2].isdigit() else None


def _value(server: ServerObservation, label: str) -> str:
    reply = server.answers.get(label)
    if isinstance(reply, ProbeError):
        return f"(no answer: {reply.kind})"
    if reply is None:
        return "(not asked)"
    if reply.rcode == "NXDOMAIN":
        return "(no such name)"
    if reply.rcode != "NOERROR":
        return f"({reply.rcode})"
    if label in TXT_PREFIX or label.startswith("DKIM "):
        texts = reply.txt()
        prefix = TXT_PREFIX.get(label)
        texts = tuple(t for t in texts if prefix is None or t.lower().startswith(prefix))
        return " | ".join(f'"{t}"' for t in texts) or "(none)"
    return " | ".join(r.lower() for r in reply.records) or "(none)"


def _names(servers: Iterable[ServerObservation]) -> str:
    return ", ".join(sorted({s.host for s in servers}))


def _differences(obs: NsObservation, answering: list[ServerObservation]) -> list[CheckResult]:
    """Serials that differ (which servers are behind), and each mail record whose value differs."""
    results = []
    zone = obs.zone or obs.domain
    serials: dict[int | None, list[ServerObservation]] = {}
    for server in answering:
        serials.setdefault(_serial(server), []).append(server)
    newest = max((s for s in serials if s is not None), default=None)
    behind = {s.address: serial for serial, group in serials.items() if serial != newest for s in group}
    if len(serials) > 1:
        groups = "; ".join(
            f"{serial} at {_names(group)}" for serial, group in sorted(serials.items(), key=lambda i: -(i[0] or 0))
        )
        count = len({s.host for s in answering if s.address in behind})
        message = (
            f"{count} of {len({s.host for s in answering})} name servers serve an older copy of {zone} "
            f"(SOA serials {groups}): a secondary stopped transferring, so resolvers get old records at random"
        )
        by_serial = {"serials": {str(k): [s.label for s in v] for k, v in serials.items()}}
        results.append(
            Subject("ns.serial", zone, Stage.DNS).result(
                Status.WARN, message, by_serial, ErrorInfo(Stage.DNS, "stale-secondary", message)
            )
        )
    for question in obs.questions:
        if question.label == "SOA":
            continue
        values: dict[str, list[ServerObservation]] = {}
        for server in answering:
            values.setdefault(_value(server, question.label), []).append(server)
        if len(values) < 2:
            continue
        majority = max(values.items(), key=lambda item: len({s.host for s in item[1]}))[0]
        others = [(value, group) for value, group in values.items() if value != majority]
        parts = []
        for value, group in others:
            serial_note = {behind[s.address] for s in group if s.address in behind}
            stale = (
                f" (serial {', '.join(str(x) for x in sorted(serial_note, key=str))}, behind)" if serial_note else ""
            )
            parts.append(
                f"{len({s.host for s in group})} of {len({s.host for s in answering})} name servers "
                f"({_names(group)}{stale}) serve {value}"
            )
        message = (
            f"{question.label} ({question.name} {question.rdtype}) differs: {'; '.join(parts)}; "
            f"the others serve {majority}"
        )
        details: dict[str, object] = {
            "name": question.name,
            "type": question.rdtype,
            "values": {v: [s.label for s in g] for v, g in values.items()},
        }
        results.append(
            Subject("ns.records", question.label, Stage.DNS).result(
                Status.WARN, message, details, ErrorInfo(Stage.DNS, "inconsistent", message)
            )
        )
    return results


def _dnssec(obs: NsObservation, answering: list[ServerObservation]) -> list[CheckResult]:
    """DS at the parent against the DNSKEY set each server serves."""
    zone = obs.zone or obs.domain
    if not isinstance(obs.ds, tuple):
        return []
    subject = Subject("ns.dnssec", zone, Stage.DNS)
    origin = dns.name.from_text(zone)
    ds = [dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DS, text) for text in obs.ds]
    keyless, unmatched = [], []
    for server in answering:
        reply = server.dnskey
        texts = reply.records if isinstance(reply, ServerReply) and reply.answered else ()
        if not texts:
            keyless.append(server)
            continue
        keys = [dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, text) for text in texts]
        if ds and not any(ds_matches(origin, key, record) for key in keys for record in ds):
            unmatched.append(server)
    if not ds:
        if len(keyless) < len(answering):
            message = (
                f"{zone} publishes DNSKEY records but the parent has no DS record: the zone is signed, not secured"
            )
            return [subject.result(Status.INFO, message, {})]
        return []
    broken = keyless + unmatched
    if broken:
        message = (
            f"{len({s.host for s in broken})} name server(s) serve no DNSKEY matching the parent's DS "
            f"({_names(broken)}): validating resolvers that ask them get bogus answers and fail every lookup"
        )
        return [
            subject.result(
                Status.FAIL,
                message,
                {"servers": [s.label for s in broken]},
                ErrorInfo(Stage.DNS, "ds-mismatch", message),
            )
        ]
    return [subject.result(Status.PASS, "every name server serves a DNSKEY matching the parent's DS", {})]


def _networks(obs: NsObservation) -> list[CheckResult]:
    """All addresses in one network (RFC 2182 §3.1), and name servers with IPv6 (internet.nl asks for two)."""
    zone = obs.zone or obs.domain
    results = []
    v4 = {ipaddress.ip_network(f"{s.address}/24", strict=False) for s in obs.servers if ":" not in s.address}
    v6 = {ipaddress.ip_network(f"{s.address}/48", strict=False) for s in obs.servers if ":" in s.address}
    hosts = {s.host for s in obs.servers}
    if len(hosts) >= 2 and len(v4) + len(v6) == 1:
        network = next(iter(v4 | v6))
        message = (
            f"every name server of {zone} is in {network}: one network outage takes the zone down "
            "(RFC 2182 §3.1: put them on separate networks)"
        )
        results.append(
            Subject("ns.diversity", zone, Stage.DNS).result(
                Status.WARN, message, {"network": str(network)}, ErrorInfo(Stage.DNS, "one-network", message)
            )
        )
    with_v6 = sorted({s.host for s in obs.servers if ":" in s.address})
    if hosts and len(with_v6) < MIN_IPV6_SERVERS:
        message = (
            f"{len(with_v6)} of {len(hosts)} name servers have an IPv6 address"
            f"{' (' + ', '.join(with_v6) + ')' if with_v6 else ''}: IPv6-only resolvers need them "
            f"(internet.nl asks for at least {MIN_IPV6_SERVERS})"
        )
        results.append(Subject("ns.ipv6", zone, Stage.DNS).result(Status.INFO, message, {"ipv6": with_v6}))
    return results
