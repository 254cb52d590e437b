"""Clinical knowledge as data: one loader for every YAML file under ``ketaclinic/*/data``.

Every dose, threshold, cut-off, band and rule is an entry in a data file with a ``source``.
The loader validates each file against a typed model at first use and caches the result, so a
broken file fails loudly at start-up rather than halfway through a session.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ketaclinic.errors import ConfigurationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class Source(BaseModel):
    """Where a clinical number or rule comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    citation: str = Field(min_length=3, description="Guideline, label or paper, as cited.")
    year: int | None = Field(default=None, ge=1900, le=2100)
    url: str | None = None
    locator: str | None = Field(default=None, description="Section, table or page in the source.")
    verified: bool = Field(
        default=True,
        description="False where the figure could not be checked against the primary source.",
    )
    note: str | None = None

    def short(self) -> str:
        year = f" ({self.year})" if self.year else ""
        flag = " [unverified]" if not self.verified else ""
        return f"{self.citation}{year}{flag}"


def read_yaml(package: str, name: str) -> Any:
    """Read ``name`` from the ``data`` folder of ``package`` (e.g. ``ketaclinic.clinical``)."""
    try:
        text = resources.files(package).joinpath("data", name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigurationError(f"Knowledge file {package}/data/{name} is missing.") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        message = f"Knowledge file {package}/data/{name} is not YAML: {exc}"
        raise ConfigurationError(message) from exc


@cache
def _load_cached(package: str, name: str, model: type[BaseModel]) -> BaseModel:
    raw = read_yaml(package, name)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigurationError(f"Knowledge file {package}/data/{name} is invalid: {exc}") from exc


def load_knowledge(package: str, name: str, model: type[ModelT]) -> ModelT:
    """Load and validate a knowledge file once; later calls return the same object."""
    loaded = _load_cached(package, name, model)
    assert isinstance(loaded, model)
    return loaded
