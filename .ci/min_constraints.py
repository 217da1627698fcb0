"""Print a pip constraints file that pins every dependency of pyproject.toml to its declared lower bound.

    python3 .ci/min_constraints.py > min.txt && pip install -c min.txt -e '.[test]'

Runtime dependencies and the test extra's ranged tools (pytest, hypothesis, ...) go to their minimum, so CI
proves the lower bounds are honest; exact pins (ruff, mypy) stay as they are. Generated, never kept by hand.
"""

import re
import sys
import tomllib
from pathlib import Path

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)")


def lower_bound(requirement: str) -> str | None:
    """'name>=1.2,<2' -> 'name==1.2'; None where there is no lower bound to pin."""
    match = REQUIREMENT.match(requirement)
    if match is None:
        raise SystemExit(f"min_constraints: cannot read requirement {requirement!r}")
    name, specifiers = match.groups()
    for specifier in specifiers.split(","):
        specifier = specifier.strip()
        if specifier.startswith(">="):
            return f"{name}=={specifier[2:].strip()}"
        if specifier.startswith("=="):
            return f"{name}=={specifier[2:].strip()}"
    return None


def main(pyproject: Path) -> int:
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    unbounded = []
    for requirement in requirements:
        pinned = lower_bound(requirement)
        if pinned is None:
            unbounded.append(requirement)
        else:
            print(pinned)
    if unbounded:
        print(f"min_constraints: no lower bound declared for {', '.join(unbounded)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "pyproject.toml"))
