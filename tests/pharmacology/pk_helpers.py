"""Shared helpers for the pharmacology tests (imported by name: tests have no packages)."""

from __future__ import annotations

import numpy as np

from ketaclinic.pharmacology.ode import solve_subject_ode
from ketaclinic.pharmacology.solver import concentration_ng_ml, modal_form
from ketaclinic.pharmacology.structures import BuiltModel


def exact_and_ode(
    built: BuiltModel, output: str, times_min: np.ndarray, subject: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    exact = concentration_ng_ml(
        built.system, modal_form(built.system), built.events, output, times_min
    )
    ode = solve_subject_ode(built.system, built.events, (output,), times_min, subject)[output]
    return exact[subject], ode


def assert_agree(exact: np.ndarray, ode: np.ndarray, rtol: float = 1e-6) -> None:
    """Relative agreement, with an absolute floor far below any clinical concentration."""
    floor = 1e-9 * max(float(np.max(np.abs(ode))), 1e-12)
    assert np.all(np.abs(exact - ode) <= rtol * np.abs(ode) + floor), np.max(
        np.abs(exact - ode) / (np.abs(ode) + floor)
    )
