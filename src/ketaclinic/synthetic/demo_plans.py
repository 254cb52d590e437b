"""The demo clinic's screenings and treatment plans, one demo part per patient.

    load_screening_and_plans(db, ctx, person, seed) -> records written

For each demo patient, through the same services staff use:
- at intake a screening interview records what was asked and found absent (ruled-out
  diagnoses) and the screener's statements; every fifth patient was first screened a week
  earlier, before the history was complete (``more-information-needed``);
- the screening for the course's treatment; where it blocks (fewer than two adequate failed
  trials for a patient treated for depression without treatment resistance) the demo prescriber
  overrides it with a written reason, as the clinic did before treating;
- the plan for the course's protocol, signed, with the sessions before the clinic's "today"
  given, a session missed and moved for some patients, and the plan stopped for those who
  dropped out;
- a drafted next step for some patients, awaiting the end-of-course review: an IM racemic plan
  (patients 1, 7, 13, ...) or an experimental oral racemic plan (patients 4, 10, 16, ...).

Nothing here adds patients, observations or questionnaire responses: screening facts the record
has no home for are the screener's statements. Every id is derived from the seed, and a patient
whose final screening is already stored is skipped, so loading twice writes nothing.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.clinical.eligibility import DecisionClass
from ketaclinic.services import patients, plan_calendar, planning, screening
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.plan_records import PlanRecord
from ketaclinic.storage.tables.planning import ScreeningRow
from ketaclinic.synthetic.demo_plan import DemoPatient, demo_id

DEMO_PRESCRIBER = Actor(
    user_id=None, role="prescriber", display_name="Dr Rowan Hale (synthetic demo prescriber)"
)
DEMO_NURSE = Actor(user_id=None, role="nurse", display_name="Kit Ames, RN (synthetic demo nurse)")
# What the screening interview asks about; each not already diagnosed is recorded as ruled out.
INTERVIEW_CONDITIONS = (
    "psychosis",
    "mdd-psychotic",
    "substance-use-disorder",
    "bipolar-depression",
    "raised-intracranial-pressure",
    "raised-intraocular-pressure",
    "sleep-apnoea",
    "hypertension",
    "cardiovascular-disease",
    "aneurysmal-vascular-disease",
    "arteriovenous-malformation",
    "intracerebral-haemorrhage",
    "bladder-disorder",
    "pregnancy",
    "breastfeeding",
)
TREATMENT_OF_ROUTE = {
    "iv": "racemic-iv-im",
    "im": "racemic-iv-im",
    "intranasal": "esketamine-intranasal",
}
OVERRIDABLE_IN_DEMO = frozenset({"treatment-resistance", "esketamine-indication"})
OVERRIDE_REASON = (
    "One adequate failed trial only, but severe, disabling depression with a failed trial of "
    "psychotherapy; ECT declined. Off-label use and the evidence discussed with the patient; "
    "second opinion from the clinic's psychiatrist agrees."
)
# Experimental oral route: the prescriber must state the dose. 0.25 mg/kg is the lowest dose in
# the range the protocol cites (Andrade 2019), chosen as a cautious start.
ORAL_DOSE_MG_PER_KG = 0.25


def _at(moment: datetime, actor: Actor) -> RequestContext:
    return RequestContext(actor=actor, now=moment)


def _statements(person: DemoPatient, suicidal: bool) -> dict[str, Any]:
    # Interview answers for facts without a home in the record; the demo's patients report no
    # urinary symptoms or liver disease, low STOP-BANG risk unless sleep apnoea is diagnosed.
    conditions = {d["condition"] for d in person.diagnoses}
    return {
        "urinary_symptoms": False,
        "hepatic_impairment": "none",
        "sleep_apnoea_risk": "high" if "sleep-apnoea" in conditions else "low",
        "hypersensitivity_to_ketamine": None if person.allergies else False,
        "phq9_item9": 1 if suicidal else 0,
        "cssrs_screener_risk": "moderate" if suicidal else "low",
    }


def _interview(db: Session, ctx: RequestContext, person: DemoPatient, seed: int) -> int:
    present = {d["condition"] for d in person.diagnoses}
    absent = [c for c in INTERVIEW_CONDITIONS if c not in present]
    if person.identity["sex"] == "M":
        absent = [c for c in absent if c not in ("pregnancy", "breastfeeding")]
    for condition in absent:
        patients.add_diagnosis(
            db,
            ctx,
            person.patient_id,
            {"condition": condition, "status": "ruled-out"},
            record_id=demo_id(seed, "patient", person.index, "ruled-out", condition),
        )
    return len(absent)


def _screen(
    db: Session, ctx: RequestContext, person: DemoPatient, seed: int, treatment: str, tag: str
) -> tuple[screening.ScreeningRecord, int]:
    """Screen with the interview's statements; override a blocking TRD finding with a reason."""
    suicidal = any(d["condition"] == "suicidal-ideation" for d in person.diagnoses)
    key = ("patient", person.index, "screening", tag)
    statements = _statements(person, suicidal)
    # Forms on record answer for themselves; the interview only fills what was never recorded.
    recorded, _ = screening.preview_screening_input(db, ctx, person.patient_id, treatment)
    for name in ("phq9_item9", "cssrs_screener_risk"):
        if getattr(recorded, name) is not None:
            del statements[name]
    record = screening.screen_patient(
        db,
        ctx,
        person.patient_id,
        treatment,
        statements,
        screening_id=demo_id(seed, *key),
    )
    blocking = record.decision.blocking_rule_ids
    # Only the indication's treatment-resistance criterion is overridden in the demo; a
    # contraindication stays a refusal.
    if not blocking or not set(blocking) <= OVERRIDABLE_IN_DEMO:
        return record, 1
    doctor = _at(ctx.now + timedelta(minutes=20), DEMO_PRESCRIBER)
    overridden = screening.override_screening(
        db,
        doctor,
        record.screening_id,
        blocking,
        OVERRIDE_REASON,
        override_id=demo_id(seed, *key, "override"),
        new_screening_id=demo_id(seed, *key, "re-decided"),
    )
    return overridden, 3


def _give_sessions(
    db: Session, plan: PlanRecord, person: DemoPatient, as_of: datetime
) -> PlanRecord:
    dropped = person.course.dropped_out_after_day
    first = person.course.first_session_at.date()
    stop_after = None if dropped is None else first + timedelta(days=dropped)
    # Every seventh patient missed their second session and came back on the next clinic day.
    miss_sequence = 1 if person.index % 7 == 2 else None
    while True:
        due = [s for s in plan.sessions if s.status == "planned" and s.scheduled_on < as_of.date()]
        if not due or (stop_after is not None and due[0].scheduled_on > stop_after):
            break
        session = due[0]
        at = datetime.combine(session.scheduled_on, time(17, 0), tzinfo=as_of.tzinfo)
        if session.sequence == miss_sequence:
            next_day = session.scheduled_on + timedelta(days=1)
            if next_day >= as_of.date():
                break
            plan = plan_calendar.mark_missed(
                db,
                _at(at + timedelta(days=1), DEMO_NURSE),
                plan.plan_id,
                session.sequence,
                today=next_day,
            )
            continue
        plan = plan_calendar.mark_done(db, _at(at, DEMO_NURSE), plan.plan_id, session.sequence)
    if stop_after is not None and plan.status in ("signed", "active") and stop_after < as_of.date():
        at = datetime.combine(stop_after + timedelta(days=1), time(9, 0), tzinfo=as_of.tzinfo)
        plan = planning.stop_plan(
            db,
            _at(min(at, as_of), DEMO_PRESCRIBER),
            plan.plan_id,
            "Patient withdrew from the course (demo drop-out).",
        )
    return plan


def _next_step(
    db: Session, person: DemoPatient, seed: int, plan: PlanRecord, as_of: datetime
) -> int:
    """A draft IM or oral plan for after the current course, awaiting the review."""
    if person.index % 6 not in (1, 4) or plan.status == "stopped":
        return 0
    last = max(s.scheduled_on for s in plan.live_sessions)
    start = max(last, as_of.date()) + timedelta(days=7)
    when = as_of - timedelta(hours=2)
    nurse, doctor = _at(when, DEMO_NURSE), _at(when + timedelta(minutes=30), DEMO_PRESCRIBER)
    dose: dict[str, Any]
    if person.index % 6 == 1:
        treatment, protocol = "racemic-iv-im", "im-racemic"
        # The most dilute strength the IM protocol lists: the volume is the easiest to measure.
        dose = {"concentration_mg_per_ml": 50}
    else:
        treatment, protocol = "racemic-oral-sublingual", "oral-racemic"
        dose = {"dose_mg_per_kg": ORAL_DOSE_MG_PER_KG}
    written = 0
    if treatment != TREATMENT_OF_ROUTE[person.course.route]:
        record, written = _screen(db, nurse, person, seed, treatment, "next-step")
        if record.decision.blocking_rule_ids or record.decision.decision is (
            DecisionClass.MORE_INFORMATION_NEEDED
        ):
            return written
    planning.create_plan(
        db,
        doctor,
        person.patient_id,
        protocol,
        start,
        dose=dose,
        plan_id=demo_id(seed, "patient", person.index, "plan", "next-step"),
    )
    return written + 1


def load_screening_and_plans(
    db: Session, ctx: RequestContext, person: DemoPatient, seed: int
) -> int:
    """Screenings, overrides and plans of one demo patient; 0 when already loaded."""
    final_id = demo_id(seed, "patient", person.index, "screening", "intake")
    if db.get(ScreeningRow, final_id) is not None:
        return 0
    as_of = ctx.now
    treatment = TREATMENT_OF_ROUTE[person.course.route]
    written = 0
    if person.index % 5 == 0:
        early = _at(person.intake_at - timedelta(days=7), DEMO_NURSE)
        first = screening.screen_patient(
            db,
            early,
            person.patient_id,
            treatment,
            screening_id=demo_id(seed, "patient", person.index, "screening", "preliminary"),
        )
        written += 1 if first.screening_id else 0
    nurse = _at(person.intake_at + timedelta(minutes=15), DEMO_NURSE)
    written += _interview(db, nurse, person, seed)
    record, count = _screen(db, nurse, person, seed, treatment, "intake")
    written += count
    if record.decision.decision in (
        DecisionClass.MORE_INFORMATION_NEEDED,
        DecisionClass.NOT_ELIGIBLE,
    ):
        return written
    doctor = _at(person.intake_at + timedelta(hours=1), DEMO_PRESCRIBER)
    plan = planning.create_plan(
        db,
        doctor,
        person.patient_id,
        person.course.protocol_id,
        person.course.first_session_at.date(),
        plan_id=demo_id(seed, "patient", person.index, "plan", "course"),
    )
    plan = planning.sign_plan(
        db, _at(doctor.now + timedelta(minutes=10), DEMO_PRESCRIBER), plan.plan_id
    )
    plan = _give_sessions(db, plan, person, as_of)
    written += 1 + _next_step(db, person, seed, plan, as_of)
    return written
