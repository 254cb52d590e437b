"""Consents: recorded, withdrawn (never deleted), and judged at a point in time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, NotFound
from ketaclinic.services import consents
from ketaclinic.services.audit import AuditFilter, search_events
from ketaclinic.services.context import RequestContext
from support.clinic import context
from support.factories import make_patient


def test_research_consent_in_force_between_giving_and_withdrawal(
    db: Session, ctx: RequestContext
) -> None:
    patient = make_patient(db, ctx)
    given = ctx.now - timedelta(days=30)
    record = consents.record_consent(
        db, ctx, patient, "research", given_at=given, document_ref="form-7"
    )
    assert consents.research_consented_patient_ids(db, at=ctx.now) == [patient]
    assert consents.active_consent(db, patient, "research", at=given - timedelta(seconds=1)) is None
    later = context(now=ctx.now + timedelta(days=2))
    withdrawn = consents.withdraw_consent(db, later, record.consent_id)
    assert withdrawn.status == consents.ConsentStatus.WITHDRAWN
    # An export run before the withdrawal was lawful; one after it leaves the patient out.
    assert consents.research_consented_patient_ids(db, at=ctx.now + timedelta(days=1)) == [patient]
    assert consents.research_consented_patient_ids(db, at=later.now) == []
    assert [c.status for c in consents.list_consents(db, patient)] == ["withdrawn"]
    actions = [e.action for e in search_events(db, AuditFilter(patient_id=patient))]
    assert {"consent.record", "consent.withdraw"} <= set(actions)


def test_bad_consents_are_refused_with_the_field_named(db: Session, ctx: RequestContext) -> None:
    patient = make_patient(db, ctx)
    with pytest.raises(InvalidInput) as unknown:
        consents.record_consent(db, ctx, patient, "marketing")
    assert "treatment, research, rems-enrolment" in unknown.value.message
    with pytest.raises(InvalidInput, match="in the future"):
        consents.record_consent(db, ctx, patient, "research", given_at=ctx.now + timedelta(hours=1))
    consents.record_consent(db, ctx, patient, "treatment")
    with pytest.raises(InvalidInput, match="already has an active treatment consent"):
        consents.record_consent(db, ctx, patient, "treatment")
    with pytest.raises(NotFound):
        consents.withdraw_consent(db, ctx, "no-such-consent")
    with pytest.raises(NotFound):
        consents.record_consent(db, ctx, "no-such-patient", "research")


def test_who_obtained_who_withdrew_and_why_are_kept(db: Session, ctx: RequestContext) -> None:
    patient = make_patient(db, ctx)
    given = consents.record_consent(
        db, ctx, patient, "rems-enrolment", obtained_by="Dr Sam Okafor", document_ref="REMS-PE-1",
        given_at=ctx.now - timedelta(hours=1),
    )  # fmt: skip
    assert (given.obtained_by, given.recorded_by) == ("Dr Sam Okafor", ctx.actor.display_name)
    assert given.label == "SPRAVATO REMS patient enrolment (esketamine)"
    treatment = consents.record_consent(db, ctx, patient, "treatment")
    # Nobody named: the person recording it obtained it.
    assert treatment.obtained_by == ctx.actor.display_name
    later = context(now=ctx.now + timedelta(days=1))
    withdrawn = consents.withdraw_consent(
        db, later, treatment.consent_id, reason="  Wants to stop treatment.  "
    )
    assert (withdrawn.withdrawn_by, withdrawn.withdrawal_reason) == (
        later.actor.display_name,
        "Wants to stop treatment.",
    )
    assert withdrawn.withdrawn_at == later.now
    # The register reads newest first and the read is audited.
    register = consents.consent_register(db, later, patient)
    assert [c.kind.value for c in register] == ["treatment", "rems-enrolment"]
    actions = [e.action for e in search_events(db, AuditFilter(patient_id=patient))]
    assert actions[0] == "consent.read"  # newest first
    with pytest.raises(InvalidInput, match="already withdrawn"):
        consents.withdraw_consent(db, later, treatment.consent_id)
    with pytest.raises(InvalidInput) as too_long:
        consents.record_consent(db, ctx, patient, "research", document_ref="x" * 301)
    assert too_long.value.field == "document_ref"
