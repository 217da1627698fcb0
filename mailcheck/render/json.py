"""The contract's JSON document (``schema: 1``): exactly one document on stdout."""

import json
from typing import TextIO

from mailcheck.model import Report


def render_json(report: Report, out: TextIO) -> None:
    json.dump(report.to_dict(), out, indent=2, ensure_ascii=False)
    out.write("\n")
