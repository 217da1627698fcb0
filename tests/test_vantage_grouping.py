"""Vantage errors said once: the pure grouping of per-endpoint connect errors (checks/transport/vantage.py)."""

import pytest

from mailcheck.checks.transport.egress import REFERENCE_MARK
from mailcheck.checks.transport.vantage import group_vantage
from mailcheck.model import CheckResult, ErrorInfo, Stage, Status


def connect_error(target: str, kind: str, summary: str = "") -> CheckResult:
    summary = summary or f"connect to {target} timed out after 5s{REFERENCE_MARK} (ref:25): this network blocks"
    return CheckResult("smtp.connect", target, Stage.CONNECT, Status.ERROR, summary, {}, None,
                       ErrorInfo(Stage.CONNECT, kind, summary))  # fmt: skip


def passed(target: str) -> CheckResult:
    return CheckResult("smtp.connect", target, Stage.CONNECT, Status.PASS, "connected in 3 ms")


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        # one blocked endpoint stays as it is
        ([connect_error("a:25", "egress-blocked"), passed("b:25")], [("a:25", "egress-blocked"), ("b:25", None)]),
        # three blocked endpoints become one, where the first was
        (
            [passed("x:25"), connect_error("a:25", "egress-blocked"), connect_error("b:25", "egress-blocked"),
             connect_error("c:25", "egress-blocked")],
            [("x:25", None), ("3 endpoints", "egress-blocked")],
        ),
        # no route is grouped per address family
        (
            [connect_error("[2001:db8::1]:25", "no-route"), connect_error("[2001:db8::2]:25", "no-route"),
             connect_error("192.0.2.1:25", "no-route")],
            [("2 endpoints", "no-route"), ("192.0.2.1:25", "no-route")],
        ),
        # ordinary timeouts (the servers' fault) are never merged
        ([connect_error("a:25", "timeout"), connect_error("b:25", "timeout")], [("a:25", "timeout"), ("b:25", "timeout")]),
    ],
)  # fmt: skip
def test_vantage_errors_of_one_kind_are_said_once(
    results: list[CheckResult], expected: list[tuple[str, str | None]]
) -> None:
    grouped = group_vantage(results)
    assert [(r.target, r.error.kind if r.error else None) for r in grouped] == expected


def test_the_group_names_every_endpoint_and_keeps_the_reference() -> None:
    targets = [f"10.0.0.{n}:25" for n in range(6)]
    (merged,) = group_vantage([connect_error(t, "egress-blocked") for t in targets])
    assert merged.details["endpoints"] == targets and "(2 more)" in merged.summary
    assert merged.summary.startswith("all 6 MX addresses timed out at connect")
    assert f"{REFERENCE_MARK} (ref:25): this network blocks" in merged.summary
    # grouping a group again (the domain regroups what each host's check grouped) keeps every endpoint
    (again,) = group_vantage([merged, connect_error("10.0.1.1:25", "egress-blocked")])
    assert len(again.details["endpoints"]) == 7
