"""PK invariants that hold for every linear model, any regimen (hypothesis).

- Mass balance: AUC(0-inf) x CL equals the bioavailable dose (sum of F x dose).
- Linearity: doubling every dose doubles every concentration.
- Concentrations are never negative (beyond rounding).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ketaclinic.pharmacology as pharmacology
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.pharmacology import Covariates, Dose, Regimen, predict_concentration
from ketaclinic.pharmacology.absorption import resolve_absorption
from ketaclinic.pharmacology.ode import solve_subject_ode
from ketaclinic.pharmacology.predict import build_for_patient
from ketaclinic.pharmacology.schema import load_model_spec

RACEMIC = ["domino", "clements", "hijazi", "herd", "hornik", "kamp"]
TIMES = np.linspace(0.0, 720.0, 73)
ADULT = Covariates(weight_kg=70.0, age_years=40)

doses = st.lists(
    st.tuples(
        st.sampled_from([Route.IV, Route.IM, Route.INTRANASAL, Route.ORAL, Route.SUBLINGUAL]),
        st.floats(1.0, 50.0),
        st.integers(0, 240).map(float),
        st.sampled_from([0.0, 10.0, 20.0, 40.0, 60.0]),
    ),
    min_size=1,
    max_size=5,
)


def _regimen(items: list[tuple[Route, float, float, float]], factor: float = 1.0) -> Regimen:
    return Regimen(
        tuple(
            Dose(route, amount * factor, start, duration if route == Route.IV else 0.0)
            for route, amount, start, duration in items
        )
    )


def _clearance_l_per_h(model_id: str) -> float:
    single = predict_concentration(model_id, ADULT, Regimen((Dose(Route.IV, 10.0),)), [0.0, 1.0])
    return 10.0 / single.metrics.auc_0_inf_ng_h_ml * 1000.0


@settings(max_examples=30, deadline=None, derandomize=True)
@given(model_id=st.sampled_from(RACEMIC), items=doses)
def test_mass_balance_linearity_and_sign(
    model_id: str, items: list[tuple[Route, float, float, float]]
) -> None:
    spec = load_model_spec(model_id)
    regimen = _regimen(items)
    prediction = predict_concentration(model_id, ADULT, regimen, TIMES)
    available_mg = sum(
        d.amount_mg
        * (1.0 if d.route == Route.IV else resolve_absorption(spec, d.route, None).bioavailability)
        for d in regimen.doses
    )
    clearance = _clearance_l_per_h(model_id)
    assert prediction.metrics.auc_0_inf_ng_h_ml * clearance / 1000.0 == pytest.approx(
        available_mg, rel=1e-8
    )
    doubled = predict_concentration(model_id, ADULT, _regimen(items, 2.0), TIMES)
    np.testing.assert_allclose(
        doubled.concentration_ng_ml, 2.0 * prediction.concentration_ng_ml, rtol=1e-10, atol=1e-9
    )
    assert np.all(prediction.concentration_ng_ml >= -1e-9 * prediction.metrics.cmax_ng_ml)


def test_flint_time_drift_is_small_over_a_clinic_horizon() -> None:
    """The exact solver holds CLsnk at its start value; the time-varying ODE shows the gap."""
    child = Covariates(weight_kg=10.0, age_years=1)
    regimen = Regimen((Dose(Route.IV, 10.0, 0.0, 480.0),))
    built = build_for_patient("flint", child, regimen, None)
    times = np.linspace(0.0, 480.0, 49)
    metabolite = built.system.outputs["metabolite"].compartment
    k0 = -built.system.matrix_per_min[0, metabolite, metabolite]
    slope_per_min = 0.0087 / 60.0
    frozen = solve_subject_ode(built.system, built.events, ("metabolite",), times)["metabolite"]
    drifting = solve_subject_ode(
        built.system,
        built.events,
        ("metabolite",),
        times,
        time_varying_metabolite=(metabolite, k0, slope_per_min),
    )["metabolite"]
    relative = np.abs(drifting[1:] - frozen[1:]) / frozen[1:]
    # Faster clearance over time lowers S-norketamine, by at most 0.87%/h x 8 h = 7%.
    assert np.all(drifting[1:] <= frozen[1:])
    assert relative.max() <= 0.0087 * 8 + 1e-9


def test_public_api_is_pinned() -> None:
    assert set(pharmacology.__all__) == {
        "MODEL_IDS",
        "Covariates",
        "Dose",
        "ModelSummary",
        "PopulationRequest",
        "PopulationResult",
        "Prediction",
        "Regimen",
        "default_times_min",
        "iv_infusion_steps",
        "list_models",
        "parse_dose_mg",
        "plot_concentration",
        "predict_concentration",
        "simulate_population",
        "write_population",
    }
