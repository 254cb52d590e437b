"""A small clinic for the interoperability tests, built through the real services.

Three patients: a research-consented TRD patient with escort, medication, allergy, vitals and
PHQ-9 responses; a research-consented patient aged over 89 in a restricted ZIP3 area; and one
without research consent. ``Clinic.identifiers`` lists every identifying string the de-identified
exports must not contain, matched as whole tokens by ``leaks`` (event dates and the year of birth
are checked record by record instead: a shifted date can land on another record's true date, and
four digits turn up inside random keys, by coincidence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from ketaclinic.services import consents, measurement, patients
from ketaclinic.services.context import RequestContext

PHQ9_WEEKLY = (
    [3, 3, 2, 2, 2, 2, 2, 1, 1],
    [2, 2, 1, 1, 1, 1, 1, 0, 0],
    [1, 1, 0, 0, 1, 0, 0, 0, 0],
)


def leaks(text: str, identifiers: list[str]) -> list[str]:
    """The identifiers found in ``text`` as whole tokens (not inside a longer word or key)."""
    return [
        identifier
        for identifier in identifiers
        if re.search(rf"(?<![0-9A-Za-z]){re.escape(identifier)}(?![0-9A-Za-z])", text)
    ]


@dataclass
class Clinic:
    consented: str
    elderly: str
    not_consented: str
    identifiers: list[str] = field(default_factory=list)
    response_ids: list[str] = field(default_factory=list)


def build_clinic(db: Session, ctx: RequestContext) -> Clinic:
    now = ctx.now
    first = patients.register_patient(
        db,
        ctx,
        {
            "given_name": "Marguerite",
            "family_name": "Okonkwo-Lindqvist",
            "date_of_birth": "1979-08-23",
            "sex": "F",
        },
        {
            "phone": "+1 617-555-0199",
            "email": "marguerite.ol@example.org",
            "address_line": "41 Quarry Lane",
            "city": "Somerville",
            "postal_code": "02144",
            "country": "US",
        },
        mrn="KC-900123",
    )
    patients.add_contact(
        db,
        ctx,
        first,
        {
            "role": "escort",
            "name": "Bartholomew Lindqvist",
            "relationship": "spouse",
            "phone": "+1 617-555-0188",
            "email": "bart.lq@example.org",
        },
    )
    patients.add_diagnosis(db, ctx, first, {"condition": "trd", "onset_date": "2019-03-11"})
    patients.add_diagnosis(db, ctx, first, {"condition": "gad", "status": "in-remission"})
    patients.add_medication(
        db,
        ctx,
        first,
        {
            "drug_name": "lorazepam",
            "dose_amount": 1,
            "dose_unit": "mg",
            "frequency": "at night",
            "started_on": "2025-01-05",
        },
    )
    patients.add_antidepressant_trial(
        db,
        ctx,
        first,
        {
            "drug": "sertraline",
            "dose_mg_per_day": 150,
            "duration_weeks": 10,
            "outcome": "no-response",
        },
        started_on=date(2021, 2, 1),
    )
    patients.add_allergy(
        db, ctx, first, {"substance": "penicillin", "reaction": "hives", "severity": "moderate"}
    )
    start = now - timedelta(days=21)
    patients.record_vitals(
        db,
        ctx,
        first,
        {
            "systolic_mmhg": 128,
            "diastolic_mmhg": 82,
            "heart_rate_bpm": 71,
            "weight_kg": 64.5,
            "spo2_percent": 98,
        },
        start,
    )
    clinic_ids = []
    for week, answers in enumerate(PHQ9_WEEKLY):
        stored = measurement.record_questionnaire_response(
            db, ctx, first, "phq9", answers, administered_at=start + timedelta(days=7 * week)
        )
        clinic_ids.append(stored.response_id)
    consents.record_consent(db, ctx, first, "treatment", document_ref="scan-2026-0113.pdf")
    consents.record_consent(db, ctx, first, "research", document_ref="scan-2026-0114.pdf")

    elderly = patients.register_patient(
        db,
        ctx,
        {
            "given_name": "Ignatius",
            "family_name": "Fairweather",
            "date_of_birth": "1931-11-02",
            "sex": "M",
        },
        {
            "phone": "+1 307-555-0123",
            "postal_code": "82190",
            "country": "US",
            "city": "Yellowstone",
        },
        mrn="KC-900456",
    )
    patients.add_diagnosis(db, ctx, elderly, {"condition": "mdd"})
    patients.record_vitals(db, ctx, elderly, {"systolic_mmhg": 141, "diastolic_mmhg": 88}, start)
    measurement.record_questionnaire_response(
        db, ctx, elderly, "gad7", [1, 1, 1, 0, 0, 1, 1], administered_at=start
    )
    consents.record_consent(db, ctx, elderly, "research")

    other = patients.register_patient(
        db,
        ctx,
        {
            "given_name": "Perpetua",
            "family_name": "Ravensworth",
            "date_of_birth": "1990-01-30",
            "sex": "F",
        },
        {"email": "perpetua.r@example.org"},
        mrn="KC-900789",
    )
    patients.record_vitals(db, ctx, other, {"heart_rate_bpm": 66}, start)
    db.commit()
    identifiers = [
        "Marguerite",
        "Okonkwo-Lindqvist",
        "1979-08-23",
        "617-555-0199",
        "marguerite.ol@example.org",
        "41 Quarry Lane",
        "Somerville",
        "02144",
        "KC-900123",
        "Bartholomew",
        "617-555-0188",
        "bart.lq@example.org",
        "scan-2026-0114.pdf",
        "Ignatius",
        "Fairweather",
        "307-555-0123",
        "82190",
        "Yellowstone",
        "KC-900456",
        "Perpetua",
        "Ravensworth",
        "KC-900789",
        first,
        elderly,
        other,
        ctx.actor.display_name,
    ]
    return Clinic(first, elderly, other, identifiers, clinic_ids)
