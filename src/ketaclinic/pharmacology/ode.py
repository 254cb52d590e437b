"""Numerical cross-check: the same linear system integrated with SciPy's ``solve_ivp``.

Integration is split at every event boundary (bolus times, infusion starts and ends), boluses are
added to the state between pieces, and infusion rates are constant within a piece, so the solver
never steps across a discontinuity. Flint's time-varying S-norketamine clearance can be switched
on here (``time_varying_metabolite``) to measure what the exact solver's frozen value neglects.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ketaclinic.pharmacology.parameters import FloatArray
from ketaclinic.pharmacology.solver import InputEvent, LinearSystem

ODE_RTOL = 1e-11
ODE_ATOL_MG = 1e-14
_SHORTEST_PIECE_MIN = 1e-9


def solve_subject_ode(
    system: LinearSystem,
    events: list[InputEvent],
    outputs: tuple[str, ...],
    times_min: FloatArray,
    subject: int = 0,
    *,
    time_varying_metabolite: tuple[int, float, float] | None = None,
    method: str = "LSODA",
) -> dict[str, FloatArray]:
    """Outputs (ng/mL) of one subject at the sorted ``times_min``.

    ``time_varying_metabolite`` = (compartment, elimination rate per min at t=0, slope per min):
    the elimination of that compartment becomes k0 (1 + slope t) (Flint 2017).
    """
    matrix = system.matrix_per_min[subject]
    n = matrix.shape[0]
    boundaries = sorted(
        {0.0, float(times_min[-1])} | {e.start_min for e in events} | {e.end_min for e in events}
    )
    boundaries = [b for b in boundaries if b <= times_min[-1]]
    state = np.zeros(n)
    result = np.zeros((n, times_min.size))

    def rates(t: float, x: FloatArray, infusion: FloatArray) -> FloatArray:
        dx: FloatArray = matrix @ x + infusion
        if time_varying_metabolite is not None:
            index, k0, slope = time_varying_metabolite
            dx[index] -= k0 * slope * t * x[index]
        return dx

    for piece, start in enumerate(boundaries):
        for event in events:
            if event.duration_min == 0.0 and event.start_min == start:
                state[event.compartment] += event.amount_mg[subject]
        at_start = times_min == start
        result[:, at_start] = state[:, None]
        end = boundaries[piece + 1] if piece + 1 < len(boundaries) else None
        if end is None:
            break
        infusion = np.zeros(n)
        for event in events:
            if event.duration_min > 0 and event.start_min <= start < event.end_min:
                infusion[event.compartment] += event.amount_mg[subject] / event.duration_min
        inside = (times_min > start) & (times_min <= end)
        if end - start < _SHORTEST_PIECE_MIN:
            # A piece shorter than a nanominute (e.g. a dose 1e-300 min after another) would stall
            # the integrator; the input over it is below rounding, so the state carries over.
            result[:, inside] = state[:, None]
            continue
        # Always evaluate at the piece's end too, so the next piece starts from the right state.
        evaluation = np.unique(np.concatenate([times_min[inside], [end]]))
        solution = solve_ivp(
            rates,
            (start, end),
            state,
            method=method,
            t_eval=evaluation,
            args=(infusion,),
            rtol=ODE_RTOL,
            atol=ODE_ATOL_MG,
        )
        if inside.any():
            result[:, inside] = solution.y[:, np.searchsorted(evaluation, times_min[inside])]
        state = solution.y[:, -1].copy()
    converted: dict[str, FloatArray] = {}
    for name in outputs:
        output = system.outputs[name]
        converted[name] = result[output.compartment] / output.volume_l[subject] * 1000.0
    return converted
