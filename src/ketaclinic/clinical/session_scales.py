"""Which optional scales a protocol's sessions chart at their checkpoints (data, with a source).

A session booked from a signed plan takes this choice from its protocol
(``clinical/data/session_scales.yaml``), so nobody retypes it at the front desk.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.protocols import all_protocols


class ScaleChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bprs_positive: bool
    source: Source


class ProtocolScales(ScaleChoice):
    id: str


class _ScalesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    default: ScaleChoice
    protocols: list[ProtocolScales]

    @model_validator(mode="after")
    def _known_protocols(self) -> _ScalesFile:
        known = {p.id for p in all_protocols()}
        unknown = sorted({p.id for p in self.protocols} - known)
        if unknown:
            raise ValueError(f"unknown protocol ids {unknown}; known: {', '.join(sorted(known))}")
        return self


def scales_for(protocol_id: str) -> ScaleChoice:
    """The protocol's own entry, else the clinic's default."""
    data = load_knowledge("ketaclinic.clinical", "session_scales.yaml", _ScalesFile)
    for entry in data.protocols:
        if entry.id == protocol_id:
            return entry
    return data.default
