"""A small shared PDF helper: a titled document of sections, each a table of label / value rows.

Output is deterministic (reportlab ``invariant``: no creation time or random id) and uncompressed,
so the same input always gives the same bytes and the text can be checked without a PDF library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ketaclinic import CLINICAL_DISCLAIMER

Row = tuple[str, str]


@dataclass(frozen=True)
class Section:
    heading: str
    rows: Sequence[Row] = ()
    paragraphs: Sequence[str] = field(default_factory=tuple)


def show(value: object, zone: tzinfo | None = None) -> str:
    """How a field value prints on a form: yes/no, ISO dates, blank for missing. A time prints
    in the clinic's zone when given ("2026-03-02 19:30 PST"), else as ISO 8601 with its offset."""
    if value is None:
        return "(missing)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        if zone is not None:
            return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render_document(
    title: str,
    sections: Sequence[Section],
    *,
    subtitle: str | None = None,
    footer: str | None = None,
) -> bytes:
    styles = getSampleStyleSheet()
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="ketaclinic",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        invariant=1,
        pageCompression=0,
    )
    story: list[object] = [Paragraph(escape(title), styles["Title"])]
    if subtitle:
        story.append(Paragraph(escape(subtitle), styles["Italic"]))
    for section in sections:
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph(escape(section.heading), styles["Heading3"]))
        for text in section.paragraphs:
            story.append(Paragraph(escape(text), styles["BodyText"]))
        if section.rows:
            data = [
                [
                    Paragraph(escape(label), styles["BodyText"]),
                    Paragraph(escape(value), styles["BodyText"]),
                ]
                for label, value in section.rows
            ]
            table = Table(data, colWidths=[70 * mm, 100 * mm])
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                    ]
                )
            )
            story.append(table)
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph(escape(footer or CLINICAL_DISCLAIMER), styles["Italic"]))
    doc.build(story)
    return buffer.getvalue()
