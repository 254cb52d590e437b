"""The answers of an incoming QuestionnaireResponse as the instrument's item values.

Other systems nest items in groups, answer with LOINC answer codes (``valueCoding``) instead of
numbers, and send the form's total score as one more item. Each is accepted when it maps onto the
instrument exactly: nested items are read wherever they sit; a LOINC answer code is mapped
through its display text to the item's answer option of the same label (data/loinc_answers.yaml);
a total-score item is checked against the total ketaclinic computes and refused if it differs.
Anything else is refused with the item, the value and what would have been accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.questionnaires import Instrument, Item
from ketaclinic.clinical.questionnaires.engine import score_instrument
from ketaclinic.errors import KetaclinicError
from ketaclinic.interop.fhir.codes import LOINC


class AnswerRefused(Exception):
    """Why one answer cannot be read; the importer names the resource around it."""


class _LoincAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    display: str


class _LoincAnswers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Source
    answers: tuple[_LoincAnswer, ...]


def loinc_answer_displays() -> dict[str, str]:
    file = load_knowledge("ketaclinic.interop", "loinc_answers.yaml", _LoincAnswers)
    return {answer.code: answer.display for answer in file.answers}


def leaf_items(items: list[dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    """Every answered item, wherever groups (``item.item``) or answers (``answer.item``) nest it."""
    for item in items or []:
        if item.get("answer"):
            yield item
        yield from leaf_items(item.get("item"))
        for answer in item.get("answer") or []:
            yield from leaf_items(answer.get("item"))


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _coded_value(item: Item, coding: dict[str, Any]) -> int:
    code, system = coding.get("code"), coding.get("system")
    labels = {_normal(o.label): o.value for o in item.options}
    allowed = ", ".join(f"{o.label} ({o.value})" for o in item.options) or "numbers only"
    if system == LOINC:
        display = loinc_answer_displays().get(str(code))
        if display is None:
            raise AnswerRefused(
                f"LOINC answer code {code} is not one ketaclinic maps (known: "
                f"{', '.join(sorted(loinc_answer_displays()))}); send valueInteger instead."
            )
        if _normal(display) in labels:
            return labels[_normal(display)]
        raise AnswerRefused(
            f"LOINC answer {code} ({display}) is not an answer of item {item.id}; its answers "
            f"are {allowed}."
        )
    raise AnswerRefused(
        f"answer code {system}|{code} cannot be mapped; send valueInteger or a LOINC answer "
        f"code (item {item.id}: {allowed})."
    )


def answer_value(item: Item, answer: dict[str, Any]) -> int | float:
    if "valueInteger" in answer:
        return int(answer["valueInteger"])
    if "valueDecimal" in answer:
        return float(answer["valueDecimal"])
    if "valueCoding" in answer:
        return _coded_value(item, answer["valueCoding"])
    raise AnswerRefused(
        f"item {item.id} has no integer, decimal or coded answer (got {sorted(answer)})."
    )


def _total_item(instrument: Instrument, link_id: str) -> bool:
    total = instrument.loinc_total
    return total is not None and link_id in (total, f"/{total}")


def _number(answer: dict[str, Any]) -> float | None:
    for key in ("valueInteger", "valueDecimal"):
        if key in answer:
            return float(answer[key])
    quantity = answer.get("valueQuantity") or {}
    return None if quantity.get("value") is None else float(quantity["value"])


def _item_for(instrument: Instrument, link_id: str) -> Item | None:
    for item in instrument.items:
        if link_id in (item.id, item.loinc, f"/{item.loinc}"):
            return item
    return None


def read_answers(instrument: Instrument, items: list[dict[str, Any]]) -> dict[str, int | float]:
    """Item id -> value; a total-score item is checked, not stored (ketaclinic scores)."""
    answers: dict[str, int | float] = {}
    declared_total: float | None = None
    for node in leaf_items(items):
        link_id = str(node.get("linkId", ""))
        first = (node.get("answer") or [{}])[0]
        if _total_item(instrument, link_id):
            declared_total = _number(first)
            continue
        item = _item_for(instrument, link_id)
        if item is None:
            known = ", ".join(i.id for i in instrument.items)
            raise AnswerRefused(
                f"item {link_id!r} is not an item of {instrument.short_name} ({known})."
            )
        answers[item.id] = answer_value(item, first)
    if declared_total is not None:
        try:
            computed = score_instrument(instrument, answers).total
        except KetaclinicError as exc:
            raise AnswerRefused(exc.message) from None
        if abs(computed - declared_total) > 1e-9:
            raise AnswerRefused(
                f"the form's total-score item ({instrument.loinc_total}) says {declared_total:g} "
                f"but its answers add up to {computed:g} under {instrument.short_name}'s scoring; "
                "the sending system scored the form differently, so it is not imported."
            )
    return answers
