"""The stored patient record as screening facts (``ScreeningInput``), unknown kept unknown.

The record says what it says and no more. A condition never recorded (not even as ruled out) is
unknown; medicines or antidepressant trials with no rows are unknown (unless the screener states
the patient takes none, or has had none); questionnaires never given are unknown. An allergy list
with entries but none to a ketamine product documents the hypersensitivity as absent. Facts the
record has no home for (pregnancy status when not recorded as a diagnosis, urinary symptoms,
STOP-BANG risk, liver function) may be *stated* by the screener at screening time; a statement
that contradicts the record is refused. Every known fact's origin is returned (``provenance``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.eligibility import (
    BloodPressure,
    CurrentMedication,
    Diagnosis,
    ScreeningInput,
    Treatment,
)
from ketaclinic.clinical.eligibility.policy import DATED_FACTS, ScreeningPolicy
from ketaclinic.clinical.record import age_years, parse
from ketaclinic.clinical.treatment_resistance import AntidepressantTrial
from ketaclinic.clinical.vitals import VitalKind
from ketaclinic.clinical.vocabulary import ConditionId, ConditionStatus, MedicationClass
from ketaclinic.errors import InvalidInput
from ketaclinic.services.patients import get_patient_row
from ketaclinic.storage.tables.measurements import (
    ObservationRow,
    QuestionnaireItemAnswerRow,
    QuestionnaireResponseRow,
)
from ketaclinic.storage.tables.patients import (
    AllergyRow,
    AntidepressantTrialRow,
    DiagnosisRow,
    MedicationRow,
)

# Allergy entries naming one of these mean a documented hypersensitivity to the product.
_KETAMINE_WORDS = ("ketamine", "esketamine", "ketalar", "spravato")


def parse_treatment(value: Treatment | str) -> Treatment:
    try:
        return Treatment(value)
    except ValueError:
        allowed = ", ".join(t.value for t in Treatment)
        raise InvalidInput(
            f"Unknown treatment '{value}'. Use one of: {allowed}.", field="treatment"
        ) from None


class ScreeningStatements(BaseModel):
    """Facts the screener states at screening time, for what the record does not hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pregnant: bool | None = None
    breastfeeding: bool | None = None
    hypersensitivity_to_ketamine: bool | None = None
    urinary_symptoms: bool | None = None
    sleep_apnoea_risk: Literal["low", "intermediate", "high"] | None = None
    hepatic_impairment: Literal["none", "mild", "moderate", "severe"] | None = None
    # The clinician's judgement that blood pressure is (not) controlled on treatment.
    hypertension_uncontrolled: bool | None = None
    takes_no_medicines: bool = False
    no_antidepressant_trials: bool = False
    # Asked at the screening interview when no form is on record; a recorded form takes
    # precedence and a different stated answer is refused (record the new form instead), unless
    # the form is older than the clinic policy accepts: then today's answer is used.
    phq9_item9: int | None = Field(default=None, ge=0, le=3)
    cssrs_screener_risk: Literal["low", "moderate", "high"] | None = None


# --- the record as screening facts -------------------------------------------------------------


def _rows(db: Session, table: Any, patient_id: str) -> list[Any]:
    return list(
        db.scalars(select(table).where(table.patient_id == patient_id).order_by(table.created_at))
    )


def _latest_observation(
    db: Session, patient_id: str, kind: str, on: datetime
) -> ObservationRow | None:
    return db.scalars(
        select(ObservationRow)
        .where(
            ObservationRow.patient_id == patient_id,
            ObservationRow.kind == kind,
            ObservationRow.observed_at <= on,
        )
        .order_by(ObservationRow.observed_at.desc(), ObservationRow.recorded_at.desc())
        .limit(1)
    ).first()


def _latest_response(
    db: Session, patient_id: str, instrument_id: str, on: datetime
) -> QuestionnaireResponseRow | None:
    return db.scalars(
        select(QuestionnaireResponseRow)
        .where(
            QuestionnaireResponseRow.patient_id == patient_id,
            QuestionnaireResponseRow.instrument_id == instrument_id,
            QuestionnaireResponseRow.administered_at <= on,
        )
        .order_by(QuestionnaireResponseRow.administered_at.desc())
        .limit(1)
    ).first()


def _baseline_bp(
    db: Session, patient_id: str, on: datetime, provenance: dict[str, str], dates: dict[str, date]
) -> BloodPressure | None:
    systolic = _latest_observation(db, patient_id, VitalKind.SYSTOLIC_MMHG.value, on)
    if systolic is None:
        return None
    # The pair taken together with the latest systolic; a lone systolic is not a blood pressure.
    diastolic = db.scalars(
        select(ObservationRow).where(
            ObservationRow.patient_id == patient_id,
            ObservationRow.kind == VitalKind.DIASTOLIC_MMHG.value,
            ObservationRow.observed_at == systolic.observed_at,
        )
    ).first()
    if diastolic is None:
        return None
    value = parse(
        BloodPressure,
        {"systolic_mmhg": round(systolic.value), "diastolic_mmhg": round(diastolic.value)},
    )
    provenance["baseline_bp"] = f"record: blood pressure taken {systolic.observed_at.isoformat()}"
    dates["baseline_bp"] = systolic.observed_at.date()
    return value


def _condition_fact(
    statuses: dict[ConditionId, set[ConditionStatus]], condition: ConditionId
) -> bool | None:
    found = statuses.get(condition, set())
    if found & {ConditionStatus.ACTIVE}:
        return True
    if found == {ConditionStatus.RULED_OUT}:
        return False
    return None


def _merge(
    name: str,
    from_record: Any,
    stated: Any,
    provenance: dict[str, str],
    record_note: str,
) -> Any:
    """The record's value, else the screener's statement; a contradiction is refused."""
    if from_record is not None and stated is not None and from_record != stated:
        raise InvalidInput(
            f"'{name}' is stated as {stated} but the record says {from_record} ({record_note}). "
            "Correct the record or the statement.",
            field=name,
        )
    if from_record is not None:
        provenance[name] = f"record: {record_note}"
        return from_record
    if stated is not None:
        provenance[name] = "stated by the screener"
    return stated


def screening_input_from_record(
    db: Session,
    patient_id: str,
    treatment: Treatment | str,
    on: datetime,
    statements: ScreeningStatements | None = None,
    policy: ScreeningPolicy | None = None,
) -> tuple[ScreeningInput, dict[str, str]]:
    """What the stored record (plus the screener's statements) says, as screening facts.

    Returns the input and, for each fact that is known, where it came from, with the date each
    measurement was taken (``measured_on``; the rules treat one older than ``policy`` allows as
    missing). Pure reading: no audit entry (``screen_patient`` writes one for the screening).
    """
    dates: dict[str, date] = {}
    stated = statements or ScreeningStatements()
    patient = get_patient_row(db, patient_id)
    provenance: dict[str, str] = {
        "age_years": "record: date of birth",
        "sex": "record: demographics",
    }
    diagnoses = [
        Diagnosis(condition=ConditionId(r.condition_id), status=ConditionStatus(r.status))
        for r in _rows(db, DiagnosisRow, patient_id)
    ]
    if diagnoses:
        provenance["diagnoses"] = f"record: {len(diagnoses)} diagnoses (incl. ruled out)"
    statuses: dict[ConditionId, set[ConditionStatus]] = {}
    for d in diagnoses:
        statuses.setdefault(d.condition, set()).add(d.status)

    facts: dict[str, Any] = {
        "treatment": parse_treatment(treatment),
        "patient_ref": patient.mrn,
        "age_years": age_years(patient.date_of_birth, on.date()),
        "sex": patient.sex,
        "diagnoses": tuple(diagnoses),
    }
    for kind in ("weight_kg", "height_cm"):
        row = _latest_observation(db, patient_id, kind, on)
        if row is not None:
            facts[kind] = row.value
            provenance[kind] = f"record: measured {row.observed_at.isoformat()}"
            dates[kind] = row.observed_at.date()
    facts["baseline_bp"] = _baseline_bp(db, patient_id, on, provenance, dates)

    for name, condition in (
        ("pregnant", ConditionId.PREGNANCY),
        ("breastfeeding", ConditionId.BREASTFEEDING),
    ):
        facts[name] = _merge(
            name,
            _condition_fact(statuses, condition),
            getattr(stated, name),
            provenance,
            f"diagnosis '{condition.value}'",
        )
    severe_liver = _condition_fact(statuses, ConditionId.SEVERE_HEPATIC_IMPAIRMENT)
    if severe_liver is False and stated.hepatic_impairment == "severe":
        raise InvalidInput(
            "Severe hepatic impairment is stated but the record rules it out.",
            field="hepatic_impairment",
        )
    facts["hepatic_impairment"] = _merge(
        "hepatic_impairment",
        "severe" if severe_liver else None,
        stated.hepatic_impairment,
        provenance,
        "diagnosis 'severe-hepatic-impairment'",
    )
    facts["hypersensitivity_to_ketamine"] = _hypersensitivity(db, patient_id, stated, provenance)
    facts["urinary_symptoms"] = _merge(
        "urinary_symptoms", None, stated.urinary_symptoms, provenance, ""
    )
    facts["sleep_apnoea_risk"] = _merge(
        "sleep_apnoea_risk", None, stated.sleep_apnoea_risk, provenance, ""
    )
    facts["hypertension_uncontrolled"] = _merge(
        "hypertension_uncontrolled", None, stated.hypertension_uncontrolled, provenance, ""
    )
    facts["antidepressant_trials"] = _trials(db, patient_id, stated, provenance)
    facts["current_medications"] = _medications(db, patient_id, on, stated, provenance)
    recorded = _questionnaire_facts(db, patient_id, on, provenance, dates)
    for name in ("phq9_item9", "cssrs_screener_risk"):
        from_record, said = recorded.get(name), getattr(stated, name)
        limit = None if policy is None or name not in DATED_FACTS else policy.max_age_days(name)
        taken = dates.get(name)
        too_old = taken is not None and limit is not None and (on.date() - taken).days > limit
        if said is not None and taken is not None and too_old:
            # Too old to use: today's answer replaces it (the form stays on record).
            provenance[name] = (
                f"stated by the screener (the form on record, of {taken.isoformat()}, is "
                f"older than the {limit} days the clinic policy accepts)"
            )
            facts[name], dates[name] = said, on.date()
            continue
        facts[name] = _merge(
            name, from_record, said, provenance, provenance.get(name, "").removeprefix("record: ")
        )
        if from_record is None and said is not None:
            dates[name] = on.date()
    facts["screened_on"] = on.date()
    facts["measured_on"] = {k: v for k, v in dates.items() if k != "height_cm"}
    return parse(ScreeningInput, facts), provenance


def _hypersensitivity(
    db: Session, patient_id: str, stated: ScreeningStatements, provenance: dict[str, str]
) -> bool | None:
    allergies = _rows(db, AllergyRow, patient_id)
    ketamine = [a for a in allergies if any(w in a.substance.lower() for w in _KETAMINE_WORDS)]
    from_record: bool | None = None
    note = ""
    if ketamine:
        from_record, note = True, f"allergy to {ketamine[0].substance}"
    elif allergies:
        # An allergy history was taken and lists no ketamine product: documented as absent.
        from_record, note = False, f"allergy list of {len(allergies)} entries, none to ketamine"
    return _merge(  # type: ignore[no-any-return]
        "hypersensitivity_to_ketamine",
        from_record,
        stated.hypersensitivity_to_ketamine,
        provenance,
        note,
    )


def _trials(
    db: Session, patient_id: str, stated: ScreeningStatements, provenance: dict[str, str]
) -> tuple[AntidepressantTrial, ...] | None:
    rows = _rows(db, AntidepressantTrialRow, patient_id)
    if rows:
        provenance["antidepressant_trials"] = f"record: {len(rows)} trials"
        return tuple(
            AntidepressantTrial(
                drug=r.drug_name,
                dose_mg_per_day=r.dose_mg_per_day,
                duration_weeks=r.duration_weeks,
                outcome=r.outcome,
            )
            for r in rows
        )
    if stated.no_antidepressant_trials:
        provenance["antidepressant_trials"] = "stated by the screener: no previous trials"
        return ()
    return None


def _medications(
    db: Session,
    patient_id: str,
    on: datetime,
    stated: ScreeningStatements,
    provenance: dict[str, str],
) -> tuple[CurrentMedication, ...] | None:
    rows = _rows(db, MedicationRow, patient_id)
    day = on.date()
    current = [
        r
        for r in rows
        if (r.started_on is None or r.started_on <= day)
        and (r.stopped_on is None or r.stopped_on > day)
    ]
    if current and stated.takes_no_medicines:
        raise InvalidInput(
            f"'Takes no medicines' is stated but the record lists {current[0].drug_name} as "
            "current. Stop that medication in the record or correct the statement.",
            field="takes_no_medicines",
        )
    if rows:
        provenance["current_medications"] = f"record: {len(current)} current of {len(rows)}"
        return tuple(
            CurrentMedication(
                name=r.drug_name,
                classes=tuple(MedicationClass(c) for c in r.classes.split(",") if c) or None,
            )
            for r in current
        )
    if stated.takes_no_medicines:
        provenance["current_medications"] = "stated by the screener: takes no medicines"
        return ()
    return None


def _questionnaire_facts(
    db: Session, patient_id: str, on: datetime, provenance: dict[str, str], dates: dict[str, date]
) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    phq9 = _latest_response(db, patient_id, "phq9", on)
    if phq9 is not None:
        item9 = db.scalars(
            select(QuestionnaireItemAnswerRow.value).where(
                QuestionnaireItemAnswerRow.response_id == phq9.id,
                QuestionnaireItemAnswerRow.item_id == "q9",
            )
        ).first()
        if item9 is not None:
            facts["phq9_item9"] = round(item9)
            provenance["phq9_item9"] = f"record: PHQ-9 of {phq9.administered_at.isoformat()}"
            dates["phq9_item9"] = phq9.administered_at.date()
    cssrs = _latest_response(db, patient_id, "cssrs-screener", on)
    risk = None if cssrs is None else cssrs.extras.get("risk")
    if cssrs is not None and risk is not None:
        # "none" (no yes answers) is below every triage point: the rules read it as low.
        facts["cssrs_screener_risk"] = "low" if risk == "none" else risk
        provenance["cssrs_screener_risk"] = (
            f"record: C-SSRS screener of {cssrs.administered_at.isoformat()} ({risk})"
        )
        dates["cssrs_screener_risk"] = cssrs.administered_at.date()
    return facts
