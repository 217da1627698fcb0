"""The result model shared by every subcommand: statuses, stages, probe errors, check results, reports.

The JSON form of these types is the user-facing contract (``schema: 1``); renderers only ever see these.
"""

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_UNCHECKED = 3

# Error kinds that say the fault is where mailcheck stands, not the domain (README: "From where you stand").
VANTAGE_KINDS = ("egress-blocked", "no-route", "rate-limited", "list-refused", "intercepted")

DEFAULT_TIMEOUT = 10.0  # seconds, the contract's bound on each network step (--timeout)


class Status(enum.StrEnum):
    """Outcome of one check, ordered from best to worst by :attr:`severity`."""

    PASS = "pass"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def worst(cls, statuses: Iterable["Status"]) -> "Status":
        """The worst of ``statuses``; ``PASS`` for none."""
        return max(statuses, key=lambda s: s.severity, default=cls.PASS)


_SEVERITY = {Status.PASS: 0, Status.INFO: 1, Status.WARN: 2, Status.FAIL: 3, Status.ERROR: 4}


# How a check names an endpoint in its target (checks/transport/connection.Endpoint.label): "host:port (address)",
# or "[address]:port"; and the ports where the server speaks first, in clear text.
ENDPOINT_TARGET = re.compile(r"^(\S+):(\d+)( \(.*\))?$")
CLEAR_TEXT_PORTS = (25, 587, 143, 110)


def target_host(target: str) -> str:
    """The host a target names, lower case: ``mx1.example.com:25 (192.0.2.10)`` → ``mx1.example.com``,
    ``[2001:db8::1]:25`` → ``2001:db8::1``; any other target's first word."""
    match = ENDPOINT_TARGET.match(target)
    return (match.group(1) if match else target.split(" ")[0]).strip("[]").lower()


def endpoint_port(target: str) -> int | None:
    """The port of an endpoint target; None for any other target."""
    match = ENDPOINT_TARGET.match(target)
    return int(match.group(2)) if match else None


class Stage(enum.StrEnum):
    """Where on the mail path a check looked or an operation failed."""

    DNS = "dns"
    CONNECT = "connect"
    GREETING = "greeting"
    CAPABILITIES = "capabilities"
    STARTTLS = "starttls"
    TLS = "tls"
    CERTIFICATE = "certificate"
    AUTH = "auth"
    ENVELOPE = "envelope"
    RECORD = "record"
    POLICY = "policy"
    INPUT = "input"
    PARSE = "parse"


class ProbeError(Exception):
    """An operation on the network or on the user's input failed at ``stage``.

    ``kind`` is a short stable word (``timeout``, ``refused``, ``nxdomain`` ...). ``unknown`` says that the
    failure leaves the truth unknown (our resolver timed out) rather than showing the target is wrong; such
    failures become checks with status ``error`` instead of ``fail``.
    """

    def __init__(self, stage: Stage, kind: str, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.stage = stage
        self.kind = kind
        self.message = message
        self.unknown = unknown

    @property
    def status(self) -> Status:
        return Status.ERROR if self.unknown else Status.FAIL

    def info(self) -> "ErrorInfo":
        return ErrorInfo(self.stage, self.kind, self.message)

    def __repr__(self) -> str:
        return f"ProbeError({self.stage.value!r}, {self.kind!r}, {self.message!r})"


@dataclass(frozen=True)
class ErrorInfo:
    """The ``error`` member of a check: which operation failed, how, in words."""

    stage: Stage
    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"stage": self.stage.value, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class CheckResult:
    """One finding: a check ``id`` (``mx.host``), what it looked at, where on the path, and the verdict."""

    id: str
    target: str
    stage: Stage
    status: Status
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    duration_ms: int | None = None
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "target": self.target,
            "stage": self.stage.value,
            "status": self.status.value,
            "summary": self.summary,
            "details": dict(self.details),
            "duration_ms": self.duration_ms,
            "error": self.error.to_dict() if self.error else None,
        }


@dataclass(frozen=True)
class Subject:
    """What one check is about: its id, target and stage. Makes that check's results."""

    id: str
    target: str
    stage: Stage
    duration_ms: int | None = None

    def result(
        self,
        status: Status,
        summary: str,
        details: Mapping[str, Any] | None = None,
        error: ErrorInfo | None = None,
    ) -> CheckResult:
        return CheckResult(self.id, self.target, self.stage, status, summary, details or {}, self.duration_ms, error)

    def too_many_records(self, records: list[str], what: str, consequence: str) -> CheckResult:
        """The fail for a name that publishes several records where one is allowed (DMARC, DKIM key,
        MTA-STS, TLS-RPT, BIMI): ``what`` names them, ``consequence`` says what receivers then do."""
        message = f"{len(records)} {what} records: {consequence}; keep one"
        error = ErrorInfo(Stage.RECORD, "multiple-records", message)
        return self.result(Status.FAIL, message, {"records": records}, error)

    def failed(
        self, err: ProbeError, summary: str | None = None, details: Mapping[str, Any] | None = None
    ) -> CheckResult:
        """The result when an operation raised ``err``: status fail, or error when the truth is unknown; the
        check's stage becomes the stage where the operation failed."""
        return CheckResult(
            self.id,
            self.target,
            err.stage,
            err.status,
            summary or err.message,
            details or {},
            self.duration_ms,
            err.info(),
        )


@dataclass(frozen=True)
class Report:
    """Everything one command found about one target."""

    command: str
    target: str
    checks: tuple[CheckResult, ...]
    duration_ms: int
    version: str

    @property
    def status(self) -> Status:
        return Status.worst(c.status for c in self.checks)

    def counts(self) -> dict[Status, int]:
        counts = dict.fromkeys(Status, 0)
        for check in self.checks:
            counts[check.status] += 1
        return counts

    def exit_code(self, fail_on: Status) -> int:
        """Exit code per the contract: 1 when a check that was checked is at or above ``fail_on``; else 3 when
        some check could not be checked from here (``error``: inconclusive, never a failure by itself); else 0."""
        return exit_code_for((c.status for c in self.checks), fail_on)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "tool": {"name": "mailcheck", "version": self.version},
            "command": self.command,
            "target": self.target,
            "status": self.status.value,
            "duration_ms": self.duration_ms,
            "checks": [c.to_dict() for c in self.checks],
        }


def exit_code_for(statuses: Iterable[Status], fail_on: Status) -> int:
    """The contract's exit code for a run whose checks ended in STATUSES (see :meth:`Report.exit_code`)."""
    seen = set(statuses)
    if any(s is not Status.ERROR and s.severity >= fail_on.severity for s in seen):
        return EXIT_FAIL
    return EXIT_UNCHECKED if Status.ERROR in seen else EXIT_OK
