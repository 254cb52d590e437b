"""Eligibility screening of a stored patient: record -> ScreeningInput -> decision -> stored.

The facts come from :mod:`ketaclinic.services.screening_facts` (unknown stays unknown; the
screener may state what the record has no home for). Each screening is stored with its whole
decision, the input it was made on and where each fact came from.

Overrides belong to the screening they were made on: ``override_screening`` stores the override
and a new screening that re-decides the same input with it (``supersedes`` the old one). A fresh
``screen_patient`` reads the record again and carries no override forward, because the facts it
overrode may have changed; the prescriber must look again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.eligibility import EligibilityDecision, ScreeningInput, Treatment, screen
from ketaclinic.clinical.eligibility.rules import RuleClass
from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.record import parse
from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.services.safety import suicide_screen_followup
from ketaclinic.services.screening_facts import (
    ScreeningStatements,
    parse_treatment,
    screening_input_from_record,
)
from ketaclinic.services.screening_policy import clinic_screening_policy
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.planning import EligibilityOverrideRow, ScreeningRow
from ketaclinic.storage.tables.types import new_id

__all__ = [
    "EligibilityOverrideRecord",
    "ScreeningRecord",
    "ScreeningStatements",
    "current_screening_row",
    "eligibility_overrides",
    "latest_screening",
    "list_screenings",
    "override_screening",
    "preview_screening_input",
    "screen_patient",
    "to_screening_record",
]

SCREENING_ROLES = frozenset({"prescriber", "nurse"})
OVERRIDE_ROLES = frozenset({"prescriber"})


@dataclass(frozen=True)
class ScreeningRecord:
    screening_id: str
    patient_id: str
    treatment: Treatment
    decision: EligibilityDecision
    facts: ScreeningInput
    provenance: dict[str, str]
    screened_at: datetime
    screened_by: str
    supersedes_id: str | None


def _require_role(ctx: RequestContext, roles: frozenset[str], what: str) -> None:
    if ctx.actor.role not in roles:
        allowed = " or ".join(sorted(roles))
        raise PermissionDenied(
            f"Only a {allowed} may {what}; you are signed in as a {ctx.actor.role}."
        )


# --- use cases ---------------------------------------------------------------------------------


def to_screening_record(row: ScreeningRow) -> ScreeningRecord:
    return ScreeningRecord(
        screening_id=row.id,
        patient_id=row.patient_id,
        treatment=Treatment(row.treatment),
        decision=EligibilityDecision.model_validate(row.decision_json),
        facts=ScreeningInput.model_validate(row.input_json),
        provenance=dict(row.provenance_json),
        screened_at=row.screened_at,
        screened_by=row.screened_by_name,
        supersedes_id=row.supersedes_id,
    )


def _store(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    facts: ScreeningInput,
    provenance: dict[str, str],
    decision: EligibilityDecision,
    *,
    supersedes_id: str | None = None,
    screening_id: str | None = None,
) -> ScreeningRow:
    row = ScreeningRow(
        id=screening_id or new_id(),
        patient_id=patient_id,
        treatment=facts.treatment.value,
        rule_set=decision.rule_set,
        decision=decision.decision.value,
        summary=decision.summary,
        decision_json=decision.model_dump(mode="json"),
        input_json=facts.model_dump(mode="json", exclude_none=True),
        provenance_json=provenance,
        screened_at=ctx.now,
        screened_by_user_id=ctx.actor.user_id,
        screened_by_name=ctx.actor.display_name,
        supersedes_id=supersedes_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    db.add(row)
    db.flush()
    return row


def screen_patient(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    treatment: Treatment | str,
    statements: ScreeningStatements | dict[str, Any] | None = None,
    *,
    screening_id: str | None = None,
) -> ScreeningRecord:
    """Screen the patient for ``treatment`` from the record as it is now; store the decision."""
    _require_role(ctx, SCREENING_ROLES, "screen a patient")
    stated = (
        statements
        if isinstance(statements, ScreeningStatements | None)
        else parse(ScreeningStatements, statements)
    )
    with atomic(db):
        policy = clinic_screening_policy(db, parse_treatment(treatment))
        facts, provenance = screening_input_from_record(
            db, patient_id, treatment, ctx.now, stated, policy
        )
        decision = screen(facts, policy=policy)
        row = _store(db, ctx, patient_id, facts, provenance, decision, screening_id=screening_id)
        record_event(
            db,
            ctx.actor,
            "screening.record",
            "screening",
            row.id,
            patient_id=patient_id,
            detail={"treatment": row.treatment, "decision": row.decision},
            now=ctx.now,
        )
        _route_suicide_screen(db, ctx, patient_id, facts, decision, row.id)
        return to_screening_record(row)


_SUICIDE_RULES = ("suicide-phq9-item9", "suicide-cssrs")


def _route_suicide_screen(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    facts: ScreeningInput,
    decision: EligibilityDecision,
    screening_id: str,
) -> None:
    """A positive suicide screen found at screening goes the way a positive form does: the
    same-day risk-assessment task and flag (once per patient and day), never an exclusion."""
    fired = {f.rule_id for f in decision.findings if f.status == "present"}
    if not fired & set(_SUICIDE_RULES):
        return
    suicide_screen_followup(
        db, ctx, patient_id, screened_at=ctx.now,
        phq9_item9=facts.phq9_item9 if "suicide-phq9-item9" in fired else None,
        cssrs_risk=facts.cssrs_screener_risk if "suicide-cssrs" in fired else None,
        related_id=screening_id,
    )  # fmt: skip


def override_screening(
    db: Session,
    ctx: RequestContext,
    screening_id: str,
    rule_ids: list[str],
    reason: str,
    *,
    override_id: str | None = None,
    new_screening_id: str | None = None,
) -> ScreeningRecord:
    """A prescriber overrides blocking findings with a written reason; returns the re-decision."""
    _require_role(ctx, OVERRIDE_ROLES, "override a screening finding")
    with atomic(db):
        earlier = db.get(ScreeningRow, screening_id)
        if earlier is None:
            raise NotFound(f"No screening with id {screening_id}.", field="screening_id")
        record = to_screening_record(earlier)
        override = Override.create(
            rule_ids=rule_ids,
            reason=reason,
            prescriber_id=ctx.actor.user_id or ctx.actor.display_name,
            overridden_at=ctx.now,
        )
        # A blocking finding, or a relative contraindication found present: the prescriber
        # accepts the risk in writing (the decision stays "eligible with conditions").
        blocking = set(record.decision.blocking_rule_ids) | {
            f.rule_id
            for f in record.decision.findings
            if f.rule_class is RuleClass.RELATIVE and f.status == "present" and f.override is None
        }
        not_blocking = sorted(override.rule_ids - blocking)
        if not_blocking:
            raise InvalidInput(
                f"Only a blocking finding or a relative contraindication found present can be "
                f"overridden; {', '.join(not_blocking)} is neither in this screening "
                f"(overridable: {', '.join(sorted(blocking)) or 'none'}).",
                field="rule_ids",
            )
        db.add(
            EligibilityOverrideRow(
                id=override_id or new_id(),
                patient_id=earlier.patient_id,
                screening_id=earlier.id,
                rule_ids=sorted(override.rule_ids),
                reason=override.reason,
                prescriber_user_id=ctx.actor.user_id,
                prescriber_name=ctx.actor.display_name,
                overridden_at=ctx.now,
            )
        )
        # Judged by the same clinic policy as the screening it overrides.
        decision = screen(
            record.facts, (*record.decision.overrides, override), record.decision.policy
        )
        row = _store(
            db,
            ctx,
            earlier.patient_id,
            record.facts,
            record.provenance,
            decision,
            supersedes_id=earlier.id,
            screening_id=new_screening_id,
        )
        record_event(
            db,
            ctx.actor,
            "screening.override",
            "screening",
            row.id,
            patient_id=earlier.patient_id,
            detail={
                "overrides_screening": earlier.id,
                "rule_ids": sorted(override.rule_ids),
                "reason": override.reason,
                "decision": row.decision,
            },
            now=ctx.now,
        )
        return to_screening_record(row)


def latest_screening(
    db: Session, ctx: RequestContext, patient_id: str, treatment: Treatment | str
) -> ScreeningRecord | None:
    """The most recent screening for the treatment (an override's re-decision included)."""
    wanted = parse_treatment(treatment)
    with atomic(db):
        get_patient_row(db, patient_id)
        row = current_screening_row(db, patient_id, wanted)
        if row is not None:
            record_event(
                db,
                ctx.actor,
                "screening.read",
                "screening",
                row.id,
                patient_id=patient_id,
                now=ctx.now,
            )
        return None if row is None else to_screening_record(row)


def current_screening_row(
    db: Session, patient_id: str, treatment: Treatment
) -> ScreeningRow | None:
    """The screening in force for the treatment: the latest not superseded by an override."""
    rows = list(
        db.scalars(
            select(ScreeningRow).where(
                ScreeningRow.patient_id == patient_id, ScreeningRow.treatment == treatment.value
            )
        )
    )
    # An override's re-decision may share its time with the screening it supersedes:
    # follow the chain, never the clock alone.
    superseded = {r.supersedes_id for r in rows if r.supersedes_id is not None}
    current = [r for r in rows if r.id not in superseded]
    return max(current, key=lambda r: (r.screened_at, r.created_at), default=None)


def list_screenings(db: Session, ctx: RequestContext, patient_id: str) -> list[ScreeningRecord]:
    with atomic(db):
        get_patient_row(db, patient_id)
        rows = list(
            db.scalars(
                select(ScreeningRow)
                .where(ScreeningRow.patient_id == patient_id)
                .order_by(ScreeningRow.screened_at, ScreeningRow.created_at)
            )
        )
        record_event(
            db,
            ctx.actor,
            "screening.list",
            "patient",
            patient_id,
            patient_id=patient_id,
            detail={"count": len(rows)},
            now=ctx.now,
        )
        return [to_screening_record(r) for r in rows]


@dataclass(frozen=True)
class EligibilityOverrideRecord:
    override_id: str
    screening_id: str
    rule_ids: tuple[str, ...]
    reason: str
    prescriber: str
    prescriber_user_id: str | None
    overridden_at: datetime


def eligibility_overrides(
    db: Session, ctx: RequestContext, patient_id: str
) -> list[EligibilityOverrideRecord]:
    """Every eligibility override of the patient, oldest first: who accepted which risk, why."""
    with atomic(db):
        get_patient_row(db, patient_id)
        rows = db.scalars(
            select(EligibilityOverrideRow)
            .where(EligibilityOverrideRow.patient_id == patient_id)
            .order_by(EligibilityOverrideRow.overridden_at)
        ).all()
        record_event(
            db,
            ctx.actor,
            "screening.override.list",
            "patient",
            patient_id,
            patient_id=patient_id,
            detail={"count": len(rows)},
            now=ctx.now,
        )
        return [
            EligibilityOverrideRecord(
                override_id=r.id,
                screening_id=r.screening_id,
                rule_ids=tuple(r.rule_ids),
                reason=r.reason,
                prescriber=r.prescriber_name,
                prescriber_user_id=r.prescriber_user_id,
                overridden_at=r.overridden_at,
            )
            for r in rows
        ]


def preview_screening_input(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    treatment: Treatment | str,
    statements: ScreeningStatements | dict[str, Any] | None = None,
) -> tuple[ScreeningInput, dict[str, str]]:
    """What a screening would be given now, with each fact's origin; nothing is stored but the
    read itself (in the audit trail)."""
    _require_role(ctx, SCREENING_ROLES, "read a patient's screening facts")
    stated = (
        statements
        if isinstance(statements, ScreeningStatements | None)
        else parse(ScreeningStatements, statements)
    )
    with atomic(db):
        policy = clinic_screening_policy(db, parse_treatment(treatment))
        facts, provenance = screening_input_from_record(
            db, patient_id, treatment, ctx.now, stated, policy
        )
        record_event(
            db,
            ctx.actor,
            "screening.preview",
            "patient",
            patient_id,
            patient_id=patient_id,
            detail={"treatment": facts.treatment.value},
            now=ctx.now,
        )
        return facts, provenance
