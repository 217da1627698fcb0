"""Benchmark: one full grade of an SMTP endpoint (``--tls-scan`` with the tls extra: every NCSC item, with sslyze,
STARTTLS on each of its dozens of handshakes) next to the baseline of the built-in scan (``--tls-scan`` where
sslyze cannot be imported: mailcheck's own handshake per version and weak class) on the same lab server, a modern
one and one configured as old setups run. The issue's bound: a full grade within 30 s on these machines. Run:
``python -m benchmarks.tls_grade_bench``.
"""

import ssl
import sys
import tempfile
import time
import warnings
from pathlib import Path

from click.testing import CliRunner

from mailcheck.cli import main
from mailcheck.lab.dns import DnsResponder
from mailcheck.lab.pki import CertificateAuthority
from mailcheck.lab.server import server_context
from mailcheck.lab.smtp import SmtpBehaviour, SmtpLabServer


def timed(args: list[str], without_extra: bool = False) -> float:
    """Seconds for one in-process run of ARGS; WITHOUT_EXTRA hides sslyze (an install without the tls extra)."""
    hidden = sys.modules.get("sslyze")
    if without_extra:
        sys.modules["sslyze"] = None  # type: ignore[assignment]
    try:
        start = time.monotonic()
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        spent = time.monotonic() - start
    finally:
        if without_extra:
            if hidden is None:
                del sys.modules["sslyze"]
            else:
                sys.modules["sslyze"] = hidden
    ran = [line for line in result.output.splitlines() if '"id": "smtp.tls-' in line]
    if not ran:
        raise SystemExit(f"the run made no TLS findings (exit {result.exit_code}): {result.output[-500:]}")
    return spent


def main_benchmark() -> None:
    ca = CertificateAuthority("benchmark CA")
    with tempfile.TemporaryDirectory() as folder, DnsResponder() as dns:
        workdir = Path(folder)
        ca_file = ca.write_pem(workdir / "ca.pem")
        modern = server_context(ca.issue("mx.lab.test"), workdir)
        old = server_context(ca.issue("mx.lab.test", key_type="rsa"), workdir)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old.set_ciphers("ALL:eNULL:@SECLEVEL=0")
        dns.zone.host("mx.lab.test", "127.0.0.1")
        for name, context in (("modern", modern), ("old-style", old)):
            server = SmtpLabServer(SmtpBehaviour(tls=context)).start()
            try:
                common = ["smtp", "mx.lab.test", "--port", str(server.port), "--resolver", dns.address,
                          "--ca-file", str(ca_file), "--timeout", "5", "--json"]  # fmt: skip
                grade = timed([*common, "--tls-scan"])
                scan = timed([*common, "--tls-scan"], without_extra=True)
            finally:
                server.stop()
            print(f"{name}: grade {grade:.1f} s, built-in scan {scan:.2f} s, ratio {grade / scan:.1f}x"
                  f" (bound: 30 s for the grade)")  # fmt: skip


if __name__ == "__main__":
    main_benchmark()
