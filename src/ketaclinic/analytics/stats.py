"""Proportions with Wilson score intervals, the interval the cohort report uses throughout.

Wilson rather than the Wald interval because clinic subgroups are small and rates near 0 or 1
(serious adverse events, blood-pressure alerts) are common; Wald collapses to zero width there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from ketaclinic.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Proportion:
    events: int
    n: int
    estimate: float  # nan when n is 0
    low: float
    high: float

    def as_percent(self) -> str:
        if self.n == 0:
            return "no data"
        return f"{self.estimate:.1%} ({self.low:.1%}-{self.high:.1%}), {self.events}/{self.n}"


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise InvalidInput(
            f"confidence must be between 0 and 1, not {confidence}.", field="confidence"
        )
    return float(norm.ppf(0.5 + confidence / 2))


def wilson(events: int, n: int, confidence: float = 0.95) -> Proportion:
    """Wilson score interval for ``events`` out of ``n``."""
    if n < 0 or events < 0 or events > n:
        raise InvalidInput(f"events ({events}) must be between 0 and n ({n}).", field="events")
    if n == 0:
        return Proportion(events=0, n=0, estimate=math.nan, low=math.nan, high=math.nan)
    low, high = wilson_arrays(np.array([events], float), np.array([n], float), confidence)
    return Proportion(
        events=events, n=n, estimate=events / n, low=float(low[0]), high=float(high[0])
    )


def wilson_arrays(
    events: FloatArray, n: FloatArray, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Vectorised Wilson bounds (nan where n is 0), for whole result tables at once."""
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = events / n
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
        # At 0 or n events the exact bound is 0 or 1; the formula leaves rounding noise there.
        low = np.where(events == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        high = np.where(events == n, 1.0, np.clip(centre + half, 0.0, 1.0))
        low = np.where(n == 0, np.nan, low)
        high = np.where(n == 0, np.nan, high)
    return low.astype(np.float64), high.astype(np.float64)
