"""The patient progress report (PDF): identity, course outcome per instrument with the response
and remission rules and their sources, the score trajectory plot, the scores and the sessions.

A report without scores is plain ``reports.pdf.render_document``; with scores, the same tables
and reportlab settings plus an image per trajectory plot (``render_document`` has no images).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
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
from ketaclinic.clinical.outcomes import outcome_rules
from ketaclinic.errors import NotFound
from ketaclinic.reports.pdf import Section, render_document
from ketaclinic.reports.pdf import show as show_value
from ketaclinic.reports.score_plot import trajectory_image
from ketaclinic.services.progress import InstrumentProgress, Progress


def _outcome_rows(item: InstrumentProgress) -> list[tuple[str, str]]:
    outcome = item.outcome
    rows: list[tuple[str, str]] = [("Scores recorded", str(len(item.points)))]
    if outcome is None or outcome.baseline is None or outcome.latest is None:
        rows.append(("Course outcome", "Not assessable (no baseline or no outcome rules)."))
        return rows
    rules = outcome_rules(item.instrument_id)
    remission = outcome.remission_rule  # the clinic's choice the outcome was judged by
    unit = "%" if rules.response.type == "percent_reduction" else " points"
    rows += [
        ("Baseline total", f"{outcome.baseline.total:g} (day {outcome.baseline.day:g})"),
        ("Latest total", f"{outcome.latest.total:g} (day {outcome.latest.day:g})"),
        ("Change", f"{show_value(outcome.absolute_change)} points"
         + (f" ({outcome.percent_change:.0f}%)" if outcome.percent_change is not None else "")),
        ("Response rule", f"reduction of at least {rules.response.value:g}{unit}: "
         + ("met" if outcome.responded else "not met")
         + (f" (first on day {outcome.day_of_first_response:g})"
            if outcome.day_of_first_response is not None else "")),
        ("Remission rule", f"total {remission.op} {remission.value:g}: "
         + ("met at the latest score" if outcome.remitted else "not met at the latest score")),
        ("Relapse", "yes" if outcome.relapsed else "no"),
        ("Worsening", "yes" if outcome.worsened else "no"),
        ("Sources", f"{rules.source.short()}; remission: {remission.source.short()}"),
    ]  # fmt: skip
    return rows


def sections(report: Progress, clinic_tz: tzinfo = UTC) -> list[Section]:
    """The report's tables (also what the tests read); times in the clinic's zone."""

    def show(value: object) -> str:
        return show_value(value, clinic_tz)

    found = [
        Section("Patient", [
            ("Name", report.patient_name), ("Clinic number (MRN)", report.mrn),
            ("Date of birth", show(report.date_of_birth)),
            ("First treatment", show(report.first_treatment_at) if report.first_treatment_at
             else "No dose given yet"),
        ]),
    ]  # fmt: skip
    for item in report.instruments:
        found.append(Section(f"{item.name}: course outcome", _outcome_rows(item)))
        found.append(
            Section(
                f"{item.name}: scores",
                [(show(p.administered_at), f"{p.total:g} ({p.severity or 'no band'})")
                 for p in item.points],
            )
        )  # fmt: skip
    given = [s for s in report.sessions if s.dose_mg is not None]
    found.append(
        Section(
            "Supervised sessions",
            [(show(s.when), f"{s.protocol_kind}, {s.state}, {show(s.dose_mg)} mg") for s in given]
            or [("Sessions", "None given yet")],
        )
    )
    return found


def render_progress_pdf(
    report: Progress, *, generated_at: datetime, clinic_tz: tzinfo = UTC
) -> bytes:
    """One document: the tables (styled as ``render_document``'s), then a plot per instrument.
    Times print in the clinic's zone (``clinic_tz``)."""
    plotted = [item for item in report.instruments if item.points]
    title = f"Progress report: {report.patient_name}"
    subtitle = f"Generated {show_value(generated_at, clinic_tz)} by ketaclinic"
    if not plotted:
        return render_document(title, sections(report, clinic_tz), subtitle=subtitle)
    styles = getSampleStyleSheet()
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, title=title, author="ketaclinic", invariant=1, pageCompression=0,
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
    )  # fmt: skip
    story: list[object] = [
        Paragraph(escape(title), styles["Title"]),
        Paragraph(escape(subtitle), styles["Italic"]),
    ]
    for section in sections(report, clinic_tz):
        story += [Spacer(1, 4 * mm), Paragraph(escape(section.heading), styles["Heading3"])]
        story.append(_table(section, styles))
    story.append(PageBreak())
    story.append(Paragraph("Score trajectories", styles["Heading2"]))
    for item in plotted:
        png = trajectory_image(
            item.name, [p.administered_at for p in item.points],
            [p.total for p in item.points], instrument_id=item.instrument_id,
            max_total=item.max_total, outcome=item.outcome,
        )  # fmt: skip
        story += [
            Image(BytesIO(png), width=170 * mm, height=82 * mm),
            Paragraph(escape(_plot_note(item.instrument_id)), styles["BodyText"]),
            Spacer(1, 4 * mm),
        ]
    story.append(Paragraph(escape(CLINICAL_DISCLAIMER), styles["Italic"]))
    doc.build(story)
    return buffer.getvalue()


def _plot_note(instrument_id: str) -> str:
    try:
        outcome_rules(instrument_id)
    except NotFound:
        return "No outcome rules for this instrument; scores only."
    return "Dashed line: response threshold from the baseline; dotted line: remission cut-off."


def _table(section: Section, styles: StyleSheet1) -> Table:
    data = [
        [Paragraph(escape(label), styles["BodyText"]), Paragraph(escape(value), styles["BodyText"])]
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
    return table
