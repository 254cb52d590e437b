"""FHIR search semantics of the endpoint: dates as ranges at their precision (time zones honoured),
repeated ``code`` parameters as AND, unsupported parameters refused, and a CapabilityStatement
that offers exactly what works."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from interop_clinic import Clinic
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput
from ketaclinic.interop.fhir import server
from ketaclinic.interop.fhir.capability import capability_statement
from ketaclinic.interop.fhir.search_params import (
    date_range,
    matches_codes,
    matches_dates,
    parse_date,
)


def _observation(when: str) -> dict[str, object]:
    return {"resourceType": "Observation", "effectiveDateTime": when}


@pytest.mark.parametrize(
    ("search", "value", "expected"),
    [
        # The same instant written in UTC with Z, with +00:00, or in another zone.
        ("eq2026-03-02T09:15:00Z", "2026-03-02T09:15:00+00:00", True),
        ("eq2026-03-02T10:15:00+01:00", "2026-03-02T09:15:00+00:00", True),
        ("eq2026-03-02T10:15+01:00", "2026-03-02T09:15:42+00:00", True),  # within that minute
        ("eq2026-03-02T10:16+01:00", "2026-03-02T09:15:42+00:00", False),
        # A day, a month, a year contain every instant in them (UTC days).
        ("2026-03-02", "2026-03-02T23:59:59+00:00", True),
        ("2026-03-02", "2026-03-02T23:30:00-05:00", False),  # 04:30 UTC the next day
        ("eq2025-12", "2025-12-31T12:00:00+00:00", True),
        ("eq2026", "2025-12-31T23:00:00-02:00", True),  # 01:00 UTC on 1 January 2026
        ("ne2026-03", "2026-03-15T00:00:00+00:00", False),
        ("gt2026-03-02", "2026-03-03T00:00:00+00:00", True),
        ("gt2026-03-02", "2026-03-02T23:00:00+00:00", False),
        ("ge2026-03-02", "2026-03-02T00:00:00+00:00", True),
        ("lt2026-03-02", "2026-03-01T23:59:59+00:00", True),
        ("le2026-03-02", "2026-03-02T12:00:00+00:00", True),
        ("lt2026-03-02", "2026-03-02T00:00:00+00:00", False),
        # A date-only resource value is its whole day.
        ("eq2026-03-02T12:00Z", "2026-03-02", False),
        ("ge2026-03-02T12:00Z", "2026-03-02", True),
    ],
)
def test_dates_compare_as_ranges(search: str, value: str, expected: bool) -> None:
    assert matches_dates(_observation(value), [parse_date(search)]) is expected


def test_a_period_spans_start_to_end_and_an_open_one_never_ends() -> None:
    encounter = {
        "resourceType": "Encounter",
        "period": {"start": "2026-03-02T09:00:00+00:00", "end": "2026-03-02T11:30:00+00:00"},
    }
    assert matches_dates(encounter, [parse_date("eq2026-03-02")])
    assert not matches_dates(encounter, [parse_date("eq2026-03-02T09:00Z")])
    ongoing = {"resourceType": "CarePlan", "period": {"start": "2026-03-02"}}
    assert matches_dates(ongoing, [parse_date("gt2030")])
    assert not matches_dates(ongoing, [parse_date("eq2026-03")])


def test_date_range_precision() -> None:
    assert date_range("2026-02").high == datetime(2026, 3, 1, tzinfo=UTC)
    assert date_range("2026-12").high == datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="prefixed with one of eq, ne"):
        parse_date("sa2026")
    with pytest.raises(InvalidInput, match="date=2026-3-2"):
        parse_date("2026-3-2")


def test_repeated_codes_are_and_commas_are_or() -> None:
    spo2 = {
        "resourceType": "Observation",
        "code": {"coding": [{"system": "http://loinc.org", "code": "59408-5"},
                            {"system": "http://loinc.org", "code": "2708-6"}]},
    }  # fmt: skip
    assert matches_codes(spo2, ["59408-5", "http://loinc.org|2708-6"])
    assert not matches_codes(spo2, ["59408-5", "8480-6"])
    assert matches_codes(spo2, ["8480-6,2708-6"])
    assert not matches_codes(spo2, ["http://example.org|2708-6"])
    assert not matches_codes(spo2, ["|2708-6"])  # "no system" does not match a LOINC coding


def test_parameters_a_type_does_not_support_are_refused(db: Session, clinic: Clinic) -> None:
    view = server.FhirView(None, None, identified=True)
    with pytest.raises(InvalidInput, match="Patient cannot be searched by code"):
        server.search(db, view, "Patient", codes=["x"])
    with pytest.raises(InvalidInput, match="RelatedPerson cannot be searched by date"):
        server.search(db, view, "RelatedPerson", dates=["2026"])
    assert len(server.search(db, view, "Condition", codes=["F32.A,trd"])) >= 1


def test_the_capability_statement_offers_what_works() -> None:
    statement = capability_statement("http://x/fhir", datetime(2026, 3, 2, tzinfo=UTC))
    rest = statement.model_dump(mode="json", exclude_none=True)["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    names = {t: {p["name"] for p in r.get("searchParam", [])} for t, r in by_type.items()}
    assert names["Patient"] == {"patient"}
    assert names["Observation"] == {"patient", "code", "date"}
    assert names["RelatedPerson"] == {"patient"}
    assert names["Questionnaire"] == names["CodeSystem"] == set()
    assert [o["name"] for o in by_type["Patient"]["operation"]] == ["everything"]
    assert {p["name"] for p in rest["searchParam"]} == {"_count", "_offset"}
