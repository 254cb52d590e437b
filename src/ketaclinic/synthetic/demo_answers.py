"""Item answers for a wanted questionnaire total, checked by the questionnaire engine.

    answers_for_total(rng, "qids-sr16", 14, quiet_items={"q12"}) -> (item answers, in order)

The demo samples totals (so its outcome rates follow the cited figures) and needs item answers a
person could have given. The total is spread over the instrument's scoring units: a plain item
counts itself, a domain (QIDS-SR16's sleep, appetite/weight and psychomotor) counts its highest
item, so one item of the domain takes the unit's value and the others stay at or below it. The
answers are then scored by the one engine (``clinical.questionnaires.score``) and refused unless
the engine's total is the wanted one, so the demo never computes a score itself.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from ketaclinic.clinical.questionnaires import get_instrument, score
from ketaclinic.clinical.questionnaires.models import Instrument, Item


def spread_total(rng: np.random.Generator, maxima: list[int], total: int) -> list[int]:
    """Values (each 0..its maximum) that add up to ``total``, drawn at random."""
    if not 0 <= total <= sum(maxima):
        raise ValueError(f"total {total} outside 0..{sum(maxima)}")
    answers = [0] * len(maxima)
    for _ in range(total):
        open_items = [i for i, top in enumerate(maxima) if answers[i] < top]
        answers[open_items[int(rng.integers(len(open_items)))]] += 1
    return answers


def _spreadable(item: Item) -> bool:
    # Items with gaps in their answer scale (e.g. O'Leary-Sant item 4: 0, 2, 3, 4, 5) or asked
    # only after another answer stay at their lowest value; stepping by one would be refused.
    values = item.allowed_values
    contiguous = list(values) == list(range(int(item.min_value), int(item.max_value) + 1))
    return contiguous and item.asked_only_if is None and item.min_value == 0


def _units(instrument: Instrument) -> list[tuple[Item, ...]]:
    """The instrument's scoring units in item order: each domain once, every other item alone."""
    by_id = {item.id: item for item in instrument.items}
    domain_of = {i: d for d in instrument.scoring.domains for i in d.items}
    units: list[tuple[Item, ...]] = []
    seen: set[str] = set()
    for item in instrument.items:
        if item.id in seen:
            continue
        domain = domain_of.get(item.id)
        members = tuple(by_id[i] for i in domain.items) if domain else (item,)
        seen.update(m.id for m in members)
        units.append(members)
    return units


def answers_for_total(
    rng: np.random.Generator,
    instrument_id: str,
    total: int,
    *,
    quiet_items: Collection[str] = (),
) -> tuple[int, ...]:
    """Answers in item order whose engine total is ``total``.

    ``quiet_items`` stay at 0 unless the total cannot be reached without them (a suicide item for
    a patient without suicidal ideation: in a real caseload a positive answer is the exception).
    """
    instrument = get_instrument(instrument_id)
    if instrument.scoring.reverse_items:
        raise ValueError(f"{instrument_id}: reverse-scored items are not supported by the demo")
    units = _units(instrument)

    def usable(unit: tuple[Item, ...], quiet: Collection[str]) -> list[Item]:
        return [i for i in unit if _spreadable(i) and i.id not in quiet]

    def top(unit: tuple[Item, ...], quiet: Collection[str]) -> int:
        return max((int(i.max_value) for i in usable(unit, quiet)), default=0)

    quiet = quiet_items if total <= sum(top(u, quiet_items) for u in units) else ()
    values = spread_total(rng, [top(unit, quiet) for unit in units], total)
    answers = {item.id: 0 for item in instrument.items}
    for unit, value in zip(units, values, strict=True):
        if value == 0:
            continue
        carriers = [i for i in usable(unit, quiet) if int(i.max_value) >= value]
        carrier = carriers[int(rng.integers(len(carriers)))]
        answers[carrier.id] = value
        for other in usable(unit, quiet):
            if other is not carrier:
                # Another item of a domain: anything up to the domain's value leaves it unchanged.
                answers[other.id] = int(rng.integers(0, min(value, int(other.max_value)) + 1))
    ordered = tuple(answers[item.id] for item in instrument.items)
    scored = score(instrument_id, list(ordered)).total
    if scored != total:
        raise ValueError(f"{instrument_id}: answers score {scored}, not the wanted {total}")
    return ordered
