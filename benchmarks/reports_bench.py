"""Benchmark: a year of DMARC aggregate reports (10,000 files by default, a mix of plain, gzipped and zipped, a
few records each) read by ``mailcheck reports --no-dns`` next to Python's own XML parser reading the same files
(the baseline: xml.etree.ElementTree on each decompressed document). Prints reports per second, the ratio to the
baseline and the peak resident memory of a child process running the real command. Aim: at least 1,000
reports/s, at most 200 MB. Run: ``python -m benchmarks.reports_bench [REPORTS]``.
"""

import gzip
import io
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

from mailcheck.checks.sender_auth.reports import ReportsOptions, read


def report(index: int) -> bytes:
    records = "".join(
        f"<record><row><source_ip>192.0.2.{(index + n) % 250 + 1}</source_ip><count>{n + 1}</count>"
        "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>"
        "</row><identifiers><header_from>example.com</header_from><envelope_from>example.com</envelope_from>"
        "</identifiers><auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result>"
        "</dkim><spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results>"
        "</record>"
        for n in range(5)
    )
    return (
        f'<?xml version="1.0"?><feedback><report_metadata><org_name>receiver{index % 7}.example</org_name>'
        f"<email>d@r.example</email><report_id>{index}</report_id><date_range><begin>{1760000000 + index * 3153}"
        f"</begin><end>{1760086400 + index * 3153}</end></date_range></report_metadata><policy_published>"
        f"<domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>"
        f"</policy_published>{records}</feedback>"
    ).encode()


def write(folder: Path, count: int) -> None:
    for index in range(count):
        data = report(index)
        if index % 3 == 0:
            (folder / f"{index}.xml").write_bytes(data)
        elif index % 3 == 1:
            (folder / f"{index}.xml.gz").write_bytes(gzip.compress(data))
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(f"{index}.xml", data)
            (folder / f"{index}.zip").write_bytes(buffer.getvalue())


def baseline(folder: Path) -> int:
    parsed = 0
    for path in sorted(folder.iterdir()):
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        elif path.suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                raw = archive.read(archive.namelist()[0])
        ElementTree.fromstring(raw)
        parsed += 1
    return parsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write(folder, count)
        start = time.perf_counter()
        baseline(folder)
        base = time.perf_counter() - start
        start = time.perf_counter()
        obs = read(ReportsOptions((str(folder),), dns=False))
        ours = time.perf_counter() - start
        assert obs.aggregate_count == count, obs.aggregate_count
        child = subprocess.run(
            [sys.executable, "-m", "mailcheck", "reports", str(folder), "--no-dns", "--json"],
            capture_output=True, check=False, timeout=600,
        )  # fmt: skip
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{count} reports: mailcheck reports {ours:.2f} s ({count / ours:.0f} reports/s), "
          f"ElementTree alone {base:.2f} s ({count / base:.0f}/s)")  # fmt: skip
    print(f"ratio {ours / base:.2f}x; the command's peak memory {peak:.0f} MB (exit {child.returncode})")


if __name__ == "__main__":
    main()
