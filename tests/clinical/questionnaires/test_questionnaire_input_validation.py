"""Bad answers are refused whole, with the item named and its allowed values (nothing partial)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ketaclinic.clinical.questionnaires import (
    InvalidAnswers,
    get_instrument,
    list_instruments,
    score,
)
from ketaclinic.errors import InvalidInput, NotFound


def test_unknown_instrument_lists_known_ids() -> None:
    with pytest.raises(NotFound) as raised:
        get_instrument("phq-10")
    for known in ("phq9", "gad7", "pcl5", "cssrs-screener"):
        assert known in raised.value.message
    with pytest.raises(NotFound):
        score("phq-10", [0])


def test_short_list_names_the_first_missing_item() -> None:
    with pytest.raises(InvalidInput) as raised:
        score("phq9", [0] * 7)
    assert raised.value.field == "q8"
    assert "item 8" in raised.value.message
    assert "0 to 3" in raised.value.message


def test_long_list_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        score("phq9", [0] * 10)
    assert "answer 10" in raised.value.message


def test_mapping_by_id_and_by_number_are_equivalent_to_a_list() -> None:
    answers = [0, 1, 2, 3, 0, 1, 2, 3, 1]
    by_id = {f"q{n}": v for n, v in enumerate(answers, start=1)}
    by_number = {str(n): v for n, v in enumerate(answers, start=1)}
    expected = score("phq9", answers)
    assert score("phq9", by_id) == expected
    assert score("phq9", by_number) == expected
    assert list(expected.item_answers) == [f"q{n}" for n in range(1, 10)]


def test_mapping_with_missing_unknown_or_duplicate_items() -> None:
    full = {f"q{n}": 0 for n in range(1, 10)}
    missing = {k: v for k, v in full.items() if k != "q4"}
    with pytest.raises(InvalidInput) as raised:
        score("phq9", missing)
    assert raised.value.field == "q4"
    with pytest.raises(InvalidInput) as raised:
        score("phq9", {**full, "q10": 0})
    assert raised.value.field == "q10"
    with pytest.raises(InvalidInput) as raised:
        score("phq9", {**full, "4": 1})
    assert raised.value.field == "q4"
    assert "twice" in raised.value.message


@pytest.mark.parametrize("bad", [4, -1, 1.5, "2", None, True, math.nan, math.inf, [1]])
def test_bad_values_name_item_and_allowed_values(bad: Any) -> None:
    answers: list[Any] = [0] * 9
    answers[2] = bad
    with pytest.raises(InvalidInput) as raised:
        score("phq9", answers)
    assert raised.value.field == "q3"
    assert "item 3" in raised.value.message
    assert "0 to 3" in raised.value.message


def test_whole_floats_are_accepted_as_integers() -> None:
    assert score("phq9", [2.0] * 9).total == 18


@pytest.mark.parametrize("bad", ["0,1,2", 5, b"abc"])
def test_answers_must_be_a_list_or_mapping(bad: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        score("phq2", bad)
    assert raised.value.field == "answers"


def test_public_surface_of_instruments() -> None:
    ids = {instrument.id for instrument in list_instruments()}
    required = {
        "phq9", "phq2", "gad7", "qids-sr16", "madrs", "hamd17", "cadss", "bprs-positive",
        "cssrs-screener", "pcl5", "moaas", "pain-nrs", "oleary-sant",
    }  # fmt: skip
    assert required <= ids
    phq9 = get_instrument("phq9")
    assert (phq9.loinc_total, phq9.min_total, phq9.max_total) == ("44261-6", 0, 27)
    assert len(phq9.items) == 9
    assert phq9.source.year == 2001
    assert phq9.licence
    assert phq9.bands[0].id == "minimal"


def test_instruments_without_shipped_text_have_no_item_text() -> None:
    for instrument in list_instruments():
        if not instrument.text_shipped:
            assert all(item.text is None for item in instrument.items), instrument.id
            assert instrument.licence


def test_to_json_flattens_extras_and_keeps_fixed_fields() -> None:
    payload = score("cssrs-screener", [1, 0, 0, 0, 0, 0, 0]).to_json()
    assert payload["risk"] == "low"
    assert list(payload)[:8] == [
        "instrument", "version", "total", "severity", "severity_label", "alerts", "subscales",
        "item_answers",
    ]  # fmt: skip
    assert payload["alerts"][0]["id"] == "cssrs-low-risk"


def test_every_problem_is_reported_in_one_message() -> None:
    # Item 1 out of range and item 2 missing: a nurse correcting the form sees both at once.
    with pytest.raises(InvalidAnswers) as raised:
        score("phq9", {"q1": 4, **{f"q{n}": 0 for n in range(3, 10)}})
    assert raised.value.field == "q1"  # the first problem in the form's order
    assert list(raised.value.problems) == ["q1", "q2"]
    assert "item 1" in raised.value.problems["q1"]
    assert "0 to 3" in raised.value.problems["q1"]
    assert "missing" in raised.value.problems["q2"]
    # Each problem is one "field: text" part of the message, as the pages split it.
    parts = raised.value.message.split("; ")
    assert [part.partition(": ")[0] for part in parts] == ["q1", "q2"]


def test_short_list_reports_every_missing_item_and_every_bad_value() -> None:
    with pytest.raises(InvalidAnswers) as raised:
        score("gad7", [0, 9, 0, 0, 0])
    assert list(raised.value.problems) == ["q2", "q6", "q7"]
    assert "needs 7 answers, 5 were given" in raised.value.problems["q6"]


def test_unknown_keys_come_after_the_items() -> None:
    with pytest.raises(InvalidAnswers) as raised:
        score("phq2", {"q1": 0, "q3": 1, "extra": 2})
    assert list(raised.value.problems) == ["q2", "q3", "extra"]


def test_long_list_with_a_bad_value_reports_both() -> None:
    with pytest.raises(InvalidAnswers) as raised:
        score("phq2", [0, 5, 0])
    assert list(raised.value.problems) == ["q2", "answers"]


def test_skip_logic_and_range_problems_together() -> None:
    # C-SSRS: item 3 answered without a yes to item 2, and item 4 not a yes/no value.
    with pytest.raises(InvalidAnswers) as raised:
        score("cssrs-screener", [1, 0, 1, 2, 0, 0, 0])
    assert list(raised.value.problems) == ["q3", "q4"]
    assert "enter 0" in raised.value.problems["q3"]


def test_no_single_problem_text_contains_the_separator() -> None:
    for instrument in list_instruments():
        answers: dict[str, Any] = {item.id: 99 for item in instrument.items}
        with pytest.raises(InvalidAnswers) as raised:
            score(instrument.id, {**answers, "unknown": 0})
        for text in raised.value.problems.values():
            assert "; " not in text, text
