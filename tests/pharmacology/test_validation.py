"""Published figures the models must reproduce (reference section 5 and the models' abstracts).

Tolerances, stated per check:
- figures derived from the same parameters (CL, Vss, half-lives): the rounding of the published
  figure (half a unit in its last digit);
- a model against its own paper's summary (Perez-Ruixo F, CL; Hijazi CL, t1/2): 5%, the size of
  the rounding in the inputs (three significant figures) plus the paper's own approximations;
- a typical-subject prediction against an observed mean in another study: within 1.5-fold, the
  stricter of the usual external-validation criteria, since the observed study's patients,
  assay and sampling differ from the model's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.pharmacology import (
    Covariates,
    Dose,
    PopulationRequest,
    Regimen,
    predict_concentration,
    simulate_population,
)
from ketaclinic.pharmacology.parameters import CovariateArrays, individual_values
from ketaclinic.pharmacology.predict import build_for_patient
from ketaclinic.pharmacology.schema import load_model_spec, load_pharmacodynamics
from ketaclinic.pharmacology.solver import auc_to_infinity_ng_min_ml, modal_form

ADULT = Covariates(weight_kg=70.0, age_years=40)


def _clearance_l_per_h(model_id: str, covariates: Covariates = ADULT) -> float:
    """Clearance from the exact AUC(0-inf) of a 10 mg IV bolus: CL = dose / AUC."""
    built = build_for_patient(model_id, covariates, Regimen((Dose(Route.IV, 10.0),)), None)
    auc_ng_min_ml = auc_to_infinity_ng_min_ml(
        built.system, modal_form(built.system), built.events, "concentration"
    )
    return 10.0 / (auc_ng_min_ml[0] / 1000.0) * 60.0  # mg / (mg·min/L) -> L/min -> L/h


def _half_lives_min(model_id: str) -> list[float]:
    built = build_for_patient(model_id, ADULT, Regimen((Dose(Route.IV, 10.0),)), None)
    eigenvalues = modal_form(built.system).eigenvalues_per_min[0]
    return sorted(math.log(2) / -lam for lam in eigenvalues)


def _steady_state_volume_l(model_id: str) -> float:
    values = individual_values(load_model_spec(model_id), CovariateArrays.repeat(ADULT, 1))
    v1 = float(values["v1"][0])
    ratio = sum(
        float(values[f"k1{i}"][0] / values[f"k{i}1"][0]) for i in "23" if f"k1{i}" in values
    )
    return v1 * (1.0 + ratio)


@pytest.mark.parametrize(
    ("model_id", "clearance", "vss", "half_lives"),
    [
        (
            "domino",
            116,
            193,
            [0.4, 4.6, 115],
        ),  # reference 1.1: derived, computed from opentiva values
        ("clements", 80, 289, [17.6, 183]),
    ],
)
def test_derived_disposition_figures(
    model_id: str, clearance: float, vss: float, half_lives: list[float]
) -> None:
    assert _clearance_l_per_h(model_id) == pytest.approx(clearance, abs=0.5)
    assert _steady_state_volume_l(model_id) == pytest.approx(vss, abs=0.5)
    for computed, published in zip(_half_lives_min(model_id), half_lives, strict=True):
        digits = len(str(published).split(".")[1]) if "." in str(published) else 0
        assert computed == pytest.approx(published, abs=0.5 * 10**-digits)


def test_hijazi_matches_its_abstract() -> None:
    """V20: CL 36.0 mL/min/kg, t1/2 4.9 h, V-beta 16.0 ± 8.6 L/kg (ICU patients)."""
    clearance_ml_min_kg = _clearance_l_per_h("hijazi") / 60.0 * 1000.0 / ADULT.weight_kg
    assert clearance_ml_min_kg == pytest.approx(36.0, rel=0.05)
    terminal_min = _half_lives_min("hijazi")[-1]
    assert terminal_min / 60.0 == pytest.approx(4.9, rel=0.05)
    v_beta_l_kg = clearance_ml_min_kg / 1000.0 * terminal_min / math.log(2)
    assert abs(v_beta_l_kg - 16.0) <= 8.6  # within the published SD


def test_kamp_meta_analysis_clearance() -> None:
    """V22: 79 L/h at 70 kg."""
    assert _clearance_l_per_h("kamp") == pytest.approx(79.0, abs=0.5)


def _idvall_regimen(infusion_min: float) -> Regimen:
    """Idvall 1979: 2 mg/kg induction, then 41 µg/kg/min (the infusion's length is not given)."""
    rate_mg_per_min = 0.041 * ADULT.weight_kg
    return Regimen(
        (
            Dose(Route.IV, 2.0 * ADULT.weight_kg),
            Dose(Route.IV, rate_mg_per_min * infusion_min, 0, infusion_min),
        )
    )


@pytest.mark.parametrize("model_id", ["kamp", "clements"])
def test_idvall_anaesthesia_steady_state(model_id: str) -> None:
    """V11: 41 µg/kg/min gave 9.3 ± 0.8 µmol/L at steady state (within the published SD).

    Domino gives 6.2 µmol/L (0.67x; its clearance is higher), recorded in VALIDATION.md.
    """
    prediction = predict_concentration(model_id, ADULT, _idvall_regimen(1440.0), [1440.0])
    molar_mass = load_pharmacodynamics().molar_mass_g_per_mol.ketamine
    micromolar = prediction.concentration_ng_ml[0] / molar_mass
    assert abs(micromolar - 9.3) <= 0.8


@pytest.mark.parametrize("infusion_min", [60.0, 120.0, 240.0])
def test_idvall_half_life_after_the_infusion_with_domino(infusion_min: float) -> None:
    """V11: plasma t1/2 79 ± 8 min. The infusion length and the sampling window after it were not
    retrieved, so both are assumptions: 1-4 h of infusion, log-linear fit from 15 to 120 min after
    it. Domino's apparent t1/2 (about 105-108 min) is within 1.5-fold; Kamp (133 min, one
    compartment) and Clements (96-123 min) are recorded in VALIDATION.md.
    """
    times = infusion_min + np.array([15.0, 120.0])
    values = predict_concentration(
        "domino", ADULT, _idvall_regimen(infusion_min), times
    ).concentration_ng_ml
    half_life_min = math.log(2) * (times[1] - times[0]) / math.log(values[0] / values[1])
    assert 79.0 / 1.5 <= half_life_min <= 79.0 * 1.5


@pytest.mark.parametrize("model_id", ["domino", "clements", "kamp"])
def test_ten_mg_iv_exposure(model_id: str) -> None:
    """V5: 10 mg IV in adults, AUC 113 µg·h/L (geometric mean, Pharmacotherapy 2022 Table 6).

    The administration time was not retrieved, but for a linear model AUC(0-inf) = dose / CL
    whatever the administration time, so AUC is checkable (1.5-fold). Cmax is not: see
    test_ten_mg_iv_peak_depends_on_the_unknown_administration_time.
    """
    for duration_min in (0.0, 2.0):
        prediction = predict_concentration(
            model_id, ADULT, Regimen((Dose(Route.IV, 10.0, 0.0, duration_min),)), [0.0, 2.0]
        )
        assert 113.0 / 1.5 <= prediction.metrics.auc_0_inf_ng_h_ml <= 113.0 * 1.5


def test_ten_mg_iv_peak_depends_on_the_unknown_administration_time() -> None:
    """V5: Cmax 296 ng/mL at Tmax 2 min, so the dose was given over 2 min or less.

    Domino's C(2 min) spans the observed value across that window (bolus to 2-min injection), so
    the figure is consistent but not a test of the model. Clements and Kamp cannot reach it with
    any administration of 2 min or less (their central volumes are 1.75 L/kg and 252 L): a stated
    limitation for early peaks.
    """

    def at_two_min(model_id: str, duration_min: float) -> float:
        regimen = Regimen((Dose(Route.IV, 10.0, 0.0, duration_min),))
        return float(predict_concentration(model_id, ADULT, regimen, [2.0]).concentration_ng_ml[0])

    assert at_two_min("domino", 0.0) < 296.0 < at_two_min("domino", 2.0)
    for model_id in ("clements", "kamp"):
        assert max(at_two_min(model_id, d) for d in (0.0, 1.0, 2.0)) < 296.0 / 1.5


def test_simons_iv_peak_is_beyond_the_perez_ruixo_central_volume() -> None:
    """V13: 20 mg S-ketamine IV peaked at 273 ng/mL (Simons thesis; infusion time not retrieved).

    No administration can exceed the bolus limit dose / Vc = 20 mg / 192 L = 104 ng/mL in the
    Perez-Ruixo model, 2.6-fold under the observation. Recorded as a limitation (sampling site of
    that study and infusion time not retrieved; an early arterial peak would be higher than venous,
    Henthorn 2018). Two-sided so the documented gap stays as documented.
    """
    bolus = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.IV, 20.0),)), np.linspace(0.0, 30.0, 301)
    )
    assert 273.0 / 3.0 <= bolus.metrics.cmax_ng_ml <= 273.0 / 2.0


@pytest.mark.parametrize("model_id", ["domino", "clements", "kamp"])
def test_zarate_antidepressant_infusion_end(model_id: str) -> None:
    """V1: 0.5 mg/kg over 40 min gave about 185 ng/mL at the end (adult models, 1.5-fold)."""
    regimen = Regimen((Dose(Route.IV, 0.5 * ADULT.weight_kg, 0.0, 40.0),))
    value = predict_concentration(model_id, ADULT, regimen, [40.0]).concentration_ng_ml[0]
    assert 185.0 / 1.5 <= value <= 185.0 * 1.5


def _herd_children_at_ten_minutes(mg_per_kg: float, percentiles: tuple[float, ...]) -> np.ndarray:
    child = Covariates(weight_kg=32.5, age_years=8.3)  # the cohort's mean (Herd 2007 abstract)
    request = PopulationRequest(
        "herd",
        Regimen((Dose(Route.IV, mg_per_kg * 32.5),)),
        (10.0,),
        4000,
        2007,
        child,
        chunk_size=1000,
    )
    result = simulate_population(request, percentiles=percentiles, workers=1)
    return np.asarray(result.bands_ng_ml["concentration"][:, 0])


def test_herd_children_at_ten_minutes() -> None:
    """V10: after 1 mg/kg IV, half of children under 0.75 mg/L and nearly all over 0.1 mg/L.

    "Half under 0.75 mg/L" means a median of 0.75 mg/L. The published parameters give 0.46 mg/L
    (1.6-fold lower); the causes ruled out and the readings that reproduce the statement are
    recorded in herd.yaml (resolutions) and VALIDATION.md. Two-sided: the median must lie within
    2-fold of 0.75 mg/L (and below it, as measured), so a change in how the parameters are read
    that moves it either way fails here.
    """
    p2_5, median = _herd_children_at_ten_minutes(1.0, (2.5, 50.0))
    assert 750.0 / 2.0 <= median < 750.0
    assert p2_5 > 100.0  # "nearly all over 0.1 mg/L"


def test_herd_statement_holds_at_the_top_of_the_studied_dose_range() -> None:
    """At 1.5 mg/kg (the study gave 1-1.5 mg/kg) between 30% and 70% of children are under 0.75."""
    p30, p70 = _herd_children_at_ten_minutes(1.5, (30.0, 70.0))
    assert p30 < 750.0 < p70


@pytest.mark.parametrize(("dose_mg", "published"), [(56.0, 0.54), (84.0, 0.51)])
def test_perez_ruixo_intranasal_bioavailability(dose_mg: float, published: float) -> None:
    """V24: absolute F 54% at 56 mg and 51% at 84 mg, from AUC(0-inf) ratios against IV."""
    nasal = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.INTRANASAL, dose_mg),)), [0.0, 60.0]
    )
    iv = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.IV, dose_mg),)), [0.0, 60.0]
    )
    bioavailability = nasal.metrics.auc_0_inf_ng_h_ml / iv.metrics.auc_0_inf_ng_h_ml
    assert bioavailability == pytest.approx(published, abs=0.005)


@pytest.mark.parametrize("dose_mg", [56.0, 84.0])
def test_esketamine_label_bioavailability(dose_mg: float) -> None:
    """V18: label mean absolute F 48%; the model gives 54%/51% (1.12x/1.06x), within 1.5-fold."""
    nasal = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.INTRANASAL, dose_mg),)), [0.0, 60.0]
    )
    iv = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.IV, dose_mg),)), [0.0, 60.0]
    )
    bioavailability = nasal.metrics.auc_0_inf_ng_h_ml / iv.metrics.auc_0_inf_ng_h_ml
    assert 0.48 / 1.5 <= bioavailability <= 0.48 * 1.5


def test_perez_ruixo_clearance_and_swallowed_fraction() -> None:
    """Abstract: CL 114 L/h and 18.6% of a swallowed dose reaching plasma (5%)."""
    assert _clearance_l_per_h("perez-ruixo") == pytest.approx(114.0, rel=0.05)
    oral = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.ORAL, 84.0),)), [0.0, 60.0]
    )
    iv = predict_concentration("perez-ruixo", ADULT, Regimen((Dose(Route.IV, 84.0),)), [0.0, 60.0])
    assert oral.metrics.auc_0_inf_ng_h_ml / iv.metrics.auc_0_inf_ng_h_ml == pytest.approx(
        0.186, rel=0.05
    )


def test_perez_ruixo_volumes_match_abstract() -> None:
    """Abstract: esketamine Vss 752 L, noresketamine Vss 185 L and CL/F 38 L/h."""
    spec = load_model_spec("perez-ruixo")
    value = {p.id: p.value for p in spec.parameters}
    assert value["vc"] + value["vp1"] + value["vp2"] == pytest.approx(752.0, abs=0.5)
    assert value["vcn"] + value["vpn"] == pytest.approx(185.0, abs=0.5)
    assert value["cln"] == pytest.approx(38.0)


@pytest.mark.parametrize("dose_mg", [56.0, 84.0])
def test_esketamine_label_tmax_and_half_lives(dose_mg: float) -> None:
    """V18: Tmax 20-40 min after the last spray; terminal t1/2 7-12 h; noresketamine about 8 h."""
    times = np.arange(0.0, 48 * 60 + 1, 10.0)
    prediction = predict_concentration(
        "perez-ruixo", ADULT, Regimen((Dose(Route.INTRANASAL, dose_mg),)), times
    )
    last_spray_min = 5.0 * (dose_mg / 28.0 - 1)
    assert 20.0 <= prediction.metrics.tmax_min - last_spray_min <= 40.0

    def half_life_h(values: np.ndarray, from_h: float, to_h: float) -> float:
        i, j = np.searchsorted(times, from_h * 60), np.searchsorted(times, to_h * 60)
        return math.log(2) * (to_h - from_h) / math.log(values[i] / values[j])

    assert 7.0 <= half_life_h(prediction.concentration_ng_ml, 12, 24) <= 12.0
    assert prediction.metabolite_ng_ml is not None
    assert half_life_h(prediction.metabolite_ng_ml, 12, 24) == pytest.approx(8.0, rel=0.1)


def test_flint_steady_state_metabolite_ratio() -> None:
    """At steady state the apparent S-norketamine/S-ketamine ratio is CL / (CLsnk/Fm) = 112/53.2."""
    child = Covariates(weight_kg=7.0, age_years=0.4)
    regimen = Regimen((Dose(Route.IV, 7.0 * 1.0 * 200, 0.0, 200 * 60.0),))  # 1 mg/kg/h for 200 h
    prediction = predict_concentration("flint", child, regimen, [199 * 60.0])
    assert prediction.metabolite_ng_ml is not None
    ratio = prediction.metabolite_ng_ml[0] / prediction.concentration_ng_ml[0]
    assert ratio == pytest.approx(112.0 / 53.2, rel=1e-6)


@pytest.mark.parametrize(("model_id", "bioavailability"), [("domino", 0.93), ("hornik", 0.41)])
def test_intramuscular_bioavailability(model_id: str, bioavailability: float) -> None:
    """Clements 1982 (93%) for adults, Hornik 2018's own estimate (41%) for its children's model."""
    covariates = Covariates(weight_kg=20.0, age_years=5) if model_id == "hornik" else ADULT
    im = predict_concentration(model_id, covariates, Regimen((Dose(Route.IM, 20.0),)), [0.0, 10.0])
    iv = predict_concentration(model_id, covariates, Regimen((Dose(Route.IV, 20.0),)), [0.0, 10.0])
    assert im.metrics.auc_0_inf_ng_h_ml / iv.metrics.auc_0_inf_ng_h_ml == pytest.approx(
        bioavailability, rel=1e-9
    )


@pytest.mark.parametrize(
    ("route", "tmax_min"), [(Route.IM, 20.0), (Route.SUBLINGUAL, 45.0), (Route.ORAL, 57.6)]
)
def test_derived_absorption_reproduces_published_tmax(route: Route, tmax_min: float) -> None:
    reference = Covariates(weight_kg=70.0)
    prediction = predict_concentration(
        "kamp", reference, Regimen((Dose(Route(route), 25.0),)), [0.0, 600.0]
    )
    assert prediction.metrics.tmax_min == pytest.approx(tmax_min, abs=0.05)
