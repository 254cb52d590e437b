"""Exact solution of linear compartment models, vectorised over subjects and times.

Every model here is linear and time-invariant: dx/dt = A x + u(t), with u a sum of boluses and
constant-rate inputs (IV infusion segments, zero-order release of a swallowed dose). With
A = V diag(lambda) V^-1 per subject, a unit input into compartment j reaches output o through
modal coefficients c_i = V[o, i] V^-1[i, j], and each input event contributes, per mode:

    bolus of A mg at s:        A e^{lambda (t - s)}                           for t >= s
    infusion R mg/min, [s, e): R expm1(lambda d) / lambda, d = min(t, e) - s  for t >= s
                               times e^{lambda (t - e)} once t > e

Superposition over events is exact (no time stepping), so a dose given before a segment is never
"forgotten" (rxode2 #230), and a lag only shifts an event's times while bioavailability only
scales its amount (the infusion duration is kept, so F changes the rate: mrgsolve #954).
Observations at a bolus time include the bolus (right-continuous).

When a subject's eigenvector matrix is (nearly) singular (a defective or nearly defective A, e.g.
ke0 equal to an elimination rate) the modal coefficients are unusable; ``modal_form`` flags those
subjects and their outputs come from ``matrix_exponential`` instead (exact, slower, rare).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ketaclinic.errors import ConfigurationError
from ketaclinic.pharmacology.matrix_exponential import auc_to_infinity_by_solve, outputs_by_expm

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class InputEvent:
    """Drug entering one compartment: a bolus (duration 0) or a constant rate over the duration."""

    compartment: int
    start_min: float
    duration_min: float
    amount_mg: FloatArray  # per subject, after bioavailability

    @property
    def end_min(self) -> float:
        return self.start_min + self.duration_min


@dataclass(frozen=True)
class Output:
    compartment: int
    volume_l: FloatArray  # per subject; 1.0 for states already in concentration units


@dataclass(frozen=True)
class LinearSystem:
    matrix_per_min: FloatArray  # (subjects, n, n)
    compartments: tuple[str, ...]
    outputs: dict[str, Output]

    @property
    def n_subjects(self) -> int:
        return int(self.matrix_per_min.shape[0])


@dataclass(frozen=True)
class ModalForm:
    """Per-subject eigen-decomposition; a leading dimension of 1 means all subjects share it
    (models whose rate constants do not vary, such as Domino, where weight only scales V1), and
    NumPy broadcasting then spares the per-subject decomposition."""

    eigenvalues_per_min: FloatArray  # (subjects or 1, n)
    right: FloatArray  # (subjects, n, n)
    left: FloatArray  # (subjects, n, n) = inverse of right
    # Subjects (indices into the system) whose eigenvector basis is ill-conditioned: their modal
    # data are placeholders and their outputs are computed by matrix exponentials instead.
    ill_conditioned: NDArray[np.intp]

    def coefficients(self, output: int, compartment: int) -> FloatArray:
        return self.right[:, output, :] * self.left[:, :, compartment]


# Above this estimate of cond(V) = ||V|| ||V^-1|| the modal sums lose accuracy to cancellation:
# measured near a coincidence (Kamp with ke0 close to CL/V) the relative error is about
# 2e-13 * cond, so 1e-8 at this threshold, well inside the 1e-6 the tests demand; a subject
# needs the exact fallback only within a relative eigenvalue gap of about 1e-7.
MAX_EIGENVECTOR_CONDITION = 1e5


def modal_form(system: LinearSystem) -> ModalForm:
    """Eigen-decomposition per subject. Compartment models have real, negative eigenvalues."""
    matrices = system.matrix_per_min
    # Many subjects share a matrix (models without IIV vary only V1 with weight): decompose once.
    flat = matrices.reshape(matrices.shape[0], -1)
    unique = matrices[:1] if np.all(flat == flat[0]) else matrices
    eigenvalues, right = np.linalg.eig(unique)
    if np.iscomplexobj(eigenvalues):
        if np.max(np.abs(eigenvalues.imag)) > 1e-9 * np.max(np.abs(eigenvalues.real)):
            raise ConfigurationError(
                "A PK model produced complex eigenvalues; its data file is inconsistent."
            )
        eigenvalues = eigenvalues.real
        right = right.real
    eigenvalues = eigenvalues.astype(np.float64)
    right = right.astype(np.float64)
    left, bad = _inverse_and_condition(right)
    if bad.any():
        # Harmless placeholders (identity basis, unit decay) for the flagged subjects, so the
        # vectorised modal pass stays finite; their rows are then recomputed exactly.
        size = right.shape[1]
        right[bad] = np.eye(size)
        left[bad] = np.eye(size)
        eigenvalues[bad] = -1.0
    flagged = np.flatnonzero(np.broadcast_to(bad, (system.n_subjects,)) if bad.size == 1 else bad)
    return ModalForm(eigenvalues, right, left, flagged)


def _inverse_and_condition(right: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """V^-1 per subject and which subjects' V is too ill-conditioned for the modal solution.

    ``np.linalg.eig`` returns unit-norm columns, so ||V||_F = sqrt(n) and the Frobenius estimate
    of the condition number costs one norm of the inverse, which is needed anyway.
    """
    size = right.shape[1]
    singular = np.zeros(right.shape[0], dtype=bool)
    left: FloatArray
    try:
        left = np.linalg.inv(right).astype(np.float64)
    except np.linalg.LinAlgError:
        # An exactly singular basis somewhere in the batch: invert subject by subject.
        left = np.empty_like(right)
        for index in range(right.shape[0]):
            try:
                left[index] = np.linalg.inv(right[index])
            except np.linalg.LinAlgError:
                left[index] = np.eye(size)
                singular[index] = True
    condition = np.sqrt(size) * np.linalg.norm(left, axis=(1, 2))
    bad: NDArray[np.bool_] = singular | ~(condition <= MAX_EIGENVECTOR_CONDITION)
    return left, bad


def _event_kernel(
    eigenvalues: FloatArray, event: InputEvent, times_min: FloatArray, integral: bool = False
) -> tuple[int, FloatArray]:
    """Per-mode response (subjects, n, T') of one event for the sorted times at and after its start.

    Returns the index of the first affected time and the kernel (already multiplied by the amount
    or rate, not yet by the modal coefficients). ``integral`` gives the time integral from the event
    start to t instead (for exact AUC).
    """
    first = int(np.searchsorted(times_min, event.start_min, side="left"))
    t = times_min[first:]
    lam = eigenvalues[:, :, None]
    elapsed = (t - event.start_min)[None, None, :]
    if event.duration_min == 0.0:
        amount = event.amount_mg[:, None, None]
        if integral:
            return first, amount * np.expm1(lam * elapsed) / lam
        return first, amount * np.exp(lam * elapsed)
    rate = (event.amount_mg / event.duration_min)[:, None, None]
    infused = np.minimum(elapsed, event.duration_min)
    after = np.maximum(elapsed - event.duration_min, 0.0)
    during_part = np.expm1(lam * infused) / lam
    if not integral:
        return first, rate * during_part * np.exp(lam * after)
    # Integral of R expm1(lam d)/lam over the infusion, then of the decaying tail after it.
    integral_during = (np.expm1(lam * infused) / lam - infused) / lam
    tail = during_part * np.expm1(lam * after) / lam
    return first, rate * (integral_during + tail)


def _add_fast_tail(
    result: FloatArray,
    weights: FloatArray,
    modal: ModalForm,
    event: InputEvent,
    times_min: FloatArray,
) -> int:
    """Add the part of an event after its end with one exp per mode and point, in place.

    After the input stops every mode decays as e^{lambda (t - end)} from a per-subject constant,
    so only that constant depends on the event's shape. Returns the first index it handled.
    """
    first = int(np.searchsorted(times_min, event.end_min, side="left"))
    if first >= times_min.size:
        return first
    lam = modal.eigenvalues_per_min
    if event.duration_min == 0.0:
        at_end = event.amount_mg[:, None]
    else:
        at_end = (
            (event.amount_mg / event.duration_min)[:, None]
            * np.expm1(lam * event.duration_min)
            / lam
        )
    constants = weights * at_end
    offsets = times_min[first:] - event.end_min
    target = result[:, first:]
    steps = np.diff(offsets)
    if steps.size >= 2 * _BLOCK and np.allclose(steps, steps[0], rtol=1e-12, atol=0.0):
        _uniform_tail(target, constants, lam, offsets[0], float(steps[0]))
        return first
    scratch = np.empty_like(target)
    for mode in range(lam.shape[1]):
        np.multiply.outer(lam[:, mode], offsets, out=scratch)
        np.exp(scratch, out=scratch)
        scratch *= constants[:, mode, None]
        target += scratch
    return first


_BLOCK = 16


def _uniform_tail(
    target: FloatArray, constants: FloatArray, lam: FloatArray, first_offset: float, step: float
) -> None:
    """On an evenly spaced grid e^{lambda (o0 + j h)} is one exp per block then multiplications.

    Each block of _BLOCK columns is the previous block times e^{lambda _BLOCK h}; the rounding
    error grows by about one ulp per block, far below the 1e-6 agreement the tests demand.
    """
    columns = target.shape[1]
    local = first_offset + step * np.arange(_BLOCK)
    for mode in range(lam.shape[1]):
        rate = lam[:, mode]
        block = np.exp(np.multiply.outer(rate, local)) * constants[:, mode, None]
        advance = np.exp(rate * (step * _BLOCK))[:, None]
        for start in range(0, columns, _BLOCK):
            width = min(_BLOCK, columns - start)
            target[:, start : start + width] += block[:, :width]
            block *= advance


def output_amounts(
    system: LinearSystem,
    modal: ModalForm,
    events: list[InputEvent],
    output: str,
    times_min: FloatArray,
    integral: bool = False,
    scale: FloatArray | None = None,
) -> FloatArray:
    """Output state (mg, or mg/L for concentration states) per subject and time, shape (S, T).

    ``scale`` (per subject) multiplies the result; it is folded into the modal coefficients.

    ``times_min`` must be sorted ascending. With ``integral`` the time integral from 0 to t.
    """
    target = system.outputs[output].compartment
    result = np.zeros((system.n_subjects, times_min.shape[0]))
    coefficients: dict[int, FloatArray] = {}
    for event in events:
        if event.compartment not in coefficients:
            coefficients[event.compartment] = modal.coefficients(target, event.compartment)
            if scale is not None:
                coefficients[event.compartment] = coefficients[event.compartment] * scale[:, None]
        weights = coefficients[event.compartment]
        limit = times_min.size
        if not integral:
            limit = _add_fast_tail(result, weights, modal, event, times_min)
        first, kernel = _event_kernel(modal.eigenvalues_per_min, event, times_min[:limit], integral)
        if kernel.shape[2] == 0:
            continue
        result[:, first:limit] += np.matmul(weights[:, None, :], kernel)[:, 0, :]
    if modal.ill_conditioned.size:
        rows = modal.ill_conditioned
        exact = outputs_by_expm(
            system.matrix_per_min, events, target, times_min, rows, integral=integral
        )
        result[rows] = exact if scale is None else exact * scale[rows, None]
    return result


def concentration_ng_ml(
    system: LinearSystem,
    modal: ModalForm,
    events: list[InputEvent],
    output: str,
    times_min: FloatArray,
    integral: bool = False,
) -> FloatArray:
    """Concentration (ng/mL) of an output, or its integral (ng·min/mL) with ``integral``."""
    # mg/L is µg/mL; x1000 gives ng/mL.
    scale = 1000.0 / system.outputs[output].volume_l
    return output_amounts(system, modal, events, output, times_min, integral, scale)


def auc_to_infinity_ng_min_ml(
    system: LinearSystem, modal: ModalForm, events: list[InputEvent], output: str
) -> FloatArray:
    """Exact AUC from 0 to infinity: each mode integrates to -c_i * amount / lambda_i."""
    target = system.outputs[output].compartment
    total = np.zeros(system.n_subjects)
    for event in events:
        coefficients = modal.coefficients(target, event.compartment)
        total += np.sum(-coefficients / modal.eigenvalues_per_min, axis=1) * event.amount_mg
    if modal.ill_conditioned.size:
        rows = modal.ill_conditioned
        total[rows] = auc_to_infinity_by_solve(system.matrix_per_min, events, target, rows)
    return total / system.outputs[output].volume_l * 1000.0
