"""The drug catalogue and the treatment-resistance count built on it."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.medications import all_drugs, lookup_drug
from ketaclinic.clinical.treatment_resistance import (
    AntidepressantTrial,
    assess_trial,
    count_adequate_failed_trials,
)
from ketaclinic.clinical.vocabulary import MedicationClass


@pytest.mark.parametrize(
    ("typed", "expected_id"),
    [
        ("Zoloft", "sertraline"),
        ("  SERTRALINE ", "sertraline"),
        ("Sertraline 50 mg tablets", "sertraline"),
        ("Effexor XR 150", "venlafaxine"),
        ("Xanax", "alprazolam"),
        ("Lamictal", "lamotrigine"),
        ("Nardil", "phenelzine"),
        ("dextroamphetamine", "dexamfetamine"),
    ],
)
def test_names_brands_and_label_text_find_the_drug(typed: str, expected_id: str) -> None:
    drug = lookup_drug(typed)
    assert drug is not None
    assert drug.id == expected_id


def test_unknown_name_is_none_not_a_guess() -> None:
    assert lookup_drug("unobtainium") is None
    assert lookup_drug("") is None


def test_classes_that_screening_needs() -> None:
    phenelzine = lookup_drug("phenelzine")
    assert phenelzine is not None
    assert {MedicationClass.ANTIDEPRESSANT, MedicationClass.MAOI} <= phenelzine.classes
    for name, cls in [
        ("lorazepam", MedicationClass.BENZODIAZEPINE),
        ("zolpidem", MedicationClass.NON_BENZODIAZEPINE_HYPNOTIC),
        ("methylphenidate", MedicationClass.PSYCHOSTIMULANT),
        ("oxycodone", MedicationClass.OPIOID),
        ("lamotrigine", MedicationClass.LAMOTRIGINE),
    ]:
        drug = lookup_drug(name)
        assert drug is not None
        assert cls in drug.classes


def test_every_antidepressant_dose_has_a_source_and_aliases_are_unique() -> None:
    seen: dict[str, str] = {}
    for drug in all_drugs():
        if drug.adequate_min_dose_mg_per_day is not None:
            assert drug.is_antidepressant
            assert drug.source is not None
        for alias in (drug.id, drug.name, *drug.brands, *drug.synonyms):
            key = alias.lower()
            assert seen.setdefault(key, drug.id) == drug.id, f"{alias} names two drugs"


def test_adequate_failed_trial_at_the_threshold() -> None:
    # Sertraline's catalogue minimum is 50 mg/day; 6 weeks is the adequate duration.
    trial = AntidepressantTrial(
        drug="sertraline", dose_mg_per_day=50, duration_weeks=6, outcome="no-response"
    )
    result = assess_trial(trial)
    assert result.adequate
    assert result.failed
    assert result.assessable


def test_low_dose_or_short_trial_is_not_adequate() -> None:
    low = assess_trial(
        AntidepressantTrial(
            drug="sertraline", dose_mg_per_day=25, duration_weeks=12, outcome="no-response"
        )
    )
    short = assess_trial(
        AntidepressantTrial(
            drug="sertraline", dose_mg_per_day=100, duration_weeks=4, outcome="no-response"
        )
    )
    assert not low.adequate
    assert not low.failed
    assert low.assessable
    assert any("below the adequate 50" in r for r in low.reasons)
    assert not short.adequate
    assert any("shorter" in r for r in short.reasons)


def test_response_and_intolerance_are_not_failures() -> None:
    for outcome in ("response", "intolerance"):
        result = assess_trial(
            AntidepressantTrial(
                drug="citalopram", dose_mg_per_day=20, duration_weeks=8, outcome=outcome
            )
        )
        assert result.adequate
        assert not result.failed


def test_missing_dose_or_unknown_drug_is_not_assessable() -> None:
    missing = assess_trial(
        AntidepressantTrial(drug="fluoxetine", duration_weeks=8, outcome="no-response")
    )
    unknown = assess_trial(
        AntidepressantTrial(
            drug="mysterine", dose_mg_per_day=10, duration_weeks=8, outcome="no-response"
        )
    )
    no_outcome = assess_trial(
        AntidepressantTrial(drug="fluoxetine", dose_mg_per_day=20, duration_weeks=8)
    )
    assert not missing.assessable
    assert not unknown.assessable
    assert unknown.drug_id is None
    assert no_outcome.adequate
    assert not no_outcome.failed
    assert not no_outcome.assessable


def test_non_antidepressant_does_not_count() -> None:
    result = assess_trial(
        AntidepressantTrial(
            drug="quetiapine", dose_mg_per_day=300, duration_weeks=8, outcome="no-response"
        )
    )
    assert not result.adequate
    assert result.assessable


def test_count_is_of_distinct_drugs() -> None:
    trials = [
        AntidepressantTrial(
            drug="Prozac", dose_mg_per_day=20, duration_weeks=8, outcome="no-response"
        ),
        AntidepressantTrial(
            drug="fluoxetine", dose_mg_per_day=40, duration_weeks=8, outcome="no-response"
        ),
        AntidepressantTrial(
            drug="venlafaxine", dose_mg_per_day=150, duration_weeks=10, outcome="partial-response"
        ),
        AntidepressantTrial(
            drug="mirtazapine", dose_mg_per_day=15, duration_weeks=3, outcome="no-response"
        ),
    ]
    # fluoxetine twice counts once; mirtazapine was too short.
    assert count_adequate_failed_trials(trials) == 2
    assert count_adequate_failed_trials([]) == 0
