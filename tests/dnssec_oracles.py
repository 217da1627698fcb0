"""BIND's delv and Unbound's unbound-host as referees of DNSSEC verdicts: each validates NAME/TYPE itself
through the lab responder with the lab's root anchor, and its verdict is read from what it prints."""

import subprocess
from pathlib import Path

ORACLE_COMMANDS = {"delv": "bind9-dnsutils", "unbound-host": "unbound-host"}


def _anchor_words(anchor: str) -> tuple[str, str, str, str]:
    """``. IN DS tag alg digest-type digest`` → its four DS fields."""
    words = anchor.split()
    tag, algorithm, digest_type = words[3:6]
    return tag, algorithm, digest_type, "".join(words[6:])


def delv_verdict(port: int, anchor: str, name: str, rdtype: str, workdir: Path) -> tuple[str, str]:
    """secure / insecure / bogus as delv (BIND 9.18) says, and its output."""
    tag, algorithm, digest_type, digest = _anchor_words(anchor)
    anchor_file = workdir / "delv.anchor"
    anchor_file.write_text(f'trust-anchors {{ "." static-ds {tag} {algorithm} {digest_type} "{digest}"; }};\n')
    argv = ["delv", "@127.0.0.1", "-p", str(port), "-a", str(anchor_file), "+root=."]
    out = _run([*argv, name, rdtype])
    # delv prints a verdict for each link of a CNAME chain; the answer is as strong as its weakest link
    failed = [line for line in out.splitlines() if "resolution failed" in line and "ncache" not in line]
    if failed or "broken trust chain" in out or "no valid RRSIG" in out:
        return "bogus", out
    if "unsigned answer" in out:
        return "insecure", out
    if "fully validated" in out:
        return "secure", out
    return "unknown", out


def unbound_verdict(port: int, anchor: str, name: str, rdtype: str, workdir: Path) -> tuple[str, str]:
    """secure / insecure / bogus as unbound-host says, and its output."""
    config = workdir / "unbound.conf"
    config.write_text(
        "server:\n"
        "  do-not-query-localhost: no\n"
        '  local-zone: "test." nodefault\n'  # Unbound answers .test (RFC 6761) itself unless told not to
        f'  trust-anchor: "{anchor}"\n'
        '  module-config: "validator iterator"\n'
        "  val-log-level: 2\n"
        "  verbosity: 1\n"
        "forward-zone:\n"
        '  name: "."\n'
        f"  forward-addr: 127.0.0.1@{port}\n"
    )
    out = _run(["unbound-host", "-v", "-C", str(config), "-t", rdtype, name])
    for marker, verdict in (("(BOGUS", "bogus"), ("(insecure)", "insecure"), ("(secure)", "secure")):
        if marker in out:
            return verdict, out
    return "unknown", out


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        return f"timed out: {exc}"
    return done.stdout + done.stderr
