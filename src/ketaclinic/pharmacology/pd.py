"""Pharmacodynamic read-outs: NMDA receptor occupancy and concentration bands.

Occupancy is a competitive-binding index, occ = sum(C_k/Ki_k) / (1 + sum(C_k/Ki_k)), from the
effect-site concentration and [3H]MK-801 affinities in rat cortex (Ebert 1997). It ignores plasma
protein binding and uses rat in-vitro Ki values, so it is an index for comparing plans, not a
measured human occupancy. The racemate is split into equal S and R halves.

The published affinities disagree, so an uncertainty range is reported beside the central
(Ebert) index: the lowest and highest index over these readings of them:
- Ebert 1997: S 0.3 µM, R 1.4 µM (the central value);
- the label's S:R affinity ratio of 3 and of 4 with Ebert's S value (R = 0.9 or 1.2 µM);
- the Salat 2015 racemic Ki of 0.119 µM for the racemate as a whole; for esketamine, the S Ki
  that racemic Ki implies under the 3-4-fold ratio, Ki_S = Ki_rac (1 + 1/ratio) / 2 (computed
  here; 1/Ki_rac = (1/2)/Ki_S + (1/2)/Ki_R with Ki_R = ratio Ki_S).
Metabolites (norketamine Ki 1.7 / 13 µM) are not included in the index.
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


def _micromolar(concentration_ng_ml: FloatArray) -> FloatArray:
    # ng/mL divided by g/mol gives µmol/L.
    molar_mass = load_pharmacodynamics().molar_mass_g_per_mol.ketamine
    result: FloatArray = np.asarray(concentration_ng_ml, dtype=np.float64) / molar_mass
    return result


def _index(load: FloatArray) -> FloatArray:
    result: FloatArray = load / (1.0 + load)
    return result


def nmda_occupancy(concentration_ng_ml: FloatArray, drug: str) -> FloatArray:
    """Fraction of NMDA receptors occupied at this (effect-site) concentration (Ebert 1997)."""
    pd = load_pharmacodynamics()
    micromolar = _micromolar(concentration_ng_ml)
    s_ki, r_ki = pd.affinity("s-ketamine").ki_um, pd.affinity("r-ketamine").ki_um
    if drug == "esketamine":
        return _index(micromolar / s_ki)
    return _index(micromolar / 2.0 / s_ki + micromolar / 2.0 / r_ki)


def nmda_occupancy_range(
    concentration_ng_ml: FloatArray, drug: str
) -> tuple[FloatArray, FloatArray]:
    """Lowest and highest occupancy index over the published affinity readings (module doc)."""
    pd = load_pharmacodynamics()
    micromolar = _micromolar(concentration_ng_ml)
    s_ki = pd.affinity("s-ketamine").ki_um
    racemic_ki = pd.affinity("racemic-ketamine-salat").ki_um
    ratios = (pd.s_to_r_affinity_ratio.low, pd.s_to_r_affinity_ratio.high)
    readings = [nmda_occupancy(concentration_ng_ml, drug)]
    if drug == "esketamine":
        for ratio in ratios:
            implied_s_ki = racemic_ki * (1.0 + 1.0 / ratio) / 2.0
            readings.append(_index(micromolar / implied_s_ki))
    else:
        for ratio in ratios:
            readings.append(_index(micromolar / 2.0 / s_ki + micromolar / 2.0 / (s_ki * ratio)))
        readings.append(_index(micromolar / racemic_ki))
    stacked = np.stack(readings)
    low: FloatArray = stacked.min(axis=0)
    high: FloatArray = stacked.max(axis=0)
    return low, high


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
