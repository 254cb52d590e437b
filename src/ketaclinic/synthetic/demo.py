"""Load the synthetic demo clinic into the database, through the same services staff use.

    load_demo(db, ctx, seed=1) -> DemoReport

Each part of a demo patient (record, intake measurements, questionnaire scores, and later the
sessions, plans and alerts other modules add) is one function in :data:`DEMO_PARTS`. A part writes
only rows that are not there yet (every id is derived from the seed), so loading twice adds
nothing and a part added in a later release fills in an existing demo database. Every demo
patient is flagged ``is_synthetic`` and has a clinic number starting with ``DEMO``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ketaclinic.services import measurement, patients
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.tables.measurements import ObservationRow, QuestionnaireResponseRow
from ketaclinic.storage.tables.patients import PatientRow
from ketaclinic.synthetic.demo_plan import DEFAULT_PATIENTS, DemoPatient, demo_id, plan_demo
from ketaclinic.synthetic.demo_plans import load_screening_and_plans
from ketaclinic.synthetic.demo_sessions import load_demo_sessions

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


def load_scores(db: Session, ctx: RequestContext, person: DemoPatient, seed: int) -> int:
    """Questionnaire responses over the course, each scored by the engine."""
    written = 0
    for planned in person.scores:
        if db.get(QuestionnaireResponseRow, planned.response_id) is not None:
            continue
        measurement.record_questionnaire_response(
            db,
            ctx,
            person.patient_id,
            planned.instrument,
            list(planned.answers),
            administered_at=planned.administered_at,
            response_id=planned.response_id,
        )
        written += 1
    return written


def _first_load_time(db: Session, seed: int) -> datetime | None:
    first_patient = db.get(PatientRow, demo_id(seed, "patient", 0))
    return None if first_patient is None else first_patient.created_at


DEMO_PARTS: list[tuple[str, DemoPart]] = [
    ("records", load_record),
    ("intake measurements", load_intake_measurements),
    ("questionnaire responses", load_scores),
    ("screenings and treatment plans", load_screening_and_plans),
]


@dataclass
class DemoReport:
    seed: int
    as_of: datetime
    patients_planned: int
    patients_new: int = 0
    written: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        existing = self.patients_planned - self.patients_new
        out = [
            f"Synthetic demo clinic (seed {self.seed}, as of {self.as_of:%Y-%m-%d %H:%M} UTC): "
            f"{self.patients_planned} patients, {self.patients_new} new, {existing} already there."
        ]
        out += [f"  {name}: {self.written[name]} written" for name, _ in DEMO_PARTS]
        return out


def load_demo(
    db: Session,
    ctx: RequestContext,
    *,
    seed: int = 1,
    patients_count: int = DEFAULT_PATIENTS,
    as_of: datetime | None = None,
) -> DemoReport:
    """Write the demo clinic for ``seed`` into the caller's transaction (the caller commits).

    The clinic's "today" is ``as_of`` (default: the call's time) on the first load; later loads of
    the same seed reuse the first load's date, so the plan (and every id and time) is unchanged
    and nothing drifts or doubles when the command is run again on another day.
    """
    moment = as_of or _first_load_time(db, seed) or ctx.now
    report = DemoReport(seed=seed, as_of=moment, patients_planned=patients_count)
    people = plan_demo(seed, moment, patients_count)
    for person in people:
        if db.get(PatientRow, person.patient_id) is None:
            report.patients_new += 1
        for name, part in DEMO_PARTS:
            report.written[name] += part(db, ctx, person, seed)
    # Session scenarios are dealt across patients, so they load once every patient is in place.
    report.written["supervised sessions"] += load_demo_sessions(db, ctx, people, seed, moment)
    return report
