"""Pre-dose checks of a stored session: the nurse's checklist view and passing the step.

The baseline comes from the session's own readings and, when the nurse does not answer it, the
consent item from the consent register, so a checklist never contradicts the record. What the
record already knows is never typed at the chair: the SPRAVATO REMS enrolment comes from the
consent register, and an answer for it is refused.

A decision to proceed despite a check that needs one (blood pressure above the gate, a pregnant
status, a positive suicide screen) is the prescriber's: anybody else gets a clear refusal, and the
decision is stamped with the signed-in prescriber's name and the time, never a typed name.
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
from ketaclinic.errors import InvalidInput
from ketaclinic.services.consents import ConsentKind, active_consent
from ketaclinic.services.context import RequestContext
from ketaclinic.services.plan_records import PRESCRIBER_ROLES, require_role
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.session_steps import apply_step, read_record

# Answers the record gives; typing them at the chair is refused (field -> where it comes from).
FROM_THE_RECORD = {
    "rems_enrolled": "the consent register (SPRAVATO REMS patient enrolment)",
}


def _predose_inputs(
    db: Session, record: core.SessionRecord, inputs: PredoseInputs | Mapping[str, Any], at: datetime
) -> PredoseInputs:
    """The nurse's answers, with the baseline from the session's own readings, consent (when not
    given) from the consent register and everything in ``FROM_THE_RECORD`` from the record."""
    given = inputs if isinstance(inputs, PredoseInputs) else PredoseInputs.model_validate(inputs)
    typed = sorted(set(FROM_THE_RECORD) & given.model_fields_set)
    if typed:
        name = typed[0]
        raise InvalidInput(
            f"{name} is not answered at the chair: it comes from {FROM_THE_RECORD[name]}.",
            field=name,
        )
    changes: dict[str, Any] = {}
    if given.baseline == Measures():
        changes["baseline"] = record.baseline()
    if given.consent_current is None:
        consent = active_consent(db, record.patient_id, ConsentKind.TREATMENT, at=at)
        changes["consent_current"] = consent is not None
    if record.protocol_kind.is_rems:
        enrolment = active_consent(db, record.patient_id, ConsentKind.REMS_ENROLMENT, at=at)
        changes["rems_enrolled"] = enrolment is not None
    return given.model_copy(update=changes)


def _prescribers_decisions(
    ctx: RequestContext, decisions: Mapping[str, ClinicianDecision] | None
) -> dict[str, ClinicianDecision]:
    """Decisions to proceed, refused unless a prescriber is signed in, and stamped with who
    (the signed-in prescriber, whatever name was supplied) and when."""
    if not decisions:
        return {}
    require_role(
        ctx,
        PRESCRIBER_ROLES,
        "decide to proceed despite a pre-dose check (blood pressure above the gate, pregnancy, "
        "a positive suicide screen); ask the prescriber to sign in and record the decision",
    )
    return {
        check_id: ClinicianDecision(by=ctx.actor.display_name, at=ctx.now, note=decision.note)
        for check_id, decision in decisions.items()
    }


def evaluate_predose_checks(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    inputs: PredoseInputs | Mapping[str, Any],
    *,
    decisions: Mapping[str, ClinicianDecision] | None = None,
) -> PredoseResult:
    """Every pre-dose check now, without changing the session (the nurse's checklist view)."""
    decided = _prescribers_decisions(ctx, decisions)
    record = read_record(db, ctx, session_id, "predose.evaluate")
    policy = clinic_policy(db, record.protocol_kind)
    full = _predose_inputs(db, record, inputs, ctx.now)
    return evaluate_predose(record.protocol_kind, full, policy, at=ctx.now, decisions=decided)


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
    decided = _prescribers_decisions(ctx, decisions)

    def step(record: core.SessionRecord) -> core.SessionRecord:
        policy = clinic_policy(db, record.protocol_kind)
        full = _predose_inputs(db, record, inputs, ctx.now)
        result = evaluate_predose(record.protocol_kind, full, policy, at=ctx.now, decisions=decided)
        return core.pass_predose(record, result, at=ctx.now, by=by)

    return apply_step(db, ctx, session_id, "predose.pass", step, event=SessionEvent.PASS_PREDOSE)
