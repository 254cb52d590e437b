"""Screening through the services with the clinic's policy: one home for thresholds, suicide
screens routed to the same-day assessment, measurements too old to use, rule classes by choice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from screened_patients import STATED_ALL_CLEAR, make_known_patient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, PermissionDenied
from ketaclinic.services import policy, screening
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.screening_policy import change_rule_class, rule_class_history
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.safety import SafetyFlagRow, SafetyTaskRow
from support.clinic import PRESCRIBER, context

ADMIN = Actor(user_id="user-admin-1", role="administrator", display_name="Ada Admin")
IV_IM = "racemic-iv-im"


def _finding(record: screening.ScreeningRecord, rule_id: str) -> object:
    return next((f for f in record.decision.findings if f.rule_id == rule_id), None)


def _tasks(db: Session, pid: str) -> list[SafetyTaskRow]:
    return list(
        db.scalars(
            select(SafetyTaskRow).where(
                SafetyTaskRow.patient_id == pid, SafetyTaskRow.kind == "suicide-risk-assessment"
            )
        )
    )


def test_a_suicide_screen_stated_at_screening_creates_one_same_day_task_and_flag(
    db: Session, ctx: RequestContext
) -> None:
    # No form on record: the screener asks item 9 at the interview and the answer is 2.
    pid = make_known_patient(db, ctx, phq9_item9=None, cssrs=None)
    stated = STATED_ALL_CLEAR | {"phq9_item9": 2, "cssrs_screener_risk": "low"}
    first = screening.screen_patient(db, ctx, pid, IV_IM, stated)
    db.commit()
    assert first.decision.findings  # screened
    tasks = _tasks(db, pid)
    assert len(tasks) == 1
    assert tasks[0].due_at.date() == ctx.now.date()
    assert tasks[0].related_id == first.screening_id
    flags = db.scalars(select(SafetyFlagRow).where(SafetyFlagRow.patient_id == pid)).all()
    assert len(flags) == 1
    # Screening again the same day (for another treatment) adds no second task.
    screening.screen_patient(db, ctx, pid, "esketamine-intranasal", stated)
    db.commit()
    assert len(_tasks(db, pid)) == 1
    # Never an exclusion: the finding is a caution.
    finding = _finding(first, "suicide-phq9-item9")
    assert finding is not None
    assert finding.rule_class.value == "caution"  # type: ignore[attr-defined]


def test_a_negative_screen_creates_no_task(db: Session, ctx: RequestContext) -> None:
    pid = make_known_patient(db, ctx)
    screening.screen_patient(db, ctx, pid, IV_IM, STATED_ALL_CLEAR)
    db.commit()
    assert _tasks(db, pid) == []


def test_screening_reads_the_clinic_policy_gate(db: Session, ctx: RequestContext) -> None:
    pid = make_known_patient(db, ctx, bp_mmhg=(135, 85))
    before = screening.screen_patient(db, ctx, pid, IV_IM, STATED_ALL_CLEAR)
    assert _finding(before, "bp-gate") is None
    admin = context(ADMIN)
    policy.change_threshold(
        db, admin, "im-racemic", "predose_bp_gate_systolic_mmhg", 130, reason="Board, March"
    )
    after = screening.screen_patient(db, ctx, pid, IV_IM, STATED_ALL_CLEAR)
    db.commit()
    gate = _finding(after, "bp-gate")
    assert gate is not None
    assert "above 130/90" in gate.reason  # type: ignore[attr-defined]
    assert after.decision.policy is not None
    assert after.decision.policy.values["predose_bp_gate_systolic_mmhg"] == 130


def test_old_measurements_count_as_missing_and_a_fresh_answer_replaces_an_old_form(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_known_patient(db, ctx)  # BP, weight and forms recorded today
    later = context(ctx.actor, ctx.now + timedelta(days=40))
    record = screening.screen_patient(
        db, later, pid, IV_IM, STATED_ALL_CLEAR | {"phq9_item9": 0, "cssrs_screener_risk": "low"}
    )
    db.commit()
    assert record.decision.decision.value == "more-information-needed"
    taken = ctx.now.date().isoformat()
    gate = _finding(record, "bp-gate")
    assert f"of {taken}, is 40 days old and the clinic policy accepts 30" in gate.reason  # type: ignore[attr-defined]
    weight = _finding(record, "weight-recorded")
    assert "is 40 days old" in weight.reason  # type: ignore[attr-defined]
    # The PHQ-9 on record is older than 14 days: today's stated answer is used, not refused.
    assert record.facts.phq9_item9 == 0
    assert "older than the 14 days" in record.provenance["phq9_item9"]
    assert record.facts.measured_on is not None
    assert record.facts.measured_on.phq9_item9 == later.now.date()


def test_the_clinic_chooses_the_class_of_uncontrolled_hypertension(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_known_patient(db, ctx, bp_mmhg=(186, 104))
    label = screening.screen_patient(db, ctx, pid, IV_IM, STATED_ALL_CLEAR)
    assert label.decision.decision.value == "not-eligible"
    assert label.decision.blocking_rule_ids == ["uncontrolled-hypertension"]
    admin = context(ADMIN)
    with pytest.raises(PermissionDenied):
        change_rule_class(db, context(PRESCRIBER), "uncontrolled-hypertension",
                          "relative-contraindication", reason="Guideline view")  # fmt: skip
    with pytest.raises(InvalidInput, match="one class in its sources"):
        change_rule_class(db, admin, "bp-gate", "caution", reason="Not allowed")
    with pytest.raises(InvalidInput, match="choose one of"):
        change_rule_class(db, admin, "uncontrolled-hypertension", "caution", reason="Too mild")
    change_rule_class(db, admin, "uncontrolled-hypertension", "relative-contraindication",
                      reason="Medical director follows the ASRA guideline")  # fmt: skip
    guideline = screening.screen_patient(db, ctx, pid, IV_IM, STATED_ALL_CLEAR)
    db.commit()
    assert guideline.decision.decision.value == "eligible-with-conditions"
    finding = _finding(guideline, "uncontrolled-hypertension")
    assert "Cohen" in finding.citation  # type: ignore[attr-defined]
    (change,) = rule_class_history(db)
    assert (change.changed_by, change.previous_value, change.value) == (
        "Ada Admin", "absolute-contraindication", "relative-contraindication"
    )  # fmt: skip
    audited = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "screening.rule_class.change")
    ).all()
    assert len(audited) == 1
