"""Findings of ``mailcheck reports``: what was read, then per domain the readiness line, each failing source of
the domain's own with what to fix, forwarders and others in one line each, then TLS-RPT results per policy
and MX, then DMARC failure reports."""

from collections import defaultdict

from mailcheck.checks.sender_auth.reports import (
    ReportsObservation,
    classes,
    disposition_text,
    messages,
    plural,
)
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject
from mailcheck.reports import merge as merging
from mailcheck.reports.tlsrpt import RESULT_TYPES, TlsReport


def evaluate(obs: ReportsObservation) -> list[CheckResult]:
    results = [_summary(obs)]
    results += [_unreadable(item.origin, item.why, Status.WARN) for item in obs.problems]
    results += [_unreadable(item.origin, item.why, Status.INFO) for item in obs.not_reports]
    for domain in sorted(obs.domains):
        results += _domain(obs, obs.domains[domain])
    results += _tls(obs.tls)
    results += _failures(obs)
    return results


def _summary(obs: ReportsObservation) -> CheckResult:
    subject = Subject("reports.input", "reports", Stage.PARSE)
    kept = sum(len(d.reports) for d in obs.domains.values())
    older = f" ({obs.older} before --since left out)" if obs.older else ""
    older += f" ({plural(obs.duplicates, 'duplicate')} counted once)" if obs.duplicates else ""
    text = (
        f"{obs.files} files read: {obs.aggregate_count} DMARC aggregate reports{older} about "
        f"{len(obs.domains)} domain{'s' if len(obs.domains) != 1 else ''}, {len(obs.tls)} TLS-RPT reports, "
        f"{len(obs.failures)} DMARC failure reports"
    )
    if obs.problems:
        text += f"; {len(obs.problems)} unreadable"
    details = {
        "files": obs.files,
        "aggregate": obs.aggregate_count,
        "kept": kept,
        "tlsrpt": len(obs.tls),
        "failure": len(obs.failures),
        "unreadable": len(obs.problems),
    }
    status = Status.INFO if obs.aggregate_count or obs.tls or obs.failures else Status.WARN
    return subject.result(status, text, details)


def _unreadable(origin: str, why: str, status: Status) -> CheckResult:
    error = ErrorInfo(Stage.PARSE, "bad-report", why) if status is Status.WARN else None
    return Subject("reports.input", origin[-200:], Stage.PARSE).result(status, why, {}, error)


def _percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def _named(obs: ReportsObservation, source: merging.Source) -> str:
    name = obs.ptr.get(source.ip)
    return f"{source.ip} ({name})" if name else source.ip


def _domain(obs: ReportsObservation, merged: merging.DomainReports) -> list[CheckResult]:
    domain = merged.domain
    by_class = classes(obs, merged)
    counts = {name: messages(sources) for name, sources in by_class.items()}
    verdict, share = merging.readiness(counts, merged.policy)
    policy = merged.policy or "none"
    reporters = sorted({str(r["org"]) for r in merged.reports if r["org"]})
    details: dict[str, object] = {
        "policy": policy,
        "messages": merged.messages,
        "classes": {name: {"sources": len(s), "messages": counts[name]} for name, s in by_class.items()},
        "aligned_share": share,
        "reporters": reporters[:50],
        "reports": merged.reports,
        "aligned_sources": [_source_details(obs, s) for s in by_class["aligned"][:50]],
    }
    subject = Subject("reports.domain", domain, Stage.POLICY)
    own = counts["aligned"] + counts["failing"]
    failing = by_class["failing"]
    if verdict == "no-own-mail":
        text = (
            f"no mail of {domain}'s own in these reports: {plural(merged.messages, 'message')} from "
            f"{plural(len(merged.sources), 'source')}, none in its SPF or signed with its DKIM"
        )
        results = [subject.result(Status.INFO, text, details)]
    else:
        assert share is not None
        target = merging.next_policy(policy) if policy != "reject" else "p=reject"
        base = f"{_percent(share)} of {domain}'s own mail aligns ({counts['aligned']} of {plural(own, 'message')})"
        if failing and verdict == "ready":
            base += f"; {plural(len(failing), 'source')} of its own fail ({counts['failing']}, listed below)"
        if verdict == "ready" and policy == "reject":
            results = [subject.result(Status.PASS, f"at p=reject: {base}", details)]
        elif verdict == "ready":
            results = [subject.result(Status.PASS, f"ready for {target}: {base}", details)]
        else:
            named = ", ".join(_named(obs, s) for s in failing[:3]) + (" …" if len(failing) > 3 else "")
            text = f"not ready for {target}: {base}; {len(failing)} of its sources fail: {named}"
            error = ErrorInfo(Stage.POLICY, "not-ready", text)
            results = [subject.result(Status.WARN, text, details, error)]
        floor = obs.options.fail_under
        if floor is not None and share * 100 < floor:
            text = f"{_percent(share)} of {domain}'s own mail aligns, under --fail-under {floor:g} %"
            results.append(
                Subject("reports.threshold", domain, Stage.POLICY).result(
                    Status.FAIL,
                    text,
                    {"floor": floor, "share": share},
                    ErrorInfo(Stage.POLICY, "below-threshold", text),
                )
            )
    results += [_failing(obs, domain, s) for s in failing]
    results += _forwarders_and_others(by_class, domain, policy)
    return results


def _source_details(obs: ReportsObservation, source: merging.Source) -> dict[str, object]:
    return {
        "ip": source.ip,
        "ptr": obs.ptr.get(source.ip),
        "messages": source.messages,
        "aligned": source.aligned,
        "dkim_aligned": source.dkim_aligned,
        "spf_aligned": source.spf_aligned,
        "header_from": dict(source.header_from.most_common(5)),
        "envelope_from": dict(source.envelope_from.most_common(5)),
        "dkim": [{"d": d, "s": s, "result": r, "messages": n} for (d, s, r), n in source.dkim.most_common(5)],
        "spf": [{"domain": d, "result": r, "messages": n} for (d, r), n in source.spf.most_common(5)],
        "dispositions": dict(source.dispositions),
        "reasons": dict(source.reasons),
        "reporters": sorted(source.reporters),
    }


def _failing(obs: ReportsObservation, domain: str, source: merging.Source) -> CheckResult:
    """One of the domain's own sources whose mail does not align: why, and what fixes it."""
    subject = Subject("reports.source", f"{domain}: {_named(obs, source)}", Stage.POLICY)
    if source.raw_aligned * 2 >= source.messages:
        # the reporter's verdict contradicts its own raw results: no fix of the sender's is called for
        reporters = ", ".join(sorted(source.reporters)) or "the reporter"
        text = (
            f"{reporters} evaluated {source.messages - source.aligned} of {source.messages} messages as not "
            f"aligned, although its own raw results show a pass aligned with {domain}: the reporter contradicts "
            "itself — compare with other receivers' reports before changing anything; under p=reject this "
            "receiver may refuse the mail"
        )
        error = ErrorInfo(Stage.POLICY, "reporter-contradiction", text)
        return subject.result(Status.WARN, text, _source_details(obs, source), error)
    signal = merging.own_signal(source, domain) or f"the address is in {domain}'s SPF"
    envelope = source.envelope_from.most_common(1)
    signers = sorted({d for (d, _s, r) in source.dkim if r == "pass" and d})
    why = [signal]
    if envelope and not source.spf_aligned:
        why.append(f"the envelope sender's domain is {envelope[0][0]}, not aligned with {domain}")
    if signers and not source.dkim_aligned:
        why.append(f"DKIM passes only for {', '.join(signers[:3])}, not aligned with {domain}")
    if not signers:
        why.append("no DKIM signature passes")
    fix = (
        f"give this sender a return-path under {domain} (custom MAIL FROM) or DKIM signing with d={domain}; "
        f"check it with: mailcheck sender {source.ip} --domain {domain}"
    )
    text = (
        f"{domain}'s own but not aligned: {source.messages} messages ({source.aligned} aligned); "
        f"{'; '.join(why)} — {fix}"
    )
    return subject.result(Status.WARN, text, _source_details(obs, source), ErrorInfo(Stage.POLICY, "unaligned", text))


def _forwarders_and_others(by_class: dict[str, list[merging.Source]], domain: str, policy: str) -> list[CheckResult]:
    results = []
    forwarders, others = by_class["forwarder"], by_class["other"]
    if forwarders:
        unaligned = sum(s.messages - s.aligned for s in forwarders)
        text = (
            f"forwarders and lists: {len(forwarders)} sources, {messages(forwarders)} messages (forwarding "
            f"breaks SPF; DKIM kept {messages(forwarders) - unaligned} of them aligned)"
        )
        if unaligned and policy != "reject":
            text += f"; under p=reject the other {unaligned} would be refused unless the receiver trusts ARC"
        details = {"sources": [s.ip for s in forwarders[:100]], "messages": messages(forwarders)}
        results.append(Subject("reports.forwarders", domain, Stage.POLICY).result(Status.INFO, text, details))
    if others:
        text = (
            f"others (spoofing or unknown senders): {len(others)} sources, {messages(others)} messages, "
            f"{disposition_text(others)}"
        )
        if policy == "none":
            text += f"; under p=none they were delivered — a stricter policy stops mail that only claims {domain}"
        details = {"sources": [s.ip for s in others[:100]], "messages": messages(others)}
        results.append(Subject("reports.others", domain, Stage.POLICY).result(Status.INFO, text, details))
    return results


def _tls(reports: list[TlsReport]) -> list[CheckResult]:
    """Per policy domain, policy type and MX: sessions that succeeded and failed, failures in words."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    failures: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reporters: dict[tuple[str, str], set[str]] = defaultdict(set)
    for report in reports:
        for policy in report.policies:
            key = (policy.domain, policy.policy_type)
            totals[key][0] += policy.successful
            totals[key][1] += policy.failed
            reporters[key].add(report.org)
            for failure in policy.failures:
                mx = failure.receiving_mx or failure.receiving_ip or "?"
                failures[(policy.domain, policy.policy_type, mx)][failure.result_type] += failure.count
    results = []
    for (domain, kind), (ok, failed) in sorted(totals.items()):
        subject = Subject("reports.tlsrpt", f"{domain} ({kind})", Stage.TLS)
        details = {"successful": ok, "failed": failed, "reporters": sorted(reporters[(domain, kind)])}
        if not failed:
            results.append(subject.result(Status.PASS, f"{ok} sessions, none failed", details))
            continue
        results.append(
            subject.result(
                Status.WARN,
                f"{failed} of {ok + failed} sessions failed",
                details,
                ErrorInfo(Stage.TLS, "tls-failures", f"{failed} sessions failed"),
            )
        )
        for (f_domain, f_kind, mx), types in sorted(failures.items()):
            if (f_domain, f_kind) != (domain, kind):
                continue
            words = "; ".join(
                f"{t} ×{n} ({RESULT_TYPES.get(t, 'not a result type of RFC 8460')})"
                for t, n in sorted(types.items(), key=lambda i: -i[1])
            )
            probe = f"mailcheck smtp {mx}" if mx != "?" and "*" not in mx else f"mailcheck domain {domain}"
            text = f"{kind} policy of {domain}, MX {mx}: {words} — check with: {probe}"
            results.append(
                Subject("reports.tlsrpt", f"{domain}: {mx}", Stage.TLS).result(
                    Status.WARN, text, {"failures": dict(types)}, ErrorInfo(Stage.TLS, "tls-failures", text)
                )
            )
    return results


def _failures(obs: ReportsObservation) -> list[CheckResult]:
    from mailcheck.checks.message import headers as headers_check

    results = []
    for origin, report in obs.failures:
        fields = report.fields
        text = (
            f"{fields.get('feedback-type', 'failure report')} ({fields.get('auth-failure', '?')}) for "
            f"{fields.get('reported-domain', '?')} from {fields.get('source-ip', '?')}: "
            f"{fields.get('authentication-results', 'no Authentication-Results given')}"
        )
        details: dict[str, object] = {"fields": fields}
        if report.original_headers:
            trace = headers_check.analyse(report.original_headers, origin).trace
            if trace is not None:
                details["hops"] = [h.received.to_dict() for h in trace.hops[:20]]
                text += f"; the original message came through {len(trace.hops)} hops"
        results.append(Subject("reports.failure", origin[-200:], Stage.POLICY).result(Status.INFO, text, details))
    return results
