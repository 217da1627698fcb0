"""``--expect FILE``: a domain's intended configuration as TOML assertions, each becoming a check.

[mx]
hosts = ["mx1.example.com", "mx2.example.com"]   # exactly these MX hosts
[spf]
includes = ["_spf.example.net"]                   # each included from the top record
all = "-all"                                       # how the record ends
[dmarc]
policy = "quarantine"                              # at least this policy
[mta_sts]
mode = "enforce"
[tls]
min_version = "1.2"                                # every MX session at least this TLS version
[dkim]
selectors = ["s1"]                                 # each has a usable key
"""

import tomllib
from pathlib import Path
from typing import Any

from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, Subject
from mailcheck.names import BadInput

KNOWN = {
    "mx": {"hosts"},
    "spf": {"includes", "all"},
    "dmarc": {"policy"},
    "mta_sts": {"mode"},
    "tls": {"min_version"},
    "dkim": {"selectors"},
}
POLICY_RANK = {"none": 0, "quarantine": 1, "reject": 2}
TLS_RANK = {"TLSv1": 0, "TLSv1.1": 1, "TLSv1.2": 2, "TLSv1.3": 3}


def load_expectations(path: Path) -> dict[str, dict[str, Any]]:
    """Read and validate the file; BadInput (exit 2) for unreadable TOML or unknown keys."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInput(f"cannot read --expect {path}: {reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"--expect {path} is not valid TOML: {exc}") from None
    for section, values in data.items():
        if section not in KNOWN or not isinstance(values, dict):
            raise BadInput(f"--expect {path}: unknown section [{section}] (known: {', '.join(sorted(KNOWN))})")
        unknown = set(values) - KNOWN[section]
        if unknown:
            raise BadInput(f"--expect {path}: unknown key(s) {', '.join(sorted(unknown))} in [{section}]")
    if "dmarc" in data and data["dmarc"].get("policy") not in POLICY_RANK:
        raise BadInput("--expect: [dmarc] policy must be none, quarantine or reject")
    if "tls" in data and f"TLSv{data['tls'].get('min_version')}" not in TLS_RANK:
        raise BadInput("--expect: [tls] min_version must be 1.0, 1.1, 1.2 or 1.3")
    return data


def _check(key: str, target: str, stage: Stage, ok: bool, summary: str, details: dict[str, Any]) -> CheckResult:
    subject = Subject(f"expect.{key}", target, stage)
    if ok:
        return subject.result(Status.PASS, summary, details)
    return subject.result(Status.FAIL, summary, details, ErrorInfo(stage, "unexpected", summary))


def evaluate(expected: dict[str, dict[str, Any]], facts: dict[str, Any], domain: str) -> list[CheckResult]:
    """Compare ``expected`` with ``facts`` gathered from the domain's findings (see :func:`facts_from`)."""
    results = []
    if "hosts" in expected.get("mx", {}):
        want_hosts = sorted(h.lower().rstrip(".") for h in expected["mx"]["hosts"])
        have_hosts = sorted(facts.get("mx_hosts", []))
        results.append(
            _check(
                "mx.hosts",
                domain,
                Stage.DNS,
                want_hosts == have_hosts,
                f"MX hosts {have_hosts}, expected {want_hosts}",
                {"expected": want_hosts, "found": have_hosts},
            )
        )
    spf = expected.get("spf", {})
    for include in spf.get("includes", []):
        ok = f"include:{include}" in facts.get("spf_terms", [])
        results.append(
            _check(
                "spf.includes",
                domain,
                Stage.RECORD,
                ok,
                f"SPF {'includes' if ok else 'does not include'} {include}",
                {"include": include},
            )
        )
    if "all" in spf:
        spf_all = facts.get("spf_all")
        results.append(
            _check(
                "spf.all",
                domain,
                Stage.RECORD,
                spf_all == spf["all"],
                f"SPF ends with {spf_all}, expected {spf['all']}",
                {"found": spf_all},
            )
        )
    if "policy" in expected.get("dmarc", {}):
        want, have = expected["dmarc"]["policy"], facts.get("dmarc_policy")
        ok = have is not None and POLICY_RANK[have] >= POLICY_RANK[want]
        results.append(
            _check(
                "dmarc.policy",
                domain,
                Stage.RECORD,
                ok,
                f"DMARC policy {have}, expected at least {want}",
                {"found": have},
            )
        )
    if "mode" in expected.get("mta_sts", {}):
        want, have = expected["mta_sts"]["mode"], facts.get("mta_sts_mode")
        results.append(
            _check(
                "mta_sts.mode",
                domain,
                Stage.POLICY,
                want == have,
                f"MTA-STS mode {have}, expected {want}",
                {"found": have},
            )
        )
    if "min_version" in expected.get("tls", {}):
        floor = TLS_RANK[f"TLSv{expected['tls']['min_version']}"]
        versions = facts.get("tls_versions", {})
        weak = {label: v for label, v in versions.items() if TLS_RANK.get(v, -1) < floor}
        ok = bool(versions) and not weak
        text = (
            "no MX session reached TLS"
            if not versions
            else f"weakest TLS: {min(versions.values(), key=lambda v: TLS_RANK.get(v, -1))}"
        )
        results.append(
            _check(
                "tls.min_version",
                domain,
                Stage.TLS,
                ok,
                f"{text}, expected at least TLS {expected['tls']['min_version']}",
                {"versions": versions},
            )
        )
    for selector in expected.get("dkim", {}).get("selectors", []):
        ok = selector in facts.get("dkim_selectors", [])
        results.append(
            _check(
                "dkim.selectors",
                f"{selector}._domainkey.{domain}",
                Stage.RECORD,
                ok,
                f"DKIM selector {selector} {'has a usable key' if ok else 'has no usable key'}",
                {"selector": selector},
            )
        )
    return results


def facts_from(results: list[CheckResult]) -> dict[str, Any]:
    """The facts assertions need, read from the findings' details (so expectations see what the report saw)."""
    facts: dict[str, Any] = {"mx_hosts": [], "tls_versions": {}, "dkim_selectors": []}
    for r in results:
        d = r.details
        if r.id == "mx.records":
            facts["mx_hosts"] = sorted(m["exchange"] for m in d.get("mx", []) if m["exchange"] != ".")
        elif r.id == "spf.record" and "record" in d:
            terms = str(d["record"]).split()[1:]
            facts["spf_terms"] = terms
            facts["spf_all"] = next(
                (t if t[0] in "+-~?" else "+" + t for t in terms if t.lstrip("+-~?") == "all"), None
            )
        elif r.id == "dmarc.policy":
            facts["dmarc_policy"] = d.get("applies")
        elif r.id == "mtasts.policy" and "mode" in d:
            facts["mta_sts_mode"] = d.get("mode")
        elif r.id == "smtp.tls" and "version" in d:
            facts["tls_versions"][r.target] = d["version"]
        elif r.id == "dkim.key" and r.status in (Status.PASS, Status.WARN) and d.get("bits"):
            facts["dkim_selectors"].append(d.get("selector"))
    return facts
