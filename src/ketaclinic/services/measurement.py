"""Measurement-based care: record a questionnaire response, read score trajectories.

A response is scored by the one questionnaire engine, then stored with the instrument id, the
definition version that scored it, the total, severity, subscales, alerts and every item answer
as its own row, all in one savepoint with the audit entry. Incomplete or out-of-range answers are
refused by the engine before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.questionnaires import (
    Answers,
    ScoreResult,
    ScoringSettings,
    get_instrument,
    score,
)
from ketaclinic.errors import InvalidInput, NotFound
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.services.safety import questionnaire_followup
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.measurements import (
    QuestionnaireItemAnswerRow,
    QuestionnaireResponseRow,
)
from ketaclinic.storage.tables.types import new_id


@dataclass(frozen=True)
class StoredResponse:
    response_id: str
    patient_id: str
    administered_at: datetime
    result: ScoreResult


@dataclass(frozen=True)
class TrajectoryPoint:
    response_id: str
    administered_at: datetime
    total: float
    severity: str | None
    definition_version: str
    alert_ids: tuple[str, ...]


def record_questionnaire_response(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    instrument_id: str,
    answers: Answers,
    *,
    administered_at: datetime | None = None,
    context_id: str | None = None,
    cutoffs: Mapping[str, float | None] | None = None,
    baseline_total: float | None = None,
    band_set: str | None = None,
    response_id: str | None = None,
) -> StoredResponse:
    """Score and store one completed form; returns the stored id and the score.

    ``cutoffs``, ``baseline_total`` and ``band_set`` go to the engine (see ``score``); the
    settings it applied are stored with the response, so :func:`rescore` reproduces the result.
    """
    when = administered_at or ctx.now
    if when.tzinfo is None:
        raise InvalidInput("The administration time needs a time zone.", field="administered_at")
    if when > ctx.now:
        raise InvalidInput(
            f"The administration time {when.isoformat()} is in the future.",
            field="administered_at",
        )
    instrument = get_instrument(instrument_id)
    result = score(
        instrument_id, answers, cutoffs=cutoffs, baseline_total=baseline_total, band_set=band_set
    )
    position = {item.id: item.number for item in instrument.items}
    stored_id = response_id or new_id()
    with atomic(db):
        get_patient_row(db, patient_id)
        db.add(
            QuestionnaireResponseRow(
                id=stored_id,
                patient_id=patient_id,
                instrument_id=result.instrument,
                definition_version=result.version,
                total=float(result.total),
                severity=result.severity,
                severity_label=result.severity_label,
                subscales=dict(result.subscales),
                alerts=[alert.model_dump() for alert in result.alerts],
                extras=_json_safe(result.extras),
                scoring_settings=result.settings.model_dump(),
                administered_at=when,
                recorded_at=ctx.now,
                recorded_by=ctx.actor.display_name,
                context_id=context_id,
            )
        )
        db.flush()
        db.add_all(
            QuestionnaireItemAnswerRow(
                response_id=stored_id,
                item_id=item_id,
                position=position[item_id],
                value=float(value),
            )
            for item_id, value in result.item_answers.items()
        )
        db.flush()
        record_event(
            db,
            ctx.actor,
            "measurement.questionnaire.record",
            "questionnaire_response",
            stored_id,
            patient_id=patient_id,
            detail={
                "instrument": result.instrument,
                "version": result.version,
                "total": result.total,
                "alerts": [alert.id for alert in result.alerts],
            },
            now=ctx.now,
        )
        # A positive PHQ-9 item 9 or C-SSRS screener creates the same-day risk-assessment task.
        questionnaire_followup(db, ctx, patient_id, result, at=when, response_id=stored_id)
    return StoredResponse(stored_id, patient_id, when, result)


def _json_safe(value: Any) -> Any:
    """Extras may hold tuples or sets; store them as plain JSON lists/objects."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    return value


def item_answers(db: Session, response_id: str) -> dict[str, float]:
    """The stored item answers of one response, in the instrument's item order."""
    rows = db.scalars(
        select(QuestionnaireItemAnswerRow)
        .where(QuestionnaireItemAnswerRow.response_id == response_id)
        .order_by(QuestionnaireItemAnswerRow.position)
    )
    return {row.item_id: row.value for row in rows}


def stored_settings(db: Session, response_id: str) -> ScoringSettings:
    """The scoring settings stored with a response; the defaults for a response stored before
    settings were recorded (only default settings could be applied then)."""
    row = db.get(QuestionnaireResponseRow, response_id)
    if row is None:
        raise NotFound(f"No questionnaire response {response_id!r}.", field="response_id")
    return ScoringSettings.model_validate(row.scoring_settings or {})


def rescore(db: Session, response_id: str) -> ScoreResult:
    """Score a stored response again from its stored item answers and scoring settings.

    With the same instrument definition (compare ``result.version`` with the stored
    ``definition_version``) the result equals the one stored: total, severity, subscales, alerts
    and every rule's result (e.g. a PCL-5 provisional diagnosis under the clinic's cut-off).
    """
    row = db.get(QuestionnaireResponseRow, response_id)
    if row is None:
        raise NotFound(f"No questionnaire response {response_id!r}.", field="response_id")
    settings = stored_settings(db, response_id)
    return score(row.instrument_id, item_answers(db, response_id), **settings.as_arguments())


def score_trajectory(db: Session, patient_id: str, instrument_id: str) -> list[TrajectoryPoint]:
    """Every stored score of one instrument for a patient, oldest first."""
    get_patient_row(db, patient_id)
    rows = db.scalars(
        select(QuestionnaireResponseRow)
        .where(
            QuestionnaireResponseRow.patient_id == patient_id,
            QuestionnaireResponseRow.instrument_id == instrument_id,
        )
        .order_by(QuestionnaireResponseRow.administered_at, QuestionnaireResponseRow.id)
    )
    return [
        TrajectoryPoint(
            response_id=row.id,
            administered_at=row.administered_at,
            total=row.total,
            severity=row.severity,
            definition_version=row.definition_version,
            alert_ids=tuple(str(alert.get("id")) for alert in row.alerts),
        )
        for row in rows
    ]


def score_trajectories(db: Session, patient_id: str) -> dict[str, list[TrajectoryPoint]]:
    """Trajectories of every instrument the patient has answered, keyed by instrument id."""
    get_patient_row(db, patient_id)
    instruments = db.scalars(
        select(QuestionnaireResponseRow.instrument_id)
        .where(QuestionnaireResponseRow.patient_id == patient_id)
        .distinct()
    )
    return {
        instrument: score_trajectory(db, patient_id, instrument)
        for instrument in sorted(instruments)
    }
