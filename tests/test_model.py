"""Statuses, exit codes and the JSON shape of the result model (table-driven)."""

import pytest

from mailcheck.model import ErrorInfo, ProbeError, Report, Stage, Status, Subject


def report_of(*statuses: Status) -> Report:
    subject = Subject("x.check", "t", Stage.DNS, 1)
    return Report("x", "t", tuple(subject.result(s, "s") for s in statuses), 1, "0")


@pytest.mark.parametrize(
    ("statuses", "fail_on", "code"),
    [
        ((Status.PASS, Status.INFO), Status.FAIL, 0),
        ((Status.PASS, Status.WARN), Status.FAIL, 0),
        ((Status.PASS, Status.WARN), Status.WARN, 1),
        ((Status.PASS, Status.FAIL), Status.FAIL, 1),
        # an error alone is inconclusive (3), never a failure; a real fail beside it still makes 1
        ((Status.PASS, Status.ERROR), Status.FAIL, 3),
        ((Status.PASS, Status.WARN, Status.ERROR), Status.FAIL, 3),
        ((Status.PASS, Status.WARN, Status.ERROR), Status.WARN, 1),
        ((Status.FAIL, Status.ERROR), Status.FAIL, 1),
        ((Status.ERROR,), Status.FAIL, 3),
        ((Status.ERROR, Status.ERROR), Status.WARN, 3),
        ((), Status.FAIL, 0),
    ],
)
def test_exit_codes_follow_the_contract(statuses: tuple[Status, ...], fail_on: Status, code: int) -> None:
    assert report_of(*statuses).exit_code(fail_on) == code


def test_document_status_is_the_worst_check() -> None:
    assert report_of(Status.PASS, Status.WARN, Status.INFO).status is Status.WARN
    assert report_of(Status.FAIL, Status.ERROR).status is Status.ERROR
    assert report_of().status is Status.PASS


def test_probe_error_becomes_a_result_with_the_stage_where_it_happened() -> None:
    subject = Subject("smtp.starttls", "mx:25", Stage.STARTTLS, 5)
    result = subject.failed(ProbeError(Stage.TLS, "untrusted", "no chain"))
    assert result.stage is Stage.TLS and result.status is Status.FAIL
    assert result.error == ErrorInfo(Stage.TLS, "untrusted", "no chain")
    unknown = subject.failed(ProbeError(Stage.DNS, "timeout", "slow", unknown=True))
    assert unknown.status is Status.ERROR


def test_json_document_has_the_contract_fields() -> None:
    doc = report_of(Status.FAIL).to_dict()
    assert list(doc) == ["schema", "tool", "command", "target", "status", "duration_ms", "checks"]
    assert doc["tool"]["name"] == "mailcheck" and doc["schema"] == 1
    assert list(doc["checks"][0]) == [
        "id",
        "target",
        "stage",
        "status",
        "summary",
        "details",
        "duration_ms",
        "error",
    ]
