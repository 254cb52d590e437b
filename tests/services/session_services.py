"""Builders for sessions walked through the services (not the core), on either database.

Times are a fixed clinic morning (09:00 UTC, 2 March 2026); each step runs with a request context
at the minute it happens, because a charted time may never be in the future.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.services import consents, planning, screening, sessions
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from services.screened_patients import RULED_OUT, STATED_ALL_CLEAR, make_known_patient
from support.clinic import NURSE, PRESCRIBER, context

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IV = ProtocolKind.IV_RACEMIC
ESK = ProtocolKind.INTRANASAL_ESKETAMINE

BASELINE = Measures(
    systolic_mmhg=128, diastolic_mmhg=82, heart_rate_bpm=72, spo2_percent=98,
    respiratory_rate_per_min=14, moaas=5, cadss_total=0, phq9_item9=0, cssrs_risk="none",
)  # fmt: skip
RECOVERED = Measures(
    systolic_mmhg=134, diastolic_mmhg=84, heart_rate_bpm=76, spo2_percent=98,
    respiratory_rate_per_min=14, moaas=5, cadss_total=0,
)  # fmt: skip


def at(minutes: float, actor: Actor = NURSE) -> RequestContext:
    return context(actor, T0 + timedelta(minutes=minutes))


def audit_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(AuditEvent)) or 0)


# The protocol each kind's sessions are planned with. On 70 kg: IV 0.5 mg/kg = 35 mg; SPRAVATO
# TRD day 1 = 56 mg (two 28 mg devices).
PLAN_PROTOCOL = {IV: "iv-racemic-thrice-weekly", ESK: "esketamine-trd"}
PLANNED_MG = {IV: 35.0, ESK: 56.0}


def predose_answers(kind: ProtocolKind, **changes: Any) -> dict[str, Any]:
    """What the nurse answers at check-in (baseline, consent, REMS enrolment, eligibility and the
    planned dose come from the record)."""
    return {
        "identity_confirmed": True,
        "last_food_at": T0 - timedelta(hours=3),
        "last_liquid_at": T0 - timedelta(hours=1),
        "escort_confirmed": True,
        "transport_confirmed": True,
        "pregnancy_status": "not-pregnant",
    } | changes


def new_patient(
    db: Session,
    *,
    rems_enrolled: bool = True,
    sex: str = "F",
    date_of_birth: str = "1983-05-14",
    **names: str,
) -> str:
    """A 70 kg patient whose record answers every screening question, consented to treatment and
    (unless told otherwise) enrolled in the SPRAVATO REMS, a week before the clinic morning."""
    ctx = context(NURSE, T0 - timedelta(days=7))
    # Asked at screening and found absent (esketamine asks both of a woman).
    extra = ("pregnancy", "breastfeeding") if sex == "F" else ()
    patient_id = make_known_patient(
        db, ctx, sex=sex, date_of_birth=date_of_birth, weight_kg=70.0,
        ruled_out=(*RULED_OUT, *extra),
        names={"given_name": "Alex", "family_name": "Morgan"} | names,
    )  # fmt: skip
    consents.record_consent(db, ctx, patient_id, "treatment")
    if rems_enrolled:
        consents.record_consent(db, ctx, patient_id, "rems-enrolment")
    return patient_id


def signed_plan_for(db: Session, patient_id: str, kind: ProtocolKind) -> str:
    """The patient's signed plan for ``kind`` (screened and planned from the clinic morning if
    there is none yet): the plan id."""
    protocol = get_protocol(PLAN_PROTOCOL[kind])
    existing = db.scalars(
        select(TreatmentPlanRow.id).where(
            TreatmentPlanRow.patient_id == patient_id,
            TreatmentPlanRow.protocol_id == protocol.id,
            TreatmentPlanRow.status.in_(("signed", "active")),
        )
    ).first()
    if existing is not None:
        return existing
    doctor = context(PRESCRIBER, T0 - timedelta(days=6))
    treatment = planning.treatment_for_protocol(protocol)
    screening.screen_patient(db, doctor, patient_id, treatment, STATED_ALL_CLEAR)
    plan = planning.create_plan(db, doctor, patient_id, protocol.id, T0.date())
    return planning.sign_plan(db, doctor, plan.plan_id).plan_id


def next_plan_entry(db: Session, patient_id: str, kind: ProtocolKind) -> str:
    """The first planned calendar entry of the patient's signed plan not booked yet."""
    plan_id = signed_plan_for(db, patient_id, kind)
    booked = select(SupervisedSessionRow.plan_session_id).where(
        SupervisedSessionRow.plan_session_id.is_not(None)
    )
    entry = db.scalars(
        select(PlanSessionRow.id)
        .where(
            PlanSessionRow.plan_id == plan_id,
            PlanSessionRow.status == "planned",
            PlanSessionRow.id.not_in(booked),
        )
        .order_by(PlanSessionRow.sequence)
    ).first()
    assert entry is not None, "the plan has no calendar entry left to book"
    return entry


def scheduled(
    db: Session, kind: ProtocolKind, patient_id: str | None = None, minutes: float = 0, **kw: Any
) -> str:
    """A session carrying out the patient's next signed-plan entry (planned on demand), unless
    the caller names one or asks for none with ``plan_session_id=None``."""
    pid = patient_id or new_patient(db)
    if "plan_session_id" not in kw:
        kw["plan_session_id"] = next_plan_entry(db, pid, kind)
    if kw["plan_session_id"] is not None:
        kw.setdefault("protocol_id", PLAN_PROTOCOL[kind])
    record = sessions.schedule_session(
        db, at(-60), pid, kind, T0 + timedelta(minutes=minutes),
        responsible_clinician=PRESCRIBER.display_name, chair="Chair 2", room="Room A", **kw,
    )  # fmt: skip
    return record.session_id


def checked_in(db: Session, kind: ProtocolKind, patient_id: str | None = None) -> str:
    sid = scheduled(db, kind, patient_id)
    sessions.check_in(db, at(0), sid)
    sessions.record_observation(db, at(5), sid, "base-1", BASELINE)
    return sid


def dosing(db: Session, kind: ProtocolKind, patient_id: str | None = None) -> str:
    """Pre-dose checks passed at 09:10, dosing from 09:15 (esketamine: first 28 mg device)."""
    sid = checked_in(db, kind, patient_id)
    sessions.pass_predose(db, at(10), sid, predose_answers(kind))
    if kind is ESK:
        sessions.start_dosing(
            db, at(15), sid, product="SPRAVATO", formulation="nasal spray 28 mg device",
            lot_number="LOT-ESK-001", dose_mg=56, administered_by="patient (self, observed)",
            supervised_by=NURSE.display_name,
        )  # fmt: skip
        sessions.add_dosing_event(db, at(15), sid, "device", device_mg=28)
    else:
        sessions.start_dosing(
            db, at(15), sid, product="ketamine hydrochloride", formulation="solution for infusion",
            lot_number="LOT-KET-777", dose_mg=35, concentration_mg_per_ml=1.0,
            initial_rate_mg_per_h=52.5, administered_by=NURSE.display_name,
            supervised_by=PRESCRIBER.display_name,
        )  # fmt: skip
    return sid


def monitoring(db: Session, kind: ProtocolKind, patient_id: str | None = None) -> str:
    """Esketamine: second device at 09:20, dosing ended 09:20. IV: 40 minutes, ended 09:55."""
    sid = dosing(db, kind, patient_id)
    if kind is ESK:
        sessions.add_dosing_event(db, at(20), sid, "device", device_mg=28)
        sessions.end_dosing(db, at(20), sid)
    else:
        sessions.end_dosing(db, at(55), sid)
    return sid


def discharged(db: Session, kind: ProtocolKind, patient_id: str | None = None) -> str:
    """Recovered readings at 10:05 and 11:15 (and 11:30 for IV); discharged at 11:35."""
    sid = monitoring(db, kind, patient_id)
    for n, minute in enumerate((65, 135, 150), start=1):
        sessions.record_observation(db, at(minute), sid, f"rec-{n}", RECOVERED)
    sessions.mark_ready(db, at(152), sid, escort_present=True)
    sessions.discharge(db, at(155), sid, escort_present=True)
    return sid
