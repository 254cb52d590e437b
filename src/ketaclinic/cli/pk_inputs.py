"""Parsing the ``ketaclinic pk`` command line: numbers or ranges, covariate tables, Spark.

Kept apart from the commands so each stays short; every error names the option and what it
accepts.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any

from ketaclinic.clinical.vocabulary import Route, Sex
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology import Covariates, Dose, parse_dose_mg
from ketaclinic.pharmacology.regimen import dose_is_per_kg

_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}


def number_or_range(text: str, field: str, unit: str) -> tuple[float, tuple[float, float] | None]:
    """``70`` -> (70, None); ``50-100`` -> (75, (50, 100)): the midpoint is the reference."""
    try:
        if "-" in text.strip()[1:]:
            low, high = (float(x) for x in text.split("-", 1))
            return (low + high) / 2.0, (low, high)
        return float(text), None
    except ValueError:
        raise InvalidInput(
            f"{field.capitalize()} '{text}' must be {unit} (e.g. 70) or a range (e.g. 50-100).",
            field=field,
        ) from None


def later_dose(text: str, weight_kg: float) -> tuple[Dose, bool]:
    """``im:0.5mg/kg@20`` or ``iv:10mg@30/15`` (route:dose@start_min[/duration_min]) -> the dose
    and whether it was per kg."""
    try:
        route_text, rest = text.split(":", 1)
        dose_text, timing = rest.split("@", 1)
        start_text, _, duration_text = timing.partition("/")
        route = Route(route_text.strip().lower())
        start_min = float(start_text)
        duration_min = float(duration_text) if duration_text else 0.0
    except ValueError:
        raise InvalidInput(
            f"Later dose '{text}' must be route:dose@start_min or route:dose@start_min/duration_min"
            ", e.g. im:0.5mg/kg@20 or iv:10mg@30/15 (routes: "
            + ", ".join(r.value for r in Route)
            + ").",
            field="then",
        ) from None
    amount = parse_dose_mg(dose_text, weight_kg)
    return Dose(route, amount, start_min, duration_min), dose_is_per_kg(dose_text)


def _flag(value: str, column: str, line: int) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInput(
        f"Covariate table line {line}: {column} must be true or false (got '{value}').",
        field="covariates",
    )


def read_covariate_table(path: Path) -> tuple[Covariates, ...]:
    """CSV with a ``weight_kg`` column and optional ``age_years``, ``sex`` (F/M), ``asian``,
    ``japanese`` (true/false) columns; one virtual subject profile per row."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "weight_kg" not in reader.fieldnames:
                raise InvalidInput(
                    f"Covariate table {path.name} needs a weight_kg column (optional: "
                    "age_years, sex, asian, japanese).",
                    field="covariates",
                )
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    age_text = (row.get("age_years") or "").strip()
                    sex_text = (row.get("sex") or "").strip().upper()
                    japanese = _flag(row.get("japanese") or "", "japanese", line)
                    rows.append(
                        Covariates(
                            weight_kg=float(row["weight_kg"]),
                            age_years=float(age_text) if age_text else None,
                            sex=Sex(sex_text) if sex_text else None,
                            asian=_flag(row.get("asian") or "", "asian", line) or japanese,
                            japanese=japanese,
                        )
                    )
                except ValueError as error:
                    raise InvalidInput(
                        f"Covariate table line {line}: {error}; weight_kg and age_years are "
                        "numbers, sex is F or M.",
                        field="covariates",
                    ) from None
    except OSError as error:
        raise InvalidInput(
            f"Covariate table {path} cannot be read: {error.strerror}.", field="covariates"
        ) from None
    return tuple(rows)


def spark_session(master: str | None) -> Any:
    """A SparkSession (``master`` e.g. ``local[2]`` or a cluster URL; None: Spark's default)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InvalidInput(
            "The Spark engine needs PySpark and Java: install ketaclinic[spark].", field="engine"
        ) from None
    # Executors run this same interpreter (and so this same ketaclinic) unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("ketaclinic-pk-population")
    if master:
        builder = builder.master(master)
    return builder.config("spark.ui.enabled", "false").getOrCreate()
