"""De-identified exports (FHIR, OMOP, registry) searched for every identifier and every real date
of the patients; every exported date is a source date moved by that patient's offset."""

from __future__ import annotations

import json
import re
import stat
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st
from interop_clinic import PHQ9_WEEKLY, Clinic, leaks
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import (
    KEY_FILE_NAME,
    Deidentifier,
    load_or_create_secret,
    safe_harbor_age,
    safe_harbor_rules,
    safe_harbor_zip3,
)
from ketaclinic.interop.fhir.codes import AGE_90_OR_OVER
from ketaclinic.interop.fhir.export import export_ndjson
from ketaclinic.interop.fhir.source import PatientData, load_patient_data
from ketaclinic.interop.omop import export_omop
from ketaclinic.interop.registry import export_registry
from ketaclinic.services.consents import research_consented_patient_ids
from ketaclinic.services.context import RequestContext
from support.treated_course import RESPONDING_PHQ9, treated_patient


def _all_text(folder: Path) -> str:
    parts: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".parquet":
            parts.append(json.dumps(pq.read_table(path).to_pylist(), default=str))
        elif path.is_file():
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def _exports(
    db: Session, ctx: RequestContext, deidentifier: Deidentifier, out: Path
) -> dict[str, Path]:
    ids = research_consented_patient_ids(db, at=ctx.now)
    export_ndjson(db, out / "fhir", ids, deidentifier=deidentifier, transaction_time=ctx.now)
    export_omop(db, out / "omop", ids, as_of=ctx.now.date(), deidentifier=deidentifier)
    export_omop(
        db, out / "omop-pq", ids, as_of=ctx.now.date(), fmt="parquet", deidentifier=deidentifier
    )
    export_registry(db, ctx, out / "registry", deidentifier)
    return {name: out / name for name in ("fhir", "omop", "omop-pq", "registry")}


def test_no_identifier_of_any_source_patient_survives(
    db: Session, ctx: RequestContext, clinic: Clinic, deidentifier: Deidentifier, tmp_path: Path
) -> None:
    exports = _exports(db, ctx, deidentifier, tmp_path / "out")
    for name, folder in exports.items():
        text = _all_text(folder)
        assert text, name
        assert leaks(text, clinic.identifiers) == [], f"found in the {name} export"


def test_only_research_consented_patients_are_exported(
    db: Session, ctx: RequestContext, clinic: Clinic, deidentifier: Deidentifier, tmp_path: Path
) -> None:
    exports = _exports(db, ctx, deidentifier, tmp_path / "out")
    patients = (exports["fhir"] / "Patient.ndjson").read_text().splitlines()
    assert len(patients) == 2
    registry = pq.read_table(exports["registry"] / "patients").to_pylist()
    assert sorted(r["patient_key"] for r in registry) == sorted(
        deidentifier.registry_key(p) for p in (clinic.consented, clinic.elderly)
    )


def test_dates_shift_by_one_secret_offset_per_patient(
    db: Session, ctx: RequestContext, clinic: Clinic, deidentifier: Deidentifier, tmp_path: Path
) -> None:
    exports = _exports(db, ctx, deidentifier, tmp_path / "out")
    responses = [
        json.loads(line)
        for line in (exports["fhir"] / "QuestionnaireResponse.ndjson").read_text().splitlines()
    ]
    phq9 = sorted(
        datetime.fromisoformat(r["authored"]) for r in responses if "phq9" in r["questionnaire"]
    )
    start = ctx.now - timedelta(days=21)
    offset = timedelta(days=deidentifier.offset_days(clinic.consented))
    expected = [start + timedelta(days=7 * w) + offset for w in range(3)]
    assert phq9 == expected
    assert offset != timedelta(0)
    # The registry counts days from day 0 (the baseline) and holds no calendar date at all.
    scores = pq.read_table(exports["registry"] / "scores").to_pylist()
    first = sorted((s["day"], s["total"]) for s in scores if s["instrument"] == "phq9")
    assert first == [(7 * w, float(sum(a))) for w, a in enumerate(PHQ9_WEEKLY)]


def test_geography_and_age_follow_safe_harbor(
    db: Session, ctx: RequestContext, clinic: Clinic, deidentifier: Deidentifier, tmp_path: Path
) -> None:
    exports = _exports(db, ctx, deidentifier, tmp_path / "out")
    patients = {
        p["identifier"][0]["value"]: p
        for p in map(json.loads, (exports["fhir"] / "Patient.ndjson").read_text().splitlines())
    }
    first = patients[deidentifier.registry_key(clinic.consented)]
    elderly = patients[deidentifier.registry_key(clinic.elderly)]
    assert first["address"] == [{"postalCode": "021", "country": "US"}]
    assert first["birthDate"] == "1979"
    # ZIP3 821 is restricted (20,000 people or fewer); aged 94, no birth year at all.
    assert elderly["address"] == [{"postalCode": "000", "country": "US"}]
    assert "birthDate" not in elderly
    # ... and says why: aged 90 or over (first's birth year is there, so no such marker).
    assert elderly["extension"] == [{"url": AGE_90_OR_OVER, "valueBoolean": True}]
    assert "extension" not in first
    assert "name" not in first
    assert "telecom" not in first
    ages = {
        r["sex"]: r["age_years"]
        for r in pq.read_table(exports["registry"] / "patients").to_pylist()
    }
    assert ages["M"] == 90


def test_the_secret_stays_in_the_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = load_or_create_secret(data_dir)
    assert load_or_create_secret(data_dir) == first
    mode = stat.S_IMODE((data_dir / KEY_FILE_NAME).stat().st_mode)
    assert mode == 0o600
    other = Deidentifier(b"another clinic secret", as_of=date(2026, 3, 2))
    mine = Deidentifier(first, as_of=date(2026, 3, 2))
    # A different secret gives different keys and offsets: they cannot be recomputed without it.
    assert other.pseudonym("patient-1") != mine.pseudonym("patient-1")


@given(st.text(min_size=1, max_size=40))
def test_offsets_always_move_dates_within_the_configured_range(patient_id: str) -> None:
    shift = safe_harbor_rules().date_shift_days
    offset = Deidentifier(b"k" * 32, as_of=date(2026, 1, 1)).offset_days(patient_id)
    assert shift.min <= offset <= shift.max
    assert offset != 0


@given(st.from_regex(r"\A[0-9]{5}\Z"))
def test_zip3_is_the_first_three_digits_or_000(zip_code: str) -> None:
    zip3 = safe_harbor_zip3(zip_code, "US")
    restricted = zip_code[:3] in safe_harbor_rules().restricted_zip3
    assert zip3 == ("000" if restricted else zip_code[:3])
    assert safe_harbor_zip3(zip_code, "GB") is None


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2008, 1, 1)))
def test_ages_over_89_are_grouped(date_of_birth: date) -> None:
    on = date(2026, 3, 2)
    true_age = (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )
    assert safe_harbor_age(date_of_birth, on) == min(true_age, 90)


_DATE = re.compile(r"(?<![0-9A-Za-z-])(\d{4}-\d{2}-\d{2})(?![0-9-])")
# Definitions (Questionnaire, CodeSystem) describe instruments, not a patient.
_DEFINITIONS = ("Questionnaire.ndjson", "CodeSystem.ndjson", "manifest.json")


def _row_dates(data: PatientData) -> set[date]:
    """Every date and date-time column of every row of a patient's snapshot, as days."""
    found: set[date] = set()
    rows: list[Any] = []
    for value in vars(data).values():
        if isinstance(value, list):
            rows += value
        elif isinstance(value, dict):
            for item in value.values():
                rows += item if isinstance(item, list) else [item]
        else:
            rows.append(value)
    for row in rows:
        table = getattr(type(row), "__table__", None)
        for column in table.columns if table is not None else ():
            moment = getattr(row, column.key)
            if isinstance(moment, datetime):
                found.add(moment.date())
            elif isinstance(moment, date):
                found.add(moment)
    return found


def _export_dates(folder: Path) -> tuple[set[date], str]:
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in _DEFINITIONS
    ]
    text = "\n".join(texts)
    return {date.fromisoformat(d) for d in _DATE.findall(text)}, text


def test_every_exported_date_is_a_source_date_moved_by_the_patients_offset(
    db: Session, ctx: RequestContext, clinic: Clinic, deidentifier: Deidentifier, tmp_path: Path
) -> None:
    # The interop clinic (history, vitals, questionnaires, diagnoses without an onset date)
    # and a treated patient (plan, session, administration, adverse event, flags).
    treated = treated_patient(db, later_phq9=RESPONDING_PHQ9)
    for patient_id in (clinic.consented, clinic.elderly, treated):
        offset = timedelta(days=deidentifier.offset_days(patient_id))
        out = tmp_path / patient_id
        # Source: every date held in the database rows, and every date the identified exports
        # derive from them (e.g. a trial's end from its start and length).
        source = _row_dates(load_patient_data(db, patient_id))
        export_ndjson(db, out / "fhir-id", [patient_id], transaction_time=ctx.now)
        export_omop(db, out / "omop-id", [patient_id], as_of=ctx.now.date())
        source |= _export_dates(out / "fhir-id")[0] | _export_dates(out / "omop-id")[0]
        shifted = {day + offset for day in source}
        export_ndjson(
            db, out / "fhir", [patient_id], deidentifier=deidentifier, transaction_time=ctx.now
        )
        export_omop(db, out / "omop", [patient_id], as_of=ctx.now.date(), deidentifier=deidentifier)
        for name in ("fhir", "omop"):
            found, text = _export_dates(out / name)
            assert found, name
            unshifted = sorted(str(d) for d in found - shifted)
            assert unshifted == [], f"{name} dates of {patient_id} not moved by {offset}"
            # No real date survives, except where a moved date lands on another real one.
            real = sorted(str(d) for d in source - shifted if str(d) in text)
            assert real == [], f"real dates of {patient_id} in the {name} export"
    # The recording date of a diagnosis without an onset date (OMOP's fallback) is moved too.
    conditions = (tmp_path / clinic.consented / "omop" / "condition_occurrence.csv").read_text()
    assert ctx.now.date().isoformat() not in conditions
    # The registry holds no calendar date at all (days from day 0; dataset.json names only the
    # export date, which is no patient's).
    registry = tmp_path / "registry"
    export_registry(db, ctx, registry, deidentifier)
    tables = _all_text(registry).replace((registry / "dataset.json").read_text(), "")
    assert _DATE.findall(tables) == []
