"""The exact (modal, superposition) solution agrees with SciPy's ODE integration to 1e-6.

Cases follow what users of mrgsolve and rxode2 reported broken: lag times with bioavailability,
infusions with lags, several rate changes and pauses, doses given before later segments.

Zero-order inputs with a lag are formulations with a zero-order release (``zero_order_min``):
the lag moves the start and the end, F scales the rate and the duration is kept. IV infusions
have no lag (they run as given) and F = 1.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pk_helpers import assert_agree, exact_and_ode

from ketaclinic.clinical.knowledge import Source
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.pharmacology import Covariates, Dose, Regimen, iv_infusion_steps
from ketaclinic.pharmacology.parameters import CovariateArrays, individual_values
from ketaclinic.pharmacology.population import covariance_cholesky
from ketaclinic.pharmacology.predict import build_for_patient
from ketaclinic.pharmacology.schema import Formulation, load_model_spec
from ketaclinic.pharmacology.structures import build_model

TIMES = np.concatenate([np.linspace(0.0, 60.0, 61), np.linspace(61.0, 600.0, 80)])
TEST_SOURCE = Source(citation="test formulation with a lag (not clinical data)", verified=False)
LAGGED_IM = Formulation(
    id="test-lagged-im",
    route=Route.IM,
    drug="racemic-ketamine",
    bioavailability=0.7,
    tmax_min=25,
    lag_min=7.5,
    source=TEST_SOURCE,
)
# A zero-order release with a lag and F < 1 (mrgsolve #267/#270/#954 semantics; not clinical data).
ZERO_ORDER_LAGGED = Formulation(
    id="test-zero-order-lagged-oral",
    route=Route.ORAL,
    drug="racemic-ketamine",
    bioavailability=0.3,
    tmax_min=90,
    lag_min=10.0,
    zero_order_min=30.0,
    source=TEST_SOURCE,
)

RACEMIC_REGIMENS = {
    "iv-bolus": Regimen((Dose(Route.IV, 20.0),)),
    "iv-infusion": Regimen((Dose(Route.IV, 35.0, 0.0, 40.0),)),
    "rate-changes-and-pause": Regimen(
        iv_infusion_steps([(0, 60.0), (10, 30.0), (25, 0.0), (35, 45.0)], 50)
    ),
    "every-route": Regimen(
        (
            Dose(Route.IV, 10.0, 0.0),
            Dose(Route.IM, 20.0, 15.0),
            Dose(Route.INTRANASAL, 30.0, 30.0),
            Dose(Route.ORAL, 50.0, 45.0),
            Dose(Route.SUBLINGUAL, 25.0, 60.0),
        )
    ),
    "lag-with-bioavailability": Regimen((Dose(Route.IM, 40.0, 3.0, formulation=LAGGED_IM),)),
    "zero-order-release-with-lag": Regimen(
        (
            Dose(Route.ORAL, 50.0, 5.0, formulation=ZERO_ORDER_LAGGED),
            Dose(Route.ORAL, 50.0, 20.0, formulation=ZERO_ORDER_LAGGED),  # releases overlap
            Dose(Route.IV, 10.0, 30.0, 15.0),
        )
    ),
    "dose-before-later-segments": Regimen(
        (Dose(Route.IM, 30.0, 0.0), Dose(Route.IV, 10.0, 20.0, 30.0), Dose(Route.IV, 5.0, 120.0))
    ),
    "observation-at-dose-times": Regimen(
        (Dose(Route.IV, 10.0, 10.0), Dose(Route.IV, 10.0, 30.0, 20.0))
    ),
}


@pytest.mark.parametrize("model_id", ["domino", "clements", "hijazi", "herd", "hornik", "kamp"])
@pytest.mark.parametrize("case", sorted(RACEMIC_REGIMENS))
def test_racemic_models_agree_with_ode(model_id: str, case: str) -> None:
    built = build_for_patient(
        model_id, Covariates(weight_kg=45.0, age_years=15), RACEMIC_REGIMENS[case], 6.1
    )
    for output in ("concentration", "effect"):
        assert_agree(*exact_and_ode(built, output, TIMES))


ESKETAMINE_REGIMENS = {
    "nasal-84mg": Regimen((Dose(Route.INTRANASAL, 84.0),)),
    "nasal-custom-spacing-twice": Regimen(
        (
            Dose(Route.INTRANASAL, 56.0, 0.0, device_spacing_min=2.0),
            Dose(Route.INTRANASAL, 28.0, 240.0),
        )
    ),
    "oral-solution": Regimen((Dose(Route.ORAL, 84.0),)),
    "iv-infusion-then-nasal": Regimen(
        (Dose(Route.IV, 28.0, 0.0, 40.0), Dose(Route.INTRANASAL, 56.0, 20.0))
    ),
}


@pytest.mark.parametrize("case", sorted(ESKETAMINE_REGIMENS))
def test_perez_ruixo_agrees_with_ode(case: str) -> None:
    covariates = Covariates(weight_kg=70.0, age_years=72, asian=True, japanese=True)
    built = build_for_patient("perez-ruixo", covariates, ESKETAMINE_REGIMENS[case], 6.1)
    for output in ("concentration", "metabolite", "effect"):
        assert_agree(*exact_and_ode(built, output, TIMES))


def test_flint_metabolite_agrees_with_ode() -> None:
    regimen = Regimen((Dose(Route.IV, 7.0, 0.0), Dose(Route.IV, 20.0, 0.0, 240.0)))
    built = build_for_patient("flint", Covariates(weight_kg=7.0, age_years=0.5), regimen, None)
    for output in ("concentration", "metabolite"):
        assert_agree(*exact_and_ode(built, output, TIMES))


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 2**31),
    gap_min=st.floats(0.0, 90.0),
    infusion_min=st.floats(0.5, 120.0),
    amount_mg=st.floats(1.0, 100.0),
)
def test_random_esketamine_subjects_agree_with_ode(
    seed: int, gap_min: float, infusion_min: float, amount_mg: float
) -> None:
    """Subjects drawn with the published variability (every eta set) still agree exactly."""
    spec = load_model_spec("perez-ruixo")
    names, cholesky = covariance_cholesky(spec)
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((1, len(names))) @ cholesky.T
    etas = {name: draws[:, k] for k, name in enumerate(names)}
    covariates = CovariateArrays.repeat(Covariates(weight_kg=80.0, age_years=65), 1)
    regimen = Regimen(
        (
            Dose(Route.INTRANASAL, 56.0, 0.0),
            Dose(Route.IV, amount_mg, gap_min, infusion_min),
            Dose(Route.ORAL, 28.0, 200.0),
        )
    )
    built = build_model(
        spec, individual_values(spec, covariates, etas), regimen, effect_half_time_min=6.1
    )
    for output in ("concentration", "metabolite"):
        assert_agree(*exact_and_ode(built, output, TIMES))


def test_lag_shifts_the_whole_curve_and_bioavailability_scales_it() -> None:
    """With lag L and F, the curve equals the no-lag curve shifted by L and scaled by F/F'.

    The no-lag formulation peaks L earlier (Tmax counts from the dose), so both derive one ka.
    """
    no_lag = LAGGED_IM.model_copy(
        update={"lag_min": 0.0, "bioavailability": 0.35, "tmax_min": LAGGED_IM.tmax_min - 7.5}
    )
    times = np.linspace(0.0, 300.0, 301)
    lagged = build_for_patient(
        "kamp", Covariates(70), Regimen((Dose(Route.IM, 40.0, 0.0, formulation=LAGGED_IM),)), None
    )
    plain = build_for_patient(
        "kamp", Covariates(70), Regimen((Dose(Route.IM, 40.0, 0.0, formulation=no_lag),)), None
    )
    lagged_values, _ = exact_and_ode(lagged, "concentration", times)
    plain_values, _ = exact_and_ode(plain, "concentration", times - 7.5)
    plain_values = np.where(times < 7.5, 0.0, plain_values)
    np.testing.assert_allclose(lagged_values, plain_values * 2.0, rtol=1e-9, atol=1e-12)


def _zero_order(formulation: Formulation, times: np.ndarray = TIMES) -> np.ndarray:
    """Domino concentrations after 50 mg of ``formulation`` at time 0 (exact, checked by ODE)."""
    regimen = Regimen((Dose(Route.ORAL, 50.0, 0.0, formulation=formulation),))
    built = build_for_patient("domino", Covariates(70), regimen, None)
    exact, ode = exact_and_ode(built, "concentration", times)
    assert_agree(exact, ode)
    return exact


def test_a_lag_moves_the_start_and_the_end_of_a_zero_order_release() -> None:
    regimen = Regimen((Dose(Route.ORAL, 50.0, 0.0, formulation=ZERO_ORDER_LAGGED),))
    (event,) = build_for_patient("domino", Covariates(70), regimen, None).events
    assert (event.start_min, event.end_min) == (10.0, 40.0)
    # Same ka: the no-lag formulation peaks 10 min earlier after the dose.
    no_lag = ZERO_ORDER_LAGGED.model_copy(update={"lag_min": 0.0, "tmax_min": 80.0})
    later = TIMES[TIMES >= 10.0]
    np.testing.assert_allclose(
        _zero_order(ZERO_ORDER_LAGGED, later), _zero_order(no_lag, later - 10.0), rtol=1e-9
    )
    assert np.all(_zero_order(ZERO_ORDER_LAGGED, TIMES[TIMES <= 10.0]) == 0.0)


def test_bioavailability_on_a_zero_order_release_scales_the_rate_not_the_duration() -> None:
    """Halving F halves the curve at every time, which holds only if the release still lasts
    zero_order_min (shortening it instead, NONMEM's rule for rate-defined infusions, would move
    the peak earlier)."""
    half = ZERO_ORDER_LAGGED.model_copy(update={"bioavailability": 0.15})
    regimen = Regimen((Dose(Route.ORAL, 50.0, 0.0, formulation=half),))
    (event,) = build_for_patient("domino", Covariates(70), regimen, None).events
    assert event.duration_min == 30.0
    assert event.amount_mg[0] == pytest.approx(50.0 * 0.15)
    np.testing.assert_allclose(_zero_order(half) * 2.0, _zero_order(ZERO_ORDER_LAGGED), rtol=1e-12)


def test_perez_ruixo_swallowed_release_keeps_its_duration_whatever_reaches_it() -> None:
    """Each device's swallowed part, (1 - FRn_k) * Fgut * 28 mg, is released over Dsw (0.53 h)
    although FRn differs between the first device and later ones: F scales the rate."""
    spec = load_model_spec("perez-ruixo")
    values = {p.id: p.value for p in spec.parameters}
    built = build_for_patient(
        "perez-ruixo", Covariates(70, 40), Regimen((Dose(Route.INTRANASAL, 84.0),)), None
    )
    swallowed = built.system.compartments.index("swallowed")
    releases = [e for e in built.events if e.compartment == swallowed]
    assert [e.start_min for e in releases] == [0.0, 5.0, 10.0]
    assert {e.duration_min for e in releases} == {values["d_sw"] * 60.0}
    frn = [values["frn"]] + [values["frn"] * values["frn_later_device_factor"]] * 2
    expected = [28.0 * (1.0 - f) * values["f_gut"] for f in frn]
    assert [float(e.amount_mg[0]) for e in releases] == pytest.approx(expected, rel=1e-12)
