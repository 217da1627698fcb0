"""JUnit XML: each check a testcase; fail becomes <failure>, error becomes <error>, warn stays a pass."""

import xml.etree.ElementTree as ET
from typing import TextIO

from mailcheck.model import Report, Status
from mailcheck.textsafe import printable


def render_junit(report: Report, out: TextIO) -> None:
    counts = report.counts()
    suite = ET.Element(
        "testsuite",
        name=printable(f"mailcheck {report.command} {report.target}"),
        tests=str(len(report.checks)),
        failures=str(counts[Status.FAIL]),
        errors=str(counts[Status.ERROR]),
        time=f"{report.duration_ms / 1000:.3f}",
    )
    for check in report.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"mailcheck.{check.stage.value}",
            name=printable(f"{check.id} {check.target}"),
            time=f"{(check.duration_ms or 0) / 1000:.3f}",
        )
        message = printable(check.summary)
        if check.status is Status.FAIL:
            ET.SubElement(case, "failure", message=message, type=check.error.kind if check.error else "fail")
        elif check.status is Status.ERROR:
            ET.SubElement(case, "error", message=message, type=check.error.kind if check.error else "error")
        else:
            ET.SubElement(case, "system-out").text = f"{check.status.value}: {message}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    out.write(ET.tostring(suites, encoding="unicode", xml_declaration=True))
    out.write("\n")
