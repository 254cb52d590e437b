"""Reports: the progress report PDF (tables, course outcome by the instrument's own rules, the
trajectory plot) and the session record PDF, for staff with permission only, each audited."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from session_pages import STAFF, make_patient, schedule
from sqlalchemy import select
from web_support import PATIENT_ID, Clock

from ketaclinic.clinical.outcomes import outcome_rules, remission_cutoff
from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.reports.progress_pdf import sections
from ketaclinic.services import measurement, progress
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.access import AuditEvent

# PHQ-9 answers (nine items, 0-3) whose totals are 18 then 8: a 10-point (56%) fall.
WEEK_0 = {f"q{i}": v for i, v in enumerate([2, 2, 2, 2, 2, 2, 2, 2, 2], start=1)}
WEEK_4 = {f"q{i}": v for i, v in enumerate([1, 1, 1, 1, 1, 1, 1, 1, 0], start=1)}


def _scores(factory: SessionFactory, clock: Clock) -> None:
    with factory() as db:
        for weeks_ago, answers in ((4, WEEK_0), (0, WEEK_4)):
            when = clock.now - timedelta(weeks=weeks_ago)
            ctx = RequestContext(STAFF, clock.now)
            measurement.record_questionnaire_response(
                db, ctx, PATIENT_ID, "phq9", answers, administered_at=when
            )
        db.commit()


def test_progress_report_judges_the_course_by_the_phq9_rules_and_draws_the_plot(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    _scores(session_factory, clock)
    response = signed_in["prescriber"].get(f"/reports/patients/{PATIENT_ID}/progress.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert b"/Subtype /Image" in response.content  # the trajectory plot
    with session_factory() as db:
        data = progress.progress(db, RequestContext(STAFF, clock.now), PATIENT_ID, purpose="test")
    rows = dict(next(s for s in sections(data) if s.heading == "PHQ-9: course outcome").rows)
    # By hand: 18 -> 8 is a fall of 10 points, 10/18 = 56%; >= 50% is a response under the
    # data file's rule; 8 is not below the remission cut-off.
    assert outcome_rules("phq9").response.value == 50
    assert rows["Baseline total"].startswith("18")
    assert rows["Latest total"].startswith("8")
    assert rows["Change"] == "-10 points (-56%)"
    assert rows["Response rule"].endswith("met (first on day 28)")
    cutoff = remission_cutoff("phq9")
    assert (
        rows["Remission rule"] == f"total {cutoff.op} {cutoff.value:g}: not met at the latest score"
    )


def test_session_record_pdf_and_who_may_download(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    pid = make_patient(session_factory, clock)
    sid = schedule(session_factory, clock, pid, ProtocolKind.IV_RACEMIC)
    nurse = signed_in["nurse"]
    pdf = nurse.get(f"/reports/sessions/{sid}/record.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    for role in ("patient", "researcher", "administrator"):
        assert signed_in[role].get(f"/reports/sessions/{sid}/record.pdf").status_code == 403
        assert signed_in[role].get(f"/reports/patients/{pid}/progress.pdf").status_code == 403
    listing = signed_in["prescriber"].get("/reports?q=hale")
    assert f"/reports/patients/{pid}/progress.pdf" in listing.text
    with session_factory() as db:
        actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.patient_id == pid)))
    assert "report.session_record.pdf" in actions
