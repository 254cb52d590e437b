"""Rating instruments as data, scored by one generic engine.

Public surface (other modules code against exactly this)::

    Instrument, ScoreResult, Alert, get_instrument, list_instruments, score
"""

from __future__ import annotations

from ketaclinic.clinical.questionnaires.engine import Answers, score
from ketaclinic.clinical.questionnaires.loader import get_instrument, list_instruments
from ketaclinic.clinical.questionnaires.models import Instrument, Item
from ketaclinic.clinical.questionnaires.results import Alert, ScoreResult

__all__ = [
    "Alert",
    "Answers",
    "Instrument",
    "Item",
    "ScoreResult",
    "get_instrument",
    "list_instruments",
    "score",
]
