"""Pre-dose checks of a stored session: the nurse's checklist view and passing the step.

The baseline comes from the session's own readings and, when the nurse does not answer it, the
consent item from the consent register, so a checklist never contradicts the record. What the
record already knows is never typed at the chair: the SPRAVATO REMS enrolment comes from the
consent register, eligibility from the patient's screening in force, the planned dose from the
session's signed plan and the maximum from the protocol's limits as the clinic applies them
(``services.session_plan``); an answer typed for any of them is refused.

A decision to proceed despite a check that needs one (blood pressure above the gate, a pregnant
status, a positive suicide screen) is the prescriber's: anybody else gets a clear refusal, and the
decision is stamped with the signed-in prescriber's name and the time, never a typed name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
from ketaclinic.services.session_plan import (
    EligibilityFacts,
    PlannedDose,
    eligibility_facts,
    planned_dose,
    session_protocol,
)
from ketaclinic.services.session_steps import apply_step, read_record
from ketaclinic.services.session_store import session_row

_SCREENING = "the patient's screening in force (and its overrides)"
_PLAN = "the session's signed plan and the protocol's limits"
# Answers the record gives; typing them at the chair is refused (field -> where it comes from).
FROM_THE_RECORD = {
    "rems_enrolled": "the consent register (SPRAVATO REMS patient enrolment)",
    "eligibility_valid": _SCREENING,
    "eligibility_valid_until": _SCREENING,
    "eligibility_summary": _SCREENING,
    "planned_dose_mg": _PLAN,
    "max_dose_mg": _PLAN,
    "dose_override_recorded": _PLAN,
    "dose_summary": _PLAN,
    "dose_problem": _PLAN,
}


@dataclass(frozen=True)
class PredoseFacts:
    """What the record says for the pre-dose checks (shown read-only, with where it came from)."""

    eligibility: EligibilityFacts
    dose: PlannedDose

    def inputs(self) -> dict[str, Any]:
        dose = self.dose.dose
        return {
            "eligibility_valid": self.eligibility.valid,
            "eligibility_valid_until": self.eligibility.valid_until,
            "eligibility_summary": self.eligibility.summary,
            "planned_dose_mg": dose.dose_mg if dose is not None else None,
            "max_dose_mg": self.dose.max_dose_mg,
            "dose_override_recorded": self.dose.override_recorded,
            "dose_summary": self.dose.summary,
            "dose_problem": self.dose.problem,
        }


def predose_facts(db: Session, ctx: RequestContext, session_id: str) -> PredoseFacts:
    """The screening decision and the signed plan's dose for a session, as of now."""
    row = session_row(db, session_id)
    protocol = session_protocol(db, row)
    return PredoseFacts(
        eligibility=eligibility_facts(db, row, protocol, ctx.now),
        dose=planned_dose(db, ctx, row),
    )


def _predose_inputs(
    db: Session,
    ctx: RequestContext,
    record: core.SessionRecord,
    inputs: PredoseInputs | Mapping[str, Any],
) -> PredoseInputs:
    """The nurse's answers, with the baseline from the session's own readings, consent (when not
    given) from the consent register and everything in ``FROM_THE_RECORD`` from the record."""
    at = ctx.now
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
    changes |= predose_facts(db, ctx, record.session_id).inputs()
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
    full = _predose_inputs(db, ctx, record, inputs)
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
        full = _predose_inputs(db, ctx, record, inputs)
        result = evaluate_predose(record.protocol_kind, full, policy, at=ctx.now, decisions=decided)
        return core.pass_predose(record, result, at=ctx.now, by=by)

    return apply_step(db, ctx, session_id, "predose.pass", step, event=SessionEvent.PASS_PREDOSE)
