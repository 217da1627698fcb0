"""``mailcheck mailbox DOMAIN``: find the mail access and submission endpoints a domain publishes in SRV
records (RFC 6186, RFC 8314 §5.1) and probe each one with its protocol."""

import asyncio
from dataclasses import dataclass

from mailcheck.checks.transport import mailbox, smtp
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ProbeError, Stage, Status, Subject
from mailcheck.net.dns import DnsAnswer
from mailcheck.net.imap import ImapDialect
from mailcheck.net.pop3 import Pop3Dialect
from mailcheck.runner import attempt


@dataclass(frozen=True)
class Service:
    label: str  # the SRV service name, e.g. "imaps"
    protocol: str  # imap | pop3 | smtp
    tls_mode: str  # implicit | starttls

    @property
    def owner(self) -> str:
        return f"_{self.label}._tcp"


SERVICES = (
    Service("imaps", "imap", "implicit"),
    Service("imap", "imap", "starttls"),
    Service("pop3s", "pop3", "implicit"),
    Service("pop3", "pop3", "starttls"),
    Service("submissions", "smtp", "implicit"),
    Service("submission", "smtp", "starttls"),
)


@dataclass(frozen=True)
class TlsLook:
    """How deep each endpoint's TLS is looked at: --tls-scan's built-in scan, the NCSC grade, its profile."""

    scan: bool = False
    grade: bool = False
    profile: str = "ncsc"


@dataclass(frozen=True)
class SrvTarget:
    priority: int
    weight: int
    port: int
    host: str  # "." means: this service is decidedly not offered (RFC 6186 §4)


@dataclass(frozen=True)
class ServiceObservation:
    service: Service
    lookup: DnsAnswer | ProbeError
    targets: tuple[SrvTarget, ...]
    probes: tuple[tuple[SrvTarget, object], ...]  # (target, SmtpObservation | MailboxObservation | ProbeError)


@dataclass(frozen=True)
class EndpointsObservation:
    domain: str
    services: tuple[ServiceObservation, ...]


def srv_targets(answer: DnsAnswer) -> tuple[SrvTarget, ...]:
    targets = []
    for record in answer.records:
        host = record.target.to_text(omit_final_dot=True).lower() or "."  # type: ignore[attr-defined]
        targets.append(SrvTarget(int(record.priority), int(record.weight), int(record.port), host))  # type: ignore[attr-defined]
    return tuple(sorted(targets, key=lambda t: (t.priority, -t.weight)))


async def probe(
    domain: str, ctx: ProbeContext, insecure: bool = False, tls: TlsLook = TlsLook()
) -> EndpointsObservation:
    services = await asyncio.gather(*(probe_service(domain, s, ctx, insecure, tls) for s in SERVICES))
    return EndpointsObservation(domain, tuple(services))


async def probe_service(
    domain: str, service: Service, ctx: ProbeContext, insecure: bool, tls: TlsLook = TlsLook()
) -> ServiceObservation:
    lookup = await attempt(ctx.dns.lookup(f"{service.owner}.{domain}", "SRV"))
    if not isinstance(lookup, DnsAnswer):
        return ServiceObservation(service, lookup, (), ())
    targets = srv_targets(lookup)
    live = [t for t in targets if t.host != "."]
    results = await asyncio.gather(*(attempt(probe_target(service, t, ctx, insecure, tls)) for t in live))
    return ServiceObservation(service, lookup, targets, tuple(zip(live, results, strict=True)))


async def probe_target(
    service: Service, target: SrvTarget, ctx: ProbeContext, insecure: bool, tls: TlsLook = TlsLook()
) -> object:
    if service.protocol == "smtp":
        options = smtp.SmtpOptions(
            port=target.port,
            tls_mode=service.tls_mode,
            insecure=insecure,
            opportunistic=False,
            tls_scan=tls.scan,
            tls_grade=tls.grade,
            tls_profile=tls.profile,
        )
        return await smtp.probe(target.host, options, ctx)
    dialect = ImapDialect if service.protocol == "imap" else Pop3Dialect
    mailbox_options = mailbox.MailboxOptions(
        port=target.port,
        tls_mode=service.tls_mode,
        insecure=insecure,
        tls_scan=tls.scan,
        tls_grade=tls.grade,
        tls_profile=tls.profile,
    )
    return await mailbox.probe(target.host, mailbox_options, dialect, ctx)


# --- evaluate ----------------------------------------------------------------------------------------------


def evaluate(obs: EndpointsObservation) -> list[CheckResult]:
    results = [discovery_finding(obs)]
    for service_obs in obs.services:
        results.append(srv_finding(obs.domain, service_obs))
        for target, outcome in service_obs.probes:
            label = f"{target.host}:{target.port}"
            if isinstance(outcome, ProbeError):
                subject = Subject(f"{service_obs.service.protocol}.dns", label, Stage.DNS)
                results.append(
                    subject.failed(
                        outcome, f"SRV target {target.host} ({service_obs.service.label}): {outcome.message}"
                    )
                )
            elif isinstance(outcome, smtp.SmtpObservation):
                results.extend(smtp.evaluate(outcome))
            elif isinstance(outcome, mailbox.MailboxObservation):
                results.extend(mailbox.evaluate(outcome))
    return results


def _published(obs: EndpointsObservation) -> dict[str, list[SrvTarget]]:
    return {
        s.service.label: [t for t in s.targets if t.host != "."]
        for s in obs.services
        if any(t.host != "." for t in s.targets)
    }


def discovery_finding(obs: EndpointsObservation) -> CheckResult:
    subject = Subject("mailbox.discovery", obs.domain, Stage.DNS)
    published = _published(obs)
    details = {"published": {label: [f"{t.host}:{t.port}" for t in targets] for label, targets in published.items()}}
    failures = [s.lookup for s in obs.services if isinstance(s.lookup, ProbeError)]
    if not published and failures:
        return subject.failed(failures[0], f"SRV discovery failed: {failures[0].message}")
    if not published:
        return subject.result(
            Status.WARN,
            f"{obs.domain} publishes no SRV records for mail access or submission (RFC 6186): "
            "mail clients must guess the server names",
            details,
        )
    notes = []
    for plain, implicit in (("imap", "imaps"), ("pop3", "pop3s"), ("submission", "submissions")):
        if plain in published and implicit not in published:
            notes.append(f"_{plain} without _{implicit}")
    summary = f"published: {', '.join(sorted(published))}"
    if notes:
        return subject.result(
            Status.INFO,
            f"{summary}; {', '.join(notes)}: RFC 8314 recommends implicit TLS (993, 995, 465) "
            "for mail access and submission",
            details,
        )
    return subject.result(Status.PASS, summary, details)


def srv_finding(domain: str, service_obs: ServiceObservation) -> CheckResult:
    service = service_obs.service
    subject = Subject("mailbox.srv", f"{service.owner}.{domain}", Stage.DNS)
    if isinstance(service_obs.lookup, ProbeError):
        return subject.failed(service_obs.lookup)
    targets = service_obs.targets
    details = {"service": service.label, "targets": [t.__dict__ for t in targets]}
    if not targets:
        return subject.result(Status.INFO, f"{service.label}: not published", details)
    if all(t.host == "." for t in targets):
        return subject.result(Status.INFO, f'{service.label}: published as not offered (target ".")', details)
    shown = ", ".join(f"{t.host}:{t.port} (priority {t.priority}, weight {t.weight})" for t in targets if t.host != ".")
    return subject.result(Status.PASS, f"{service.label}: {shown}", details)
