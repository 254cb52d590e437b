"""Which self-report questionnaires a patient is asked to fill, how often, and which are due now.

The schedule is clinic policy with its sources (``web/data/patient_portal.yaml``):

- ``questionnaires``: asked of everyone in treatment (PHQ-9 and GAD-7 as shipped);
- ``plan_questionnaires``: asked when the patient's current plan calls for them, that is when its
  protocol is named (``when_protocols``) or when the plan's protocol treats, or the patient has an
  active diagnosis of, one of the ``when_conditions`` (a PCL-5 for PTSD, a pain scale for a pain
  condition).

Reading what is due is a read of the patient's record, so ``due_questionnaires`` is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.knowledge import Source
from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.clinical.record import condition_definition
from ketaclinic.clinical.vocabulary import ConditionStatus
from ketaclinic.errors import ConfigurationError, InvalidInput, NotFound
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.measurement import score_trajectories
from ketaclinic.services.progress import PortalData, portal_data
from ketaclinic.storage.tables.patients import DiagnosisRow
from ketaclinic.storage.tables.planning import TreatmentPlanRow

# Plans that are in force for the patient: a draft asks for nothing yet.
_PLANS_IN_FORCE = ("signed", "active")


@dataclass(frozen=True)
class PlannedQuestionnaire:
    instrument_id: str
    name: str
    every_days: int
    reason: str  # why this patient is asked, in words a patient understands
    source: Source


@dataclass(frozen=True)
class DueQuestionnaire:
    instrument_id: str
    name: str
    last_answered_at: datetime | None
    due_since: datetime | None  # None: never answered, due now
    every_days: int
    reason: str


def check_schedule(data: PortalData) -> None:
    """Every scheduled form is a self-report instrument in the catalogue, and every condition and
    protocol it names exists: a typo in the policy file must not silently ask nobody."""
    for entry in [*data.questionnaires, *data.plan_questionnaires]:
        try:
            instrument = get_instrument(entry.id)
        except NotFound as exc:
            raise ConfigurationError(f"patient_portal.yaml: {exc.message}") from exc
        if "self-report" not in instrument.administration:
            raise ConfigurationError(
                f"patient_portal.yaml: {entry.id} is rated by a clinician, not by the patient."
            )
        for condition in entry.when_conditions:
            try:
                condition_definition(condition)
            except InvalidInput as exc:
                raise ConfigurationError(f"patient_portal.yaml: {exc.message}") from exc
        for protocol_id in entry.when_protocols:
            try:
                get_protocol(protocol_id)
            except InvalidInput as exc:
                raise ConfigurationError(f"patient_portal.yaml: {exc.message}") from exc


def current_plan(db: Session, patient_id: str) -> TreatmentPlanRow | None:
    """The newest signed or active plan version, if any."""
    return db.scalars(
        select(TreatmentPlanRow)
        .where(
            TreatmentPlanRow.patient_id == patient_id,
            TreatmentPlanRow.status.in_(_PLANS_IN_FORCE),
        )
        .order_by(TreatmentPlanRow.version.desc(), TreatmentPlanRow.created_at.desc())
        .limit(1)
    ).first()


def questionnaire_plan(
    db: Session, patient_id: str, data: PortalData | None = None
) -> list[PlannedQuestionnaire]:
    """The forms this patient is asked to fill, each once (the first reason found wins)."""
    data = data or portal_data()
    plan = current_plan(db, patient_id)
    protocol = get_protocol(plan.protocol_id) if plan is not None else None
    treated = {str(c) for c in protocol.indications} if protocol is not None else set()
    diagnosed = {
        row.condition_id
        for row in db.scalars(
            select(DiagnosisRow).where(
                DiagnosisRow.patient_id == patient_id,
                DiagnosisRow.status == ConditionStatus.ACTIVE.value,
            )
        )
    }
    found: dict[str, PlannedQuestionnaire] = {}

    def add(entry_id: str, every_days: int, reason: str, source: Source) -> None:
        if entry_id not in found:
            name = get_instrument(entry_id).short_name
            found[entry_id] = PlannedQuestionnaire(entry_id, name, every_days, reason, source)

    for entry in data.questionnaires:
        add(entry.id, entry.every_days, "asked of everyone in treatment", entry.source)
    for entry in data.plan_questionnaires:
        if protocol is not None and protocol.id in entry.when_protocols:
            add(entry.id, entry.every_days, f"your treatment plan ({protocol.name})", entry.source)
            continue
        for condition in entry.when_conditions:
            display = condition_definition(condition).display
            if condition in treated:
                reason = f"your treatment plan treats {display}"
            elif condition in diagnosed:
                reason = f"your care team recorded {display}"
            else:
                continue
            add(entry.id, entry.every_days, reason, entry.source)
    return list(found.values())


def offered_instruments(db: Session, patient_id: str) -> set[str]:
    """The forms this patient may fill in the portal (due or not)."""
    return {q.instrument_id for q in questionnaire_plan(db, patient_id)}


def _due(db: Session, patient_id: str, now: datetime) -> list[DueQuestionnaire]:
    trajectories = score_trajectories(db, patient_id)
    due: list[DueQuestionnaire] = []
    for planned in questionnaire_plan(db, patient_id):
        points = trajectories.get(planned.instrument_id, [])
        last = points[-1].administered_at if points else None
        next_at = last + timedelta(days=planned.every_days) if last else None
        if next_at is None or next_at <= now:
            due.append(
                DueQuestionnaire(
                    planned.instrument_id, planned.name, last, next_at, planned.every_days,
                    planned.reason,
                )
            )  # fmt: skip
    return due


def due_questionnaires(
    db: Session, ctx: RequestContext, patient_id: str, *, purpose: str = "portal"
) -> list[DueQuestionnaire]:
    """Each scheduled form whose interval has passed since it was last answered (audited)."""
    due = _due(db, patient_id, ctx.now)
    record_event(
        db, ctx.actor, f"questionnaires.due.read.{purpose}", "patient", patient_id,
        patient_id=patient_id, detail={"due": [d.instrument_id for d in due]}, now=ctx.now,
    )  # fmt: skip
    return due
