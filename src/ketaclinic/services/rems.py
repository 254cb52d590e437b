"""SPRAVATO REMS Patient Monitoring Forms: generated for every esketamine session, completed by
the clinician, finalised only when complete, rendered as PDF, tracked as due, submitted or overdue.

The form's layout and its version note live in ``ketaclinic.clinical.rems`` (11/2021 outpatient
layout, unverified against the current form). Generation fills every field the session record,
the patient record (name, birth date, sex, medication classes), the consent register (REMS
enrolment) and the clinic's setting can answer; the rest stays empty for the clinician, and the
form cannot be finalised until nothing required is missing.

A form is regenerated when the record changes after discharge (an adverse event recorded later):
the clinician's answers and corrections are kept (``clinician_answers``), except that an event the
adverse-event register now records (a serious event, respiratory depression) cannot be answered
away. A finalised form is never changed; ``refresh_after_adverse_event`` reports what it misses so
the safety service can raise a correction task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical import rems as core
from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.clinical.vocabulary import MedicationClass
from ketaclinic.errors import NotFound, RuleViolation
from ketaclinic.reports.rems_pdf import render_rems_form_pdf
from ketaclinic.services import safety
from ketaclinic.services.audit import record_event
from ketaclinic.services.consents import ConsentKind, active_consent
from ketaclinic.services.context import RequestContext
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.session_store import load_record, session_row
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.patients import MedicationRow, PatientRow
from ketaclinic.storage.tables.sessions import (
    RemsFormRow,
    SessionDosingEventRow,
    SupervisedSessionRow,
)

_CLASS_FIELDS = {
    MedicationClass.BENZODIAZEPINE: "benzodiazepines",
    MedicationClass.NON_BENZODIAZEPINE_HYPNOTIC: "non_benzodiazepine_sedative_hypnotics",
    MedicationClass.PSYCHOSTIMULANT: "psychostimulants",
    MedicationClass.MAOI: "maois",
    MedicationClass.OPIOID: "opioids",
}
# Fields a clinician answers that regeneration must keep (the record cannot say them).
_CLINICIAN_FIELDS = frozenset(
    {"monitoring_hcp_phone", "monitoring_hcp_email", "setting_name", "setting_address"}
)
# Event fields the adverse-event register decides once it records the event.
_EVENT_FIELDS = ("serious_adverse_event", "respiratory_depression")


@dataclass(frozen=True)
class FormSummary:
    session_id: str
    patient_id: str
    due_date: date
    status: core.RemsStatus
    missing: tuple[str, ...]
    finalised: bool


def _patient_facts(
    db: Session, patient: PatientRow, session: SupervisedSessionRow, clinic_tz: tzinfo = UTC
) -> core.RemsPatientFacts:
    meds = db.scalars(select(MedicationRow).where(MedicationRow.patient_id == patient.id)).all()
    day = session.scheduled_for.astimezone(clinic_tz).date()
    current = [m for m in meds if m.stopped_on is None or m.stopped_on >= day]
    classes = {c for m in current for c in m.classes.split(",") if c}
    earlier = db.scalars(
        select(SupervisedSessionRow.id)
        .join(SessionDosingEventRow, SessionDosingEventRow.session_id == SupervisedSessionRow.id)
        .where(
            SupervisedSessionRow.patient_id == patient.id,
            SupervisedSessionRow.protocol_kind == ProtocolKind.INTRANASAL_ESKETAMINE.value,
            SupervisedSessionRow.scheduled_for < session.scheduled_for,
            SessionDosingEventRow.kind == "device",
        )
    ).first()
    enrolled = active_consent(db, patient.id, ConsentKind.REMS_ENROLMENT, at=session.scheduled_for)
    return core.RemsPatientFacts(
        first_name=patient.given_name,
        last_name=patient.family_name,
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        first_treatment=earlier is None,
        enrolled_in_rems=enrolled is not None,
        **{name: cls.value in classes for cls, name in _CLASS_FIELDS.items()},
    )


def _form(row: RemsFormRow) -> core.RemsMonitoringForm:
    return core.RemsMonitoringForm.model_validate(row.fields)


def _row(db: Session, session_id: str) -> RemsFormRow:
    row = db.scalars(select(RemsFormRow).where(RemsFormRow.session_id == session_id)).first()
    if row is None:
        raise NotFound(f"No REMS form for session {session_id}; generate it first.")
    return row


def generate_form(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    *,
    setting: core.RemsSetting | None = None,
) -> core.RemsMonitoringForm:
    """Create (or refresh, while not finalised) the form of a closed esketamine session."""
    with atomic(db):
        session = session_row(db, session_id)
        form = _form_from_session(db, session, setting, ctx.clinic_tz)
        existing = db.scalars(
            select(RemsFormRow).where(RemsFormRow.session_id == session_id)
        ).first()
        if existing is not None:
            if existing.finalised_at is not None:
                raise RuleViolation("The REMS form is finalised; it cannot be regenerated.")
            if setting is None:
                form = core.with_answers(form, **_kept_answers(existing, form))
            existing.fields, existing.updated_at = form.model_dump(mode="json"), ctx.now
            if form.due_date is not None:  # the session date can move (the clinic's zone)
                existing.due_date = form.due_date
        else:
            assert form.due_date is not None
            db.add(
                RemsFormRow(
                    session_id=session_id, patient_id=session.patient_id,
                    form_version=form.form_version, fields=form.model_dump(mode="json"),
                    due_date=form.due_date, created_at=ctx.now, updated_at=ctx.now,
                )
            )  # fmt: skip
        db.flush()
        record_event(
            db, ctx.actor, "rems.form.generate", "rems_form", session_id,
            patient_id=session.patient_id, detail={"missing": core.missing_fields(form)},
            now=ctx.now,
        )  # fmt: skip
    return form


def _form_from_session(
    db: Session,
    session: SupervisedSessionRow,
    setting: core.RemsSetting | None,
    clinic_tz: tzinfo = UTC,
) -> core.RemsMonitoringForm:
    """What the record says now (refused while the session is still running)."""
    record = load_record(db, session)
    if record.state not in (SessionState.DISCHARGED, SessionState.ABORTED):
        raise RuleViolation(
            "The REMS form is filled when the session ends (discharged or aborted); "
            f"this one is '{record.state.value}'.",
            field="session",
        )
    patient = db.get(PatientRow, session.patient_id)
    assert patient is not None
    supervised_by = record.dosing.supervised_by if record.dosing else None
    return core.form_from_record(
        record,
        _patient_facts(db, patient, session, clinic_tz),
        setting or core.RemsSetting(monitoring_hcp_name=supervised_by),
        clinic_policy(db, record.protocol_kind),
        safety.adverse_events(db, session_id=session.id),
        clinic_tz=clinic_tz,  # the session date is the clinic's day, not the UTC day
    )


def _kept_answers(existing: RemsFormRow, form: core.RemsMonitoringForm) -> dict[str, Any]:
    """The clinician's answers and corrections to carry over a regeneration."""
    # Forms stored before answers were kept apart: an answer is a value the record cannot give.
    legacy = {
        k: v
        for k, v in existing.fields.items()
        if v is not None and (getattr(form, k, None) is None or k in _CLINICIAN_FIELDS)
    }
    kept = legacy | dict(existing.clinician_answers or {})
    for name in _EVENT_FIELDS:
        if getattr(form, name) is True:  # the register records it: it cannot be answered away
            kept.pop(name, None)
    if form.serious_adverse_event:
        kept.pop("serious_adverse_event_description", None)
    return kept


@dataclass(frozen=True)
class LateEvent:
    """What a finalised form misses after an adverse event recorded later."""

    finalised_at: datetime
    submitted: bool
    fields: tuple[str, ...]


def refresh_after_adverse_event(
    db: Session, ctx: RequestContext, session_id: str
) -> LateEvent | None:
    """Bring the session's REMS form up to date after an adverse event was recorded.

    No form yet (the session is running, or gave no device): nothing to do, the form is made at
    the end. An open form is regenerated, keeping the clinician's answers. A finalised form is
    left as it was signed; the event fields it now gets wrong are returned for a correction task.
    """
    row = db.scalars(select(RemsFormRow).where(RemsFormRow.session_id == session_id)).first()
    if row is None:
        return None
    if row.finalised_at is None:
        generate_form(db, ctx, session_id)
        return None
    now = _form_from_session(db, session_row(db, session_id), None, ctx.clinic_tz)
    signed = _form(row)
    wrong = tuple(
        name
        for name in (*_EVENT_FIELDS, "serious_adverse_event_description")
        if getattr(now, name) and getattr(now, name) != getattr(signed, name)
    )
    if not wrong:
        return None
    return LateEvent(row.finalised_at, row.submitted_at is not None, wrong)


def get_form(db: Session, ctx: RequestContext, session_id: str) -> core.RemsMonitoringForm:
    row = _row(db, session_id)
    record_event(
        db, ctx.actor, "rems.form.read", "rems_form", session_id, patient_id=row.patient_id,
        now=ctx.now,
    )  # fmt: skip
    return _form(row)


def answer_form(
    db: Session, ctx: RequestContext, session_id: str, **answers: Any
) -> core.RemsMonitoringForm:
    """The clinician's answers to empty fields (or corrections) before finalising."""
    with atomic(db):
        row = _row(db, session_id)
        form = core.with_answers(_form(row), **answers)
        row.fields, row.updated_at = form.model_dump(mode="json"), ctx.now
        row.clinician_answers = {
            **(row.clinician_answers or {}),
            **{k: form.model_dump(mode="json")[k] for k in answers},
        }
        record_event(
            db, ctx.actor, "rems.form.answer", "rems_form", session_id,
            patient_id=row.patient_id, detail={"fields": sorted(answers)}, now=ctx.now,
        )  # fmt: skip
    return form


def finalise_form(db: Session, ctx: RequestContext, session_id: str) -> core.RemsMonitoringForm:
    """Finalise; refused while any required field is missing (the error lists them)."""
    with atomic(db):
        row = _row(db, session_id)
        form = core.finalise(_form(row), by=ctx.actor.display_name, at=ctx.now)
        row.fields, row.updated_at = form.model_dump(mode="json"), ctx.now
        row.finalised_by, row.finalised_at = form.finalised_by, form.finalised_at
        record_event(
            db, ctx.actor, "rems.form.finalise", "rems_form", session_id,
            patient_id=row.patient_id, now=ctx.now,
        )  # fmt: skip
    return form


def mark_submitted(
    db: Session, ctx: RequestContext, session_id: str, *, reference: str
) -> core.RemsMonitoringForm:
    """Record that the finalised form was submitted to the REMS (with its confirmation)."""
    with atomic(db):
        row = _row(db, session_id)
        form = core.mark_submitted(_form(row), at=ctx.now, reference=reference)
        row.fields, row.updated_at = form.model_dump(mode="json"), ctx.now
        row.submitted_at, row.submission_reference = form.submitted_at, reference
        record_event(
            db, ctx.actor, "rems.form.submit", "rems_form", session_id,
            patient_id=row.patient_id, detail={"reference": reference}, now=ctx.now,
        )  # fmt: skip
    return form


def form_summaries(
    db: Session, *, today: date, status: core.RemsStatus | None = None
) -> list[FormSummary]:
    """Every form with its status on ``today`` (due within 7 days, submitted, overdue)."""
    rows = db.scalars(select(RemsFormRow).order_by(RemsFormRow.due_date, RemsFormRow.id))
    summaries = []
    for row in rows:
        form = _form(row)
        summary = FormSummary(
            session_id=row.session_id, patient_id=row.patient_id, due_date=row.due_date,
            status=core.status(form, today=today), missing=tuple(core.missing_fields(form)),
            finalised=row.finalised_at is not None,
        )  # fmt: skip
        if status is None or summary.status == status:
            summaries.append(summary)
    return summaries


def render_form_pdf(db: Session, ctx: RequestContext, session_id: str) -> bytes:
    row = _row(db, session_id)
    record_event(
        db, ctx.actor, "rems.form.pdf", "rems_form", session_id, patient_id=row.patient_id,
        now=ctx.now,
    )  # fmt: skip
    return render_rems_form_pdf(_form(row), ctx.clinic_tz)


def generate_missing_forms(db: Session, ctx: RequestContext) -> list[str]:
    """A form for every closed esketamine session that gave a device and has none yet."""
    with_device = (
        select(SessionDosingEventRow.session_id).where(SessionDosingEventRow.kind == "device")
    ).scalar_subquery()
    candidates = db.scalars(
        select(SupervisedSessionRow.id).where(
            SupervisedSessionRow.protocol_kind == ProtocolKind.INTRANASAL_ESKETAMINE.value,
            SupervisedSessionRow.state.in_(
                [SessionState.DISCHARGED.value, SessionState.ABORTED.value]
            ),
            SupervisedSessionRow.id.in_(with_device),
            SupervisedSessionRow.id.not_in(select(RemsFormRow.session_id)),
        )
    ).all()
    for session_id in candidates:
        generate_form(db, ctx, session_id)
    return list(candidates)
