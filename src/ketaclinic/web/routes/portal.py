"""The patient portal, for a phone: questionnaires that are due, progress in plain words, upcoming
sessions, and crisis resources whenever a suicide item is answered positively.

Every route takes the patient from the signed-in account (``actor.patient_id``), never from the
address, so a patient can only ever reach their own record.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ketaclinic.clinical.outcomes import outcome_rules, remission_cutoff
from ketaclinic.clinical.questionnaires import Instrument, get_instrument
from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied
from ketaclinic.reports.score_plot import trajectory_image
from ketaclinic.services import measurement, progress, questionnaire_schedule
from ketaclinic.services.context import Actor
from ketaclinic.web.deps import CurrentActor, CurrentContext, DbSession, require
from ketaclinic.web.templating import NavItem, add_nav_item, in_zone, render

router = APIRouter(prefix="/portal", tags=["patient portal"])

OwnRead = Depends(require("own_record:read"))
OwnChange = Depends(require("own_record:change"))

add_nav_item(NavItem("My care", "/portal", "own_record:read", "Questionnaires, progress, visits."))


def patient_id_of(actor: Actor) -> str:
    if not actor.patient_id:
        raise PermissionDenied("This account is not linked to a patient record.")
    return actor.patient_id


def portal_instrument(db: Session, patient_id: str, instrument_id: str) -> Instrument:
    """Only the self-report forms this patient's schedule offers (never a clinician-rated scale):
    those for everyone and those their plan calls for (``services.questionnaire_schedule``)."""
    if instrument_id not in questionnaire_schedule.offered_instruments(db, patient_id):
        raise NotFound(f"No questionnaire {instrument_id!r} to fill here.", field="instrument")
    return get_instrument(instrument_id)


def plain_words(item: progress.InstrumentProgress, zone: tzinfo = UTC) -> list[str]:
    """What the numbers mean, without jargon, from the instrument's bands and outcome rules."""
    if not item.points:
        return []
    latest, first = item.points[-1], item.points[0]
    said = [
        f"Your latest {item.name} score is {latest.total:g} out of {item.max_total:g} "
        f"(lower is better), on {in_zone(latest.administered_at, zone, '%d %B %Y')}."
    ]
    band = get_instrument(item.instrument_id).bands
    label = next((b.label for b in band if b.id == latest.severity), None)
    if label:
        said.append(f"That score is in the range usually described as “{label.lower()}”.")
    if len(item.points) > 1:
        change = latest.total - first.total
        direction = "lower" if change < 0 else "higher" if change > 0 else "the same as"
        amount = f"{abs(change):g} points " if change else ""
        said.append(f"When you started it was {first.total:g}: now {amount}{direction}"
                    f"{' than' if change else ''} that.")  # fmt: skip
    try:
        rules = outcome_rules(item.instrument_id)
        # The cut-off the clinic judges by (its outcome choice), as on the clinician's chart.
        remission = (
            item.outcome.remission_rule if item.outcome else remission_cutoff(item.instrument_id)
        )
    except NotFound:
        return said
    if rules.response.type == "percent_reduction":
        said.append(
            f"Care teams look for the score to fall by half or more of where you started "
            f"(a {rules.response.value:g}% fall); this is called a response."
            if rules.response.value == 50
            else f"Care teams look for a fall of {rules.response.value:g}% from where you started."
        )
    said.append(
        f"A score {_op_words(str(remission.op))} {remission.value:g} usually means few or no "
        "symptoms left."
    )
    if item.outcome is not None and item.outcome.responded:
        said.append("Your scores have reached that fall at least once.")
    return said


def _op_words(op: str) -> str:
    return {"<": "below", "<=": "of", ">": "above", ">=": "of"}.get(op, op)


@router.get("", response_class=HTMLResponse, dependencies=[OwnRead])
def portal_home(request: Request, db: DbSession, ctx: CurrentContext) -> Response:
    patient_id = patient_id_of(ctx.actor)
    try:
        data = progress.progress(db, ctx, patient_id, purpose="portal")
    except NotFound:
        # An account whose record is not (yet) in this clinic's database: say so kindly.
        return render(request, "portal_home.html", {"data": None, "due": [], "plain": {}})
    due = questionnaire_schedule.due_questionnaires(db, ctx, patient_id)
    context = {
        "data": data, "due": due, "saved": request.query_params.get("saved"), "now": ctx.now,
        "plain": {i.instrument_id: plain_words(i, ctx.clinic_tz) for i in data.instruments},
    }  # fmt: skip
    return render(request, "portal_home.html", context)


@router.get("/help", response_class=HTMLResponse, dependencies=[OwnRead])
def portal_help(request: Request) -> Response:
    return render(
        request, "portal_help.html", {"resources": progress.portal_data().crisis_resources}
    )


def _questionnaire_page(
    request: Request,
    instrument: Instrument,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {"instrument": instrument, "values": values or {}, "errors": errors or {}}
    return render(request, "portal_questionnaire.html", context, status_code=status_code)


@router.get("/questionnaires/{instrument_id}", response_class=HTMLResponse, dependencies=[OwnRead])
def questionnaire(
    request: Request, instrument_id: str, db: DbSession, actor: CurrentActor
) -> Response:
    instrument = portal_instrument(db, patient_id_of(actor), instrument_id)
    return _questionnaire_page(request, instrument)


def _answers(instrument: Instrument, form: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    answers: dict[str, int] = {}
    errors: dict[str, str] = {}
    for item in instrument.items:
        raw = form.get(item.id, "")
        allowed = {str(o.value) for o in item.options} or {
            str(v) for v in range(item.min_value, item.max_value + 1)
        }
        if raw not in allowed:
            errors[item.id] = f"Question {item.number}: choose one answer."
        else:
            answers[item.id] = int(raw)
    return answers, errors


@router.post(
    "/questionnaires/{instrument_id}", response_class=HTMLResponse, dependencies=[OwnChange]
)
async def submit_questionnaire(
    request: Request, instrument_id: str, db: DbSession, ctx: CurrentContext
) -> Response:
    patient_id = patient_id_of(ctx.actor)
    instrument = portal_instrument(db, patient_id, instrument_id)
    data = await request.form()
    form = {key: value for key, value in data.items() if isinstance(value, str)}
    answers, errors = _answers(instrument, form)
    if errors:
        return _questionnaire_page(request, instrument, values=form, errors=errors, status_code=422)
    try:
        stored = measurement.record_questionnaire_response(
            db, ctx, patient_id, instrument_id, answers
        )
    except InvalidInput as exc:
        db.rollback()
        errors = {exc.field or "form": exc.message}
        return _questionnaire_page(request, instrument, values=form, errors=errors, status_code=422)
    if any("suicid" in alert.id for alert in stored.result.alerts):
        # Shown at once, on this response: the clinic's same-day task was created by the service.
        context: dict[str, Any] = {
            "resources": progress.portal_data().crisis_resources, "instrument": instrument,
            "after_answer": True,
        }  # fmt: skip
        return render(request, "portal_help.html", context)
    return RedirectResponse(f"/portal?saved={instrument_id}", status_code=303)


@router.get("/progress/{instrument_id}.svg", dependencies=[OwnRead])
def progress_chart(instrument_id: str, db: DbSession, ctx: CurrentContext) -> Response:
    """The patient's own chart for one questionnaire, labelled in plain words."""
    patient_id = patient_id_of(ctx.actor)
    data = progress.progress(db, ctx, patient_id, purpose="portal.chart")
    item = next((i for i in data.instruments if i.instrument_id == instrument_id), None)
    if item is None or not item.points:
        raise NotFound("No answers to this questionnaire yet.", field="instrument")
    svg = trajectory_image(
        f"Your {item.name} scores", [p.administered_at for p in item.points],
        [p.total for p in item.points], instrument_id=instrument_id, max_total=item.max_total,
        image_format="svg", plain_words=True, outcome=item.outcome,
    )  # fmt: skip
    return Response(svg, media_type="image/svg+xml")
