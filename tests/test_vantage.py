"""From where you stand: faults of mailcheck's own network told apart from faults of the domain.

- A port that is blocked on the way out: a listener whose accept queue is full, so SYNs go unanswered and a
  connect times out, exactly as behind a packet filter that drops them (works without root).
- A real packet filter (root): nftables dropping outbound TCP to port 25 of two loopback test addresses, as an
  ISP does, removed after; the same domain passes once the filter is gone.
- No route: the installed command in a network namespace with only loopback (``unshare -n``, root), asking a
  documentation address: nothing can leave the machine.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.server import LabServer
from mailcheck.lab.smtp import SmtpBehaviour
from mailcheck.lab.world import free_port
from tests.conftest import Cli, SmtpLab

MAILCHECK = Path(sys.executable).with_name("mailcheck")


class Blackhole:
    """A TCP port on a loopback address that never answers a connect: its accept queue is full."""

    def __init__(self, address: str, port: int = 0) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((address, port))
        self.listener.listen(0)
        self.address, self.port = address, int(self.listener.getsockname()[1])
        self.fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((address, self.port))
            self.fillers.append(filler)

    @property
    def spec(self) -> str:
        return f"{self.address}:{self.port}"

    def close(self) -> None:
        for sock in [*self.fillers, self.listener]:
            sock.close()


@pytest.fixture
def blackholes() -> Iterator[list[Blackhole]]:
    made: list[Blackhole] = []
    yield made
    for hole in made:
        hole.close()


def connections_settle(server: LabServer) -> int:
    """The server's count of accepted connections once its accept loop has caught up (it runs in a thread)."""
    deadline = time.monotonic() + 2
    while server.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    return server.connections


def smtp_run(cli: Cli, dns: DnsResponder, port: int, *extra: str):  # type: ignore[no-untyped-def]
    return cli("smtp", "mx.lab.test", "--port", str(port), "--resolver", dns.address, "--timeout", "1", "--json",
               *extra)  # fmt: skip


def test_mx_and_reference_both_silent_is_egress_blocked_and_inconclusive(
    cli: Cli, dns_server: DnsResponder, blackholes: list[Blackhole]
) -> None:
    # Given an MX whose port never answers, and a reference MX that does not answer either
    mx, reference = Blackhole("127.0.0.61"), Blackhole("127.0.0.62")
    blackholes += [mx, reference]
    dns_server.zone.host("mx.lab.test", mx.address)
    # When the MX is checked with that reference
    run = smtp_run(cli, dns_server, mx.port, "--reference-mx", reference.spec)
    # Then the connect is an error of the vantage point, naming the reference; exit 3 (inconclusive), not 1
    connect = run.check("smtp.connect")
    assert connect["status"] == "error" and connect["error"]["kind"] == "egress-blocked", connect
    assert reference.spec in connect["summary"] and "not at fault" in connect["summary"]
    assert run.code == 3


def test_mx_silent_but_reference_answers_is_the_servers_fault(
    cli: Cli, smtp_lab: SmtpLab, blackholes: list[Blackhole]
) -> None:
    # Given an MX whose port never answers, and a reference MX that answers
    mx = Blackhole("127.0.0.61")
    blackholes.append(mx)
    reference = smtp_lab.start(SmtpBehaviour(hostname="ref.lab.test"), name="ref.lab.test", address="127.0.0.63")
    smtp_lab.dns.zone.host("mx.lab.test", mx.address)
    # When the MX is checked with that reference (by name, looked up through --resolver)
    run = smtp_run(cli, smtp_lab.dns, mx.port, "--reference-mx", f"ref.lab.test:{reference.port}")
    # Then the MX really is down: a failure, saying that the reference answered from here
    connect = run.check("smtp.connect")
    assert connect["status"] == "fail" and connect["error"]["kind"] == "timeout"
    assert "ref.lab.test" in connect["summary"] and "the fault is the server's" in connect["summary"]
    assert run.code == 1
    assert connections_settle(reference) == 1  # asked once, and only because the MX timed out


def test_domain_run_asks_the_reference_once_and_only_when_needed(
    cli: Cli, smtp_lab: SmtpLab, blackholes: list[Blackhole]
) -> None:
    # Given a domain whose two MX addresses never answer (one MX port for the run, as on the Internet), and a
    # reference MX that answers
    port = free_port(["127.0.0.61", "127.0.0.64"])
    first, second = Blackhole("127.0.0.61", port), Blackhole("127.0.0.64", port)
    blackholes += [first, second]
    zone = smtp_lab.dns.zone
    zone.add("down.test", "MX", "10 mx1.down.test.", "20 mx2.down.test.")
    zone.host("mx1.down.test", first.address)
    zone.host("mx2.down.test", second.address)
    reference = smtp_lab.start(SmtpBehaviour(hostname="ref.lab.test"), name="ref.lab.test", address="127.0.0.63")
    # When the domain is checked
    run = cli("domain", "down.test", "--only", "mx,smtp", "--mx-port", str(port), "--allow-private",
              "--resolver", smtp_lab.dns.address, "--timeout", "1", "--json",
              "--reference-mx", f"ref.lab.test:{reference.port}")  # fmt: skip
    # Then both MX hosts fail as down (the reference answered), and the reference was asked once
    connects = run.checks("smtp.connect")
    assert len(connects) == 2 and all(c["status"] == "fail" for c in connects), connects
    assert connections_settle(reference) == 1


def test_a_blocked_port_25_is_one_finding_for_the_whole_domain(
    cli: Cli, dns_server: DnsResponder, blackholes: list[Blackhole]
) -> None:
    # Given a domain whose three MX addresses never answer, and a reference MX that does not answer either
    port = free_port(["127.0.0.61", "127.0.0.64", "127.0.0.65", "127.0.0.62"])
    holes = [Blackhole(a, port) for a in ("127.0.0.61", "127.0.0.64", "127.0.0.65")]
    reference = Blackhole("127.0.0.62", port)
    blackholes += [*holes, reference]
    dns_server.zone.add("blocked.test", "MX", "10 mx1.blocked.test.", "20 mx2.blocked.test.")
    dns_server.zone.host("mx1.blocked.test", holes[0].address, holes[1].address)
    dns_server.zone.host("mx2.blocked.test", holes[2].address)
    # When the domain is checked from this "network"
    run = cli("domain", "blocked.test", "--only", "mx,smtp", "--mx-port", str(port), "--allow-private",
              "--resolver", dns_server.address, "--timeout", "1", "--json",
              "--reference-mx", reference.spec)  # fmt: skip
    # Then one egress-blocked finding names all three addresses and the reference, and the run is inconclusive
    connects = run.checks("smtp.connect")
    assert len(connects) == 1, connects
    (blocked,) = connects
    assert blocked["status"] == "error" and blocked["error"]["kind"] == "egress-blocked", blocked
    assert len(blocked["details"]["endpoints"]) == 3 and "all 3 MX addresses timed out" in blocked["summary"]
    assert reference.spec in blocked["summary"] and "not at fault" in blocked["summary"]
    assert run.code == 3, run.out
    # And the report says it once
    report = cli("domain", "blocked.test", "--only", "mx,smtp", "--mx-port", str(port), "--allow-private",
                 "--resolver", dns_server.address, "--timeout", "1", "--reference-mx", reference.spec)  # fmt: skip
    assert report.out.count("this network blocks outbound port") == 1, report.out


def test_default_references_are_looked_up_through_the_resolver_only(
    cli: Cli, dns_server: DnsResponder, blackholes: list[Blackhole]
) -> None:
    # Given a domain whose MX port never answers, and no --reference-mx
    mx = Blackhole("127.0.0.61")
    blackholes.append(mx)
    dns_server.zone.add("down.test", "MX", "10 mx.lab.test.")
    dns_server.zone.host("mx.lab.test", mx.address)
    # When the domain is checked (the lab resolver knows nothing of the default providers)
    run = cli("domain", "down.test", "--only", "mx,smtp", "--mx-port", str(mx.port), "--allow-private",
              "--resolver", dns_server.address, "--timeout", "1", "--json")  # fmt: skip
    # Then the default providers' MX were asked of --resolver (and nothing else was contacted: the network
    # guard fails the test otherwise), and without a reference the timeout stays a plain failure
    asked = {str(name).rstrip(".").lower() for name, _ in dns_server.queries}
    assert {"gmail.com", "outlook.com", "yahoo.com"} <= asked, asked
    assert run.check("smtp.connect")["error"]["kind"] == "timeout"


def test_a_healthy_mx_never_asks_a_reference(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a healthy MX and a reference MX
    server = smtp_lab.start()
    reference = smtp_lab.start(SmtpBehaviour(hostname="ref.lab.test"), name="ref.lab.test", address="127.0.0.63")
    # When the MX is checked
    run = cli(*smtp_lab.args(server, "mx.lab.test", "--json", "--reference-mx", f"127.0.0.63:{reference.port}"))
    # Then the reference is never contacted
    assert run.check("smtp.connect")["status"] == "pass"
    assert reference.connections == 0


def _netns_unavailable() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root: runs the command in a network namespace of its own (unshare -n)"
    if shutil.which("unshare") is None or not MAILCHECK.exists():
        return "needs unshare(1) and the installed mailcheck command"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, timeout=30)
    return None if probe.returncode == 0 else f"unshare -n is refused here: {probe.stderr.strip()}"


@pytest.mark.skipif(bool(reason := _netns_unavailable()), reason=reason or "")
@pytest.mark.parametrize(("address", "family"), [("2001:db8::25", "IPv6"), ("192.0.2.25", "IPv4")])
def test_no_route_is_the_vantage_points_fault(address: str, family: str) -> None:
    # Given a machine without a route to the address (a network namespace holding only loopback: nothing leaves)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILCHECK_")}
    # When an SMTP server is checked at that address
    done = subprocess.run(
        ["unshare", "-n", str(MAILCHECK), "smtp", address, "--timeout", "2", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    # Then it is an error of this machine's (no-route), not a failure of the server, and the run exits 3
    check = next(c for c in json.loads(done.stdout)["checks"] if c["id"] == "smtp.connect")
    assert check["status"] == "error" and check["error"]["kind"] == "no-route", check
    assert f"no {family} route" in check["summary"]
    assert done.returncode == 3, done.stdout + done.stderr


NFT_TABLE = "mailcheck_test_egress"


def _nft(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", *args], capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root: adds an nftables rule")
def test_a_real_packet_filter_on_port_25_is_egress_blocked_and_lifting_it_passes(cli: Cli, smtp_lab: SmtpLab) -> None:
    from tests.debian import need_commands

    need_commands({"nft": "nftables"}, "a real packet filter on port 25 (nftables)")
    # Given an MX and a reference MX, both up on port 25 of their own loopback addresses
    for name, address in (("mx.filtered.test", "127.0.0.81"), ("ref.lab.test", "127.0.0.82")):
        smtp_lab.start(SmtpBehaviour(hostname=name), name=name, address=address, port=25)
    smtp_lab.dns.zone.add("filtered.test", "MX", "10 mx.filtered.test.")
    argv = ["domain", "filtered.test", "--only", "mx,smtp", "--allow-private", "--resolver", smtp_lab.dns.address,
            "--ca-file", str(smtp_lab.ca_file), "--timeout", "1", "--reference-mx", "127.0.0.82", "--json"]  # fmt: skip
    # And nftables dropping outbound TCP to port 25 of both, as a residential ISP or a cloud provider does
    _nft("delete", "table", "inet", NFT_TABLE)
    try:
        for rule in (
            ["add", "table", "inet", NFT_TABLE],
            ["add", "chain", "inet", NFT_TABLE, "out", "{ type filter hook output priority 0 ; policy accept ; }"],
            ["add", "rule", "inet", NFT_TABLE, "out", "ip", "daddr", "{ 127.0.0.81, 127.0.0.82 }", "tcp", "dport",
             "25", "drop"],
        ):  # fmt: skip
            made = _nft(*rule)
            if made.returncode != 0:
                pytest.skip(f"nftables refused the rule here: {made.stderr.strip()}")
        # When the domain is checked behind the filter
        blocked = cli(*argv)
    finally:
        _nft("delete", "table", "inet", NFT_TABLE)
    # Then it is the network's fault (egress-blocked, exit 3), not the domain's
    connect = blocked.check("smtp.connect")
    assert connect["status"] == "error" and connect["error"]["kind"] == "egress-blocked", connect
    assert blocked.code == 3, blocked.out
    # And with the filter lifted the same domain passes
    opened = cli(*argv)
    assert opened.check("smtp.connect")["status"] == "pass" and opened.code == 0, opened.out
