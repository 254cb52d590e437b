"""Pharmacodynamic read-outs: NMDA receptor occupancy and concentration bands.

Occupancy is a competitive-binding index, occ = sum(C_k/Ki_k) / (1 + sum(C_k/Ki_k)), from the
effect-site concentration and [3H]MK-801 affinities in rat cortex (Ebert 1997). It ignores plasma
protein binding and uses rat in-vitro Ki values, so it is an index for comparing plans, not a
measured human occupancy. The racemate is split into equal S and R halves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.parameters import FloatArray
from ketaclinic.pharmacology.schema import Band, load_pharmacodynamics

MAX_EFFECT_HALF_TIME_MIN = 600.0


def check_effect_half_time(half_time_min: float) -> None:
    """Refuse an effect-site half-time that is not a positive number of minutes up to 10 h."""
    if not 0 < half_time_min <= MAX_EFFECT_HALF_TIME_MIN:
        raise InvalidInput(
            "The effect-site half-time must be between 0 and "
            f"{MAX_EFFECT_HALF_TIME_MIN:g} minutes (got {half_time_min:g}).",
            field="effect_half_time",
        )


def nmda_occupancy(concentration_ng_ml: FloatArray, drug: str) -> FloatArray:
    """Fraction of NMDA receptors occupied at this (effect-site) concentration."""
    pd = load_pharmacodynamics()
    molar_mass = pd.molar_mass_g_per_mol.ketamine
    # ng/mL divided by g/mol gives µmol/L.
    micromolar = np.asarray(concentration_ng_ml, dtype=np.float64) / molar_mass
    if drug == "esketamine":
        load = micromolar / pd.affinity("s-ketamine").ki_um
    else:
        half = micromolar / 2.0
        load = half / pd.affinity("s-ketamine").ki_um + half / pd.affinity("r-ketamine").ki_um
    result: FloatArray = load / (1.0 + load)
    return result


@dataclass(frozen=True)
class BandTimes:
    band: Band
    minutes_below: float
    minutes_within: float
    minutes_above: float
    # Last time the concentration fell below the band's lower edge (None if it never entered the
    # band).
    falls_below_at_min: float | None


def _time_where(
    times: FloatArray, values: FloatArray, threshold: float
) -> tuple[float, float | None]:
    """Minutes above threshold (linear interpolation) and the last downward crossing."""
    above = values > threshold
    t0, t1, v0, v1 = times[:-1], times[1:], values[:-1], values[1:]
    both = above[:-1] & above[1:]
    crossing_mask = above[:-1] != above[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = t0 + (threshold - v0) / (v1 - v0) * (t1 - t0)
    rising = crossing_mask & above[1:]
    falling = crossing_mask & above[:-1]
    total = float(
        np.sum((t1 - t0)[both]) + np.sum((t1 - crossing)[rising]) + np.sum((crossing - t0)[falling])
    )
    last_down = float(crossing[falling][-1]) if falling.any() else None
    return total, last_down


def band_times(times: FloatArray, values: FloatArray) -> list[BandTimes]:
    span = float(times[-1] - times[0])
    result: list[BandTimes] = []
    for band in load_pharmacodynamics().bands:
        above_low, falls_below = _time_where(times, values, band.low_ng_ml)
        above_high, _ = _time_where(times, values, band.high_ng_ml)
        result.append(
            BandTimes(
                band=band,
                minutes_below=span - above_low,
                minutes_within=above_low - above_high,
                minutes_above=above_high,
                falls_below_at_min=falls_below,
            )
        )
    return result
