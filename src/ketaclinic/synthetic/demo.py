"""Load the synthetic demo clinic into the database, through the same services staff use.

    load_demo(db, ctx, seed=1) -> DemoReport        # ctx.now is the clinic's "today"
    refresh_demo_day(db, now) -> [DemoReport, ...]   # every demo in the database, brought to now

The clinic's month ends at its first load (the "epoch", kept as the first demo patient's creation
time): who the patients are, when their courses started and what happened before is fixed by
the seed and that date, so the same seed gives the same clinic and a second load writes nothing.
Its "today" is the clock passed in (``ctx.now``, read by the caller, never here): a load on a
later day carries the clinic forward to that day. Questionnaires that have fallen due since are
stored, plan calendars are recorded up to the day, the earlier days' visits are completed and
their REMS forms submitted, and the day's board is dealt (sessions in every state, alerts, a REMS
form due). So ``bash scripts/run.sh`` (``demo load`` then ``serve --demo``, which refreshes the day
too) shows a live Today board on any day; a second load on the same day adds nothing.

Each per-patient part is one function in :data:`DEMO_PARTS`; it writes only rows that are not
there yet (every id is derived from the seed), so a part added in a later release fills in an
existing demo database. Every demo patient is flagged ``is_synthetic`` and has a clinic number
starting with ``DEMO``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput
from ketaclinic.services import consents, measurement, patients, safety
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.tables.consents import ConsentRow
from ketaclinic.storage.tables.measurements import ObservationRow, QuestionnaireResponseRow
from ketaclinic.storage.tables.patients import PatientRow
from ketaclinic.storage.tables.planning import TreatmentPlanRow
from ketaclinic.synthetic.demo_calendar import advance_calendar
from ketaclinic.synthetic.demo_data import NURSE, demo_id
from ketaclinic.synthetic.demo_followup import follow_up_suicide_screens
from ketaclinic.synthetic.demo_plan import (
    ARRIVALS_FROM,
    DEFAULT_PATIENTS,
    DemoPatient,
    plan_demo,
)
from ketaclinic.synthetic.demo_plans import course_plan_id, load_screening_and_plans
from ketaclinic.synthetic.demo_sessions import (
    PAST_SESSIONS,
    finish_earlier_days,
    giver,
    keep_up_paperwork,
    load_day_sessions,
    load_history_sessions,
)

# A part takes the session, the context and one planned patient; it returns how many records it
# wrote (0 when everything was already there).
DemoPart = Callable[[Session, RequestContext, DemoPatient, int], int]


def load_record(db: Session, ctx: RequestContext, person: DemoPatient, seed: int) -> int:
    """Identity, escort, diagnoses, medications, antidepressant trials and allergies."""
    if db.get(PatientRow, person.patient_id) is not None:
        return 0
    pid = patients.register_patient(
        db,
        ctx,
        person.identity,
        person.contact,
        mrn=person.mrn,
        patient_id=person.patient_id,
        is_synthetic=True,
    )
    written = 1
    key = ("patient", person.index)
    patients.add_contact(db, ctx, pid, person.escort, record_id=demo_id(seed, *key, "escort"))
    written += 1
    for n, diagnosis in enumerate(person.diagnoses):
        patients.add_diagnosis(db, ctx, pid, diagnosis, record_id=demo_id(seed, *key, "dx", n))
        written += 1
    for n, medication in enumerate(person.medications):
        patients.add_medication(db, ctx, pid, medication, record_id=demo_id(seed, *key, "med", n))
        written += 1
    for n, trial in enumerate(person.trials):
        patients.add_antidepressant_trial(
            db, ctx, pid, trial, record_id=demo_id(seed, *key, "trial", n)
        )
        written += 1
    for n, allergy in enumerate(person.allergies):
        patients.add_allergy(db, ctx, pid, allergy, record_id=demo_id(seed, *key, "allergy", n))
        written += 1
    return written


def load_intake_measurements(
    db: Session, ctx: RequestContext, person: DemoPatient, seed: int
) -> int:
    """Weight, height and vital signs at the screening visit."""
    first_id = demo_id(seed, "patient", person.index, "intake", "weight_kg")
    if db.get(ObservationRow, first_id) is not None:
        return 0
    values = person.intake_vitals | {"weight_kg": person.weight_kg, "height_cm": person.height_cm}
    ids = {kind: demo_id(seed, "patient", person.index, "intake", kind) for kind in values}
    patients.record_vitals(
        db, ctx, person.patient_id, dict(values), person.intake_at, record_ids=ids
    )
    return len(values)


def load_consents(db: Session, ctx: RequestContext, person: DemoPatient, seed: int) -> int:
    """Consents signed at intake: treatment, the SPRAVATO REMS enrolment for esketamine, and
    research use of de-identified data for most patients (one withdraws it a fortnight in)."""
    kinds = []
    if person.role != "absolute-contraindication":
        kinds.append("treatment")
        if person.course.route == "intranasal":
            kinds.append("rems-enrolment")
    if person.research_consent:
        kinds.append("research")
    at = person.intake_at + timedelta(minutes=10)
    written = 0
    for kind in kinds:
        consent_id = demo_id(seed, "patient", person.index, "consent", kind)
        if db.get(ConsentRow, consent_id) is not None:
            continue
        consents.record_consent(
            db, RequestContext(NURSE, at), person.patient_id, kind, given_at=at,
            consent_id=consent_id, document_ref=f"Signed form, demo record {person.mrn}",
        )  # fmt: skip
        written += 1
    withdrawn_at = person.course.first_session_at + timedelta(days=14)
    if person.role == "research-withdrawn" and withdrawn_at <= ctx.now:
        row = db.get(ConsentRow, demo_id(seed, "patient", person.index, "consent", "research"))
        if row is not None and row.status == "active":
            consents.withdraw_consent(
                db, RequestContext(NURSE, withdrawn_at), row.id,
                reason="Patient asked that their data no longer be used for research.",
            )  # fmt: skip
            written += 1
    return written


def load_scores(db: Session, ctx: RequestContext, person: DemoPatient, seed: int) -> int:
    """Questionnaires due by now, each scored by the engine: at the clinic, or by the patient
    through the portal; an O'Leary-Sant form comes with its bladder screen."""
    patient_actor = Actor(
        user_id=None,
        role="patient",
        display_name=f"{person.identity['given_name']} {person.identity['family_name']}",
    )
    written = 0
    for planned in sorted(person.scores_due(ctx.now), key=lambda s: s.administered_at):
        if db.get(QuestionnaireResponseRow, planned.response_id) is not None:
            continue
        actor = patient_actor if planned.by_patient else NURSE
        # Recorded when it was filled in (the portal at once, the clinic within the visit).
        at = RequestContext(actor, planned.administered_at + timedelta(minutes=5))
        measurement.record_questionnaire_response(
            db, at, person.patient_id, planned.instrument, list(planned.answers),
            administered_at=planned.administered_at, response_id=planned.response_id,
        )  # fmt: skip
        if planned.bladder_symptoms is not None:
            safety.record_bladder_screen(
                db, at, person.patient_id, planned.bladder_symptoms,
                taken_at=planned.administered_at,
            )  # fmt: skip
        written += 1
    return written


def _first_load_time(db: Session, seed: int) -> datetime | None:
    first_patient = db.get(PatientRow, demo_id(seed, "patient", 0))
    return None if first_patient is None else first_patient.created_at


DEMO_PARTS: list[tuple[str, DemoPart]] = [
    ("records", load_record),
    ("intake measurements", load_intake_measurements),
    ("consents", load_consents),
    ("questionnaire responses", load_scores),
    ("screenings and treatment plans", load_screening_and_plans),
]
CLINIC_PARTS = (
    PAST_SESSIONS,
    "recent past sessions",
    "earlier days completed",
    "today's sessions",
    "REMS forms submitted",
    "risk assessments done",
)


@dataclass
class DemoReport:
    seed: int
    as_of: datetime
    today: datetime
    patients_planned: int
    patients_new: int = 0
    # Patients who arrived after the month (their intake done by today).
    arrivals: int = 0
    written: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        existing = self.patients_planned - self.patients_new
        month = self.patients_planned - self.arrivals
        out = [
            f"Synthetic demo clinic (seed {self.seed}, month to {self.as_of:%Y-%m-%d %H:%M %Z}, "
            f"today {self.today:%Y-%m-%d %H:%M %Z}): {self.patients_planned} patients "
            f"({month} in the month, {self.arrivals} arrived since), {self.patients_new} new, "
            f"{existing} already there."
        ]
        names = [name for name, _ in DEMO_PARTS] + list(CLINIC_PARTS)
        out += [f"  {name}: {self.written[name]} written" for name in names]
        return out


def load_demo(
    db: Session,
    ctx: RequestContext,
    *,
    seed: int = 1,
    patients_count: int = DEFAULT_PATIENTS,
    as_of: datetime | None = None,
    clinic_tz: tzinfo = UTC,
) -> DemoReport:
    """Write the demo clinic for ``seed`` into the caller's transaction (the caller commits).

    ``ctx.now`` is the clinic's "today"; the month ends at ``as_of`` (default: the first load's
    time, or now on the first load). Days are counted in ``clinic_tz``.
    """
    now = ctx.now.astimezone(clinic_tz)
    epoch = (as_of or _first_load_time(db, seed) or ctx.now).astimezone(clinic_tz)
    if now < epoch:
        raise InvalidInput(
            f"The demo clinic's month ends {epoch:%Y-%m-%d %H:%M}; it cannot be loaded as of an "
            f"earlier time ({now:%Y-%m-%d %H:%M}).",
            field="now",
        )
    ctx = RequestContext(ctx.actor, now)
    report = DemoReport(seed=seed, as_of=epoch, today=now, patients_planned=patients_count)
    people = plan_demo(seed, epoch, patients_count, now=now)
    report.patients_planned = len(people)
    report.arrivals = len(people) - patients_count
    for person in people:
        if db.get(PatientRow, person.patient_id) is None:
            report.patients_new += 1
        for name, part in DEMO_PARTS:
            report.written[name] += part(db, ctx, person, seed)
    # Sessions are dealt across patients, so they load once every patient is in place.
    report.written["recent past sessions"] += load_history_sessions(db, people, seed, epoch)
    report.written["earlier days completed"] += finish_earlier_days(db, people, seed, epoch, now)
    for person in people:
        plan_id = course_plan_id(seed, person)
        if db.get(TreatmentPlanRow, plan_id) is not None:
            give = giver(db, seed, person, now, report.written)
            advance_calendar(db, person, plan_id, until=now.date(), now=now, give=give)
    report.written["today's sessions"] += load_day_sessions(db, people, seed, now)
    report.written["REMS forms submitted"] += keep_up_paperwork(db, people, seed, now)
    report.written["risk assessments done"] += follow_up_suicide_screens(db, people, now)
    return report


_DEMO_MRN = re.compile(r"^DEMO-(\d+)-(\d+)$")


def loaded_demos(db: Session) -> dict[int, int]:
    """Seeds of the demo clinics in the database, with how many patients each holds."""
    found: dict[int, int] = {}
    for mrn in db.scalars(select(PatientRow.mrn).where(PatientRow.mrn.startswith("DEMO-"))):
        match = _DEMO_MRN.match(mrn or "")
        if match:
            seed, number = int(match.group(1)), int(match.group(2))
            if number <= ARRIVALS_FROM:  # the month's patients, not those arriving after it
                found[seed] = max(found.get(seed, 0), number)
    return found


def refresh_demo_day(
    db: Session, ctx: RequestContext, *, clinic_tz: tzinfo = UTC
) -> list[DemoReport]:
    """Bring every demo clinic in the database to ``ctx.now`` (nothing when none is loaded)."""
    return [
        load_demo(db, ctx, seed=seed, patients_count=count, clinic_tz=clinic_tz)
        for seed, count in sorted(loaded_demos(db).items())
    ]
