"""``mailcheck dmarc evaluate FILE|-``: the DMARC verdict for a received message, and why.

SPF comes from ``--ip`` (evaluated now) or from the receiver's Authentication-Results / Received-SPF;
DKIM is verified now. Each is checked for alignment with the From domain (RFC 9989 §4.4), using the tree-walk
organizational domain for relaxed alignment.
"""

import asyncio
from dataclasses import dataclass, field

from mailcheck.checks.sender_auth import dmarc as dmarc_check
from mailcheck.checks.sender_auth.dkim_verify import VerifyObservation, verify_message
from mailcheck.context import ProbeContext
from mailcheck.headers.authresults import parse_authentication_results, parse_received_spf
from mailcheck.headers.block import read_block
from mailcheck.headers.bulk import unsubscribe_findings
from mailcheck.headers.message_headers import address_domain, author_domains, header_values, parse_headers
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject
from mailcheck.records.spf_eval import Evaluator


@dataclass(frozen=True)
class SpfEvidence:
    result: str
    domain: str | None
    source: str


@dataclass
class EvaluateObservation:
    source: str
    authors: list[str]
    bulk: list[CheckResult] = field(default_factory=list)  # one-click unsubscribe, for bulk mail
    dkim: VerifyObservation | None = None
    spf: SpfEvidence | None = None
    policy: dmarc_check.DmarcObservation | None = None
    org_domains: dict[str, str] = field(default_factory=dict)


def spf_from_headers(data: bytes) -> SpfEvidence | None:
    headers = parse_headers(data)
    for value in header_values(headers, "Authentication-Results"):
        for result in parse_authentication_results(value).of("spf"):
            domain = address_domain(result.prop("smtp.mailfrom") or result.prop("smtp.helo") or "")
            return SpfEvidence(result.result, domain, "Authentication-Results")
    for value in header_values(headers, "Received-SPF"):
        spf = parse_received_spf(value)
        domain = address_domain(spf.pairs.get("envelope-from") or spf.pairs.get("helo") or "")
        return SpfEvidence(spf.result, domain, "Received-SPF")
    return None


async def probe(data: bytes, source: str, ctx: ProbeContext, ip: str | None, helo: str | None) -> EvaluateObservation:
    headers = parse_headers(data)
    obs = EvaluateObservation(source, author_domains(headers), unsubscribe_findings(read_block(data)))
    if len(obs.authors) != 1:
        return obs
    author = obs.authors[0]
    return_path = header_values(headers, "Return-Path")
    mail_from = return_path[0].strip("<> ") if return_path else ""
    dkim_task = asyncio.to_thread(verify_message, data, ctx.dns.nameservers, ctx.timeout)
    policy_task = dmarc_check.probe(author, ctx)
    if ip is not None:
        spf_domain = address_domain(mail_from) or helo or author
        evaluator = Evaluator(ctx.dns, ip, mail_from or f"postmaster@{spf_domain}", helo or spf_domain)
        verdict = await evaluator.check_host(spf_domain)
        obs.spf = SpfEvidence(verdict.result, spf_domain, f"check_host() for {ip} now")
    else:
        obs.spf = spf_from_headers(data)
    dkim, policy = await asyncio.gather(dkim_task, policy_task)
    obs.dkim, obs.policy = dkim, policy
    found = {s.tags.get("d", "").lower() for s in dkim.signatures}
    if obs.spf is not None and obs.spf.domain:
        found.add(obs.spf.domain)
    # The author's tree walk is the policy discovery already done; walk only the other domains.
    domains = sorted(d for d in found if d and d != author)
    walks = await asyncio.gather(*(dmarc_check.probe(d, ctx) for d in domains))
    obs.org_domains = {author: policy.org_domain()}
    obs.org_domains.update({d: walk.org_domain() for d, walk in zip(domains, walks, strict=True)})
    return obs


def aligned(domain: str | None, author: str, mode: str, orgs: dict[str, str]) -> bool:
    if not domain:
        return False
    if mode == "strict":
        return domain == author
    return orgs.get(domain, domain) == orgs.get(author, author)


def evaluate(obs: EvaluateObservation) -> list[CheckResult]:
    subject = Subject("dmarc.author", obs.source, Stage.PARSE)
    if len(obs.authors) != 1:
        message = (
            "the message has no From address with a domain"
            if not obs.authors
            else f"the message has {len(obs.authors)} From addresses ({', '.join(obs.authors)}): "
            "DMARC needs exactly one"
        )
        return [subject.result(Status.FAIL, message, {"from": obs.authors}, ErrorInfo(Stage.PARSE, "syntax", message))]
    author = obs.authors[0]
    assert obs.dkim is not None and obs.policy is not None
    results = [subject.result(Status.INFO, f"From domain {author}", {"from": author})]
    step = obs.policy.policy_step()
    record = dmarc_check.parse_dmarc(step.records[0]) if step is not None and step.records else None
    adkim = record.alignment("adkim") if record else "relaxed"
    aspf = record.alignment("aspf") if record else "relaxed"
    dkim_pass = False
    for sig in obs.dkim.signatures:
        d = sig.tags.get("d", "").lower()
        ok = aligned(d, author, adkim, obs.org_domains)
        dkim_pass |= sig.valid and ok
        verdict = "valid" if sig.valid else "invalid"
        alignment = f"{'aligned' if ok else 'not aligned'} ({adkim})"
        status = Status.PASS if sig.valid and ok else Status.WARN
        results.append(
            Subject("dmarc.dkim", f"d={d}", Stage.PARSE).result(
                status, f"DKIM {verdict}, d={d} {alignment} with {author}", {"d": d, "valid": sig.valid, "aligned": ok}
            )
        )
    spf = obs.spf
    spf_pass = False
    if spf is None:
        results.append(
            Subject("dmarc.spf", author, Stage.PARSE).result(
                Status.WARN, "no SPF result in the headers; give --ip to evaluate SPF now", {}
            )
        )
    else:
        ok = aligned(spf.domain, author, aspf, obs.org_domains)
        spf_pass = spf.result == "pass" and ok
        results.append(
            Subject("dmarc.spf", spf.domain or "?", Stage.PARSE).result(
                Status.PASS if spf_pass else Status.WARN,
                f"SPF {spf.result} for {spf.domain} (from {spf.source}), {'aligned' if ok else 'not aligned'} ({aspf})",
                {"result": spf.result, "domain": spf.domain, "source": spf.source, "aligned": ok},
            )
        )
    results.append(verdict_finding(author, record, step, dkim_pass, spf_pass))
    results.extend(obs.bulk)
    return results


def verdict_finding(
    author: str,
    record: dmarc_check.DmarcRecord | None,
    step: dmarc_check.WalkStep | None,
    dkim_pass: bool,
    spf_pass: bool,
) -> CheckResult:
    subject = Subject("dmarc.verdict", author, Stage.POLICY)
    if record is None or step is None:
        return subject.result(
            Status.WARN, f"{author} publishes no DMARC policy: receivers decide on their own", {"dmarc": "none"}
        )
    policy = record.policy if step.name == author else record.subdomain_policy()
    details = {
        "dmarc": "pass" if dkim_pass or spf_pass else "fail",
        "policy": policy,
        "record_at": f"_dmarc.{step.name}",
    }
    if dkim_pass or spf_pass:
        why = " and ".join(w for w, ok in (("aligned DKIM", dkim_pass), ("aligned SPF", spf_pass)) if ok)
        return subject.result(Status.PASS, f"DMARC pass through {why}", details)
    message = f"DMARC fail: neither DKIM nor SPF passed aligned with {author}; the policy says {policy}"
    return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.POLICY, "dmarc-fail", message))
