"""The patient chart: summary, timeline, score trajectories, vitals, the plan's curve, safety.

Staff with ``patient_record:read`` only (a patient uses the portal; a researcher is refused any
identified chart, and the refusal is audited by the app's error handler).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketaclinic.clinical.record import condition_definition
from ketaclinic.errors import NotFound
from ketaclinic.services.chart import (
    FLOWSHEET_KINDS,
    FLOWSHEET_ROWS,
    ChartView,
    patient_chart,
    score_course,
    vitals_for_plot,
)
from ketaclinic.storage.tables.access import User
from ketaclinic.web import plots
from ketaclinic.web.deps import CurrentActor, DbSession, Now, ensure_patient_access, require
from ketaclinic.web.routes._clinic_forms import context
from ketaclinic.web.templating import render

router = APIRouter(tags=["chart"])
ChartReader = Annotated[User, Depends(require("patient_record:read"))]

VITAL_LABELS = {
    "systolic_mmhg": "Systolic (mmHg)",
    "diastolic_mmhg": "Diastolic (mmHg)",
    "heart_rate_bpm": "Heart rate (/min)",
    "spo2_percent": "SpO2 (%)",
    "respiratory_rate_per_min": "Resp. rate (/min)",
    "temperature_c": "Temp. (°C)",
}


@dataclass(frozen=True)
class ScorePanel:
    instrument: str
    image: str
    lines: plots.ScoreLines
    description: str


def _score_panels(view: ChartView) -> list[ScorePanel]:
    panels: list[ScorePanel] = []
    for instrument, points in view.trajectories.items():
        if not points:
            continue
        outcome = view.outcomes.get(instrument)
        lines = plots.score_lines(instrument, outcome)
        image = f"/patients/{view.summary.patient_id}/chart/scores/{instrument}.png"
        latest = points[-1]
        words = [
            f"{len(points)} scores from {points[0].administered_at.date()} to "
            f"{latest.administered_at.date()}; latest {latest.total:g}"
        ]
        if lines.baseline is not None:
            words.append(f"baseline {lines.baseline:g}")
        if outcome is not None and outcome.baseline is not None:
            words.append("response reached" if outcome.responded else "no response yet")
            words.append("in remission" if outcome.remitted else "not in remission")
        panels.append(ScorePanel(instrument, image, lines, ", ".join(words) + "."))
    return panels


def _indications(view: ChartView) -> list[str]:
    shown: list[str] = []
    for diagnosis in view.summary.diagnoses:
        definition = condition_definition(diagnosis.condition)
        if definition.category.value == "indication" and diagnosis.status.value != "ruled-out":
            shown.append(f"{definition.display} ({diagnosis.status.value})")
    return shown


@router.get("/patients/{patient_id}/chart", response_class=HTMLResponse)
def chart_page(
    request: Request,
    patient_id: str,
    user: ChartReader,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
) -> Response:
    ensure_patient_access(actor, patient_id)
    view = patient_chart(db, context(actor, now), patient_id)
    # The curve's numbers are on the plan page; the chart names the model and links the image,
    # so the chart does not wait for the prediction.
    curve_model = plots.plan_model(view.current_plan) if view.current_plan else None
    return render(
        request,
        "chart.html",
        {
            "view": view,
            "summary": view.summary,
            "indications": _indications(view),
            "score_panels": _score_panels(view),
            "vitals_image": f"/patients/{patient_id}/chart/vitals.png" if view.vitals else None,
            "flowsheet": list(reversed(view.vitals[-FLOWSHEET_ROWS:])),
            "vital_kinds": [(k.value, VITAL_LABELS[k.value]) for k in FLOWSHEET_KINDS],
            "curve_model": curve_model,
        },
    )


def _png(image: bytes) -> Response:
    return Response(image, media_type="image/png")


@router.get("/patients/{patient_id}/chart/scores/{instrument_id}.png")
def score_plot(
    patient_id: str,
    instrument_id: str,
    user: ChartReader,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
) -> Response:
    """One instrument's trajectory with its baseline, response and remission lines."""
    ensure_patient_access(actor, patient_id)
    course = score_course(db, context(actor, now), patient_id, instrument_id)
    if not course.points:
        raise NotFound(f"No {instrument_id} scores for this patient.", field="instrument_id")
    lines = plots.score_lines(instrument_id, course.outcome)
    return _png(
        plots.score_trajectory_png(
            instrument_id, course.points, lines, course_start=course.course_start
        )
    )


@router.get("/patients/{patient_id}/chart/vitals.png")
def vitals_plot(
    patient_id: str, user: ChartReader, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    """Blood pressure, heart rate and SpO2 over time."""
    ensure_patient_access(actor, patient_id)
    image = plots.vitals_trend_png(vitals_for_plot(db, context(actor, now), patient_id))
    if image is None:
        raise NotFound("No vital signs are recorded for this patient.", field="patient_id")
    return _png(image)
