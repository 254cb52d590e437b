"""Property tests, run for every instrument on its own: any valid answer set scores inside the
instrument's range; any invalid one (missing, out of range, wrong length, unknown item, a skipped
question answered) is refused, naming the item, and never partly scored."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical.questionnaires import (
    Instrument,
    InvalidAnswers,
    get_instrument,
    list_instruments,
    score,
)
from ketaclinic.clinical.questionnaires.models import compare

INSTRUMENT_IDS = [instrument.id for instrument in list_instruments()]
GATED_IDS = [
    instrument.id
    for instrument in list_instruments()
    if any(item.asked_only_if is not None for item in instrument.items)
]


@st.composite
def valid_answers(draw: st.DrawFn, instrument: Instrument) -> dict[str, int]:
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
    return answers


def test_every_instrument_is_covered() -> None:
    # The C-SSRS screener is the instrument with skip logic today; a new one is picked up too.
    assert len(INSTRUMENT_IDS) >= 13
    assert "cssrs-screener" in GATED_IDS


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_valid_answers_score_within_range(instrument_id: str, data: st.DataObject) -> None:
    instrument = get_instrument(instrument_id)
    answers = data.draw(valid_answers(instrument))
    result = score(instrument.id, list(answers.values()))
    assert instrument.min_total <= result.total <= instrument.max_total
    assert result.item_answers == answers
    assert score(instrument.id, answers) == result
    assert score(instrument.id, {str(i.number): answers[i.id] for i in instrument.items}) == result
    if instrument.bands:
        band = next(b for b in instrument.bands if b.id == result.severity)
        assert band.min_total <= result.total <= band.max_total
    # The total never exceeds a plain sum of the answers (domains only take maxima).
    assert result.total <= sum(answers.values())
    # Re-scoring with the settings the result reports gives the same result.
    assert score(instrument.id, answers, **result.settings.as_arguments()) == result


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_missing_items_are_all_named(instrument_id: str, data: st.DataObject) -> None:
    instrument = get_instrument(instrument_id)
    answers = data.draw(valid_answers(instrument))
    dropped = data.draw(st.sets(st.sampled_from(list(answers)), min_size=1))
    kept = {k: v for k, v in answers.items() if k not in dropped}
    with pytest.raises(InvalidAnswers) as raised:
        score(instrument.id, kept)
    assert set(raised.value.problems) == dropped
    assert raised.value.field == next(i.id for i in instrument.items if i.id in dropped)


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_out_of_range_value_is_named(instrument_id: str, data: st.DataObject) -> None:
    instrument = get_instrument(instrument_id)
    answers: dict[str, Any] = data.draw(valid_answers(instrument))
    target = data.draw(st.sampled_from(instrument.items))
    bad: Any = data.draw(
        st.one_of(
            st.integers().filter(lambda v: v not in target.allowed_values),
            st.floats(allow_nan=True).filter(lambda v: v not in target.allowed_values),
            st.text(max_size=3),
            st.none(),
            st.booleans(),
        )
    )
    answers[target.id] = bad
    with pytest.raises(InvalidAnswers) as raised:
        score(instrument.id, answers)
    assert target.id in raised.value.problems
    assert f"item {target.number}" in raised.value.problems[target.id]
    # Only the bad value, or an item the form skips because of it, is named.
    for field in raised.value.problems:
        item = instrument.item(field)
        assert field == target.id or (
            item.asked_only_if and item.asked_only_if.item_id == target.id
        )


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_wrong_length_lists_are_refused(instrument_id: str, data: st.DataObject) -> None:
    instrument = get_instrument(instrument_id)
    values = list(data.draw(valid_answers(instrument)).values())
    count = len(values)
    short_by = data.draw(st.integers(min_value=1, max_value=count))
    with pytest.raises(InvalidAnswers) as short:
        score(instrument.id, values[: count - short_by])
    # Every item past the end is named, the first one as the field.
    assert list(short.value.problems) == [i.id for i in instrument.items[count - short_by :]]
    assert short.value.field == instrument.items[count - short_by].id
    extra = data.draw(st.lists(st.sampled_from(instrument.items[-1].allowed_values), min_size=1))
    with pytest.raises(InvalidAnswers) as long:
        score(instrument.id, values + extra)
    assert list(long.value.problems) == ["answers"]
    assert f"answer {count + 1} matches no item" in long.value.message


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@settings(max_examples=20, deadline=None)
@given(data=st.data(), key=st.text(min_size=1, max_size=8))
def test_unknown_item_is_refused(instrument_id: str, data: st.DataObject, key: str) -> None:
    instrument = get_instrument(instrument_id)
    answers = data.draw(valid_answers(instrument))
    if key in answers or key in {str(item.number) for item in instrument.items}:
        key = f"{key}_extra"
    with pytest.raises(InvalidAnswers) as raised:
        score(instrument.id, {**answers, key: 0})
    assert list(raised.value.problems) == [key]


@pytest.mark.parametrize("instrument_id", GATED_IDS)
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_an_answer_to_a_question_the_form_skips_is_refused(
    instrument_id: str, data: st.DataObject
) -> None:
    instrument = get_instrument(instrument_id)
    answers = data.draw(valid_answers(instrument))
    skipped = [
        item
        for item in instrument.items
        if item.asked_only_if is not None
        and item.asked_only_if.item_id is not None
        and not compare(
            answers[item.asked_only_if.item_id], item.asked_only_if.op, item.asked_only_if.value
        )
        and len(item.allowed_values) > 1
    ]
    if not skipped:
        return  # every gate opened in this draw; other draws close some
    target = data.draw(st.sampled_from(skipped))
    answered = data.draw(
        st.sampled_from([v for v in target.allowed_values if v != target.min_value])
    )
    with pytest.raises(InvalidAnswers) as raised:
        score(instrument.id, {**answers, target.id: answered})
    assert list(raised.value.problems) == [target.id]
    assert f"enter {target.min_value}" in raised.value.message
