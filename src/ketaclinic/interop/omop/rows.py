"""OMOP rows from one patient snapshot (identified or already de-identified).

OMOP keys are integers; a :class:`KeyMint` numbers each table's rows in export order, so keys are
dense, stable for the same database and export, and carry nothing of the source ids.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.clinical.record import condition_definition
from ketaclinic.clinical.vitals import VitalKind, vital_definition
from ketaclinic.interop.deidentify import safe_harbor_rules
from ketaclinic.interop.fhir.source import PatientData
from ketaclinic.interop.omop.concepts import (
    EHR_TYPE_CONCEPT,
    GENDER_CONCEPTS,
    MEASUREMENT_CONCEPTS,
    NO_MATCHING_CONCEPT,
    OUTPATIENT_VISIT_CONCEPT,
    UNIT_CONCEPTS,
)

Row = dict[str, Any]
_VITALS = {kind.value for kind in VitalKind}


class KeyMint:
    def __init__(self) -> None:
        self._next: dict[str, int] = defaultdict(lambda: 1)

    def __call__(self, table: str) -> int:
        key = self._next[table]
        self._next[table] = key + 1
        return key


def _clip(value: str | None, length: int = 50) -> str | None:
    return None if value is None else value[:length]


def _day(moment: datetime | date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def person_row(data: PatientData, person_id: int, as_of: date) -> Row:
    patient = data.patient
    row: Row = {
        "person_id": person_id,
        "gender_concept_id": GENDER_CONCEPTS.get(patient.sex, NO_MATCHING_CONCEPT),
        "race_concept_id": NO_MATCHING_CONCEPT,
        "ethnicity_concept_id": NO_MATCHING_CONCEPT,
        "person_source_value": _clip(patient.mrn),
        "gender_source_value": patient.sex,
    }
    if data.deidentified:
        cap = safe_harbor_rules().age_cap_years
        # De-identified snapshots carry the year only (year 1 = withheld: aged 90 or over, where
        # OMOP's required year_of_birth becomes the year that makes the age exactly 90).
        year = patient.date_of_birth.year
        row["year_of_birth"] = as_of.year - cap if year <= 1 else year
    else:
        born = patient.date_of_birth
        row |= {
            "year_of_birth": born.year,
            "month_of_birth": born.month,
            "day_of_birth": born.day,
            "birth_datetime": datetime(born.year, born.month, born.day),
        }
    return row


def event_days(rows: list[Row]) -> list[date]:
    """Every ``*_date`` of the person's event rows (visits, conditions, drug exposures,
    measurements, observations): an observation period must hold each of them."""
    return [
        value
        for row in rows
        for name, value in row.items()
        if name.endswith("_date") and isinstance(value, date)
    ]


def observation_period_row(
    data: PatientData, key: int, person_id: int, event_rows: list[Row]
) -> Row:
    """One period from registration (or the first event, if earlier: history recorded with its
    own dates) to the last event, so no event of the person lies outside it (OHDSI DQD)."""
    days = [_day(data.patient.created_at), *event_days(event_rows)]
    return {
        "observation_period_id": key,
        "person_id": person_id,
        "observation_period_start_date": min(days),
        "observation_period_end_date": max(days),
        "period_type_concept_id": EHR_TYPE_CONCEPT,
    }


def visit_rows(
    data: PatientData, mint: KeyMint, person_id: int
) -> tuple[list[Row], dict[date | str, int]]:
    """One visit per supervised session (check-in to discharge), then one per other day with a
    vital sign taken (vitals are taken in the clinic). Keys: session id, or the day."""
    keys: dict[date | str, int] = {}
    rows: list[Row] = []

    def add(key: date | str, start: datetime | date, end: datetime | date, source: str) -> None:
        keys[key] = mint("visit_occurrence")
        row: Row = {
            "visit_occurrence_id": keys[key],
            "person_id": person_id,
            "visit_concept_id": OUTPATIENT_VISIT_CONCEPT,
            "visit_start_date": _day(start),
            "visit_end_date": _day(end),
            "visit_type_concept_id": EHR_TYPE_CONCEPT,
            "visit_source_value": source,
        }
        if isinstance(start, datetime) and isinstance(end, datetime):
            row["visit_start_datetime"] = start.replace(tzinfo=None)
            row["visit_end_datetime"] = end.replace(tzinfo=None)
        rows.append(row)

    for session in data.sessions:
        steps = data.steps.get(session.id, [])
        arrived = next((s.at for s in steps if s.event == "check-in"), None)
        if arrived is None:
            continue  # scheduled or a no-show: no visit took place
        left = next((s.at for s in steps if s.event in ("discharge", "abort")), None)
        add(session.id, arrived, left or arrived, f"session:{session.protocol_kind}"[:50])
    session_days = {
        _day(s.at) for rows_ in data.steps.values() for s in rows_ if s.event == "check-in"
    }
    clinic_days = {
        _day(o.observed_at) for o in data.observations if o.kind in _VITALS and o.context_id is None
    }
    for day in sorted(clinic_days - session_days):
        add(day, day, day, "clinic-day")
    return rows, keys


def condition_rows(data: PatientData, mint: KeyMint, person_id: int) -> list[Row]:
    rows: list[Row] = []
    for diagnosis in data.diagnoses:
        definition = condition_definition(diagnosis.condition_id)
        start = diagnosis.onset_date or _day(diagnosis.created_at)
        rows.append(
            {
                "condition_occurrence_id": mint("condition_occurrence"),
                "person_id": person_id,
                "condition_concept_id": NO_MATCHING_CONCEPT,
                "condition_start_date": start,
                "condition_type_concept_id": EHR_TYPE_CONCEPT,
                "condition_source_value": definition.icd10cm or definition.id.value,
                "condition_source_concept_id": NO_MATCHING_CONCEPT,
                "condition_status_source_value": diagnosis.status,
            }
        )
    return rows


def drug_rows(data: PatientData, mint: KeyMint, person_id: int) -> list[Row]:
    rows: list[Row] = []
    for medication in data.medications:
        start = medication.started_on or _day(medication.created_at)
        sig = " ".join(
            str(part)
            for part in (medication.dose_amount, medication.dose_unit, medication.frequency)
            if part is not None
        )
        rows.append(
            {
                "drug_exposure_id": mint("drug_exposure"),
                "person_id": person_id,
                "drug_concept_id": NO_MATCHING_CONCEPT,
                "drug_exposure_start_date": start,
                # Required; with no stop date the THEMIS convention is the start date.
                "drug_exposure_end_date": medication.stopped_on or start,
                "verbatim_end_date": medication.stopped_on,
                "drug_type_concept_id": EHR_TYPE_CONCEPT,
                "sig": sig or None,
                "drug_source_value": _clip(medication.drug_name),
                "drug_source_concept_id": NO_MATCHING_CONCEPT,
                "dose_unit_source_value": _clip(medication.dose_unit),
            }
        )
    rows.extend(_administration_rows(data, mint, person_id))
    for trial in data.trials:
        if trial.started_on is None:
            continue  # no date, no OMOP event: the trial stays in the FHIR export only
        weeks = trial.duration_weeks or 0
        rows.append(
            {
                "drug_exposure_id": mint("drug_exposure"),
                "person_id": person_id,
                "drug_concept_id": NO_MATCHING_CONCEPT,
                "drug_exposure_start_date": trial.started_on,
                "drug_exposure_end_date": trial.started_on + timedelta(weeks=weeks),
                "drug_type_concept_id": EHR_TYPE_CONCEPT,
                "stop_reason": _clip(trial.outcome, 20),
                "sig": None
                if trial.dose_mg_per_day is None
                else f"{trial.dose_mg_per_day:g} mg/day",
                "drug_source_value": _clip(trial.drug_name),
                "drug_source_concept_id": NO_MATCHING_CONCEPT,
                "dose_unit_source_value": None if trial.dose_mg_per_day is None else "mg/d",
            }
        )
    return rows


def _administration_rows(data: PatientData, mint: KeyMint, person_id: int) -> list[Row]:
    """Each session's ketamine/esketamine administration, with its lot and route."""
    rows: list[Row] = []
    for session_id, record in data.dosing.items():
        end = record.stopped_at or record.started_at
        rows.append(
            {
                "drug_exposure_id": mint("drug_exposure"),
                "person_id": person_id,
                "drug_concept_id": NO_MATCHING_CONCEPT,
                "drug_exposure_start_date": _day(record.started_at),
                "drug_exposure_start_datetime": record.started_at.replace(tzinfo=None),
                "drug_exposure_end_date": _day(end),
                "drug_exposure_end_datetime": end.replace(tzinfo=None),
                "drug_type_concept_id": EHR_TYPE_CONCEPT,
                "quantity": record.dose_mg,
                "route_source_value": record.route,
                "lot_number": _clip(record.lot_number),
                "drug_source_value": _clip(f"{record.product}, {record.formulation}"),
                "drug_source_concept_id": NO_MATCHING_CONCEPT,
                "dose_unit_source_value": "mg",
                "visit_occurrence_id": None,  # filled by the caller, which knows the visits
                "_session_id": session_id,
            }
        )
    return rows


def measurement_rows(
    data: PatientData, mint: KeyMint, person_id: int, visits: dict[date | str, int]
) -> list[Row]:
    rows: list[Row] = []
    for obs in sorted(data.observations, key=lambda o: (o.observed_at, o.kind, o.id)):
        code = vital_definition(obs.kind).loinc if obs.kind in _VITALS else obs.loinc_code
        source = code or obs.kind
        rows.append(
            {
                "measurement_id": mint("measurement"),
                "person_id": person_id,
                "measurement_concept_id": MEASUREMENT_CONCEPTS.get(source, NO_MATCHING_CONCEPT),
                "measurement_date": _day(obs.observed_at),
                "measurement_datetime": obs.observed_at.replace(tzinfo=None),
                "measurement_type_concept_id": EHR_TYPE_CONCEPT,
                "value_as_number": obs.value,
                "unit_concept_id": UNIT_CONCEPTS.get(obs.unit, NO_MATCHING_CONCEPT),
                "visit_occurrence_id": visits.get(obs.context_id or "")
                or visits.get(_day(obs.observed_at)),
                "measurement_source_value": _clip(source),
                "measurement_source_concept_id": NO_MATCHING_CONCEPT,
                "unit_source_value": _clip(obs.unit),
            }
        )
    return rows


def observation_rows(data: PatientData, mint: KeyMint, person_id: int) -> list[Row]:
    """Questionnaire totals and every item answer, then allergies (as recorded substances)."""
    rows: list[Row] = []

    def add(day_of: datetime, source: str, number: float | None, text: str | None) -> None:
        rows.append(
            {
                "observation_id": mint("observation"),
                "person_id": person_id,
                "observation_concept_id": NO_MATCHING_CONCEPT,
                "observation_date": _day(day_of),
                "observation_datetime": day_of.replace(tzinfo=None),
                "observation_type_concept_id": EHR_TYPE_CONCEPT,
                "value_as_number": number,
                "value_as_string": _clip(text, 60),
                "observation_source_value": _clip(source),
                "observation_source_concept_id": NO_MATCHING_CONCEPT,
            }
        )

    for response in data.responses:
        instrument = get_instrument(response.instrument_id)
        when = response.administered_at
        add(when, instrument.loinc_total or f"{instrument.id}-total", response.total, None)
        items = {item.id: item for item in instrument.items}
        for item_id, value in data.answers.get(response.id, {}).items():
            item = items.get(item_id)
            code = item.loinc if item is not None and item.loinc else f"{instrument.id}-{item_id}"
            add(when, code, value, None)
    for allergy in data.allergies:
        when = allergy.noted_at or allergy.created_at
        add(when, "allergy", None, allergy.substance)
    return rows
