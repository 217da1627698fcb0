"""One finding per fault of the vantage point. When several endpoints fail at connect for the same reason of
mailcheck's own network (``egress-blocked``: outbound port 25 blocked; ``no-route``: no route for an address
family), the errors are said once, with the endpoints they apply to. Interception, which only shows across
endpoints (one untrusted issuer or one banner behind unrelated domains), is said once too (``intercepted``)."""

import re

from mailcheck.checks.transport.egress import REFERENCE_MARK
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status, target_host
from mailcheck.psl import registrable_domain

SHOWN = 4  # endpoints named in the summary; details.endpoints lists them all


def group_vantage(results: list[CheckResult]) -> list[CheckResult]:
    """RESULTS with every group of two or more connect errors of one vantage kind (and, for no-route, one
    address family) merged into one result, placed where the first of them was."""
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for result in results:
        key = _group_key(result)
        if key is not None:
            groups.setdefault(key, []).append(result)
    merged = {id(group[0]): _merged(key, group) for key, group in groups.items() if len(group) > 1}
    dropped = {id(r) for key, group in groups.items() if len(group) > 1 for r in group[1:]}
    return [merged.get(id(r), r) for r in results if id(r) not in dropped]


def _group_key(result: CheckResult) -> tuple[str, str] | None:
    if result.status is not Status.ERROR or result.error is None or result.stage is not Stage.CONNECT:
        return None
    if result.error.kind == "egress-blocked":
        return "egress-blocked", ""
    if result.error.kind == "no-route":
        return "no-route", "IPv6" if any("[" in e for e in _endpoints(result)) else "IPv4"
    return None


def _endpoints(result: CheckResult) -> list[str]:
    return list(result.details.get("endpoints") or [result.target])


def _merged(key: tuple[str, str], group: list[CheckResult]) -> CheckResult:
    kind, family = key
    endpoints = [e for r in group for e in _endpoints(r)]
    named = ", ".join(endpoints[:SHOWN]) + (f", … ({len(endpoints) - SHOWN} more)" if len(endpoints) > SHOWN else "")
    first = group[0]
    if kind == "egress-blocked":
        tail = first.summary.partition(REFERENCE_MARK)[2]
        summary = f"all {len(endpoints)} MX addresses timed out at connect ({named}){REFERENCE_MARK}{tail}"
    else:
        summary = (
            f"this machine has no {family} route to {len(endpoints)} addresses ({named}): the fault is where "
            f"mailcheck runs, not the servers; run from a host with {family} connectivity"
            + (", or give --ipv4" if family == "IPv6" else "")
        )
    target = f"{len(endpoints)} endpoints"
    details = {**first.details, "endpoints": endpoints}
    error = ErrorInfo(Stage.CONNECT, kind, summary)
    return CheckResult(first.id, target, Stage.CONNECT, Status.ERROR, summary, details, first.duration_ms, error)


# Products that answer TLS in the client's place (antivirus mail shields, corporate TLS inspection, debugging
# proxies), by the names their root certificates carry.
INTERCEPTORS = re.compile(
    r"avast|\bavg\b|kaspersky|\beset\b|bitdefender|norton|mcafee|sophos|fortinet|fortigate|zscaler|palo ?alto|"
    r"netskope|blue ?coat|check ?point|forcepoint|barracuda|watchguard|umbrella|mitmproxy|fiddler|charles proxy|"
    r"portswigger|burp|ssl inspection|tls inspection|web shield|mail shield",
    re.I,
)
UNTRUSTED = ("untrusted", "self-signed", "incomplete-chain")


def intercepted(results: list[CheckResult]) -> list[CheckResult]:
    """RESULTS with certificate faults that are interception said once, as an ``intercepted`` error of the
    vantage point: a chain from an issuer named like an interception product, or one untrusted issuer behind the
    certificates of hosts of two or more unrelated domains (no real CA-less deployment spans domains like that).
    Likewise one greeting banner, naming none of them, from hosts of two or more unrelated domains on port 25: a
    transparent proxy of this network. The per-endpoint faults it explains are folded into the one finding."""
    found = list(results)
    for group, finding in _interceptions(found) + _proxies(found):
        folded = {id(r) for r in group[1:]}
        found = [finding if r is group[0] else r for r in found if id(r) not in folded]
    return found


def said_once(results: list[CheckResult]) -> list[CheckResult]:
    """Every vantage fault said once: connect errors grouped, then interception and port-25 proxies."""
    return intercepted(group_vantage(results))


def _domain(target: str) -> str:
    host = target_host(target)
    return registrable_domain(host) or host


def _interceptions(results: list[CheckResult]) -> list[tuple[list[CheckResult], CheckResult]]:
    by_issuer: dict[str, list[CheckResult]] = {}
    for result in results:
        if not result.id.endswith(".certificate") or result.error is None:
            continue
        if result.error.kind in UNTRUSTED:
            issuer = str(result.details.get("root_issuer") or result.details.get("issuer") or "")
        elif result.error.kind == "intercepted":  # said already for one host's addresses: said again, merged
            issuer = str(result.details.get("seen") or "")
        else:
            continue
        if issuer:
            by_issuer.setdefault(issuer, []).append(result)
    found = []
    for issuer, group in by_issuer.items():
        domains = sorted({_domain(e) for r in group for e in _endpoints(r)})
        named = INTERCEPTORS.search(issuer)
        if not named and len(domains) < 2:
            continue
        why = (
            f"named like an interception product ({named.group(0)})"
            if named
            else f"one issuer, not in the trust store, behind {len(domains)} unrelated domains ({', '.join(domains)})"
        )
        count = sum(len(_endpoints(r)) for r in group)
        summary = (
            f"the certificates of {count} endpoint{'s' if count > 1 else ''} come from {issuer!r}: {why}. "
            "Something on this machine or network answers TLS in the servers' place (an antivirus mail shield, a "
            "corporate TLS inspection proxy); the servers are not at fault: turn the mail shield or inspection "
            "off for mail, or run from another network"
        )
        found.append((group, _vantage_error(group, "intercepted", summary, Stage.CERTIFICATE, issuer)))
    return found


def _proxies(results: list[CheckResult]) -> list[tuple[list[CheckResult], CheckResult]]:
    by_banner: dict[str, list[CheckResult]] = {}
    for result in results:
        if result.id == "smtp.greeting" and result.status in (Status.PASS, Status.INFO):
            reply = result.details.get("reply") or {}
            text = " / ".join(reply.get("text") or [])
            if text:
                by_banner.setdefault(text, []).append(result)
    found = []
    for banner, group in by_banner.items():
        domains = sorted({_domain(r.target) for r in group})
        banner_host = str(group[0].details.get("banner_host") or "")
        if len(domains) < 2 or (banner_host and _domain(banner_host) in domains):
            continue
        summary = (
            f"the MX hosts of {len(domains)} unrelated domains ({', '.join(domains)}) all greet with the same "
            f"banner, naming none of them: {banner!r}. This network proxies outbound SMTP (an ISP's "
            "transparent SMTP proxy): what mailcheck sees is the proxy, not the servers; run from another network"
        )
        found.append((group, _vantage_error(group, "intercepted", summary, Stage.GREETING, banner)))
    return found


def _vantage_error(group: list[CheckResult], kind: str, summary: str, stage: Stage, seen: str) -> CheckResult:
    endpoints = [e for r in group for e in _endpoints(r)]
    details = {"endpoints": endpoints, "seen": seen}
    error = ErrorInfo(stage, kind, summary)
    target = endpoints[0] if len(endpoints) == 1 else f"{len(endpoints)} endpoints"
    return CheckResult(group[0].id, target, stage, Status.ERROR, summary, details, None, error)
