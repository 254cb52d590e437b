"""Exact fallback for subjects whose system has no well-conditioned eigenvector basis.

The modal solution needs A = V diag(lambda) V^-1. When two eigenvalues coincide and the matrix is
defective (for example an effect-site ke0 equal to a one-compartment elimination rate, or a depot
ka equal to a disposition eigenvalue), V is singular and the modal coefficients are meaningless;
close to such a coincidence they are huge and cancel, and rounding decides the answer. For those
subjects the state is instead propagated exactly from event to event with matrix exponentials of
an augmented system (Van Loan's construction):

    d/dt [x, a, 1] = [[A, 0, r], [e_o^T, 0, 0], [0, 0, 0]] [x, a, 1]

where r is the constant input rate over the piece and a accumulates the output's time integral.
expm of that matrix times the piece length advances the state, its integral and the constant
input at once, with no eigen-decomposition. Boluses are added at their times, so observations at
a bolus time include it (right-continuous), as in the modal solution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import expm

from ketaclinic.pharmacology.parameters import FloatArray

if TYPE_CHECKING:  # the solver imports this module
    from ketaclinic.pharmacology.solver import InputEvent


def _breakpoints(events: Sequence[InputEvent], times_min: FloatArray) -> FloatArray:
    starts = [e.start_min for e in events]
    ends = [e.end_min for e in events]
    return np.unique(np.concatenate([[0.0], times_min, starts, ends]))


def outputs_by_expm(
    matrix_per_min: FloatArray,
    events: Sequence[InputEvent],
    output_compartment: int,
    times_min: FloatArray,
    subjects: NDArray[np.intp],
    *,
    integral: bool = False,
) -> FloatArray:
    """Output amount (or its integral from 0) of the given subjects at the sorted times.

    Shape (len(subjects), T).
    """
    shared = matrix_per_min[subjects]
    if subjects.size > 1 and np.all(shared == shared[0]):
        # One matrix for all (e.g. a model without IIV): the output is linear in each event's
        # amount, so propagate each event once with a unit amount and scale per subject.
        result = np.zeros((subjects.size, times_min.size))
        for event in events:
            unit = replace(event, amount_mg=np.ones(matrix_per_min.shape[0]))
            response = _propagate(
                matrix_per_min, [unit], output_compartment, times_min, subjects[:1], integral
            )
            result += event.amount_mg[subjects, None] * response
        return result
    return _propagate(matrix_per_min, events, output_compartment, times_min, subjects, integral)


def _propagate(
    matrix_per_min: FloatArray,
    events: Sequence[InputEvent],
    output_compartment: int,
    times_min: FloatArray,
    subjects: NDArray[np.intp],
    integral: bool,
) -> FloatArray:
    n = matrix_per_min.shape[1]
    points = _breakpoints(events, times_min)
    # Each requested time is one of the breakpoints: record the state there once, then look up.
    positions = np.searchsorted(points, times_min)
    read = n if integral else output_compartment
    result = np.zeros((len(subjects), times_min.size))
    for row, subject in enumerate(subjects):
        augmented = np.zeros((n + 2, n + 2))
        augmented[:n, :n] = matrix_per_min[subject]
        augmented[n, output_compartment] = 1.0
        state = np.zeros(n + 2)
        state[n + 1] = 1.0
        recorded = np.empty(points.size)
        # On an even grid with unchanged inputs the same propagator recurs: compute it once.
        propagators: dict[tuple[float, bytes], FloatArray] = {}
        for index, t in enumerate(points):
            for event in events:
                if event.duration_min == 0.0 and event.start_min == t:
                    state[event.compartment] += event.amount_mg[subject]
            recorded[index] = state[read]
            if index + 1 == points.size:
                break
            rates = np.zeros(n)
            for event in events:
                if event.duration_min > 0.0 and event.start_min <= t < event.end_min:
                    rates[event.compartment] += event.amount_mg[subject] / event.duration_min
            step = float(points[index + 1] - t)
            key = (step, rates.tobytes())
            if key not in propagators:
                augmented[:n, n + 1] = rates
                propagators[key] = expm(augmented * step)
            state = propagators[key] @ state
        result[row] = recorded[positions]
    return result


def auc_to_infinity_by_solve(
    matrix_per_min: FloatArray,
    events: Sequence[InputEvent],
    output_compartment: int,
    subjects: NDArray[np.intp],
) -> FloatArray:
    """Integral of the output amount from 0 to infinity: e_o^T (-A)^-1 (total input).

    Exact for any stable A, defective or not (every compartment here eventually drains).
    """
    n = matrix_per_min.shape[1]
    result = np.zeros(len(subjects))
    for row, subject in enumerate(subjects):
        total_input = np.zeros(n)
        for event in events:
            total_input[event.compartment] += event.amount_mg[subject]
        result[row] = np.linalg.solve(-matrix_per_min[subject], total_input)[output_compartment]
    return result
