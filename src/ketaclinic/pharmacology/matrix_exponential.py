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
    n = matrix_per_min.shape[1]
    points = _breakpoints(events, times_min)
    result = np.zeros((len(subjects), times_min.size))
    for row, subject in enumerate(subjects):
        augmented = np.zeros((n + 2, n + 2))
        augmented[:n, :n] = matrix_per_min[subject]
        augmented[n, output_compartment] = 1.0
        state = np.zeros(n + 2)
        state[n + 1] = 1.0
        for index, t in enumerate(points):
            for event in events:
                if event.duration_min == 0.0 and event.start_min == t:
                    state[event.compartment] += event.amount_mg[subject]
            at = times_min == t
            result[row, at] = state[n] if integral else state[output_compartment]
            if index + 1 == points.size:
                break
            augmented[:n, n + 1] = 0.0
            for event in events:
                if event.duration_min > 0.0 and event.start_min <= t < event.end_min:
                    rate = event.amount_mg[subject] / event.duration_min
                    augmented[event.compartment, n + 1] += rate
            state = expm(augmented * (points[index + 1] - t)) @ state
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
