"""The defaults every user runs first, tested as users run them: the installed ``mailcheck`` command with no
``--resolver`` and no ``--ca-file``, so it reads /etc/resolv.conf and the system CA bundle itself.

As root, each command runs in a private mount namespace (``unshare -m``) where /etc/resolv.conf names the lab
DNS responder (listening on port 53 of 127.0.0.53, the address of systemd-resolved's stub) and the system CA
bundle holds the lab CA beside the distribution's roots. Then the same command runs with ``--resolver`` and
``--ca-file`` (how every other test runs it), and the verdicts must be the same. Nothing leaves loopback: the
lab is ours, and the network guard of the suite is installed in the child process too (sitecustomize).
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.dnssec import ZonePlan, sign
from mailcheck.lab.mailbox import ImapLabServer, MailboxBehaviour, Pop3LabServer
from mailcheck.lab.server import LabServer, server_context
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer
from mailcheck.lab.world import GOOD, MailLab

ROOT = Path(__file__).resolve().parent.parent
MAILCHECK = Path(sys.executable).with_name("mailcheck")  # the installed console script of this environment
STUB = "127.0.0.53"  # systemd-resolved's stub address: what /etc/resolv.conf names on most desktops
SIGNED_STUB = "127.0.0.54"
SUBMIT = "127.0.0.16"  # submit.good.test: SMTP 25 and 587, IMAP 993, POP3 995 on their standard ports
PASSWORD = "lab-Secret-42"
GUARD_MARK = "NETWORK RULE BROKEN"


def _namespace_unavailable() -> str | None:
    """Why the namespace tests cannot run here, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root: /etc/resolv.conf and the CA bundle are bind-mounted in a private mount namespace"
    if shutil.which("unshare") is None:
        return "needs unshare(1) (util-linux)"
    if not MAILCHECK.exists():
        return f"the mailcheck command is not installed beside {sys.executable}"
    if not Path("/etc/resolv.conf").exists() or not Path(_system_bundle()).exists():
        return "needs /etc/resolv.conf and a system CA bundle to bind-mount over"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare -m is refused here: {probe.stderr.strip()}"
    wanted = [(a, p, socket.SOCK_STREAM) for a in (STUB, SIGNED_STUB, SUBMIT) for p in (25, 53, 587, 993, 995)]
    wanted += [(STUB, 53, socket.SOCK_DGRAM), (SIGNED_STUB, 53, socket.SOCK_DGRAM)]
    for address, port, kind in wanted:
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the lab servers bind
            try:
                sock.bind((address, port))
            except OSError as exc:
                return f"{address}:{port} is taken on this machine ({exc.strerror})"
    return None


def _system_bundle() -> str:
    """The CA bundle OpenSSL reads by default (Debian: /etc/ssl/certs/ca-certificates.crt)."""
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.openssl_cafile


pytestmark = pytest.mark.skipif(bool(reason := _namespace_unavailable()), reason=reason or "")


@dataclass
class DefaultsWorld:
    """The lab, a resolv.conf naming its responder, a CA bundle trusting its CA, and the guard for children."""

    lab: MailLab
    resolv_conf: Path
    bundle: Path
    guard: Path

    def run(
        self, *args: str, defaults: bool = True, resolv_conf: Path | None = None, json_output: bool = True
    ) -> "Run":
        """``mailcheck ARGS --json``: with the system's defaults (namespace), or with --resolver/--ca-file."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILCHECK_", "SSL_CERT_"))}
        env.update({"NO_COLOR": "1", "PYTHONPATH": str(self.guard), "PW": PASSWORD})
        command = [str(MAILCHECK), *args, *(["--json"] if json_output else [])]
        if defaults:
            script = 'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" "$3" && shift 3 && exec "$@"'
            resolv = resolv_conf or self.resolv_conf
            argv = ["unshare", "-m", "sh", "-c", script, "sh", str(resolv), str(self.bundle), _system_bundle()]
            argv += command
        else:
            argv = [*command, "--resolver", f"{STUB}:53", "--ca-file", str(self.lab.ca_file)]
        started = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
        assert GUARD_MARK not in done.stderr, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.out)
        return document

    def verdicts(self) -> list[tuple[str, str, str, str, str | None]]:
        """What a check concluded, without timings: id, target, stage, status, error kind."""
        return sorted(
            (c["id"], c["target"], c["stage"], c["status"], (c.get("error") or {}).get("kind"))
            for c in self.json()["checks"]
        )


def _write_guard(directory: Path) -> Path:
    """A sitecustomize that installs the suite's network guard in a child Python and reports violations."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(
        textwrap.dedent(f"""\
        import atexit, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests import netguard
        netguard.install()
        atexit.register(lambda: netguard.violations and sys.stderr.write(
            "{GUARD_MARK}: " + repr(netguard.violations) + "\\n"))
        """)
    )
    return directory


def _start_submission_host(lab: MailLab) -> None:
    """submit.good.test on the standard ports, with one user: what `smtp`, `imap`, `pop3`, `roundtrip` use."""
    name = f"submit.{GOOD}"
    context = server_context(lab.ca.issue(name), lab.workdir)
    users = {"alice": PASSWORD}
    servers: list[LabServer] = [
        SmtpLabServer(SmtpBehaviour(hostname=name, tls=context, local_domains={GOOD}), host=SUBMIT, port=25),
        SmtpLabServer(
            SmtpBehaviour(hostname=name, tls=context, users=users, local_domains={GOOD}), host=SUBMIT, port=587
        ),
        ImapLabServer(MailboxBehaviour(users=users), implicit_tls=context, host=SUBMIT, port=993),
        Pop3LabServer(MailboxBehaviour(users=users), implicit_tls=context, host=SUBMIT, port=995),
    ]
    for server in servers:
        lab.servers.append(server.start())
    lab.dns.zone.host(name, SUBMIT)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DefaultsWorld]:
    workdir = tmp_path_factory.mktemp("defaults")
    lab = MailLab(workdir / "lab", dns=DnsResponder(host=STUB, port=53)).start()
    try:
        _start_submission_host(lab)
        resolv_conf = workdir / "resolv.conf"
        # As systemd-resolved writes it: the stub, options the C library reads, a search list.
        resolv_conf.write_text(
            "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n"
            f"nameserver {STUB}\noptions edns0 trust-ad\nsearch lab.test\n"
        )
        bundle = workdir / "ca-certificates.crt"
        bundle.write_bytes(Path(_system_bundle()).read_bytes() + b"\n" + lab.ca_file.read_bytes())
        yield DefaultsWorld(lab, resolv_conf, bundle, _write_guard(workdir / "guard"))
    finally:
        lab.stop()


def _lab_options(lab: MailLab) -> list[str]:
    return ["--mx-port", str(lab.smtp_port), "--mta-sts-port", str(lab.https_port), "--allow-private"]


COMMANDS: dict[str, list[str]] = {
    "mx": ["mx", GOOD, "--allow-private"],
    "smtp-25": ["smtp", f"submit.{GOOD}"],
    "smtp-587": ["smtp", f"submit.{GOOD}", "--port", "587", "--user", "alice", "--password-env", "PW"],
    "imap": ["imap", f"submit.{GOOD}", "--user", "alice", "--password-env", "PW"],
    "pop3": ["pop3", f"submit.{GOOD}", "--user", "alice", "--password-env", "PW"],
    "spf": ["spf", GOOD, "--ip", "127.0.0.11"],
    "dmarc": ["dmarc", "check", GOOD],
    "dkim": ["dkim", "keys", GOOD, "--selector", "lab1"],
    "sender": ["sender", "127.0.0.11", "--domain", GOOD, "--allow-private"],
    "mailbox": ["mailbox", GOOD],
    "roundtrip": [
        *("roundtrip", "--smtp", f"submit.{GOOD}", "--imap", f"submit.{GOOD}", "--user", "alice"),
        *("--password-env", "PW", "--deadline", "2", "--from", f"alice@{GOOD}", "--to", f"alice@{GOOD}"),
    ],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_gives_the_same_verdicts_with_the_system_defaults(world: DefaultsWorld, name: str) -> None:
    # Given the lab named only by /etc/resolv.conf and trusted only through the system CA bundle
    args = COMMANDS[name]
    # When the installed command runs with its defaults, and again with --resolver/--ca-file
    default, explicit = world.run(*args), world.run(*args, defaults=False)
    assert default.out, default.err
    # Then it reached the lab through the system resolver, and concluded the same, check by check
    assert default.verdicts() == explicit.verdicts(), default.out
    assert (default.code, default.json()["status"]) == (explicit.code, explicit.json()["status"])
    kinds = {c["error"]["kind"] for c in default.json()["checks"] if c.get("error")}
    assert "no-resolver" not in kinds, default.out
    assert not any(c["stage"] == "certificate" and c["status"] == "fail" for c in default.json()["checks"])


def test_domain_report_is_the_same_with_the_system_defaults(world: DefaultsWorld) -> None:
    # Given the healthy lab domain
    options = _lab_options(world.lab)
    # When `mailcheck domain good.test` runs as a user runs it, and with --resolver/--ca-file
    default = world.run("domain", GOOD, *options)
    explicit = world.run("domain", GOOD, *options, defaults=False)
    # Then the report is the same, certificates are trusted through the system store, and nothing failed
    assert default.verdicts() == explicit.verdicts()
    assert default.code == explicit.code == 0, default.out
    certificates = [c for c in default.json()["checks"] if c["stage"] == "certificate"]
    assert certificates and all(c["status"] == "pass" for c in certificates)


def test_default_timeout_bounds_a_silent_server(world: DefaultsWorld) -> None:
    # Given broken.test, whose third MX accepts connections and never greets
    # When `domain broken.test --parts mx,smtp` runs without --timeout
    run = world.run("domain", "broken.test", "--only", "mx,smtp", *_lab_options(world.lab))
    # Then the silent MX is a greeting timeout after the default 10 s, and the run does not hang past it
    silent = [c for c in run.json()["checks"] if "mx3.broken.test" in c["target"] and c["stage"] == "greeting"]
    assert silent and silent[0]["error"]["kind"] == "timeout", run.out
    assert 10 <= run.seconds < 40, run.seconds
    assert run.verdicts() == world.run("domain", "broken.test", "--only", "mx,smtp", *_lab_options(world.lab),
                                       defaults=False).verdicts()  # fmt: skip


def test_default_blocklists_are_named_in_the_report(world: DefaultsWorld) -> None:
    # Given a sender address checked against the default blocklists (names asked of the system resolver)
    run = world.run("sender", "127.0.0.11", "--domain", GOOD, "--allow-private")
    # Then each default list is named in the result, as with --resolver
    explicit = world.run("sender", "127.0.0.11", "--domain", GOOD, "--allow-private", defaults=False)
    lists = [
        {(c["details"]["zone"], c["details"]["list"]) for c in r.json()["checks"] if c["id"].startswith("blocklist.")}
        for r in (run, explicit)
    ]
    assert lists[0] and lists[0] == lists[1]
    assert ("zen.spamhaus.org", "Spamhaus ZEN") in lists[0], lists[0]
    assert "Spamhaus ZEN" in world.run("sender", "127.0.0.11", "--domain", GOOD, "--allow-private", "--all",
                                       json_output=False).out  # fmt: skip


@pytest.fixture(scope="module")
def signed_resolv_conf(world: DefaultsWorld) -> Iterator[tuple[Path, Path]]:
    """A second resolver on 127.0.0.54:53 serving a signed world (lab root, test., secure.test.), with the
    resolv.conf naming it and the lab root's anchor."""
    responder = DnsResponder(host=SIGNED_STUB, port=53)
    responder.zone.add("secure.test", "MX", "10 mx.secure.test.")
    responder.zone.host("mx.secure.test", "127.0.0.40", ptr=False)
    responder.world, anchor = sign(responder.zone, [ZonePlan("."), ZonePlan("test."), ZonePlan("secure.test.")])
    responder.start()
    directory = world.resolv_conf.parent
    resolv = directory / "resolv-signed.conf"
    resolv.write_text(f"nameserver {SIGNED_STUB}\n")
    anchor_file = directory / "lab-root.anchor"
    anchor_file.write_text(anchor + "\n")
    yield resolv, anchor_file
    responder.stop()


def test_builtin_root_anchors_are_used_through_the_system_resolver(
    world: DefaultsWorld, signed_resolv_conf: tuple[Path, Path]
) -> None:
    resolv, anchor_file = signed_resolv_conf
    # Given a resolver (named by resolv.conf) that passes signatures of a chain under a root of the lab's own
    # When `mailcheck dnssec` runs with the built-in anchors (the IANA root KSKs)
    builtin = world.run("dnssec", "secure.test", "MX", resolv_conf=resolv)
    # Then the lab's root is not trusted: bogus at the root, naming the built-in anchor it does not match
    answer = builtin.json()["checks"][0]
    assert answer["status"] == "fail" and answer["details"]["state"] == "bogus", builtin.out
    assert "20326" in builtin.out or "38696" in builtin.out or "trust anchor" in builtin.out, builtin.out
    # And with the lab's root as the anchor the same resolver gives a secure answer, so signatures came through
    trusted = world.run("dnssec", "secure.test", "MX", "--trust-anchor", str(anchor_file), resolv_conf=resolv)
    assert trusted.json()["checks"][0]["details"]["state"] == "secure", trusted.out


def test_a_missing_resolver_line_is_one_clear_error(world: DefaultsWorld, tmp_path: Path) -> None:
    # Given a resolv.conf with only comments and options (as some containers ship it)
    empty = tmp_path / "resolv.conf"
    empty.write_text("# no name servers here\noptions ndots:5\n")
    # When a command needs DNS
    run = world.run("mx", GOOD, resolv_conf=empty)
    # Then it cannot be checked from here (exit 3), and the error names the file and the way out
    assert run.code == 3, run.out + run.err
    message = run.json()["checks"][0]["error"]["message"]
    assert "/etc/resolv.conf names no resolver" in message and "--resolver" in message


def test_roundtrip_reaches_both_servers_through_the_defaults(world: DefaultsWorld) -> None:
    # Given the submission and mailbox host, named only by the system resolver and trusted through the system store
    # When `roundtrip` runs with the defaults
    run = world.run(*COMMANDS["roundtrip"])
    # Then the submission server was found, trusted and logged in to; the lab refuses DATA (it delivers nothing;
    # real delivery through Postfix and Dovecot is the interop suite's), so the run stops there, as it should
    stages = {(c["stage"], c["status"]) for c in run.json()["checks"]}
    assert {("certificate", "pass"), ("auth", "pass"), ("envelope", "pass")} <= stages, run.out
    assert run.json()["checks"][-1]["id"] == "roundtrip.data" and "554" in run.json()["checks"][-1]["summary"]
