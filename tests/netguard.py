"""The network rule, enforced: tests talk only to loopback addresses of servers they start.

An audit hook (PEP 578) sees every socket connect/sendto/sendmsg and every name lookup in the process, in
every thread. Anything aimed off loopback is refused and recorded; the suite fails the test that did it
even if the code under test swallowed the refusal.
"""

import ipaddress
import sys
from typing import Any

ALLOWED_NAMES = {"localhost"}
violations: list[str] = []
_installed = False


class NetworkRuleViolation(OSError):
    """Raised into code that tried to reach beyond loopback during a test."""


def _loopback(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    host = host.split("%", 1)[0].strip("[]")
    if host in ALLOWED_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    violations.append(what)
    raise NetworkRuleViolation(f"network rule: tests may only reach loopback; refused {what}")


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        address = args[1]
        if isinstance(address, tuple) and address and not _loopback(address[0]):
            _refuse(f"{event} to {address!r}")
    elif event == "socket.getaddrinfo":
        if not _loopback(args[0]):
            _refuse(f"name lookup of {args[0]!r} (system resolver)")
    elif event in ("socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr") and not _loopback(
        args[0]
    ):
        _refuse(f"{event} of {args[0]!r} (system resolver)")


def install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
