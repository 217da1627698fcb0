"""`mailcheck egress`: what this machine can reach, judged against real loopback servers: an SMTP server that
greets, a port that never answers (a full accept queue, as behind a packet filter), IPv6 on ::1, lists that
answer or refuse the resolver, and a network namespace without routes (root)."""

import json
import os
import subprocess

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.smtp import SmtpBehaviour
from tests.conftest import Cli, SmtpLab
from tests.test_vantage import MAILCHECK, Blackhole, _netns_unavailable


def lists(dns: DnsResponder) -> None:
    zone = dns.zone
    zone.add("2.0.0.127.good.lab.test", "A", "127.0.0.2")  # RFC 5782 test point listed: the list works
    zone.add("2.0.0.127.refusing.lab.test", "A", "127.255.255.254")  # Spamhaus: "you are using a public resolver"


def test_open_and_blocked_ports_lists_and_the_resolver(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a reference that answers on its port, a port that never answers, a working and a refusing list
    reference = smtp_lab.start(SmtpBehaviour(hostname="ref.lab.test"), name="ref.lab.test", address="127.0.0.63")
    hole = Blackhole("127.0.0.61")
    lists(smtp_lab.dns)
    smtp_lab.dns.zone.add("gmail.com", "MX", "10 ref.lab.test.")  # the name egress asks to see the resolver work
    try:
        # When egress is asked about both
        run = cli("egress", f"ref.lab.test:{reference.port}", hole.spec, "--blocklist", "good.lab.test",
                  "--blocklist", "refusing.lab.test", "--resolver", smtp_lab.dns.address, "--timeout", "1",
                  "--json")  # fmt: skip
    finally:
        hole.close()
    ports = {c["details"]["port"]: c for c in run.checks("egress.port")}
    # Then the open port passes with who answered and what it said
    opened = ports[reference.port]
    assert opened["status"] == "pass" and opened["details"]["reached"].startswith("ref.lab.test:"), opened
    assert "220 ref.lab.test" in opened["details"]["greeting"]
    # And the silent one is this network blocking the port, a failure (exit 1)
    blocked = ports[hole.port]
    assert blocked["status"] == "fail" and blocked["error"]["kind"] == "egress-blocked", blocked
    assert f"blocks outbound port {hole.port}" in blocked["summary"]
    # And the resolver answers; the lab resolver passes no signed root keys: said, not failed
    assert run.check("egress.resolver")["status"] == "pass"
    assert run.check("egress.dnssec")["status"] == "info"
    # And the lists: one answers, one refuses this resolver (list-refused)
    verdicts = {c["target"]: (c["status"], (c["error"] or {}).get("kind")) for c in run.checks("egress.blocklist")}
    assert verdicts == {"good.lab.test": ("pass", None), "refusing.lab.test": ("error", "list-refused")}, verdicts
    assert run.code == 1


def test_ipv6_is_tested_on_its_own(cli: Cli, smtp_lab: SmtpLab) -> None:
    server = smtp_lab.start(SmtpBehaviour(hostname="six.lab.test"), name="six.lab.test", address="::1")
    run = cli("egress", f"[::1]:{server.port}", "--resolver", smtp_lab.dns.address, "--timeout", "1",
              "--blocklist", "none.lab.test", "--json")  # fmt: skip
    (six,) = run.checks("egress.port")
    assert six["target"] == f"port {server.port} over IPv6" and six["status"] == "pass", six


def test_default_targets_are_looked_up_through_the_resolver_only(cli: Cli, dns_server: DnsResponder) -> None:
    # Given no targets, and a resolver that knows none of the providers
    run = cli("egress", "--resolver", dns_server.address, "--timeout", "1", "--blocklist", "none.lab.test", "--json")
    # Then the providers' MX and submission hosts were asked of --resolver, and nothing was contacted (the
    # suite's network guard fails the test otherwise); each unknown host is named
    asked = {str(name).rstrip(".").lower() for name, _ in dns_server.queries}
    assert {"gmail.com", "outlook.com", "yahoo.com", "smtp.gmail.com", "smtp.office365.com"} <= asked, asked
    targets = {c["target"]: c for c in run.checks("egress.target")}
    assert set(targets) >= {"smtp.gmail.com", "smtp.mail.yahoo.com"}, targets
    assert {c["error"]["kind"] for c in targets.values()} == {"target-unresolved"}
    # And a resolver that denies gmail.com is said to be filtering or private; untested ports are said so
    assert run.check("egress.resolver")["status"] == "warn"
    untested = {c["target"]: c["error"]["kind"] for c in run.checks("egress.port")}
    assert untested == {"port 25": "no-target", "port 587": "no-target", "port 465": "no-target"}, untested
    assert run.code == 3


@pytest.mark.parametrize(("args", "message"), [(("host:99999",), "port must be"), (("--port", "0"), "0")])
def test_bad_targets_are_usage_errors(cli: Cli, args: tuple[str, ...], message: str) -> None:
    run = cli("egress", *args, "--resolver", "127.0.0.1:9")
    assert run.code == 2 and message in run.err and "Traceback" not in run.err


@pytest.mark.skipif(bool(reason := _netns_unavailable()), reason=reason or "")
def test_no_ipv6_route_is_said_as_such() -> None:
    # Given a machine without routes (a network namespace with only loopback)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILCHECK_")}
    done = subprocess.run(
        ["unshare", "-n", str(MAILCHECK), "egress", "[2001:db8::25]:25", "192.0.2.25:25", "--resolver",
         "127.0.0.1:9", "--timeout", "2", "--blocklist", "none.invalid", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    ports = {c["target"]: c for c in json.loads(done.stdout)["checks"] if c["id"] == "egress.port"}
    six, four = ports["port 25 over IPv6"], ports["port 25 over IPv4"]
    assert six["error"]["kind"] == "no-route" and "no IPv6 route" in six["summary"], six
    assert four["error"]["kind"] == "no-route", four
