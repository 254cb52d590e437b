"""Safety follow-up on a patient's chart: complete a task and resolve a flag with a note, record
an adverse event (curated term, seriousness criteria, relatedness, action, outcome), a bladder
screen and a misuse signal; and Today's panel of open tasks due.

Every form posts to its own address; a refused entry re-renders the follow-up page with the
message beside the field and what was typed kept. The clinical core decides what an entry means
(a serious event's review and reporting tasks, a worse bladder screen's referral); the page says
what it created. The JSON API twins are in ``safety_api``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketaclinic.clinical.safety.adverse_events import (
    ActionTaken,
    Outcome,
    Relatedness,
    Severity,
    preferred_terms,
    seriousness_criteria,
)
from ketaclinic.clinical.safety.surveillance import bladder_symptoms, misuse_signal_kinds
from ketaclinic.errors import InvalidInput
from ketaclinic.services import patients, safety, safety_tasks
from ketaclinic.services.context import RequestContext
from ketaclinic.web.deps import CurrentContext, DbSession, ensure_patient_access, require
from ketaclinic.web.routes._clinic_forms import field_errors
from ketaclinic.web.templating import NavItem, add_nav_item, render

router = APIRouter(tags=["safety follow-up"])

RecordRead = Depends(require("patient_record:read"))
RecordChange = Depends(require("patient_record:change"))

add_nav_item(
    NavItem(
        "Tasks",
        "/tasks",
        "patient_record:read",
        "Safety tasks due today across patients: risk assessments, reviews, referrals.",
    )
)
SAVED = {
    "task": "Task completed.",
    "flag": "Flag resolved.",
    "adverse-event": "Adverse event recorded.",
    "bladder-screen": "Bladder screen recorded.",
    "misuse-signal": "Misuse signal recorded.",
}
# The adverse-event fields, in the order the form asks them (a message naming one goes beside it).
AE_FIELDS = (
    "verbatim_term", "term_id", "session_id", "onset_at", "resolved_at", "severity",
    "seriousness", "relatedness", "action_taken", "outcome",
)  # fmt: skip


def _words(value: str) -> str:
    return value.replace("-", " ").capitalize()


def form_choices() -> dict[str, list[tuple[str, str]]]:
    """Every choice the forms offer, from the curated data and the core's vocabularies."""
    return {
        "terms": [(t.id, t.label) for t in preferred_terms().values()],
        "criteria": [(c.id, c.label) for c in seriousness_criteria().values()],
        "severities": [(s.value, _words(s.value)) for s in Severity],
        "relatedness": [(r.value, _words(r.value)) for r in Relatedness],
        "actions": [(a.value, _words(a.value)) for a in ActionTaken],
        "outcomes": [(o.value, _words(o.value)) for o in Outcome],
        "symptoms": [(s.id, s.label) for s in bladder_symptoms().values()],
        "misuse_kinds": [(k.id, k.label) for k in misuse_signal_kinds().values()],
    }


def parse_moment(text: str, field: str, label: str, zone: tzinfo) -> datetime | None:
    """A ``YYYY-MM-DDTHH:MM`` form value in the clinic's time zone, or None when empty."""
    value = text.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{label}: write the date and time as YYYY-MM-DD HH:MM, not '{value}'.", field=field
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def safety_page(
    request: Request,
    db: DbSession,
    ctx: RequestContext,
    patient_id: str,
    *,
    section: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ensure_patient_access(ctx.actor, patient_id)
    summary = patients.get_patient_summary(db, ctx, patient_id)
    record = safety_tasks.safety_record(db, ctx, patient_id)
    now_text = ctx.now.astimezone(ctx.clinic_tz).strftime("%Y-%m-%dT%H:%M")
    return render(
        request,
        "patient_safety.html",
        {
            "summary": summary, "pid": patient_id, "record": record, "section": section,
            "values": values or {"onset_at": now_text}, "errors": errors or {},
            "saved": SAVED.get(request.query_params.get("saved", "")),
            "choices": form_choices(), "role": ctx.actor.role, "may_act": safety_tasks.may_act,
            "now": ctx.now,
        },
        status_code=status_code,
    )  # fmt: skip


def _done(patient_id: str, what: str, return_to: str) -> Response:
    if return_to == "chart":
        return RedirectResponse(f"/patients/{patient_id}/chart#h-tasks", status_code=303)
    return RedirectResponse(f"/patients/{patient_id}/safety?saved={what}#{what}", status_code=303)


def _refused(
    request: Request,
    db: DbSession,
    ctx: RequestContext,
    patient_id: str,
    section: str,
    values: dict[str, Any],
    exc: InvalidInput,
    default_field: str,
) -> Response:
    db.rollback()
    errors = field_errors(exc, default_field)
    if exc.field == "adverse_event":  # the core's validation names the field in its words
        mentioned = [(exc.message.find(f), f) for f in AE_FIELDS if f in exc.message]
        named = min(mentioned)[1] if mentioned else default_field
        errors = {named: exc.message.removeprefix("Adverse event not recorded: ")}
    return safety_page(
        request, db, ctx, patient_id, section=section, values=values, errors=errors,
        status_code=422,
    )  # fmt: skip


@router.get("/patients/{patient_id}/safety", response_class=HTMLResponse, dependencies=[RecordRead])
def follow_up_page(
    request: Request, patient_id: str, db: DbSession, ctx: CurrentContext
) -> Response:
    return safety_page(request, db, ctx, patient_id)


async def _form(request: Request) -> dict[str, Any]:
    """The posted form; repeated names (ticked criteria or symptoms) as lists."""
    form = await request.form()
    values: dict[str, Any] = {}
    for key in form:
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        values[key] = items if key in ("seriousness", "symptoms") else (items[0] if items else "")
    return values


Form = Annotated[dict[str, Any], Depends(_form)]


@router.post(
    "/patients/{patient_id}/safety/tasks/{task_id}/complete",
    response_class=HTMLResponse,
    dependencies=[RecordChange],
)
def complete_task(
    request: Request, patient_id: str, task_id: str, db: DbSession, ctx: CurrentContext, form: Form
) -> Response:
    ensure_patient_access(ctx.actor, patient_id)
    if safety_tasks.task_patient(db, task_id) != patient_id:
        raise InvalidInput("This task belongs to another patient.", field="task_id")
    try:
        safety_tasks.complete_task(db, ctx, task_id, note=form.get("note", ""))
    except InvalidInput as exc:
        exc.field = f"note_{task_id}"
        return _refused(request, db, ctx, patient_id, "task", form, exc, f"note_{task_id}")
    return _done(patient_id, "task", form.get("return_to", ""))


@router.post(
    "/patients/{patient_id}/safety/flags/{flag_id}/resolve",
    response_class=HTMLResponse,
    dependencies=[RecordChange],
)
def resolve_flag(
    request: Request, patient_id: str, flag_id: str, db: DbSession, ctx: CurrentContext, form: Form
) -> Response:
    ensure_patient_access(ctx.actor, patient_id)
    if safety_tasks.flag_patient(db, flag_id) != patient_id:
        raise InvalidInput("This flag belongs to another patient.", field="flag_id")
    try:
        safety_tasks.resolve_flag(db, ctx, flag_id, note=form.get("note", ""))
    except InvalidInput as exc:
        exc.field = f"note_{flag_id}"
        return _refused(request, db, ctx, patient_id, "flag", form, exc, f"note_{flag_id}")
    return _done(patient_id, "flag", form.get("return_to", ""))


def adverse_event_data(patient_id: str, form: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """The core's adverse-event input from the form (required choices named if missing)."""
    for name, words in (
        ("verbatim_term", "Describe the event in the patient's or your words."),
        ("term_id", "Choose the preferred term (or 'other')."),
        ("severity", "Choose the severity."),
        ("relatedness", "Choose how likely the treatment caused it."),
        ("action_taken", "Choose what was done with the treatment."),
        ("outcome", "Choose the outcome so far."),
    ):
        if not str(form.get(name, "")).strip():
            raise InvalidInput(words, field=name)
    onset = parse_moment(str(form.get("onset_at", "")), "onset_at", "Onset", zone)
    resolved = parse_moment(str(form.get("resolved_at", "")), "resolved_at", "Resolved", zone)
    if onset is None:
        raise InvalidInput("Enter when it started.", field="onset_at")
    return {
        "patient_id": patient_id, "session_id": form.get("session_id") or None,
        "verbatim_term": str(form["verbatim_term"]).strip(), "term_id": form["term_id"],
        "onset_at": onset,
        "resolved_at": resolved,
        "severity": form["severity"], "seriousness": list(form.get("seriousness") or []),
        "relatedness": form["relatedness"], "action_taken": form["action_taken"],
        "outcome": form["outcome"],
    }  # fmt: skip


@router.post(
    "/patients/{patient_id}/safety/adverse-events",
    response_class=HTMLResponse,
    dependencies=[RecordChange],
)
def record_adverse_event(
    request: Request, patient_id: str, db: DbSession, ctx: CurrentContext, form: Form
) -> Response:
    ensure_patient_access(ctx.actor, patient_id)
    try:
        safety.record_adverse_event_for(
            db, ctx, adverse_event_data(patient_id, form, ctx.clinic_tz)
        )
    except InvalidInput as exc:
        return _refused(request, db, ctx, patient_id, "adverse-event", form, exc, "verbatim_term")
    return _done(patient_id, "adverse-event", "")


@router.post(
    "/patients/{patient_id}/safety/bladder-screens",
    response_class=HTMLResponse,
    dependencies=[RecordChange],
)
def record_bladder_screen(
    request: Request, patient_id: str, db: DbSession, ctx: CurrentContext, form: Form
) -> Response:
    ensure_patient_access(ctx.actor, patient_id)
    try:
        taken_at = parse_moment(
            str(form.get("taken_at", "")), "taken_at", "Asked on", ctx.clinic_tz
        )
        safety.record_bladder_screen(
            db, ctx, patient_id, list(form.get("symptoms") or []), taken_at=taken_at
        )
    except InvalidInput as exc:
        return _refused(request, db, ctx, patient_id, "bladder-screen", form, exc, "symptoms")
    return _done(patient_id, "bladder-screen", "")


@router.post(
    "/patients/{patient_id}/safety/misuse-signals",
    response_class=HTMLResponse,
    dependencies=[RecordChange],
)
def record_misuse_signal(
    request: Request, patient_id: str, db: DbSession, ctx: CurrentContext, form: Form
) -> Response:
    ensure_patient_access(ctx.actor, patient_id)
    try:
        kind = str(form.get("kind", ""))
        if not kind:
            raise InvalidInput("Choose what was noticed.", field="kind")
        detail = str(form.get("detail", "")).strip()
        if len(detail) < 3:
            raise InvalidInput("Say what happened (a few words).", field="detail")
        safety.record_misuse_signal(db, ctx, patient_id, kind, detail)
    except InvalidInput as exc:
        return _refused(request, db, ctx, patient_id, "misuse-signal", form, exc, "kind")
    return _done(patient_id, "misuse-signal", "")


@router.get("/today/tasks", response_class=HTMLResponse, dependencies=[RecordRead])
def tasks_due_panel(request: Request, db: DbSession, ctx: CurrentContext) -> Response:
    """Today's panel (loaded once by the Today page): open tasks due by the end of the day."""
    due = safety_tasks.tasks_due(db, ctx)
    return render(request, "today_tasks.html", {"due": due})


@router.get("/tasks", response_class=HTMLResponse, dependencies=[RecordRead])
def tasks_due_page(request: Request, db: DbSession, ctx: CurrentContext) -> Response:
    """Open tasks due by the end of the clinic's day across patients, overdue first."""
    due = safety_tasks.tasks_due(db, ctx)
    return render(request, "tasks_due.html", {"due": due})
