"""``mailcheck dmarc DOMAIN``: record discovery by the RFC 9989 tree walk, the policy and its tags, report
destinations and whether external ones authorised us (RFC 9989 §3.5 / RFC 9990), the organizational domain."""

import functools
from dataclasses import dataclass, field

from mailcheck.records.dmarc_record import REMOVED_TAGS, DmarcRecord, is_dmarc, parse_dmarc, tree_walk_names

__all__ = ["DmarcObservation", "DmarcRecord", "WalkStep", "evaluate", "parse_dmarc", "probe"]
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.dns import DnsAnswer
from mailcheck.psl import registrable_domain
from mailcheck.runner import attempt, together


@dataclass(frozen=True)
class WalkStep:  # frozen, so records (read often) is computed once
    name: str
    lookup: DnsAnswer | ProbeError

    @functools.cached_property
    def records(self) -> list[str]:
        return [t for t in self.lookup.txt_values() if is_dmarc(t)] if isinstance(self.lookup, DnsAnswer) else []


@dataclass
class DmarcObservation:
    domain: str
    steps: tuple[WalkStep, ...]
    psl_org_domain: str | None
    authorisations: dict[str, DnsAnswer | ProbeError] = field(default_factory=dict)

    def policy_step(self) -> WalkStep | None:
        """The first name on the walk with exactly one DMARC record; or the first one that failed to answer."""
        for step in self.steps:
            if isinstance(step.lookup, ProbeError) or len(step.records) == 1:
                return step
        return None

    def org_domain(self) -> str:
        """RFC 9989 §4.10.2: psd=n marks the org domain, psd=y the suffix above it; else the topmost record."""
        previous = self.domain
        topmost = None
        for step in self.steps:
            if len(step.records) == 1:
                record = parse_dmarc(step.records[0])
                if record.tags.get("psd") == "n":
                    return step.name
                if record.tags.get("psd") == "y":
                    return previous
                topmost = step.name
            previous = step.name
        return topmost or self.domain


def psl_org_domain(domain: str) -> str | None:
    """The registrable domain per the Public Suffix List (RFC 7489's organizational domain), offline."""
    return registrable_domain(domain)


def external_destinations(record: DmarcRecord, domain: str) -> list[str]:
    """Report destination domains outside the record's organizational domain (they must authorise us)."""
    ours = psl_org_domain(domain) or domain
    found = []
    for tag in ("rua", "ruf"):
        for uri in record.report_uris(tag):
            dest = uri.split("!", 1)[0].rpartition("@")[2].lower().rstrip(".")
            if dest and (psl_org_domain(dest) or dest) != ours and dest not in found:
                found.append(dest)
    return found


async def probe(domain: str, ctx: ProbeContext) -> DmarcObservation:
    names = tree_walk_names(domain)
    lookups = await together(*(attempt(ctx.dns.lookup(f"_dmarc.{n}", "TXT")) for n in names))
    steps = tuple(WalkStep(n, lookup) for n, lookup in zip(names, lookups, strict=True))
    obs = DmarcObservation(domain, steps, psl_org_domain(domain))
    step = obs.policy_step()
    if step is not None and step.records:
        record = parse_dmarc(step.records[0])
        dests = external_destinations(record, step.name)
        checks = await together(
            *(attempt(ctx.dns.lookup(f"{step.name}._report._dmarc.{dest}", "TXT")) for dest in dests)
        )
        obs.authorisations = dict(zip(dests, checks, strict=True))
    return obs


# --- evaluate ----------------------------------------------------------------------------------------------


def evaluate(obs: DmarcObservation) -> list[CheckResult]:
    step = obs.policy_step()
    results = [record_finding(obs, step)]
    if step is not None and step.records:
        record = parse_dmarc(step.records[0])
        inherited = step.name != obs.domain
        results.append(policy_finding(obs.domain, record, inherited))
        results.extend(tag_findings(step.name, record))
        results.extend(report_findings(step.name, record, obs.authorisations))
    if not all(isinstance(s.lookup, ProbeError) for s in obs.steps):
        results.append(org_domain_finding(obs))  # without a single answer there is nothing to tell
    return results


def record_finding(obs: DmarcObservation, step: WalkStep | None) -> CheckResult:
    subject = Subject("dmarc.record", f"_dmarc.{obs.domain}", Stage.RECORD)
    asked = [s.name for s in obs.steps]
    details: dict[str, object] = {"tree_walk": asked}
    first = obs.steps[0]
    if len(first.records) > 1:
        return subject.too_many_records(first.records, "DMARC", "receivers ignore them all (RFC 9989 §4.10)")
    if step is None:
        message = (
            f"no DMARC record for {obs.domain} (asked _dmarc.{', _dmarc.'.join(asked)}): receivers apply no policy "
            "and send no reports; publish v=DMARC1; p=none; rua=mailto:... to start"
        )
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "not-found", message))
    if isinstance(step.lookup, ProbeError):
        return subject.failed(step.lookup, f"TXT lookup of _dmarc.{step.name} failed: {step.lookup.message}", details)
    details["record"] = step.records[0]
    details["found_at"] = f"_dmarc.{step.name}"
    if step.name != obs.domain:
        return Subject("dmarc.record", f"_dmarc.{step.name}", Stage.RECORD).result(
            Status.PASS,
            f"no record at _dmarc.{obs.domain}; the tree walk found {step.records[0]} at _dmarc.{step.name}, "
            "whose sp=/np= apply",
            details,
        )
    return Subject("dmarc.record", f"_dmarc.{step.name}", Stage.RECORD).result(Status.PASS, step.records[0], details)


def policy_finding(domain: str, record: DmarcRecord, inherited: bool) -> CheckResult:
    subject = Subject("dmarc.policy", domain, Stage.RECORD)
    policy = record.subdomain_policy() if inherited else record.policy
    details = {
        "p": record.policy,
        "sp": record.subdomain_policy(),
        "np": record.nonexistent_policy(),
        "adkim": record.alignment("adkim"),
        "aspf": record.alignment("aspf"),
        "testing": record.testing,
        "applies": policy,
    }
    text = f"policy {policy}" + (" (sp= of the parent's record)" if inherited else "")
    text += f", DKIM alignment {details['adkim']}, SPF alignment {details['aspf']}"
    if policy == "none":
        return subject.result(
            Status.WARN,
            f"{text}: monitoring only, forged mail is still delivered; move to p=quarantine, then p=reject",
            details,
        )
    if record.testing:
        return subject.result(
            Status.WARN, f"{text}, but t=y (testing): receivers apply one step milder; drop t=y", details
        )
    return subject.result(Status.PASS, text, details)


def tag_findings(name: str, record: DmarcRecord) -> list[CheckResult]:
    subject = Subject("dmarc.tags", f"_dmarc.{name}", Stage.RECORD)
    results = []
    for problem in record.problems:
        uses = f"; receivers use {problem.uses}" if problem.uses else ""
        results.append(subject.result(Status.WARN, f"{problem.message}{uses}", {"tag": problem.tag}))
    for tag in record.removed:
        results.append(
            subject.result(
                Status.INFO, f"{tag}= was removed by RFC 9989 ({REMOVED_TAGS[tag]}) and is ignored", {"tag": tag}
            )
        )
    if record.unknown:
        results.append(
            subject.result(
                Status.INFO, f"unknown tags ignored: {', '.join(record.unknown)}", {"tags": list(record.unknown)}
            )
        )
    return results


def report_findings(
    name: str, record: DmarcRecord, authorisations: dict[str, DnsAnswer | ProbeError]
) -> list[CheckResult]:
    subject = Subject("dmarc.reports", f"_dmarc.{name}", Stage.RECORD)
    rua = record.report_uris("rua")
    results = []
    if not rua:
        results.append(
            subject.result(
                Status.WARN,
                "no rua=: you receive no aggregate reports, so you cannot see who sends as this domain",
                {"rua": []},
            )
        )
    else:
        results.append(subject.result(Status.PASS, f"aggregate reports go to {', '.join(rua)}", {"rua": rua}))
    for dest, lookup in authorisations.items():
        owner = f"{name}._report._dmarc.{dest}"
        dest_subject = Subject("dmarc.reports", owner, Stage.RECORD)
        if isinstance(lookup, ProbeError):
            results.append(dest_subject.failed(lookup))
        elif any(is_dmarc(t) for t in lookup.txt_values()):
            results.append(
                dest_subject.result(Status.PASS, f"{dest} has authorised reports for {name}", {"destination": dest})
            )
        else:
            message = (
                f"{dest} is outside {name} and has not authorised its reports ({owner} has no v=DMARC1 record): "
                "receivers will not send them there"
            )
            results.append(
                dest_subject.result(
                    Status.WARN,
                    message,
                    {"destination": dest},
                    ErrorInfo(Stage.RECORD, "unauthorised-destination", message),
                )
            )
    return results


def org_domain_finding(obs: DmarcObservation) -> CheckResult:
    subject = Subject("dmarc.org_domain", obs.domain, Stage.RECORD)
    walked = obs.org_domain()
    details = {"tree_walk": walked, "public_suffix_list": obs.psl_org_domain}
    if obs.psl_org_domain and obs.psl_org_domain != walked:
        return subject.result(
            Status.INFO,
            f"organizational domain {walked} by the RFC 9989 tree walk; {obs.psl_org_domain} by the Public Suffix "
            "List (RFC 7489): receivers on the old rules align differently",
            details,
        )
    return subject.result(Status.INFO, f"organizational domain {walked}", details)
