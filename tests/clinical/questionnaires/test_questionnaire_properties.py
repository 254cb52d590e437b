"""Property tests: every valid answer set scores inside the range; every invalid one is refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical.questionnaires import Instrument, list_instruments, score
from ketaclinic.clinical.questionnaires.models import compare
from ketaclinic.errors import InvalidInput

INSTRUMENTS = list_instruments()


@st.composite
def valid_answers(draw: st.DrawFn) -> tuple[Instrument, dict[str, int]]:
    instrument = draw(st.sampled_from(INSTRUMENTS))
    answers: dict[str, int] = {}
    for item in instrument.items:
        gate = item.asked_only_if
        skipped = (
            gate is not None
            and gate.item_id is not None
            and not compare(answers[gate.item_id], gate.op, gate.value)
        )
        # A question the form skips is entered as its lowest value.
        answers[item.id] = item.min_value if skipped else draw(st.sampled_from(item.allowed_values))
    return instrument, answers


@settings(max_examples=200, deadline=None)
@given(valid_answers())
def test_valid_answers_score_within_range(case: tuple[Instrument, dict[str, int]]) -> None:
    instrument, answers = case
    result = score(instrument.id, list(answers.values()))
    assert instrument.min_total <= result.total <= instrument.max_total
    assert result.item_answers == answers
    assert score(instrument.id, answers) == result
    if instrument.bands:
        band = next(b for b in instrument.bands if b.id == result.severity)
        assert band.min_total <= result.total <= band.max_total
    # The total never exceeds a plain sum of the answers (domains only take maxima).
    assert result.total <= sum(answers.values())


@settings(max_examples=150, deadline=None)
@given(valid_answers(), st.data())
def test_missing_item_is_named(
    case: tuple[Instrument, dict[str, int]], data: st.DataObject
) -> None:
    instrument, answers = case
    dropped = data.draw(st.sampled_from(list(answers)))
    del answers[dropped]
    with pytest.raises(InvalidInput) as raised:
        score(instrument.id, answers)
    assert raised.value.field == dropped


@settings(max_examples=150, deadline=None)
@given(valid_answers(), st.data())
def test_out_of_range_value_is_named(
    case: tuple[Instrument, dict[str, int]], data: st.DataObject
) -> None:
    instrument, answers = case
    target = data.draw(st.sampled_from(instrument.items))
    bad: Any = data.draw(
        st.one_of(
            st.integers().filter(lambda v: v not in target.allowed_values),
            st.floats(allow_nan=True).filter(lambda v: v not in target.allowed_values),
            st.text(max_size=3),
            st.none(),
        )
    )
    answers_any: dict[str, Any] = dict(answers)
    answers_any[target.id] = bad
    with pytest.raises(InvalidInput) as raised:
        score(instrument.id, answers_any)
    assert raised.value.field == target.id
    assert f"item {target.number}" in raised.value.message


@settings(max_examples=100, deadline=None)
@given(valid_answers(), st.text(min_size=1, max_size=8))
def test_extra_item_is_refused(case: tuple[Instrument, dict[str, int]], key: str) -> None:
    instrument, answers = case
    if key in answers or key in {str(item.number) for item in instrument.items}:
        key = f"{key}_extra"
    with pytest.raises(InvalidInput) as raised:
        score(instrument.id, {**answers, key: 0})
    assert raised.value.field == key
