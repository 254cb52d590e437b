"""A patient treated through the real services: screened, planned (IV thrice weekly), one
supervised session given on 2 March 2026, optionally an adverse event and later PHQ-9 scores.

The registry, the cohort report (CLI and web page) and the de-identification tests build their
clinic from this, so a change in how sessions are recorded shows up in all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.services import consents, measurement, planning, safety, screening, sessions
from ketaclinic.storage.tables.planning import PlanSessionRow
from services.screened_patients import STATED_ALL_CLEAR, make_known_patient
from services.session_services import BASELINE, IV, RECOVERED, T0, at, predose_answers, scheduled
from support.clinic import NURSE, PRESCRIBER, context

IV3 = "iv-racemic-thrice-weekly"
# A PHQ-9 of total 18 three days before the first dose: the course's baseline.
BASELINE_PHQ9 = (3, 3, 2, 2, 2, 2, 2, 1, 1)
# Day after the first session -> PHQ-9 answers; a total of 4 (78% down from 18) is a response
# and a remission under the default rules.
RESPONDING_PHQ9 = {1: (1, 1, 0, 0, 1, 0, 1, 0, 0), 14: (1, 0, 0, 1, 1, 0, 1, 0, 0)}


def treated_patient(
    db: Session,
    *,
    research_consent: bool = True,
    adverse_event: bool = True,
    later_phq9: Mapping[int, Sequence[int]] | None = None,
    **identity: str,
) -> str:
    """The patient's id; everything committed."""
    ctx = context(NURSE, T0 - timedelta(days=7))
    # 70 kg: the plan's 0.5 mg/kg is the 35 mg given below.
    patient_id = make_known_patient(db, ctx, **({"weight_kg": 70.0} | identity))  # type: ignore[arg-type]
    consents.record_consent(db, ctx, patient_id, "treatment")
    if research_consent:
        consents.record_consent(db, ctx, patient_id, "research")
    screening.screen_patient(db, ctx, patient_id, "racemic-iv-im", STATED_ALL_CLEAR)
    doctor = context(PRESCRIBER, ctx.now)
    plan = planning.create_plan(db, doctor, patient_id, IV3, T0.date())
    planning.sign_plan(db, doctor, plan.plan_id)  # sessions carry out a signed plan only
    measurement.record_questionnaire_response(
        db, at(-60), patient_id, "phq9", list(BASELINE_PHQ9),
        administered_at=T0 - timedelta(days=3),
    )  # fmt: skip
    give_session(db, patient_id, plan_entry(db, plan.plan_id, 1), adverse_event=adverse_event)
    for day, answers in (later_phq9 or {}).items():
        measurement.record_questionnaire_response(
            db, at(day * 24 * 60 + 60), patient_id, "phq9", list(answers),
            administered_at=T0 + timedelta(days=day),
        )  # fmt: skip
    db.commit()
    return patient_id


def plan_entry(db: Session, plan_id: str, sequence: int) -> str:
    """The id of the plan's calendar entry number ``sequence``."""
    return db.scalars(
        select(PlanSessionRow.id).where(
            PlanSessionRow.plan_id == plan_id, PlanSessionRow.sequence == sequence
        )
    ).one()


def give_session(
    db: Session, patient_id: str, plan_session_id: str, *, day: int = 0,
    adverse_event: bool = False,
) -> str:  # fmt: skip
    """One IV session for the calendar entry, ``day`` days after 2 March 2026 at 09:00: check-in,
    vitals, 35 mg infused over 40 minutes, recovery, discharge; optionally an adverse event."""
    offset = day * 24 * 60
    start = T0 + timedelta(minutes=offset)
    sid = scheduled(db, IV, patient_id, minutes=offset, plan_session_id=plan_session_id)
    sessions.check_in(db, at(offset), sid)
    sessions.record_observation(db, at(offset + 5), sid, "base-1", BASELINE)
    answers = predose_answers(
        IV, last_food_at=start - timedelta(hours=3), last_liquid_at=start - timedelta(hours=1)
    )
    sessions.pass_predose(db, at(offset + 10), sid, answers)
    sessions.start_dosing(
        db, at(offset + 15), sid, product="ketamine hydrochloride",
        formulation="solution for infusion", lot_number="LOT-KET-777", dose_mg=35,
        concentration_mg_per_ml=1.0, initial_rate_mg_per_h=52.5,
        administered_by=NURSE.display_name, supervised_by=PRESCRIBER.display_name,
    )  # fmt: skip
    sessions.end_dosing(db, at(offset + 55), sid)
    for n, minute in enumerate((65, 135, 150), start=1):
        sessions.record_observation(db, at(offset + minute), sid, f"rec-{n}", RECOVERED)
    sessions.mark_ready(db, at(offset + 152), sid, escort_present=True)
    sessions.discharge(db, at(offset + 155), sid, escort_present=True)
    if adverse_event:
        safety.record_adverse_event_for(
            db,
            at(offset + 170),
            {
                "patient_id": patient_id,
                "session_id": sid,
                "verbatim_term": "felt detached",
                "term_id": "dissociation",
                "onset_at": start + timedelta(minutes=30),
                "severity": "moderate",
                "relatedness": "probable",
                "action_taken": "dose-not-changed",
                "outcome": "recovering",
            },
        )
    db.commit()
    return sid
