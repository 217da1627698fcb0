"""Benchmark: peak memory of a streamed many-domain run. 10,000 domains (DNS parts: MX, SPF, DMARC) written
to --output as they finish, the zone served out of process (benchmarks/world.py); prints the mailcheck
process's peak resident memory (goal: <= 150 MB) next to the baseline of the same run with 100 domains, and
the rate.
Run: ``python -m benchmarks.memory_stream [DOMAINS]`` (binds 127.0.0.153:53: needs root).
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import world


def run_once(count: int, workdir: Path) -> tuple[float, float]:
    names = world.names(count)
    listing = workdir / f"domains-{count}.txt"
    listing.write_text("\n".join(names) + "\n")
    output = workdir / f"out-{count}.jsonl"
    script = (
        "import resource, sys\n"
        "from mailcheck.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, "domain", "--from-file", str(listing), "--only", "mx,spf,dmarc",
         "--resolver", "127.0.0.153", "--concurrency", "100", "--allow-private", "--output", str(output)],
        capture_output=True, text=True, check=False, env=world.installed_env(),
    )  # fmt: skip
    elapsed = time.monotonic() - start
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    assert len(output.read_text().splitlines()) == count, done.stderr[-500:]
    return elapsed, peak_kb / 1024


def main(count: int) -> None:
    with world.dns_world(world.bench_zones(count)) as served_by:
        if served_by is None:
            print("skipped: no DNS server for the zone (binding 127.0.0.153:53 needs root)")
            return
        workdir = Path(tempfile.mkdtemp())
        small_time, small_peak = run_once(100, workdir)
        big_time, big_peak = run_once(count, workdir)
    print(f"zone served by {served_by}")
    print(f"100 domains:    {small_time:6.1f} s, peak {small_peak:6.1f} MB")
    print(f"{count} domains: {big_time:6.1f} s, peak {big_peak:6.1f} MB ({count / big_time:.0f} domains/s)")
    print(f"peak ratio {big_peak / small_peak:.2f}x for {count // 100}x the domains")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
