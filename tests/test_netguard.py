"""The network rule is enforced: a test that reaches beyond loopback is refused and recorded."""

import socket

import pytest

from tests import netguard


def test_connect_to_a_documentation_address_is_refused() -> None:
    # Given a TCP socket
    with socket.socket() as sock, pytest.raises(netguard.NetworkRuleViolation):
        # When a test tries to reach an address off loopback
        sock.connect(("192.0.2.1", 25))
    # Then the attempt is recorded (and would fail the test); clear it so this test passes
    assert netguard.violations == ["socket.connect to ('192.0.2.1', 25)"]
    netguard.violations.clear()


def test_udp_to_a_private_address_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(netguard.NetworkRuleViolation):
        sock.sendto(b"x", ("10.0.0.1", 53))
    assert len(netguard.violations) == 1
    netguard.violations.clear()


def test_system_resolver_lookups_are_refused() -> None:
    with pytest.raises(netguard.NetworkRuleViolation):
        socket.getaddrinfo("example.com", 25)
    assert netguard.violations == ["name lookup of 'example.com' (system resolver)"]
    netguard.violations.clear()


def test_loopback_is_allowed() -> None:
    # Given a listener on loopback, a client may connect to it
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    assert netguard.violations == []
