"""The DNS side of the many-domain benchmarks: N test domains served on 127.0.0.153:53 (checkdmarc only asks
port 53, so this needs root), by Knot DNS when ``knotd`` is installed (``apt-get install knot``: a real
authoritative server in C, so the figures measure mailcheck, not a Python responder sharing the 2 cores),
else by the lab responder in its own process.

In the many-domain zone (``bench_zones``) each domain dN.bench.test has an MX host mx.dN.bench.test with an
address in 127.1/16 (no PTR: the reverse zone is empty, so PTR questions get NXDOMAIN), ``v=spf1 mx -all``
and a DMARC p=reject record.
"""

import multiprocessing
import multiprocessing.synchronize
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailcheck.lab.dns import DnsResponder
from tests.interop.env import knot_config

ADDRESS = "127.0.0.153"


Zones = dict[str, list[str]]  # zone origin -> records as "owner TYPE data" lines (absolute owner names)


def names(count: int) -> list[str]:
    return [f"d{i}.bench.test" for i in range(count)]


def bench_zones(count: int) -> Zones:
    records = []
    for i, name in enumerate(names(count)):
        records += [
            f"{name}. MX 10 mx.{name}.",
            f"mx.{name}. A 127.1.{i // 250}.{i % 250 + 1}",
            f'{name}. TXT "v=spf1 mx -all"',
            f'_dmarc.{name}. TXT "v=DMARC1; p=reject; rua=mailto:d@{name}"',
        ]
    return {"bench.test": records, "1.127.in-addr.arpa": []}


def serve_zone(
    zones: Zones, ready: "multiprocessing.synchronize.Event", stop: "multiprocessing.synchronize.Event"
) -> None:
    """Child process: the lab responder for the benchmark zones."""
    dns = DnsResponder(host=ADDRESS, port=53)
    for records in zones.values():
        for line in records:
            owner, rdtype, data = line.split(" ", 2)
            dns.zone.add(owner, rdtype, data)
    dns.start()
    ready.set()
    stop.wait(3600)
    dns.stop()


def knot_files(zones: Zones, base: Path) -> Path:
    (base / "zones").mkdir(parents=True)
    (base / "db").mkdir()
    for origin, records in zones.items():
        soa = f"@ SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300"
        text = [f"$ORIGIN {origin}.", "$TTL 300", soa, f"@ NS ns.{origin}.", f"ns.{origin}. A {ADDRESS}", *records]
        (base / "zones" / f"{origin}.zone").write_text("\n".join(text) + "\n")
    config = base / "knot.conf"
    config.write_text(knot_config(base, ADDRESS, list(zones)))
    return config


def _answers(timeout: float) -> bool:
    """Whether something on ADDRESS:53 answers a query for the zone's apex."""
    query = bytes.fromhex("abcd01000001000000000000") + b"\x00\x00\x06\x00\x01"  # SOA of the root
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.sendto(query, (ADDRESS, 53))
            return probe.recv(512)[:2] == b"\xab\xcd"  # any answer (Knot refuses the root: still up)
        except OSError:
            return False


@contextmanager
def dns_world(zones: Zones) -> Iterator[str | None]:
    """Serve ZONES on ADDRESS:53; yields what serves them ("Knot DNS" / "lab responder"), None if nothing could."""
    knotd = shutil.which("knotd") or ("/usr/sbin/knotd" if os.path.exists("/usr/sbin/knotd") else None)
    if knotd is not None:
        with tempfile.TemporaryDirectory() as workdir:
            config = knot_files(zones, Path(workdir))
            server = subprocess.Popen([knotd, "-c", str(config)], stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 30
                while server.poll() is None and time.monotonic() < deadline and not _answers(0.2):
                    time.sleep(0.1)
                if server.poll() is None and _answers(1.0):
                    yield "Knot DNS"
                    return
            finally:
                server.terminate()
                server.wait(10)
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.Process(target=serve_zone, args=(zones, ready, stop), daemon=True)
    child.start()
    try:
        yield "lab responder" if ready.wait(120) else None
    finally:
        stop.set()
        child.join(10)
        if child.is_alive():
            child.terminate()


def installed_env() -> dict[str, str]:
    """The environment of a mailcheck run as an installed package runs: with compiled bytecode (pip compiles
    it at install; an editable checkout under PYTHONDONTWRITEBYTECODE would recompile every module each run)."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
