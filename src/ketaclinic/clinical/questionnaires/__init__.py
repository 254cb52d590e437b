"""Rating instruments as data, scored by one generic engine.

Public surface (other modules code against exactly this)::

    Instrument, ScoreResult, ScoringSettings, Alert, InvalidAnswers, get_instrument,
    list_instruments, score
"""

from __future__ import annotations

from ketaclinic.clinical.questionnaires.answers import Answers, InvalidAnswers
from ketaclinic.clinical.questionnaires.engine import score
from ketaclinic.clinical.questionnaires.loader import get_instrument, list_instruments
from ketaclinic.clinical.questionnaires.models import Instrument, Item
from ketaclinic.clinical.questionnaires.results import Alert, ScoreResult, ScoringSettings

__all__ = [
    "Alert",
    "Answers",
    "Instrument",
    "InvalidAnswers",
    "Item",
    "ScoreResult",
    "ScoringSettings",
    "get_instrument",
    "list_instruments",
    "score",
]
