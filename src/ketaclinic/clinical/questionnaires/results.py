"""What scoring returns: a frozen :class:`ScoreResult` with its :class:`Alert` list and the
:class:`ScoringSettings` that produced it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    severity: Literal["info", "warning", "critical"]
    message: str
    action: str
    item_id: str | None = None


class ScoringSettings(BaseModel):
    """The choices besides the answers that produced a score: the cut-off applied by each rule
    with a configurable cut-off (the default where none was chosen; None = not applied), the
    severity band set (None = the default bands) and the pre-dose total given for rise-over-
    baseline rules. Stored with a response so the score can be reproduced from its items."""

    model_config = ConfigDict(frozen=True)

    cutoffs: dict[str, float | None] = {}
    band_set: str | None = None
    baseline_total: float | None = None

    def as_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``score()`` that reproduce these settings."""
        return {
            "cutoffs": dict(self.cutoffs),
            "band_set": self.band_set,
            "baseline_total": self.baseline_total,
        }


class ScoreResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    instrument: str
    version: str
    total: float | int
    severity: str | None
    severity_label: str | None
    alerts: list[Alert]
    subscales: dict[str, float | int]
    item_answers: dict[str, float | int]
    extras: dict[str, Any]
    settings: ScoringSettings = ScoringSettings()

    def to_json(self) -> dict[str, Any]:
        """A flat JSON object: the fixed fields, then each extras key at the top level."""
        payload: dict[str, Any] = {
            "instrument": self.instrument,
            "version": self.version,
            "total": self.total,
            "severity": self.severity,
            "severity_label": self.severity_label,
            "alerts": [alert.model_dump() for alert in self.alerts],
            "subscales": dict(self.subscales),
            "item_answers": dict(self.item_answers),
            "scoring_settings": self.settings.model_dump(),
        }
        for key, value in self.extras.items():
            # Extras never shadow a fixed field; the loader refuses rule ids that would.
            payload[key] = value
        return payload
