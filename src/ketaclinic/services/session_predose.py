"""Pre-dose checks of a stored session: the nurse's checklist view and passing the step.

The baseline comes from the session's own readings and, when the nurse does not answer it, the
consent item from the consent register, so a checklist never contradicts the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions import record as core
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.lifecycle import SessionEvent
from ketaclinic.clinical.sessions.predose import (
    ClinicianDecision,
    PredoseInputs,
    PredoseResult,
    evaluate_predose,
)
from ketaclinic.services.consents import ConsentKind, active_consent
from ketaclinic.services.context import RequestContext
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.session_steps import apply_step, read_record


def _predose_inputs(
    db: Session, record: core.SessionRecord, inputs: PredoseInputs | Mapping[str, Any], at: datetime
) -> PredoseInputs:
    """The nurse's answers, with the baseline from the session's own readings and, when not
    given, consent from the consent register."""
    given = inputs if isinstance(inputs, PredoseInputs) else PredoseInputs.model_validate(inputs)
    changes: dict[str, Any] = {}
    if given.baseline == Measures():
        changes["baseline"] = record.baseline()
    if given.consent_current is None:
        consent = active_consent(db, record.patient_id, ConsentKind.TREATMENT, at=at)
        changes["consent_current"] = consent is not None
    return given.model_copy(update=changes)


def evaluate_predose_checks(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    inputs: PredoseInputs | Mapping[str, Any],
    *,
    decisions: Mapping[str, ClinicianDecision] | None = None,
) -> PredoseResult:
    """Every pre-dose check now, without changing the session (the nurse's checklist view)."""
    record = read_record(db, ctx, session_id, "predose.evaluate")
    policy = clinic_policy(db, record.protocol_kind)
    full = _predose_inputs(db, record, inputs, ctx.now)
    return evaluate_predose(record.protocol_kind, full, policy, at=ctx.now, decisions=decisions)


def pass_predose(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    inputs: PredoseInputs | Mapping[str, Any],
    *,
    decisions: Mapping[str, ClinicianDecision] | None = None,
) -> core.SessionRecord:
    """Evaluate the pre-dose checks now and move on only if every one passed or was decided."""
    by = ctx.actor.display_name

    def step(record: core.SessionRecord) -> core.SessionRecord:
        policy = clinic_policy(db, record.protocol_kind)
        full = _predose_inputs(db, record, inputs, ctx.now)
        result = evaluate_predose(
            record.protocol_kind, full, policy, at=ctx.now, decisions=decisions
        )
        return core.pass_predose(record, result, at=ctx.now, by=by)

    return apply_step(db, ctx, session_id, "predose.pass", step, event=SessionEvent.PASS_PREDOSE)
