"""Metrics and pharmacodynamics against hand-derived one-compartment formulas (Kamp 2020 model).

For an IV bolus D into V with k = CL/V: C(t) = D/V e^{-kt}, AUC(0-t) = D/CL (1 - e^{-kt}),
time above a level L = ln(C0/L)/k, and the effect site Ce = C0 ke0/(ke0-k) (e^{-kt} - e^{-ke0 t}).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.pharmacology import Covariates, Dose, Regimen, predict_concentration
from ketaclinic.pharmacology.pd import nmda_occupancy, nmda_occupancy_range
from ketaclinic.pharmacology.schema import load_model_spec, load_pharmacodynamics

V_L = 252.0
CL_L_PER_MIN = 79.0 / 60.0
K_PER_MIN = CL_L_PER_MIN / V_L
DOSE_MG = 70.0
C0_NG_ML = DOSE_MG / V_L * 1000.0
ADULT = Covariates(weight_kg=70.0)


@pytest.fixture(scope="module")
def bolus() -> object:
    times = np.linspace(0.0, 480.0, 49)
    return predict_concentration(
        "kamp", ADULT, Regimen((Dose(Route.IV, DOSE_MG),)), times, discharge_min=95.0
    )


def test_concentration_and_auc(bolus: object) -> None:
    prediction = bolus
    times = prediction.times_min  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        prediction.concentration_ng_ml, C0_NG_ML * np.exp(-K_PER_MIN * times), rtol=1e-12
    )  # type: ignore[attr-defined]
    metrics = prediction.metrics  # type: ignore[attr-defined]
    assert metrics.cmax_ng_ml == pytest.approx(C0_NG_ML, rel=1e-12)
    assert metrics.tmax_min == 0.0
    auc_inf_ng_h_ml = DOSE_MG / CL_L_PER_MIN / 60.0 * 1000.0
    assert metrics.auc_0_inf_ng_h_ml == pytest.approx(auc_inf_ng_h_ml, rel=1e-10)
    assert metrics.auc_0_t_ng_h_ml == pytest.approx(
        auc_inf_ng_h_ml * (1 - math.exp(-K_PER_MIN * 480)), rel=1e-10
    )
    assert metrics.concentration_at_discharge_ng_ml == pytest.approx(
        C0_NG_ML * math.exp(-K_PER_MIN * 95), rel=1e-12
    )


def test_time_in_bands(bolus: object) -> None:
    for band_times in bolus.metrics.bands:  # type: ignore[attr-defined]
        band = band_times.band
        above_low = max(math.log(C0_NG_ML / band.low_ng_ml) / K_PER_MIN, 0.0)
        above_high = max(math.log(C0_NG_ML / band.high_ng_ml) / K_PER_MIN, 0.0)
        # 0.1-minute grid with linear interpolation: error well under 0.01 min on this smooth decay.
        assert band_times.minutes_above == pytest.approx(above_high, abs=0.01)
        assert band_times.minutes_within == pytest.approx(above_low - above_high, abs=0.02)
        assert band_times.minutes_below == pytest.approx(480.0 - above_low, abs=0.01)
        if above_low > 0:
            assert band_times.falls_below_at_min == pytest.approx(above_low, abs=0.01)


def test_effect_site_follows_the_one_compartment_formula(bolus: object) -> None:
    ke0 = math.log(2) / load_pharmacodynamics().effect_half_time_min()
    times = bolus.times_min  # type: ignore[attr-defined]
    expected = (
        C0_NG_ML * ke0 / (ke0 - K_PER_MIN) * (np.exp(-K_PER_MIN * times) - np.exp(-ke0 * times))
    )
    np.testing.assert_allclose(bolus.effect_site_ng_ml, expected, rtol=1e-9, atol=1e-9)  # type: ignore[attr-defined]


def test_occupancy_is_half_at_the_affinity() -> None:
    pd = load_pharmacodynamics()
    molar_mass = pd.molar_mass_g_per_mol.ketamine
    ki_s = pd.affinity("s-ketamine").ki_um
    assert nmda_occupancy(np.array([ki_s * molar_mass]), "esketamine")[0] == pytest.approx(0.5)
    # Racemate: half S, half R compete for the same site.
    ki_r = pd.affinity("r-ketamine").ki_um
    c_um = 1.0
    load = c_um / 2 / ki_s + c_um / 2 / ki_r
    assert nmda_occupancy(np.array([c_um * molar_mass]), "racemic-ketamine")[0] == pytest.approx(
        load / (1 + load)
    )


def test_occupancy_range_spans_the_published_affinities() -> None:
    """The highest reading is the Salat racemic Ki (0.119 µM): half occupancy at that
    concentration; for esketamine, at the S Ki it implies under the 4-fold S:R ratio."""
    pd = load_pharmacodynamics()
    molar_mass = pd.molar_mass_g_per_mol.ketamine
    racemic_ki = pd.affinity("racemic-ketamine-salat").ki_um
    _, high = nmda_occupancy_range(np.array([racemic_ki * molar_mass]), "racemic-ketamine")
    assert high[0] == pytest.approx(0.5)
    ratio = pd.s_to_r_affinity_ratio.high
    implied_s_ki = racemic_ki * (1 + 1 / ratio) / 2
    _, high = nmda_occupancy_range(np.array([implied_s_ki * molar_mass]), "esketamine")
    assert high[0] == pytest.approx(0.5)
    # The label's 3-fold ratio with Ebert's S value: R Ki 0.9 µM instead of 1.4.
    c_um = 1.0
    s_ki = pd.affinity("s-ketamine").ki_um
    load = c_um / 2 / s_ki + c_um / 2 / (s_ki * pd.s_to_r_affinity_ratio.low)
    low, high = nmda_occupancy_range(np.array([c_um * molar_mass]), "racemic-ketamine")
    assert low[0] < load / (1 + load) < high[0]


@pytest.mark.parametrize("model_id", ["domino", "perez-ruixo"])
def test_predictions_report_the_occupancy_range(model_id: str) -> None:
    route = Route.IV
    prediction = predict_concentration(
        model_id, ADULT, Regimen((Dose(route, 28.0, 0.0, 40.0),)), np.linspace(0, 240, 25)
    )
    payload = prediction.to_json()
    low = np.array(payload["nmda_occupancy_range"]["low"])
    high = np.array(payload["nmda_occupancy_range"]["high"])
    central = np.array(payload["nmda_occupancy"])
    assert np.all(low <= central)
    assert np.all(central <= high)
    assert np.all(high[1:] > low[1:])


def test_infusion_peak_is_at_the_end_of_infusion() -> None:
    regimen = Regimen((Dose(Route.IV, 35.0, 0.0, 40.0),))
    prediction = predict_concentration("kamp", ADULT, regimen, np.linspace(0, 240, 25))
    rate = 35.0 / 40.0
    expected = rate / CL_L_PER_MIN * (1 - math.exp(-K_PER_MIN * 40)) * 1000.0
    assert prediction.metrics.tmax_min == pytest.approx(40.0, abs=1e-4)
    assert prediction.metrics.cmax_ng_ml == pytest.approx(expected, rel=1e-9)


def test_prediction_json_has_the_documented_keys(bolus: object) -> None:
    payload = bolus.to_json()  # type: ignore[attr-defined]
    for key in (
        "times_min",
        "concentration_ng_ml",
        "cmax_ng_ml",
        "tmax_min",
        "auc_ng_h_ml",
        "bands",
        "notes",
    ):
        assert key in payload


def test_metabolite_auc_to_infinity_is_the_dose_over_its_clearance() -> None:
    """Flint: all S-ketamine clearance feeds the apparent S-norketamine compartment, so its
    AUC(0-inf) is dose / (CLsnk/Fm) at the start of the simulation."""
    child = Covariates(weight_kg=7.0, age_years=0.5)
    prediction = predict_concentration(
        "flint", child, Regimen((Dose(Route.IV, 7.0, 0.0, 60.0),)), [0.0, 600.0]
    )
    spec = load_model_spec("flint")
    cl_met_l_h = spec.parameter("cl_met").value * (7.0 / 70.0) ** 0.75
    assert prediction.metrics.metabolite_auc_0_inf_ng_h_ml == pytest.approx(
        7.0 / cl_met_l_h * 1000.0, rel=1e-9
    )
    assert "metabolite_auc_0_inf_ng_h_ml" in prediction.to_json()


def test_intranasal_esketamine_above_the_studied_doses_warns() -> None:
    within = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.INTRANASAL, 84.0),)), [0.0, 60.0]
    )
    above = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.INTRANASAL, 112.0),)), [0.0, 60.0]
    )
    assert not any("extrapolation" in w for w in within.warnings)
    assert any("112 mg intranasal is outside the 28-84 mg" in w for w in above.warnings)
