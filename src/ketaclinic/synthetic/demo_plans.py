"""The demo clinic's screenings and treatment plans, one demo part per patient.

    load_screening_and_plans(db, ctx, person, seed) -> records written

For each demo patient, through the same services staff use:
- at intake a screening interview records what was asked and found absent (ruled-out
  diagnoses) and the screener's statements; every fifth patient was first screened a week
  earlier, before the history was complete (``more-information-needed``);
- the screening for the course's treatment. Where it blocks on the indication's
  treatment-resistance criterion (fewer than two adequate failed trials) the demo prescriber
  overrides it with a written reason, as the clinic did before treating; a relative
  contraindication found present (an active substance use disorder, a raised blood pressure at
  intake) is accepted in writing with the reason ``demo_clinic.yaml`` gives for that rule. An
  absolute contraindication is never overridden: that patient stays not eligible, untreated;
- the plan for the course's protocol (esketamine-mdsi for the suicidal-ideation case), signed,
  on a clinic open every day (so the demo's Today board is live whichever day it is opened);
  the esketamine-transfer case's plan carries a reasoned override of the label's first-session
  dose. The calendar is carried forward by ``demo_calendar`` on every load;
- a drafted next step for some patients, awaiting the end-of-course review: an IM racemic plan
  (patients 1, 7, 13, ...), an experimental oral racemic plan (4, 10, 16, ...) or an experimental
  sublingual racemic plan (5, 11, 17, ...).

Every id is derived from the seed, and a patient whose final screening is already stored is
skipped, so loading twice writes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.clinical.eligibility import DecisionClass
from ketaclinic.clinical.eligibility.rules import RuleClass
from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.services import patients, planning, screening
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.plan_records import plan_row, to_plan_record
from ketaclinic.storage.tables.planning import ScreeningRow
from ketaclinic.synthetic.demo_data import NURSE, PRESCRIBER, demo_data, demo_id
from ketaclinic.synthetic.demo_plan import DemoPatient

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
# Open every day: the demo's Today board is live whichever day a user opens it. A real clinic
# keeps its own open days (the planning default is Monday to Friday).
DEMO_CLINIC_DAYS = (0, 1, 2, 3, 4, 5, 6)
# Experimental oral and sublingual routes: the prescriber must state the dose. 0.25 mg/kg is the
# lowest dose in the range the protocols cite (Andrade 2019), chosen as a cautious start.
ORAL_DOSE_MG_PER_KG = 0.25
# Next steps by patient index modulo 6: (treatment, protocol, dose request).
NEXT_STEPS: dict[int, tuple[str, str, dict[str, Any]]] = {
    # The most dilute strength the IM protocol lists: the volume is the easiest to measure.
    1: ("racemic-iv-im", "im-racemic", {"concentration_mg_per_ml": 50}),
    4: ("racemic-oral-sublingual", "oral-racemic", {"dose_mg_per_kg": ORAL_DOSE_MG_PER_KG}),
    5: ("racemic-oral-sublingual", "sublingual-racemic", {"dose_mg_per_kg": ORAL_DOSE_MG_PER_KG}),
}


def _at(moment: datetime, actor: Actor) -> RequestContext:
    return RequestContext(actor=actor, now=moment)


def _statements(
    db: Session, ctx: RequestContext, person: DemoPatient, treatment: str
) -> dict[str, Any]:
    # Interview answers for facts without a home in the record; the demo's patients report no
    # urinary symptoms or liver disease, low STOP-BANG risk unless sleep apnoea is diagnosed.
    conditions = {d["condition"] for d in person.diagnoses}
    suicidal = "suicidal-ideation" in conditions
    stated: dict[str, Any] = {
        "urinary_symptoms": False,
        "hepatic_impairment": "none",
        "sleep_apnoea_risk": "high" if "sleep-apnoea" in conditions else "low",
        "hypersensitivity_to_ketamine": None if person.allergies else False,
        # Asked at the interview only when no form is on record (a form answers for itself).
        "phq9_item9": 1 if suicidal else 0,
        "cssrs_screener_risk": "low",  # below every triage point, as the rules read "none"
    }
    recorded, _ = screening.preview_screening_input(db, ctx, person.patient_id, treatment)
    for name in ("phq9_item9", "cssrs_screener_risk"):
        # The screener's answer agrees with a form on record; it replaces one the clinic policy
        # finds too old.
        if getattr(recorded, name) is not None:
            stated[name] = getattr(recorded, name)
    return stated


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


def _relative_present(record: screening.ScreeningRecord) -> list[str]:
    return [
        f.rule_id
        for f in record.decision.findings
        if f.rule_class is RuleClass.RELATIVE and f.status == "present" and f.override is None
    ]


def _screen(
    db: Session, ctx: RequestContext, person: DemoPatient, seed: int, treatment: str, tag: str
) -> tuple[screening.ScreeningRecord, int]:
    """Screen; override a blocking treatment-resistance finding and accept reasoned relatives."""
    key = ("patient", person.index, "screening", tag)
    statements = _statements(db, ctx, person, treatment)
    record = screening.screen_patient(
        db, ctx, person.patient_id, treatment, statements, screening_id=demo_id(seed, *key)
    )
    written = 1
    doctor = _at(ctx.now + timedelta(minutes=20), PRESCRIBER)
    blocking = record.decision.blocking_rule_ids
    if blocking and set(blocking) <= OVERRIDABLE_IN_DEMO:
        record = screening.override_screening(
            db, doctor, record.screening_id, list(blocking), OVERRIDE_REASON,
            override_id=demo_id(seed, *key, "override"),
            new_screening_id=demo_id(seed, *key, "re-decided"),
        )  # fmt: skip
        written += 2
    if record.decision.blocking_rule_ids:
        return record, written  # an absolute contraindication stays a refusal
    reasons = demo_data().relative_override_reasons
    for rule_id in _relative_present(record):
        if rule_id not in reasons:
            continue  # left for the prescriber's review
        record = screening.override_screening(
            db, _at(doctor.now + timedelta(minutes=5), PRESCRIBER), record.screening_id,
            [rule_id], reasons[rule_id].strip(),
            override_id=demo_id(seed, *key, "accept", rule_id),
            new_screening_id=demo_id(seed, *key, "accepted", rule_id),
        )  # fmt: skip
        written += 2
    return record, written


def _plannable(record: screening.ScreeningRecord) -> bool:
    decided = record.decision.decision in (
        DecisionClass.ELIGIBLE,
        DecisionClass.ELIGIBLE_WITH_CONDITIONS,
    )
    return decided and not _relative_present(record)


def _course_plan(db: Session, ctx: RequestContext, person: DemoPatient, seed: int) -> str:
    """The signed course plan (the transfer case with its first-dose override)."""
    protocol_id = person.course.protocol_id
    dose: dict[str, Any] | None = None
    override: dict[str, Any] | None = None
    if person.role == "esketamine-transfer":
        higher = max(get_protocol(protocol_id).dose.allowed)
        dose = {"dose_mg": higher, "first_session_dose_mg": higher}
        reason = demo_data().transfer_override_reason.strip()
        override = {"limit_ids": ["first-session-dose"], "reason": reason}
    plan = planning.create_plan(
        db, ctx, person.patient_id, protocol_id, person.course.first_session_at.date(),
        dose=dose, limit_override=override, clinic_days=DEMO_CLINIC_DAYS,
        plan_id=demo_id(seed, "patient", person.index, "plan", "course"),
    )  # fmt: skip
    signed = planning.sign_plan(db, _at(ctx.now + timedelta(minutes=10), PRESCRIBER), plan.plan_id)
    return signed.plan_id


def _next_step(
    db: Session, person: DemoPatient, seed: int, course_plan: str, as_of: datetime
) -> int:
    """A draft IM, oral or sublingual plan for after the current course, awaiting the review."""
    step = NEXT_STEPS.get(person.index % 6)
    if step is None or person.course.dropped_out_after_day is not None:
        return 0
    treatment, protocol, dose = step
    plan = to_plan_record(db, plan_row(db, course_plan))
    last = max(s.scheduled_on for s in plan.live_sessions)
    start = max(last, as_of.date()) + timedelta(days=7)
    when = as_of - timedelta(hours=2)
    nurse, doctor = _at(when, NURSE), _at(when + timedelta(minutes=30), PRESCRIBER)
    # Vital signs and weight at the review visit: screening and mg/kg dosing need recent ones.
    values = person.intake_vitals | {"weight_kg": person.weight_kg}
    ids = {kind: demo_id(seed, "patient", person.index, "review", kind) for kind in values}
    patients.record_vitals(db, nurse, person.patient_id, dict(values), when, record_ids=ids)
    written = len(values)
    if treatment != TREATMENT_OF_ROUTE[person.course.route]:
        record, count = _screen(db, nurse, person, seed, treatment, "next-step")
        written += count
        if not _plannable(record):
            return written
    planning.create_plan(
        db, doctor, person.patient_id, protocol, start, dose=dose,
        clinic_days=DEMO_CLINIC_DAYS,
        plan_id=demo_id(seed, "patient", person.index, "plan", "next-step"),
    )  # fmt: skip
    return written + 1


def course_plan_id(seed: int, person: DemoPatient) -> str:
    return demo_id(seed, "patient", person.index, "plan", "course")


def load_screening_and_plans(
    db: Session, ctx: RequestContext, person: DemoPatient, seed: int
) -> int:
    """Screenings, overrides and plans of one demo patient; 0 when already loaded."""
    final_id = demo_id(seed, "patient", person.index, "screening", "intake")
    if db.get(ScreeningRow, final_id) is not None:
        return 0
    treatment = TREATMENT_OF_ROUTE[person.course.route]
    written = 0
    if person.index % 5 == 0:
        early = _at(person.intake_at - timedelta(days=7), NURSE)
        screening.screen_patient(
            db,
            early,
            person.patient_id,
            treatment,
            screening_id=demo_id(seed, "patient", person.index, "screening", "preliminary"),
        )
        written += 1
    nurse = _at(person.intake_at + timedelta(minutes=15), NURSE)
    written += _interview(db, nurse, person, seed)
    record, count = _screen(db, nurse, person, seed, treatment, "intake")
    written += count
    if not _plannable(record):
        return written
    doctor = _at(person.intake_at + timedelta(hours=1), PRESCRIBER)
    plan_id = _course_plan(db, doctor, person, seed)
    written += 1 + _next_step(db, person, seed, plan_id, ctx.now)
    return written
