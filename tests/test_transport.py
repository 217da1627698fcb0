"""Pure helpers shared by SMTP, IMAP and POP3 findings (table-driven)."""

import pytest

from mailcheck.checks.transport.connection import Endpoint, silent_greeting_hint
from mailcheck.model import ProbeError, Stage

SILENT = ProbeError(Stage.GREETING, "timeout", "no reply")


@pytest.mark.parametrize(
    ("failure", "mode", "port", "expected"),
    [
        (SILENT, "starttls", 25, "tarpitting"),
        (SILENT, "starttls", 143, "tarpitting"),
        (SILENT, "starttls", 2525, "try --tls implicit"),
        (SILENT, "starttls", 465, "try --tls implicit"),
        (SILENT, "implicit", 465, ""),
        (ProbeError(Stage.GREETING, "rejected", "554"), "starttls", 2525, ""),
        (ProbeError(Stage.CONNECT, "timeout", "no answer"), "starttls", 25, ""),
    ],
)
def test_silent_greeting_hint(failure: ProbeError, mode: str, port: int, expected: str) -> None:
    hint = silent_greeting_hint(failure, mode, 465, port)
    assert (expected in hint) if expected else hint == ""


@pytest.mark.parametrize(
    ("endpoint", "label", "server_name"),
    [
        (Endpoint("mx.example.com", 25, "192.0.2.1"), "mx.example.com:25 (192.0.2.1)", "mx.example.com"),
        (Endpoint("192.0.2.1", 25, "192.0.2.1"), "192.0.2.1:25", None),
        (Endpoint("2001:db8::1", 587, "2001:db8::1"), "[2001:db8::1]:587", None),
    ],
)
def test_endpoint_labels(endpoint: Endpoint, label: str, server_name: str | None) -> None:
    assert endpoint.label == label and endpoint.server_name == server_name
