"""What scoring returns: a frozen :class:`ScoreResult` with its :class:`Alert` list."""

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
        }
        for key, value in self.extras.items():
            # Extras never shadow a fixed field; the loader refuses rule ids that would.
            payload[key] = value
        return payload
