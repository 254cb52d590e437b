"""Screening a stored patient: record -> facts (unknown kept unknown) -> decision, overrides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from screened_patients import CSSRS_HIGH, STATED_ALL_CLEAR, make_known_patient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaclinic.clinical.eligibility import DecisionClass, Finding, RuleClass
from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied
from ketaclinic.services import measurement, patients, screening
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.planning import EligibilityOverrideRow, ScreeningRow
from support.clinic import PRESCRIBER, context
from support.factories import make_patient

IV = "racemic-iv-im"
ESKETAMINE = "esketamine-intranasal"


def _finding(record: screening.ScreeningRecord, rule_id: str) -> Finding:
    return next(f for f in record.decision.findings if f.rule_id == rule_id)


def test_a_fully_recorded_patient_is_eligible_with_every_fact_traced(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_known_patient(db, ctx)
    record = screening.screen_patient(db, ctx, pid, IV, STATED_ALL_CLEAR)
    db.commit()

    assert record.decision.decision is DecisionClass.ELIGIBLE
    facts = record.facts
    assert facts.age_years == 44  # born 1981-04-02, screened 2026-03-02
    assert facts.weight_kg == 80.0
    assert facts.height_cm == 178.0
    assert facts.baseline_bp is not None
    assert (facts.baseline_bp.systolic_mmhg, facts.baseline_bp.diastolic_mmhg) == (128, 82)
    assert facts.phq9_item9 == 0
    assert facts.cssrs_screener_risk == "low"  # no yes answers: below every triage point
    assert facts.hypersensitivity_to_ketamine is False  # allergy list without ketamine
    assert facts.current_medications is not None
    assert len(facts.current_medications) == 1
    assert facts.antidepressant_trials is not None
    assert len(facts.antidepressant_trials) == 3
    assert record.provenance["urinary_symptoms"] == "stated by the screener"
    assert record.provenance["weight_kg"].startswith("record:")
    stored = db.scalars(select(ScreeningRow)).one()
    assert stored.decision == "eligible"
    assert stored.input_json["phq9_item9"] == 0
    assert len(stored.decision_json["findings"]) == len(record.decision.findings)


def test_what_the_record_does_not_say_is_reported_missing_never_absent(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_patient(db, ctx, conditions=["mdd"], failed_trials=0)
    facts, provenance = screening.preview_screening_input(db, ctx, pid, IV)

    for name in (
        "baseline_bp",
        "phq9_item9",
        "cssrs_screener_risk",
        "current_medications",
        "antidepressant_trials",
        "hypersensitivity_to_ketamine",
        "pregnant",
        "urinary_symptoms",
        "hepatic_impairment",
    ):
        assert getattr(facts, name) is None, name
        assert name not in provenance
    record = screening.screen_patient(db, ctx, pid, IV)
    assert record.decision.decision is DecisionClass.MORE_INFORMATION_NEEDED
    unknown = {f.rule_id for f in record.decision.findings if f.status == "unknown"}
    # Never-mentioned conditions, unrecorded questionnaires, medicines and BP stay open questions.
    assert {"psychosis-active", "bp-gate", "suicide-cssrs", "cns-depressants"} <= unknown
    assert {"treatment-resistance", "hypersensitivity", "pregnancy"} <= unknown


def test_screener_statements_fill_gaps_but_never_contradict_the_record(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_patient(db, ctx, conditions=["mdd", "pregnancy"], failed_trials=0)
    facts, provenance = screening.preview_screening_input(
        db,
        ctx,
        pid,
        IV,
        screening.ScreeningStatements(takes_no_medicines=True, no_antidepressant_trials=True),
    )
    assert facts.current_medications == ()
    assert facts.antidepressant_trials == ()
    assert facts.pregnant is True
    assert provenance["pregnant"].startswith("record:")
    with pytest.raises(InvalidInput) as error:
        screening.screen_patient(db, ctx, pid, IV, {"pregnant": False})
    assert error.value.field == "pregnant"

    patients.add_medication(db, ctx, pid, {"drug_name": "lorazepam"})
    with pytest.raises(InvalidInput) as error:
        screening.screen_patient(db, ctx, pid, IV, {"takes_no_medicines": True})
    assert error.value.field == "takes_no_medicines"
    assert "lorazepam" in str(error.value)
    with pytest.raises(InvalidInput):
        screening.screen_patient(db, ctx, pid, IV, {"pregnancy": "no"})


def test_record_facts_drive_the_rules(db: Session, ctx: RequestContext) -> None:
    pid = make_known_patient(
        db,
        ctx,
        phq9_item9=2,
        cssrs=CSSRS_HIGH,
        medications=[
            {"drug_name": "lorazepam", "dose_amount": 1, "dose_unit": "mg"},
            # Stopped last year: not a current medicine.
            {"drug_name": "oxycodone", "started_on": "2024-01-01", "stopped_on": "2025-01-01"},
        ],
        bp_mmhg=(150, 95),
    )
    # An older normal reading does not hide the newer raised one.
    patients.record_vitals(
        db, ctx, pid, {"systolic_mmhg": 118, "diastolic_mmhg": 76}, ctx.now - timedelta(days=30)
    )
    record = screening.screen_patient(db, ctx, pid, ESKETAMINE, STATED_ALL_CLEAR)

    assert record.facts.phq9_item9 == 2
    assert record.facts.cssrs_screener_risk == "high"
    # Suicide risk routes to a same-day assessment; it does not exclude.
    assert _finding(record, "suicide-phq9-item9").rule_class is RuleClass.CAUTION
    assert _finding(record, "suicide-cssrs").status == "present"
    assert _finding(record, "cns-depressants").status == "present"
    assert "opioids" in record.decision.checked_absent
    assert _finding(record, "esketamine-bp-gate").status == "present"
    assert record.decision.decision is DecisionClass.ELIGIBLE_WITH_CONDITIONS


def test_a_ketamine_allergy_is_an_absolute_contraindication(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_known_patient(db, ctx, allergies=[{"substance": "Ketamine", "reaction": "rash"}])
    record = screening.screen_patient(db, ctx, pid, ESKETAMINE, STATED_ALL_CLEAR)
    assert record.facts.hypersensitivity_to_ketamine is True
    assert record.decision.decision is DecisionClass.NOT_ELIGIBLE
    assert record.decision.blocking_rule_ids == ["esketamine-hypersensitivity"]


def test_only_a_prescriber_overrides_with_a_reason_stored_with_who_and_when(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_known_patient(db, ctx, failed_trials=1)
    first = screening.screen_patient(db, ctx, pid, IV, STATED_ALL_CLEAR)
    assert first.decision.blocking_rule_ids == ["treatment-resistance"]

    with pytest.raises(PermissionDenied):
        screening.override_screening(
            db, ctx, first.screening_id, ["treatment-resistance"], "nurse tries"
        )
    prescriber = context(PRESCRIBER, ctx.now + timedelta(hours=1))
    with pytest.raises(InvalidInput) as blank:
        screening.override_screening(
            db, prescriber, first.screening_id, ["treatment-resistance"], " "
        )
    assert blank.value.field == "reason"
    with pytest.raises(InvalidInput) as not_blocking:
        screening.override_screening(db, prescriber, first.screening_id, ["bp-gate"], "why not")
    assert not_blocking.value.field == "rule_ids"

    reason = "Two further trials not tolerated at adequate doses; ECT declined; MDT agreed."
    second = screening.override_screening(
        db, prescriber, first.screening_id, ["treatment-resistance"], reason
    )
    db.commit()
    assert second.supersedes_id == first.screening_id
    assert second.decision.decision is DecisionClass.ELIGIBLE_WITH_CONDITIONS
    override = _finding(second, "treatment-resistance").override
    assert override is not None
    assert override.reason == reason
    stored = db.scalars(select(EligibilityOverrideRow)).one()
    assert (stored.prescriber_name, stored.prescriber_user_id) == (
        "Dr Sam Okafor",
        PRESCRIBER.user_id,
    )
    assert stored.overridden_at == prescriber.now
    assert stored.rule_ids == ["treatment-resistance"]
    listed = screening.eligibility_overrides(db, ctx, pid)
    assert [(o.rule_ids, o.reason, o.prescriber) for o in listed] == [
        (("treatment-resistance",), reason, "Dr Sam Okafor")
    ]
    latest = screening.latest_screening(db, ctx, pid, IV)
    assert latest is not None
    assert latest.screening_id == second.screening_id
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.patient_id == pid)).all()
    assert "screening.override" in actions
    assert "screening.read" in actions


@pytest.mark.filterwarnings("ignore:New instance .* conflicts with persistent instance")
def test_a_failing_override_leaves_nothing_behind(db: Session, ctx: RequestContext) -> None:
    pid = make_known_patient(db, ctx, failed_trials=1)
    first = screening.screen_patient(db, ctx, pid, IV, STATED_ALL_CLEAR)
    db.commit()
    audit_before = db.scalar(select(func.count()).select_from(AuditEvent))
    prescriber = context(PRESCRIBER)
    # Re-using the earlier screening's id makes the final insert fail after the override was added.
    with pytest.raises(IntegrityError):
        screening.override_screening(
            db,
            prescriber,
            first.screening_id,
            ["treatment-resistance"],
            "a real reason",
            new_screening_id=first.screening_id,
        )
    db.commit()
    assert db.scalar(select(func.count()).select_from(EligibilityOverrideRow)) == 0
    assert db.scalar(select(func.count()).select_from(ScreeningRow)) == 1
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


def test_who_may_screen_and_unknown_inputs(db: Session, ctx: RequestContext) -> None:
    pid = make_patient(db, ctx)
    patient_actor = Actor(user_id="u-p", role="patient", display_name="A patient", patient_id=pid)
    with pytest.raises(PermissionDenied):
        screening.screen_patient(db, context(patient_actor), pid, IV)
    with pytest.raises(InvalidInput) as error:
        screening.screen_patient(db, ctx, pid, "ketamine-by-mouth")
    assert "racemic-iv-im" in str(error.value)
    with pytest.raises(NotFound):
        screening.screen_patient(db, ctx, "00000000-0000-0000-0000-000000000000", IV)


def test_a_questionnaire_after_the_screening_time_is_not_used(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_known_patient(db, ctx, phq9_item9=0)
    later = context(now=ctx.now + timedelta(days=2))
    measurement.record_questionnaire_response(
        db, later, pid, "phq9", [2, 2, 1, 2, 1, 1, 1, 0, 3], administered_at=later.now
    )
    facts, _ = screening.preview_screening_input(db, ctx, pid, IV)
    assert facts.phq9_item9 == 0
    facts_later, _ = screening.preview_screening_input(db, later, pid, IV)
    assert facts_later.phq9_item9 == 3


def test_interview_answers_fill_in_forms_never_given_but_never_overrule_one(
    db: Session, ctx: RequestContext
) -> None:
    pid = make_known_patient(db, ctx, phq9_item9=None, cssrs=None)
    stated = {"phq9_item9": 1, "cssrs_screener_risk": "moderate"}
    facts, provenance = screening.preview_screening_input(
        db, ctx, pid, IV, screening.ScreeningStatements(**stated)
    )
    assert (facts.phq9_item9, facts.cssrs_screener_risk) == (1, "moderate")
    assert provenance["phq9_item9"] == "stated by the screener"
    measurement.record_questionnaire_response(
        db, ctx, pid, "phq9", [1, 1, 1, 1, 1, 1, 1, 0, 0], administered_at=ctx.now
    )
    with pytest.raises(InvalidInput) as error:
        screening.screen_patient(db, ctx, pid, IV, stated)
    assert error.value.field == "phq9_item9"
