"""Finds and validates every instrument file under ``clinical/data/instruments`` once."""

from __future__ import annotations

from functools import cache
from importlib import resources

from ketaclinic.clinical.knowledge import load_knowledge
from ketaclinic.clinical.questionnaires.models import Instrument
from ketaclinic.errors import ConfigurationError, NotFound

_PACKAGE = "ketaclinic.clinical"
_FOLDER = "instruments"


@cache
def _instruments() -> dict[str, Instrument]:
    folder = resources.files(_PACKAGE).joinpath("data", _FOLDER)
    found: dict[str, Instrument] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        instrument = load_knowledge(_PACKAGE, f"{_FOLDER}/{entry.name}", Instrument)
        if entry.name != f"{instrument.id}.yaml":
            raise ConfigurationError(
                f"Instrument file {entry.name} declares id {instrument.id!r}; "
                f"name it {instrument.id}.yaml."
            )
        found[instrument.id] = instrument
    return found


def get_instrument(instrument_id: str) -> Instrument:
    """The instrument with this id; NotFound (listing the known ids) otherwise."""
    instruments = _instruments()
    try:
        return instruments[instrument_id]
    except KeyError:
        known = ", ".join(sorted(instruments))
        raise NotFound(
            f"Unknown instrument {instrument_id!r}. Known instruments: {known}.", field="instrument"
        ) from None


def list_instruments() -> list[Instrument]:
    return list(_instruments().values())
