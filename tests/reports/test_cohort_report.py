"""The cohort report: the PDF holds every table of the HTML, cell for cell; the HTML is
self-contained; small and empty datasets give a report, not an error."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from analytics.cohort_fixtures import synthetic_dataset, write_dataset
from ketaclinic.reports.cohort import (
    CohortReport,
    build_report,
    cohort_report_html,
    cohort_report_pdf,
)
from ketaclinic.reports.cohort_tables import report_tables


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages of an uncompressed PDF, one space between drawn strings."""
    pieces = re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", pdf)

    def unescape(raw: bytes) -> str:
        raw = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), raw)
        return re.sub(rb"\\(.)", rb"\1", raw).decode("cp1252")

    return " ".join(unescape(piece) for piece in pieces)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _letters(text: str) -> str:
    # reportlab draws a wrapped cell line by line and may split a line at markup-like
    # characters ("(<5)"), so the PDF is compared without any whitespace.
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> CohortReport:
    folder = synthetic_dataset(tmp_path_factory.mktemp("network"), patients=400, seed=5)
    return build_report(folder)


def test_the_pdf_holds_every_table_cell_of_the_html(report: CohortReport, tmp_path: Path) -> None:
    cohort_report_pdf(report, tmp_path / "r.pdf", "Cohort outcomes report")
    pdf = _letters(pdf_text((tmp_path / "r.pdf").read_bytes()))
    page = _squash(html.unescape(cohort_report_html(report)))
    tables = report_tables(report)
    assert all(tables[name] for name in ("comparison", "durability", "adverse", "outcomes"))
    for name, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                cell = _squash(value)
                assert cell in page, (name, column, cell)
                assert _letters(cell) in pdf, (name, column, cell)


def test_an_empty_dataset_gives_a_report_that_says_so(tmp_path: Path) -> None:
    empty = build_report(write_dataset(tmp_path / "empty", {}))
    page = cohort_report_html(empty)
    assert "No adverse event recorded." in page
    assert "No responder yet" in page
    cohort_report_pdf(empty, tmp_path / "empty.pdf", "Empty")
    text = pdf_text((tmp_path / "empty.pdf").read_bytes())
    assert "No adverse event recorded." in text
    assert "0 patients, 0 courses" in text
