"""The patient record domain model: validation a nurse can act on, derived facts, conditions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ketaclinic.clinical.record import (
    BodyMeasurement,
    ConditionCategory,
    Contact,
    ContactDetails,
    Identity,
    Medication,
    age_years,
    condition_definition,
    conditions_file,
    latest_bmi_kg_per_m2,
    medication_classes,
    parse,
)
from ketaclinic.clinical.vocabulary import ConditionId, MedicationClass
from ketaclinic.errors import InvalidInput

TODAY = date(2026, 3, 2)


def _identity(**changes: object) -> Identity:
    data: dict[str, object] = {
        "given_name": "Maria",
        "family_name": "Lopez",
        "date_of_birth": "1984-07-19",
        "sex": "F",
    }
    return parse(Identity, data | changes)


def test_age_counts_whole_years_up_to_the_birthday() -> None:
    assert age_years(date(1984, 7, 19), date(2026, 7, 18)) == 41
    assert age_years(date(1984, 7, 19), date(2026, 7, 19)) == 42
    # Born on 29 February: in a non-leap year the birthday counts from 1 March.
    assert age_years(date(2000, 2, 29), date(2026, 2, 28)) == 25
    assert age_years(date(2000, 2, 29), date(2026, 3, 1)) == 26


def test_date_of_birth_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidInput, match="future") as raised:
        _identity(date_of_birth="2027-01-01").check_date_of_birth(TODAY)
    assert raised.value.field == "date_of_birth"


def test_date_of_birth_over_120_years_ago_is_refused() -> None:
    with pytest.raises(InvalidInput, match="check the year"):
        _identity(date_of_birth="1884-07-19").check_date_of_birth(TODAY)


def test_parse_names_every_bad_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse(
            Identity, {"given_name": "", "family_name": "Lopez", "date_of_birth": "x", "sex": "Q"}
        )
    message = raised.value.message
    assert "given_name" in message
    assert "date_of_birth" in message
    assert "sex" in message
    assert raised.value.field == "given_name"


def test_email_and_country_are_checked() -> None:
    with pytest.raises(InvalidInput, match="email"):
        parse(ContactDetails, {"email": "maria at example.org"})
    with pytest.raises(InvalidInput, match="country"):
        parse(ContactDetails, {"country": "Spain"})
    assert parse(ContactDetails, {"email": "maria@example.org", "country": "ES"}).country == "ES"


def test_escort_needs_a_way_to_be_reached() -> None:
    with pytest.raises(InvalidInput, match="escort contact needs a phone number"):
        parse(Contact, {"role": "escort", "name": "Luis Lopez"})
    escort = parse(Contact, {"role": "escort", "name": "Luis Lopez", "phone": "+34 600 000 000"})
    assert escort.role == "escort"
    # A GP is often only a name and a practice: no phone required.
    assert parse(Contact, {"role": "gp", "name": "Dr Ines Vidal"}).phone is None


def test_medication_classes_come_from_the_catalogue() -> None:
    lorazepam = parse(Medication, {"drug_name": "lorazepam", "dose_amount": 1, "dose_unit": "mg"})
    assert MedicationClass.BENZODIAZEPINE in lorazepam.classes
    # A declared class cannot override what the catalogue knows about a drug.
    assert medication_classes("lorazepam", frozenset({MedicationClass.OTHER})) == lorazepam.classes


def test_unknown_drug_uses_declared_classes_or_other() -> None:
    assert medication_classes("herbal tea") == frozenset({MedicationClass.OTHER})
    assert medication_classes("mystery pill", frozenset({MedicationClass.OPIOID})) == frozenset(
        {MedicationClass.OPIOID}
    )


def test_medication_dates_and_dose_are_consistent() -> None:
    with pytest.raises(InvalidInput, match="stopped_on is before started_on"):
        parse(
            Medication,
            {"drug_name": "sertraline", "started_on": "2025-05-01", "stopped_on": "2025-04-01"},
        )
    with pytest.raises(InvalidInput, match="dose_amount and dose_unit together"):
        parse(Medication, {"drug_name": "sertraline", "dose_amount": 100})


def test_current_means_started_and_not_yet_stopped() -> None:
    med = parse(
        Medication,
        {"drug_name": "sertraline", "started_on": "2025-01-10", "stopped_on": "2026-03-02"},
    )
    assert med.is_current(date(2026, 3, 1))
    assert not med.is_current(date(2026, 3, 2))
    assert not med.is_current(date(2025, 1, 9))


def test_bmi_uses_the_latest_weight_and_height() -> None:
    t1, t2 = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    measurements = [
        BodyMeasurement(kind="weight_kg", value=90, observed_at=t1),
        BodyMeasurement(kind="weight_kg", value=81, observed_at=t2),
        BodyMeasurement(kind="height_cm", value=180, observed_at=t1),
    ]
    # 81 / 1.8^2 = 81 / 3.24 = 25.0
    assert latest_bmi_kg_per_m2(measurements) == pytest.approx(25.0)
    assert latest_bmi_kg_per_m2(measurements[:2]) is None


def test_every_condition_has_a_definition_with_a_source() -> None:
    ids = {c.id for c in conditions_file().conditions}
    assert ids == set(ConditionId)
    for definition in conditions_file().conditions:
        assert definition.source.citation
        if definition.icd10cm is None:
            # A missing code must say why in the source note.
            assert definition.source.note


def test_condition_categories_and_codes() -> None:
    assert condition_definition("gad").category == ConditionCategory.INDICATION
    assert condition_definition("psychosis").category == ConditionCategory.PSYCHIATRIC_HISTORY
    assert condition_definition("pregnancy").category == ConditionCategory.REPRODUCTIVE
    assert condition_definition("suicidal-ideation").icd10cm == "R45.851"
    assert condition_definition("hypertension").icd10cm == "I10"
    assert condition_definition("cardiovascular-disease").icd10cm is None
    with pytest.raises(InvalidInput, match="Unknown condition 'depression'"):
        condition_definition("depression")
