"""Coinciding rate constants (defective systems) never give a wrong curve.

When ke0 equals a one-compartment elimination rate, or a depot's ka equals a disposition
eigenvalue, the system matrix is defective and has no eigenvector basis. The modal solution
must detect it and fall back to matrix exponentials; at and near the coincidence the result has
to agree with the ODE integration and, for the exact coincidence, with the confluent closed form.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from pk_helpers import assert_agree, exact_and_ode

from ketaclinic.clinical.knowledge import Source
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.pharmacology import Covariates, Dose, Regimen, predict_concentration
from ketaclinic.pharmacology.parameters import CovariateArrays, individual_values
from ketaclinic.pharmacology.predict import build_for_patient
from ketaclinic.pharmacology.schema import Formulation, load_model_spec
from ketaclinic.pharmacology.solver import concentration_ng_ml, modal_form
from ketaclinic.pharmacology.structures import build_model

ADULT = Covariates(weight_kg=70.0)
TIMES = np.concatenate([np.linspace(0.0, 60.0, 31), np.linspace(70.0, 720.0, 66)])
BOLUS_AND_INFUSION = Regimen((Dose(Route.IV, 70.0), Dose(Route.IV, 30.0, 10.0, 50.0)))


def _kamp_elimination_per_min(covariates: Covariates = ADULT) -> float:
    values = individual_values(load_model_spec("kamp"), CovariateArrays.repeat(covariates, 1))
    return float(values["cl"][0] / values["v1"][0])


def _half_time_at_coincidence() -> float:
    return math.log(2.0) / _kamp_elimination_per_min()


@pytest.mark.parametrize("relative_shift", [0.0, 1e-12, 1e-9, 1e-7, 1e-5, 1e-3])
def test_effect_site_at_and_near_ke0_equal_to_elimination_agrees_with_ode(
    relative_shift: float,
) -> None:
    half_time = _half_time_at_coincidence() * (1.0 + relative_shift)
    built = build_for_patient("kamp", ADULT, BOLUS_AND_INFUSION, half_time)
    for output in ("concentration", "effect"):
        assert_agree(*exact_and_ode(built, output, TIMES))


def test_effect_site_at_the_exact_coincidence_is_the_confluent_closed_form() -> None:
    """One compartment, bolus D: Ce(t) = (D/V) k t e^{-k t} when ke0 = k = CL/V."""
    k = _kamp_elimination_per_min()
    prediction = predict_concentration(
        "kamp",
        ADULT,
        Regimen((Dose(Route.IV, 70.0),)),
        TIMES,
        effect_half_time_min=math.log(2.0) / k,
    )
    volume_l = float(
        individual_values(load_model_spec("kamp"), CovariateArrays.repeat(ADULT, 1))["v1"][0]
    )
    expected = 70.0 / volume_l * 1000.0 * k * TIMES * np.exp(-k * TIMES)
    np.testing.assert_allclose(prediction.effect_site_ng_ml, expected, rtol=1e-9, atol=1e-9)
    assert prediction.effect_site_ng_ml[1:].min() > 0.0
    # AUC(0-inf) of plasma is dose / CL whatever the effect site does.
    clearance_l_min = k * volume_l
    assert prediction.metrics.auc_0_inf_ng_h_ml == pytest.approx(
        70.0 / clearance_l_min * 1000.0 / 60.0, rel=1e-9
    )


def test_depot_rate_equal_to_the_elimination_rate_agrees_with_ode() -> None:
    """A formulation whose published ka equals CL/V makes the depot mode defective."""
    ka_per_h = _kamp_elimination_per_min() * 60.0
    formulation = Formulation(
        id="test-coinciding-ka",
        route=Route.IM,
        drug="racemic-ketamine",
        bioavailability=0.8,
        tmax_min=20,
        lag_min=4.0,
        ka_per_h=ka_per_h,
        source=Source(citation="test formulation (not clinical data)", verified=False),
    )
    regimen = Regimen((Dose(Route.IM, 50.0, 0.0, formulation=formulation),))
    built = build_for_patient("kamp", ADULT, regimen, None)
    assert modal_form(built.system).ill_conditioned.tolist() == [0]
    assert_agree(*exact_and_ode(built, "concentration", TIMES))


def test_only_the_defective_subject_takes_the_fallback() -> None:
    """In a chunk, one subject at the coincidence; the others keep the modal solution."""
    spec = load_model_spec("kamp")
    weights = np.array([50.0, 70.0, 90.0])
    covariates = CovariateArrays(
        weights,
        np.zeros(3),
        np.zeros(3, dtype=bool),
        np.zeros(3, dtype=bool),
        np.zeros(3),
    )
    values = individual_values(spec, covariates)
    built = build_model(
        spec, values, BOLUS_AND_INFUSION, effect_half_time_min=_half_time_at_coincidence()
    )
    modal = modal_form(built.system)
    assert modal.ill_conditioned.tolist() == [1]
    together = concentration_ng_ml(built.system, modal, built.events, "effect", TIMES)
    for subject in range(3):
        _, ode = exact_and_ode(built, "effect", TIMES, subject)
        assert_agree(together[subject], ode)


def test_an_exactly_singular_basis_is_flagged_not_inverted() -> None:
    from ketaclinic.pharmacology.solver import _inverse_and_condition

    right = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]]])
    _, bad = _inverse_and_condition(right)
    assert bad.tolist() == [False, True]


def test_subjects_sharing_a_defective_matrix_are_computed_once_and_scaled() -> None:
    """Domino without IIV: every subject of one weight shares the matrix. With ke0 equal to its
    slowest disposition rate all are flagged; their doses differ (as with per-kg doses)."""
    spec = load_model_spec("domino")
    disposition = build_for_patient("domino", ADULT, BOLUS_AND_INFUSION, None)
    slowest = -max(modal_form(disposition.system).eigenvalues_per_min[0])
    covariates = CovariateArrays.repeat(ADULT, 4)
    built = build_model(
        spec,
        individual_values(spec, covariates),
        BOLUS_AND_INFUSION,
        effect_half_time_min=math.log(2.0) / slowest,
    )
    factors = np.array([0.5, 1.0, 1.5, 2.0])
    events = [replace(e, amount_mg=e.amount_mg * factors) for e in built.events]
    scaled = replace(built, events=events)
    modal = modal_form(scaled.system)
    assert modal.ill_conditioned.tolist() == [0, 1, 2, 3]
    together = concentration_ng_ml(scaled.system, modal, events, "effect", TIMES)
    for subject in (0, 3):
        _, ode = exact_and_ode(scaled, "effect", TIMES, subject)
        assert_agree(together[subject], ode)
