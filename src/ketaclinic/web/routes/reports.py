"""Reports as PDF for staff with the ``reports`` permission: a patient's progress report (with the
score trajectory plots) and the record of one supervised session. Each download is audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketaclinic.reports.progress_pdf import render_progress_pdf
from ketaclinic.reports.rems_pdf import render_session_record_pdf
from ketaclinic.services import progress, sessions
from ketaclinic.services.audit import record_event
from ketaclinic.services.patient_summary import list_patients
from ketaclinic.web.deps import (
    CurrentActor,
    CurrentContext,
    DbSession,
    Now,
    ensure_patient_access,
    require,
)
from ketaclinic.web.templating import NavItem, add_nav_item, render

router = APIRouter(prefix="/reports", tags=["reports"])

ReportsRead = Depends(require("reports:read"))

add_nav_item(
    NavItem("Reports", "/reports", "reports:read", "Progress reports and session records as PDF.")
)


def _pdf(content: bytes, filename: str) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    return Response(content, media_type="application/pdf", headers=headers)


@router.get("", response_class=HTMLResponse, dependencies=[ReportsRead])
def reports_page(
    request: Request, db: DbSession, actor: CurrentActor, now: Now, q: str = ""
) -> Response:
    """Patients (searchable by name or clinic number), each with their progress report."""
    patients = list_patients(db, search=q or None, limit=200)
    record_event(
        db, actor, "report.patient_list.read", "patient", None,
        detail={"search": q, "shown": len(patients)}, now=now,
    )  # fmt: skip
    return render(request, "reports.html", {"patients": patients, "q": q})


@router.get("/patients/{patient_id}/progress.pdf", dependencies=[ReportsRead])
def progress_report(patient_id: str, db: DbSession, ctx: CurrentContext) -> Response:
    ensure_patient_access(ctx.actor, patient_id)
    data = progress.progress(db, ctx, patient_id, purpose="report")
    pdf = render_progress_pdf(data, generated_at=ctx.now, clinic_tz=ctx.clinic_tz)
    return _pdf(pdf, f"progress-{data.mrn}.pdf")


@router.get("/sessions/{session_id}/record.pdf", dependencies=[ReportsRead])
def session_record(session_id: str, db: DbSession, ctx: CurrentContext) -> Response:
    details = sessions.session_details(db, session_id)
    ensure_patient_access(ctx.actor, details.patient_id)
    record = sessions.get_session(db, ctx, session_id)
    record_event(
        db, ctx.actor, "report.session_record.pdf", "session", session_id,
        patient_id=details.patient_id, now=ctx.now,
    )  # fmt: skip
    pdf = render_session_record_pdf(record, ctx.clinic_tz)
    return _pdf(pdf, f"session-{session_id[:8]}.pdf")
