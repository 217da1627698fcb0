"""MTA-STS (RFC 8461): the _mta-sts TXT record, the policy fetched over HTTPS from mta-sts.DOMAIN (host name
through the configured resolver, certificate verified with the run's trust, no redirects, 200, text/plain,
at most 64 KiB), its syntax, and every MX host matched against the policy's mx patterns."""

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mailcheck.checks.transport.certificate import certificate_result
from mailcheck.checks.transport.connection import resolve_endpoints
from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.net.dns import DnsAnswer
from mailcheck.net.https import HttpResponse, https_get
from mailcheck.net.trust import NO_TRUST, TrustStore, trust_store
from mailcheck.records.mtasts_policy import StsPolicy, is_sts_record, mx_matches, parse_policy, parse_sts_record
from mailcheck.runner import attempt

POLICY_PATH = "/.well-known/mta-sts.txt"


@dataclass
class StsObservation:
    domain: str
    record_lookup: DnsAnswer | ProbeError
    policy_host: str
    response: HttpResponse | ProbeError | None = None
    trust: TrustStore = field(default=NO_TRUST, repr=False)
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def records(self) -> list[str]:
        if not isinstance(self.record_lookup, DnsAnswer):
            return []
        return [t for t in self.record_lookup.txt_values() if is_sts_record(t)]

    def policy(self) -> StsPolicy | None:
        response = self.response
        if not isinstance(response, HttpResponse) or response.status != 200 or response.too_large:
            return None
        return parse_policy(response.body.decode("utf-8", errors="replace"))

    @property
    def enforced(self) -> bool:
        policy = self.policy()
        return policy is not None and policy.mode == "enforce" and not policy.problems


async def probe(domain: str, ctx: ProbeContext, port: int = 443) -> StsObservation:
    lookup = await attempt(ctx.dns.lookup(f"_mta-sts.{domain}", "TXT"))
    obs = StsObservation(domain, lookup, f"mta-sts.{domain}")
    if not obs.records:
        return obs
    obs.trust = trust_store(ctx.ca_file)
    endpoints = await attempt(resolve_endpoints(obs.policy_host, port, (4, 6), ctx))
    if isinstance(endpoints, ProbeError):
        obs.response = endpoints
        return obs
    last: HttpResponse | ProbeError | None = None
    for endpoint in endpoints:
        last = await attempt(
            https_get(endpoint.address, obs.policy_host, POLICY_PATH, ctx.timeout, ctx.transcript, port)
        )
        if isinstance(last, HttpResponse):
            break
    obs.response = last
    return obs


async def grade_policy_host(obs: StsObservation, ctx: ProbeContext, port: int, profile: str) -> list[Any]:
    """``--tls-scan`` with the tls extra: every address of the policy host graded on the NCSC TLS guidelines (HTTPS:
    implicit TLS; the chain the policy fetch saw gives the certificate key)."""
    from mailcheck.checks.transport import tls_grade

    if not obs.records:
        return []
    response = obs.response
    chain = response.tls.chain_der if isinstance(response, HttpResponse) and response.tls else ()
    endpoints = await resolve_endpoints(obs.policy_host, port, (4, 6), ctx)
    return list(await asyncio.gather(*(tls_grade.grade(e, None, ctx, chain, profile) for e in endpoints)))


def evaluate(obs: StsObservation, mx_hosts: list[str]) -> list[CheckResult]:
    record = Subject("mtasts.record", f"_mta-sts.{obs.domain}", Stage.RECORD)
    if isinstance(obs.record_lookup, ProbeError):
        return [record.failed(obs.record_lookup)]
    records = obs.records
    if not records:
        return [
            record.result(
                Status.INFO,
                "no MTA-STS record: senders fall back to opportunistic TLS, which an attacker on the path can "
                "strip; publish _mta-sts TXT and a policy (RFC 8461)",
                {"records": []},
            )
        ]
    if len(records) > 1:
        return [record.too_many_records(records, "MTA-STS", "senders treat this as no policy (RFC 8461 §3.1)")]
    parsed = parse_sts_record(records[0])
    results = []
    if parsed.problems:
        message = "; ".join(parsed.problems)
        results.append(
            record.result(Status.FAIL, message, {"record": parsed.text}, ErrorInfo(Stage.RECORD, "syntax", message))
        )
    else:
        results.append(record.result(Status.PASS, f"{parsed.text}", {"record": parsed.text, "id": parsed.id}))
    results.extend(policy_findings(obs, mx_hosts))
    return results


def policy_findings(obs: StsObservation, mx_hosts: list[str]) -> list[CheckResult]:
    url = f"https://{obs.policy_host}{POLICY_PATH}"
    subject = Subject("mtasts.policy", url, Stage.POLICY)
    response = obs.response
    if isinstance(response, ProbeError) or response is None:
        err = response or ProbeError(Stage.POLICY, "unreachable", "the policy was not fetched")
        return [subject.failed(err, f"cannot fetch the policy: {err.message}")]
    results: list[CheckResult] = []
    if response.tls is not None:
        cert_subject = Subject("mtasts.certificate", obs.policy_host, Stage.CERTIFICATE)
        results.extend(
            certificate_result(cert_subject, response.tls.chain_der, obs.policy_host, obs.trust, obs.checked_at)
        )
    failure = _http_failure(response)
    if failure is not None:
        kind, message = failure
        results.append(
            subject.result(Status.FAIL, message, {"status": response.status}, ErrorInfo(Stage.POLICY, kind, message))
        )
        return results
    policy = obs.policy()
    assert policy is not None
    details = {"mode": policy.mode, "mx": list(policy.mx), "max_age": policy.max_age, "policy": policy.text}
    if policy.problems:
        message = "; ".join(policy.problems)
        results.append(subject.result(Status.FAIL, message, details, ErrorInfo(Stage.POLICY, "syntax", message)))
        return results
    mode_text = f"mode {policy.mode}, mx {', '.join(policy.mx)}, max_age {policy.max_age}"
    if policy.mode == "enforce":
        results.append(subject.result(Status.PASS, mode_text, details))
    elif policy.mode == "testing":
        results.append(
            subject.result(Status.WARN, f"{mode_text}: testing only reports failures; move to enforce", details)
        )
    else:
        results.append(subject.result(Status.INFO, f"{mode_text}: the policy is withdrawn", details))
    results.extend(mx_findings(policy, mx_hosts))
    return results


def _http_failure(response: HttpResponse) -> tuple[str, str] | None:
    if 300 <= response.status < 400:
        return (
            "redirect",
            f"HTTP {response.status} redirect to {response.header('location')}: RFC 8461 §3.3 forbids following it",
        )
    if response.status != 200:
        return "http-status", f"HTTP {response.status} {response.reason}: the policy must be served with 200"
    if response.too_large:
        return "too-large", "the policy is larger than 64 KiB"
    content_type = (response.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "text/plain":
        return "content-type", f"Content-Type {content_type or 'missing'}: the policy must be text/plain"
    return None


def mx_findings(policy: StsPolicy, mx_hosts: list[str]) -> list[CheckResult]:
    results = []
    for host in mx_hosts:
        subject = Subject("mtasts.mx", host, Stage.POLICY)
        if any(mx_matches(pattern, host) for pattern in policy.mx):
            results.append(subject.result(Status.PASS, f"{host} matches the policy", {"patterns": list(policy.mx)}))
            continue
        message = f"{host} matches no mx pattern of the policy ({', '.join(policy.mx)})"
        if policy.mode == "enforce":
            message += ": senders enforcing MTA-STS will not deliver to it"
            results.append(
                subject.result(
                    Status.FAIL, message, {"patterns": list(policy.mx)}, ErrorInfo(Stage.POLICY, "mx-mismatch", message)
                )
            )
        else:
            results.append(subject.result(Status.WARN, message, {"patterns": list(policy.mx)}))
    return results
