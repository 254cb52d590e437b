"""One worked example per instrument, with where it comes from.

``source:`` means the example (answers pattern and result) is printed in the source named;
``hand-worked:`` means no source we could read gives a numeric example, so the expected result was
computed by hand from the published rule named (the arithmetic is in the comment). Every
instrument must have at least one entry here (``test_every_instrument_has_a_worked_example``).
Where a source was read only through a secondary copy, the locator says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from ketaclinic.clinical.questionnaires import list_instruments, score


@dataclass(frozen=True)
class Example:
    answers: list[int]
    total: int
    severity: str | None
    provenance: str
    extras: dict[str, Any] = field(default_factory=dict)
    alerts: tuple[str, ...] = ()
    baseline_total: float | None = None


EXAMPLES: dict[str, list[Example]] = {
    "phq9": [
        Example(
            # 3 items at 1, 2 at 2, 3 at 3 (item positions ours; item 9 left at 0): 3 + 4 + 9.
            [1, 1, 1, 2, 2, 3, 3, 3, 0],
            16,
            "moderately-severe",
            "source: Instruction Manual, Instructions for Patient Health Questionnaire (PHQ) and "
            "GAD-7 Measures (Pfizer), section 'PHQ-9 Depression Severity': 'the PHQ-9 depression "
            "severity score is 16 (3 items scored 1, 2 items scored 2, and 3 items scored 3)'; "
            "read through a secondary quotation (david-cook.org), the manual PDF not checked; band "
            "15-19 moderately severe per Kroenke 2001 Table 4",
        ),
    ],
    "phq2": [
        Example(
            [2, 1],
            3,
            "positive",
            "hand-worked: Kroenke 2003 Med Care 41:1284, PHQ-2 = items 1-2 of the PHQ-9 summed "
            "(0-6), cut-point 3 or more: 2 + 1 = 3, positive",
        ),
    ],
    "gad7": [
        Example(
            [1, 1, 1, 1, 2, 0, 0],
            6,
            "mild",
            "hand-worked: Spitzer 2006 Arch Intern Med 166:1092, sum of 7 items 0-3, cut-points "
            "5/10/15: 4 x 1 + 2 = 6, mild (5-9)",
        ),
    ],
    "qids-sr16": [
        Example(
            [0, 2, 1, 3, 2, 1, 0, 2, 0, 1, 2, 0, 1, 2, 0, 1],
            14,
            "moderate",
            "hand-worked: Rush 2003 Biol Psychiatry 54:573 and ids-qids.org scoring, the highest "
            "of items 1-4, item 5, the highest of items 6-9, items 10-14, the highest of items "
            "15-16: max(0,2,1,3)=3 + 2 + max(1,0,2,0)=2 + (1+2+0+1+2)=6 + max(0,1)=1 = 14, "
            "moderate (11-15)",
        ),
    ],
    "madrs": [
        Example(
            [3, 3, 2, 2, 2, 2, 2, 2, 2, 0],
            20,
            "moderate",
            "hand-worked: Montgomery & Asberg 1979 Br J Psychiatry 134:382, sum of ten items "
            "0-6: 3 + 3 + 7 x 2 + 0 = 20; band 20-34 moderate (Snaith 1986 convention, "
            "unverified)",
        ),
    ],
    "hamd17": [
        Example(
            [2, 2, 0, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1],
            20,
            "severe",
            "hand-worked: Hamilton 1960 J Neurol Neurosurg Psychiatry 23:56, sum of the 17 "
            "scored items: 2+2+0+1+1+1+2+1+1+2+1+1+1+1+1+1+1 = 20 (item 3, suicide, at 0); "
            "band 19-22 severe (CamCOPS convention, unverified)",
        ),
    ],
    "cadss": [
        Example(
            [1, 1, 1, 1, 1] + [0] * 18,
            5,
            None,
            "hand-worked: SPRAVATO US prescribing information, dissociation = CADSS total > 4 "
            "and a change > 0 from the pre-dose total: 5 > 4 and 5 - 2 > 0, dissociation",
            extras={"dissociation": True},
            baseline_total=2,
        ),
    ],
    "bprs-positive": [
        Example(
            [2, 3, 1, 4],
            10,
            None,
            "hand-worked: Overall & Gorham 1962 Psychol Rep 10:799, items 4, 11, 12, 15 each "
            "1-7, summed: 2 + 3 + 1 + 4 = 10",
        ),
    ],
    "cssrs-screener": [
        Example(
            [1, 1, 1, 0, 0, 0, 0],
            3,
            None,
            "hand-worked: C-SSRS Screener with triage points (Columbia Lighthouse Project), a yes "
            "to question 3 (thought of a method) without 4, 5 or behaviour = moderate risk",
            extras={"risk": "moderate"},
            alerts=("cssrs-moderate-risk",),
        ),
    ],
    "pcl5": [
        Example(
            [3, 2, 1, 0, 0, 2, 1, 2, 0, 3, 1, 0, 0, 0, 2, 0, 3, 0, 0, 0],
            20,
            None,
            "hand-worked: National Center for PTSD PCL-5 scoring, items rated 2 or more count; "
            "DSM-5 needs 1 B (items 1-5: 1, 2), 1 C (6-7: 6), 2 D (8-14: 8, 10), 2 E (15-20: 15, "
            "17): met; total 3+2+1+2+1+2+3+1+2+3 = 20, below the probable-PTSD cut-point 33",
            extras={"provisional_diagnosis": True, "probable_ptsd": False},
        ),
    ],
    "moaas": [
        Example(
            [0],
            0,
            None,
            "hand-worked: Chernik 1990 J Clin Psychopharmacol 10:244, level 0 = no response to "
            "a painful stimulus, treated as loss of consciousness",
            alerts=("moaas-loss-of-consciousness",),
        ),
    ],
    "pain-nrs": [
        Example(
            [7],
            7,
            None,
            "hand-worked: Hawker 2011 Arthritis Care Res 63:S240, NRS 0-10, the number is the "
            "score",
        ),
    ],
    "oleary-sant": [
        Example(
            [3, 2, 4, 3, 2, 3, 1, 4],
            22,
            None,
            "hand-worked: O'Leary 1997 Urology 49(5A):58, ICSI = items 1-4 summed (3+2+4+3 = "
            "12), ICPI = items 5-8 summed (2+3+1+4 = 10); ketaclinic's total is ICSI + ICPI",
            alerts=("urinary-symptoms-reported", "bladder-pain-reported"),
        ),
    ],
}


def test_every_instrument_has_a_worked_example() -> None:
    assert {instrument.id for instrument in list_instruments()} <= set(EXAMPLES)
    for instrument_id, examples in EXAMPLES.items():
        assert examples, instrument_id
        for example in examples:
            assert example.provenance.startswith(("source:", "hand-worked:")), instrument_id


@pytest.mark.parametrize(
    ("instrument_id", "example"),
    [(instrument_id, ex) for instrument_id, exs in EXAMPLES.items() for ex in exs],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_worked_example(instrument_id: str, example: Example) -> None:
    result = score(instrument_id, example.answers, baseline_total=example.baseline_total)
    assert result.total == example.total, example.provenance
    assert result.severity == example.severity, example.provenance
    for key, expected in example.extras.items():
        assert result.extras[key] == expected, example.provenance
    assert tuple(alert.id for alert in result.alerts) == example.alerts, example.provenance


def test_oleary_sant_indices_in_the_example() -> None:
    result = score("oleary-sant", EXAMPLES["oleary-sant"][0].answers)
    assert result.subscales == {"icsi": 12, "icpi": 10}
