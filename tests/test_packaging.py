"""The distribution builds (sdist and wheel) with everything the command needs, and `python -m mailcheck` runs."""

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_python_dash_m_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "mailcheck", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("mailcheck, version ")


def test_sdist_and_wheel_build(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    wheel = next(tmp_path.glob("mailcheck_cli-*.whl"))
    sdist = next(tmp_path.glob("mailcheck_cli-*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    for module in (
        "mailcheck/cli.py",
        "mailcheck/lab/world.py",
        "mailcheck/checks/domain.py",
        "mailcheck/headers/received.py",
    ):
        assert module in names, module
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mailcheck = mailcheck.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert any(m.endswith("README.md") for m in members)
