"""The drug catalogue: a medication name a person types -> what the screening rules care about.

Names are matched case-insensitively on the generic name, brand names and synonyms, ignoring
strength and form words a nurse might copy from a label ("Sertraline 50 mg tablets"). Unknown
names return ``None``: the caller reports them as unclassified rather than guessing.
"""

from __future__ import annotations

import re
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.vocabulary import MedicationClass


class Drug(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    brands: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    classes: frozenset[MedicationClass]
    adequate_min_dose_mg_per_day: float | None = Field(default=None, gt=0)
    source: Source | None = None

    @property
    def is_antidepressant(self) -> bool:
        return MedicationClass.ANTIDEPRESSANT in self.classes


class TrialAdequacy(BaseModel):
    """What makes an antidepressant trial adequate and what counts as its failure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    min_duration_weeks: float = Field(gt=0)
    failed_outcomes: frozenset[str]
    source: Source


class MedicationCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    adequacy: TrialAdequacy
    drugs: tuple[Drug, ...]


# Words that follow a drug name on a label or prescription but are not part of the name.
_NOISE = re.compile(
    r"\b(\d+(\.\d+)?\s*(mg|mcg|micrograms?|g|ml)?|tablets?|tabs?|capsules?|caps?|oral|solution|"
    r"xr|er|sr|cr|xl|la|ir|mr|extended|modified|release|daily|bd|od|tds|nocte|prn)\b"
)


def normalise_name(name: str) -> str:
    lowered = name.strip().lower()
    return " ".join(lowered.split())


def _strip_noise(name: str) -> str:
    return " ".join(_NOISE.sub(" ", normalise_name(name)).split())


@cache
def load_catalogue() -> MedicationCatalogue:
    return load_knowledge("ketaclinic.clinical", "medications.yaml", MedicationCatalogue)


@cache
def _index() -> dict[str, Drug]:
    index: dict[str, Drug] = {}
    for drug in load_catalogue().drugs:
        for alias in (drug.id, drug.name, *drug.brands, *drug.synonyms):
            index[normalise_name(alias)] = drug
    return index


def lookup_drug(name: str) -> Drug | None:
    """The catalogue entry for a generic name, brand name or synonym; ``None`` when unknown."""
    index = _index()
    exact = index.get(normalise_name(name))
    if exact is not None:
        return exact
    stripped = _strip_noise(name)
    if stripped in index:
        return index[stripped]
    # "Effexor XR 150" -> try the first word alone, which is how most products are named.
    first_word = stripped.split(" ", 1)[0] if stripped else ""
    return index.get(first_word)


def classes_of(name: str) -> frozenset[MedicationClass] | None:
    drug = lookup_drug(name)
    return drug.classes if drug is not None else None


def all_drugs() -> tuple[Drug, ...]:
    return load_catalogue().drugs
