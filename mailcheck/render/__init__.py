"""Renderers: turn a Report into text. They know no check by name."""

from typing import TextIO

from mailcheck.model import Report

FORMATS = ("report", "table", "json", "junit")


def render(report: Report, fmt: str, out: TextIO, show_all: bool = False) -> None:
    """Write ``report`` to ``out`` in ``fmt`` (one of :data:`FORMATS`); ``show_all`` details every check in
    the report view."""
    if fmt == "json":
        from mailcheck.render.json import render_json

        render_json(report, out)
    elif fmt == "junit":
        from mailcheck.render.junit import render_junit

        render_junit(report, out)
    elif fmt == "table":
        from mailcheck.render.table import render_table

        render_table(report, out)
    else:
        from mailcheck.render.report import render_report

        render_report(report, out, show_all)
