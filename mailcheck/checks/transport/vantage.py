"""One finding per fault of the vantage point: when several endpoints fail at connect for the same reason of
mailcheck's own network (``egress-blocked``: outbound port 25 blocked; ``no-route``: no route for an address
family), the per-endpoint errors are said once, with the endpoints they apply to, instead of once each: the
diagnosis is about where mailcheck stands, and repeating it per MX address buries it."""

from mailcheck.checks.transport.egress import REFERENCE_MARK
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status

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
