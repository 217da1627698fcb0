"""``mailcheck domain DOMAIN``: every check that applies to a domain, run concurrently, reported in the order
a message travels: DNS → MX hosts → SMTP + STARTTLS → transport policy → sender authentication → mailbox."""

import asyncio
import dataclasses
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from mailcheck.checks.routing import mx as mx_check
from mailcheck.checks.sender_auth import blocklist as blocklist_check
from mailcheck.checks.sender_auth import dmarc as dmarc_check
from mailcheck.checks.sender_auth import spf as spf_check
from mailcheck.checks.transport import reporting as reporting_check
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ProbeError, Stage, Subject
from mailcheck.records.dnsbl import DEFAULT_IP_LISTS, Blocklist
from mailcheck.runner import attempt

# The parts that need TLS, X.509 or DNSSEC code (smtp, mta-sts, dane, dnssec, dkim, mailbox) are imported
# when a run asks for them: a DNS-only run over many domains does not pay their start-up.
if TYPE_CHECKING:
    from mailcheck.checks.transport.dane import DaneObservation
    from mailcheck.net.dnssec import TrustAnchors

PARTS = (
    "mx", "dnssec", "ns", "blocklist", "smtp", "mta-sts", "dane", "tls-rpt", "spf", "dkim", "dmarc", "bimi",
    "mailbox",
)  # fmt: skip
# Parts run only when asked (--with or --only): ``ns`` asks every authoritative server directly on the DNS
# port, which networks that allow DNS only to their own resolver block
OPT_IN_PARTS = frozenset({"ns"})
DEFAULT_PARTS = tuple(p for p in PARTS if p not in OPT_IN_PARTS)
SECTIONS = (
    ("dns", ("mx", "dnssec", "ns", "blocklist")),
    ("smtp", ("smtp",)),
    ("transport policy", ("mta-sts", "dane", "tls-rpt")),
    ("sender authentication", ("spf", "dkim", "dmarc", "bimi")),
    ("mailbox access", ("mailbox",)),
)
T = TypeVar("T")


@dataclass(frozen=True)
class DomainOptions:
    parts: frozenset[str] = frozenset(DEFAULT_PARTS)
    dkim_selectors: tuple[str, ...] = ()
    allow_private: bool = False
    mx_port: int = 25
    mta_sts_port: int = 443
    insecure: bool = False
    blocklists: tuple[Blocklist, ...] = DEFAULT_IP_LISTS
    tls_scan: bool = False
    tls_grade: bool = False  # --tls-grade: each MX address graded on the NCSC TLS guidelines (sslyze)
    tls_profile: str = "ncsc"  # --tls-profile
    trust_anchors: "TrustAnchors | None" = None  # None: the IANA root anchors
    reference_mx: tuple[tuple[str, int], ...] = ()  # --reference-mx; () = the default providers' MX hosts
    retries: int = 1  # --retries: a throttled SMTP session is asked again after a backoff
    ns_port: int = 53  # --ns-port: the port the ns part asks each authoritative server on

    def anchors(self) -> "TrustAnchors":
        from mailcheck.net.dnssec import DEFAULT_ANCHORS

        return self.trust_anchors or DEFAULT_ANCHORS


@dataclass
class DomainObservation:
    domain: str
    options: DomainOptions
    mx: Any = None  # MxObservation | ProbeError
    smtp: dict[str, Any] = field(default_factory=dict)  # MX host → SmtpObservation | ProbeError
    mtasts: Any = None
    dane: "list[DaneObservation]" = field(default_factory=list)
    spf: Any = None
    dkim: Any = None
    dmarc: Any = None
    reporting: Any = None
    endpoints: Any = None
    blocklists: Any = None  # list[ListObservation] | ProbeError
    dnssec: Any = None  # DnssecObservation | ProbeError
    nameservers: Any = None  # NsObservation | ProbeError
    caa: Any = None  # MX host → its relevant CAA records (with --tls-grade)
    mtasts_grades: Any = None  # the MTA-STS policy host's addresses graded (with --tls-grade)

    def mx_hosts(self) -> list[str]:
        if not isinstance(self.mx, mx_check.MxObservation):
            return []
        return [h.name for h in self.mx.hosts if not h.ip_literal and h.addresses()]

    def public_mx_addresses(self) -> list[str]:
        """The MX hosts' addresses that the Internet sees (blocklists never list private ones)."""
        if not isinstance(self.mx, mx_check.MxObservation):
            return []
        found = {a for h in self.mx.hosts for a in h.addresses() if ipaddress.ip_address(a).is_global}
        return sorted(found)


Progress = Callable[[str], None]


async def probe(
    domain: str, options: DomainOptions, ctx: ProbeContext, progress: Progress | None = None
) -> DomainObservation:
    obs = DomainObservation(domain, options)
    wanted = options.parts
    note = progress or (lambda label: None)

    async def run(label: str, operation: Awaitable[T]) -> T | ProbeError:
        outcome = await attempt(operation)
        note(label)
        return outcome

    async def mx_then_hosts() -> None:
        obs.mx = await run("mx", mx_check.probe(domain, ctx))
        hosts = obs.mx_hosts()
        addresses = obs.public_mx_addresses()
        if "blocklist" in wanted and addresses:
            obs.blocklists = await run("blocklist", blocklist_check.probe(list(options.blocklists), addresses, ctx))
        if options.tls_grade and "smtp" in wanted and hosts:
            from mailcheck.checks.transport import caa as caa_check

            obs.caa = await run("caa", caa_check.probe(hosts, ctx))
        if not wanted & {"smtp", "dane", "dnssec"}:
            return
        from mailcheck.checks.routing import dnssec as dnssec_check
        from mailcheck.checks.transport import dane as dane_check
        from mailcheck.checks.transport import smtp as smtp_check

        smtp_options = smtp_check.SmtpOptions(
            port=options.mx_port,
            insecure=options.insecure,
            tls_scan=options.tls_scan,
            tls_grade=options.tls_grade,
            tls_profile=options.tls_profile,
            egress_check=True,
            reference_mx=options.reference_mx,
            retries=options.retries,
        )
        async with asyncio.TaskGroup() as group:
            if "smtp" in wanted:
                tasks = {h: group.create_task(run(f"smtp {h}", smtp_check.probe(h, smtp_options, ctx))) for h in hosts}
            if "dane" in wanted:
                dane_task = group.create_task(run("dane", dane_check.probe(hosts, ctx, options.anchors())))
            if "dnssec" in wanted:
                questions = [(domain, "MX"), *((h, "A") for h in hosts)]
                questions += [(f"_mta-sts.{domain}", "TXT"), (f"_dmarc.{domain}", "TXT")]
                dnssec_task = group.create_task(run("dnssec", dnssec_check.probe(questions, options.anchors(), ctx)))
        if "smtp" in wanted:
            obs.smtp = {h: t.result() for h, t in tasks.items()}
        if "dane" in wanted:
            found = dane_task.result()
            obs.dane = found if isinstance(found, list) else []
        if "dnssec" in wanted:
            obs.dnssec = dnssec_task.result()

    async def assign(name: str, operation: Awaitable[Any]) -> None:
        setattr(obs, name, await run(name, operation))

    async def mtasts_then_grade() -> None:
        from mailcheck.checks.transport import mtasts as mtasts_check

        obs.mtasts = await run("mtasts", mtasts_check.probe(domain, ctx, options.mta_sts_port))
        if options.tls_grade and isinstance(obs.mtasts, mtasts_check.StsObservation):
            grading = mtasts_check.grade_policy_host(obs.mtasts, ctx, options.mta_sts_port, options.tls_profile)
            obs.mtasts_grades = await run("mta-sts grade", grading)

    async with asyncio.TaskGroup() as group:
        if wanted & {"mx", "dnssec", "blocklist", "smtp", "mta-sts", "dane"}:
            group.create_task(mx_then_hosts())
        if "mta-sts" in wanted:
            group.create_task(mtasts_then_grade())
        if "spf" in wanted:
            group.create_task(assign("spf", spf_check.probe(domain, ctx)))
        if "dkim" in wanted:
            from mailcheck.checks.sender_auth import dkim as dkim_check

            group.create_task(assign("dkim", dkim_check.probe(domain, options.dkim_selectors, ctx)))
        if wanted & {"dmarc", "bimi"}:
            group.create_task(assign("dmarc", dmarc_check.probe(domain, ctx)))
        if wanted & {"tls-rpt", "bimi"}:
            group.create_task(assign("reporting", reporting_check.probe(domain, ctx)))
        if "ns" in wanted:
            from mailcheck.checks.routing import nameservers as ns_check

            lookups = ns_check.probe(domain, ctx, options.dkim_selectors, options.ns_port)
            group.create_task(assign("nameservers", lookups))
        if "mailbox" in wanted:
            from mailcheck.checks.transport import endpoints as endpoints_check

            tls = endpoints_check.TlsLook(options.tls_scan, options.tls_grade, options.tls_profile)
            group.create_task(assign("endpoints", endpoints_check.probe(domain, ctx, options.insecure, tls)))
    return obs


# --- evaluate ----------------------------------------------------------------------------------------------


def _failed(check_id: str, target: str, outcome: Any) -> list[CheckResult] | None:
    if isinstance(outcome, ProbeError):
        return [Subject(check_id, target, outcome.stage).failed(outcome)]
    return None


def evaluate(obs: DomainObservation) -> list[CheckResult]:
    by_part = part_findings(obs)
    ordered: list[CheckResult] = []
    for _section, parts in SECTIONS:
        section = [r for part in parts if part in obs.options.parts for r in by_part.get(part, [])]
        ordered.extend(sorted(section, key=lambda r: -r.status.severity))
    return ordered


def part_findings(obs: DomainObservation) -> dict[str, list[CheckResult]]:
    d = obs.domain
    found: dict[str, list[CheckResult]] = {}
    if obs.mx is not None:
        found["mx"] = _failed("mx.records", d, obs.mx) or mx_check.evaluate(obs.mx, obs.options.allow_private)
    if obs.dnssec is not None:
        from mailcheck.checks.routing import dnssec as dnssec_check

        found["dnssec"] = _failed("dnssec.answer", d, obs.dnssec) or dnssec_check.evaluate(obs.dnssec)
    if obs.nameservers is not None:
        from mailcheck.checks.routing import nameservers_findings

        found["ns"] = _failed("ns.servers", d, obs.nameservers) or nameservers_findings.evaluate(obs.nameservers)
    if obs.blocklists is not None:
        found["blocklist"] = _failed("blocklist.ip", d, obs.blocklists) or blocklist_check.evaluate(obs.blocklists)
    if obs.smtp or obs.dane:
        found["smtp"], found["dane"] = _transport_findings(obs)
    if isinstance(obs.caa, dict):
        from mailcheck.checks.transport import caa as caa_check

        found.setdefault("smtp", []).extend(caa_check.findings("smtp", obs.caa))
    if obs.mtasts is not None:
        from mailcheck.checks.transport import mtasts as mtasts_check

        found["mta-sts"] = _failed("mtasts.record", d, obs.mtasts) or mtasts_check.evaluate(obs.mtasts, obs.mx_hosts())
        if obs.mtasts_grades is not None:
            from mailcheck.checks.transport import tls_grade

            grades = obs.mtasts_grades
            found["mta-sts"] += _failed("mtasts.tls-grade", f"mta-sts.{d}", grades) or [
                result for graded in grades for result in tls_grade.findings("mtasts", graded, tls_required=True)
            ]
    if obs.spf is not None:
        found["spf"] = _failed("spf.record", d, obs.spf) or spf_check.evaluate(obs.spf)
    if obs.dkim is not None:
        from mailcheck.checks.sender_auth import dkim as dkim_check

        found["dkim"] = _failed("dkim.key", d, obs.dkim) or dkim_check.evaluate(obs.dkim)
    policy = None
    if obs.dmarc is not None:
        found["dmarc"] = _failed("dmarc.record", d, obs.dmarc) or dmarc_check.evaluate(obs.dmarc)
        if isinstance(obs.dmarc, dmarc_check.DmarcObservation) and (step := obs.dmarc.policy_step()) and step.records:
            policy = dmarc_check.parse_dmarc(step.records[0]).policy
    if obs.reporting is not None:
        if isinstance(obs.reporting, ProbeError):
            found["tls-rpt"] = _failed("tlsrpt.record", d, obs.reporting) or []
        else:
            found["tls-rpt"] = reporting_check.tlsrpt_findings(obs.reporting)
            found["bimi"] = reporting_check.bimi_findings(obs.reporting, policy)
    if obs.endpoints is not None:
        from mailcheck.checks.transport import endpoints as endpoints_check

        found["mailbox"] = _failed("mailbox.discovery", d, obs.endpoints) or endpoints_check.evaluate(obs.endpoints)
    return found


def _transport_findings(obs: DomainObservation) -> tuple[list[CheckResult], list[CheckResult]]:
    """The SMTP findings of every MX host, judged against the domain's policy, and its DANE findings."""
    from mailcheck.checks.transport import dane as dane_check
    from mailcheck.checks.transport import mtasts as mtasts_check
    from mailcheck.checks.transport import smtp as smtp_check

    dane_by_host = {o.host: o for o in obs.dane}
    enforced = isinstance(obs.mtasts, mtasts_check.StsObservation) and obs.mtasts.enforced
    smtp_results: list[CheckResult] = []
    dane_results: list[CheckResult] = []
    for host, outcome in obs.smtp.items():
        if isinstance(outcome, ProbeError):
            smtp_results.extend(_failed("smtp.dns", host, outcome) or [])
            continue
        # With MTA-STS enforce, senders require a certificate that PKIX validates: faults fail, not warn.
        # DANE does not: its senders match TLSA records instead and ignore PKIX (RFC 7672 §3.1.3: DANE-EE
        # needs neither a CA nor a name), so a DANE-EE server's self-signed certificate is no failure; the
        # dane.match check judges what DANE senders do.
        options = dataclasses.replace(outcome.options, opportunistic=not enforced)
        smtp_results.extend(smtp_check.evaluate(dataclasses.replace(outcome, options=options)))
        if host in dane_by_host:
            chains = [(s.endpoint.label, s.tls.chain_der) for s in outcome.sessions if s.tls is not None]
            dane_results.extend(dane_check.evaluate(dane_by_host[host], chains))
    for host, observation in dane_by_host.items():
        if host not in obs.smtp:
            dane_results.extend(dane_check.evaluate(observation, []))
    from mailcheck.checks.transport.vantage import said_once

    return said_once(smtp_results), dane_results


def input_error(target: str, message: str) -> CheckResult:
    """A result for a line of --from-file that is not a domain."""
    from mailcheck.model import ErrorInfo, Status

    return Subject("domain.input", target, Stage.INPUT).result(
        Status.ERROR, message, {}, ErrorInfo(Stage.INPUT, "syntax", message)
    )
