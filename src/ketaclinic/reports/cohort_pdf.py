"""The cohort report as PDF: the HTML report's summary, every one of its tables and its figures.

Built with reportlab like the other PDFs (``reports.pdf``): deterministic and uncompressed, on
landscape A4 so the widest table (subgroups) fits; tables repeat their header on every page.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ketaclinic import CLINICAL_DISCLAIMER
from ketaclinic.reports.cohort_tables import (
    VERDICT_RULE,
    CohortReport,
    primary_rule_text,
    report_tables,
)

# Table key -> (heading, [(column key, header, width in mm)]); the same columns as the HTML.
TABLES: tuple[tuple[str, str, tuple[tuple[str, str, float], ...]], ...] = (
    ("comparison", "Compared with published results", (
        ("label", "Published figure", 62), ("design", "Design", 28), ("citation", "Source", 62),
        ("published", "Published", 34), ("clinic", "This clinic (95% CI)", 44),
        ("verdict", "Verdict", 25),
    )),
    ("durability", "Durability (time from first response to relapse)", (
        ("group", "Group", 60), ("responders", "Responders", 22), ("relapses", "Relapses", 20),
        ("median", "Median", 50), ("day28", "Free of relapse at 28 days", 52),
        ("day56", "at 56 days", 52),
    )),
    ("adverse", "Adverse events by route, term and seriousness", (
        ("route", "Route", 24), ("term", "Term", 50), ("serious", "Seriousness", 28),
        ("events", "Events", 18), ("per_session", "Sessions with it (95% CI)", 62),
        ("per_patient", "Patients with it (95% CI)", 62),
    )),
    ("bp", "Blood-pressure alerts by protocol", (
        ("protocol", "Protocol", 70), ("sessions", "Sessions", 24),
        ("per_session", "Sessions with an alert", 70),
        ("per_patient", "Patients with an alert", 70),
    )),
    ("dropout", "Drop-out by protocol", (
        ("protocol", "Protocol", 70), ("courses", "Courses", 24),
        ("dropout", "Dropped out before the end of induction", 90),
    )),
    ("outcomes", "Response, remission and worsening by subgroup", (
        ("dimension", "Dimension", 22), ("value", "Group", 38), ("instrument", "Instrument", 36),
        ("timepoint", "Timepoint", 28), ("n", "n", 12), ("response", "Response", 42),
        ("remission", "Remission", 42), ("worsening", "Worsened", 42),
    )),
)  # fmt: skip
_EMPTY = {
    "comparison": "No published figure to compare with.",
    "durability": "No responder yet: no time to relapse to estimate.",
    "adverse": "No adverse event recorded.",
    "bp": "No session given yet.",
    "dropout": "No course yet.",
    "outcomes": "No scored course with a baseline and a later score yet.",
}
_FIGURE_DPI = 150


def _figure(figure: Figure, max_width_mm: float, max_height_mm: float) -> Image:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_FIGURE_DPI)
    buffer.seek(0)
    width_in, height_in = figure.get_size_inches()
    scale = min(max_width_mm / (width_in * 25.4), max_height_mm / (height_in * 25.4), 1.0)
    return Image(buffer, width=width_in * 25.4 * scale * mm, height=height_in * 25.4 * scale * mm)


def write_pdf(
    report: CohortReport,
    figures: list[tuple[str, Figure]],
    target: Path | IO[bytes],
    title: str,
) -> None:
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=7, leading=8.5)
    head = styles["BodyText"].clone("head", fontSize=7, leading=8.5, fontName="Helvetica-Bold")
    page_width, page_height = landscape(A4)
    margin = 12 * mm
    doc = SimpleDocTemplate(
        str(target) if isinstance(target, Path) else target,
        pagesize=landscape(A4),
        title=title,
        author="ketaclinic",
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        invariant=1,
        pageCompression=0,
    )
    results = report.results
    story: list[object] = [
        Paragraph(escape(title), styles["Title"]),
        Paragraph(
            escape(
                f"{results.patients} patients, {results.courses} courses · engine: {results.engine}"
            ),
            styles["BodyText"],
        ),
    ]
    notes = [CLINICAL_DISCLAIMER, report.dataset_note, *results.notes, VERDICT_RULE]
    notes.append(primary_rule_text())
    story += [Paragraph(escape(note), styles["Italic"]) for note in notes if note]
    tables = report_tables(report)
    for key, heading, columns in TABLES:
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph(escape(heading), styles["Heading3"]))
        header = [Paragraph(escape(label), head) for _, label, _ in columns]
        rows = [
            [Paragraph(escape(row[name]), cell) for name, _, _ in columns] for row in tables[key]
        ]
        if not rows:
            story.append(Paragraph(escape(_EMPTY[key]), styles["BodyText"]))
            continue
        table = Table([header, *rows], colWidths=[w * mm for _, _, w in columns], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ]
            )
        )
        story.append(table)
    usable_width = (page_width - 2 * margin) / mm
    usable_height = (page_height - 2 * margin) / mm - 20
    for heading, figure in figures:
        story += [
            PageBreak(),
            Paragraph(escape(heading), styles["Heading3"]),
            _figure(figure, usable_width, usable_height),
        ]
    doc.build(story)
