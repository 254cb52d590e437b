"""Exposure metrics of one prediction: Cmax, Tmax, AUC, time in each band, level at discharge.

Cmax and Tmax are refined between grid points on the exact solution; AUC(0-t) and AUC(0-inf)
are exact integrals of the sums of exponentials; band times use a 0.1-minute grid with linear
interpolation at the crossings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from ketaclinic.pharmacology.parameters import FloatArray
from ketaclinic.pharmacology.pd import BandTimes, band_times
from ketaclinic.pharmacology.solver import ModalForm, auc_to_infinity_ng_min_ml, concentration_ng_ml

BAND_GRID_STEP_MIN = 0.1


@dataclass(frozen=True)
class Metrics:
    cmax_ng_ml: float
    tmax_min: float
    auc_0_t_ng_h_ml: float
    auc_0_inf_ng_h_ml: float
    end_min: float
    bands: tuple[BandTimes, ...]
    discharge_min: float | None = None
    concentration_at_discharge_ng_ml: float | None = None
    metabolite_cmax_ng_ml: float | None = None
    metabolite_auc_0_t_ng_h_ml: float | None = None
    metabolite_auc_0_inf_ng_h_ml: float | None = None

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "cmax_ng_ml": self.cmax_ng_ml,
            "tmax_min": self.tmax_min,
            "auc_ng_h_ml": self.auc_0_t_ng_h_ml,
            "auc_0_inf_ng_h_ml": self.auc_0_inf_ng_h_ml,
            "auc_end_min": self.end_min,
            "bands": [
                {
                    "id": b.band.id,
                    "low_ng_ml": b.band.low_ng_ml,
                    "high_ng_ml": b.band.high_ng_ml,
                    "minutes_below": b.minutes_below,
                    "minutes_within": b.minutes_within,
                    "minutes_above": b.minutes_above,
                    "falls_below_at_min": b.falls_below_at_min,
                    "source": b.band.source.short(),
                }
                for b in self.bands
            ],
        }
        if self.discharge_min is not None:
            payload["discharge_min"] = self.discharge_min
            payload["concentration_at_discharge_ng_ml"] = self.concentration_at_discharge_ng_ml
        if self.metabolite_cmax_ng_ml is not None:
            payload["metabolite_cmax_ng_ml"] = self.metabolite_cmax_ng_ml
            payload["metabolite_auc_ng_h_ml"] = self.metabolite_auc_0_t_ng_h_ml
            payload["metabolite_auc_0_inf_ng_h_ml"] = self.metabolite_auc_0_inf_ng_h_ml
        return payload


def _peak(system_eval: Any, grid: FloatArray) -> tuple[float, float]:
    values = system_eval(grid)
    index = int(np.argmax(values))
    low, high = grid[max(index - 1, 0)], grid[min(index + 1, grid.size - 1)]
    if high <= low:
        return float(values[index]), float(grid[index])
    refined = minimize_scalar(
        lambda t: -float(system_eval(np.array([t]))[0]),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-6},
    )
    if -refined.fun > values[index]:
        return float(-refined.fun), float(refined.x)
    return float(values[index]), float(grid[index])


def compute_metrics(
    built: Any, modal: ModalForm, times_min: FloatArray, *, discharge_min: float | None
) -> Metrics:
    system, events = built.system, built.events
    end = float(times_min[-1])
    steps = max(int(np.ceil(end / BAND_GRID_STEP_MIN)), 1)
    # Dense grid plus every event boundary, so bolus peaks and infusion ends are on the grid.
    boundaries = [e.start_min for e in events] + [e.end_min for e in events]
    grid = np.unique(
        np.concatenate([np.linspace(0.0, end, steps + 1), [b for b in boundaries if b <= end]])
    )

    def evaluate(output: str) -> Any:
        return lambda t: concentration_ng_ml(system, modal, events, output, np.asarray(t))[0]

    cmax, tmax = _peak(evaluate("concentration"), grid)
    last = np.array([end])
    auc_t = float(
        concentration_ng_ml(system, modal, events, "concentration", last, integral=True)[0, 0]
    )
    auc_inf = float(auc_to_infinity_ng_min_ml(system, modal, events, "concentration")[0])
    dense = evaluate("concentration")(grid)
    at_discharge = None
    if discharge_min is not None:
        at_discharge = float(evaluate("concentration")(np.array([discharge_min]))[0])
    metabolite_cmax = metabolite_auc = metabolite_auc_inf = None
    if "metabolite" in system.outputs:
        metabolite_auc_inf = (
            float(auc_to_infinity_ng_min_ml(system, modal, events, "metabolite")[0]) / 60.0
        )
        metabolite_cmax, _ = _peak(evaluate("metabolite"), grid)
        metabolite_auc = (
            float(
                concentration_ng_ml(system, modal, events, "metabolite", last, integral=True)[0, 0]
            )
            / 60.0
        )
    return Metrics(
        cmax_ng_ml=cmax,
        tmax_min=tmax,
        auc_0_t_ng_h_ml=auc_t / 60.0,
        auc_0_inf_ng_h_ml=auc_inf / 60.0,
        end_min=end,
        bands=tuple(band_times(grid, dense)),
        discharge_min=discharge_min,
        concentration_at_discharge_ng_ml=at_discharge,
        metabolite_cmax_ng_ml=metabolite_cmax,
        metabolite_auc_0_t_ng_h_ml=metabolite_auc,
        metabolite_auc_0_inf_ng_h_ml=metabolite_auc_inf,
    )
