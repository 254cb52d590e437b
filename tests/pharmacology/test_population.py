"""Virtual populations: published variability, determinism, residual error, percentiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology import (
    Covariates,
    Dose,
    PopulationRequest,
    Regimen,
    predict_concentration,
    simulate_population,
)
from ketaclinic.pharmacology.parameters import CovariateArrays, individual_values
from ketaclinic.pharmacology.population import covariance_cholesky, simulate_chunk
from ketaclinic.pharmacology.schema import load_model_spec
from ketaclinic.pharmacology.sketch import bin_counts, quantiles

TIMES = tuple(float(t) for t in np.linspace(0.0, 480.0, 25))
NASAL_56 = Regimen((Dose(Route.INTRANASAL, 56.0),))
ADULT = Covariates(weight_kg=70.0, age_years=45)


def _request(**changes: object) -> PopulationRequest:
    base: dict[str, object] = {
        "model_id": "perez-ruixo",
        "regimen": NASAL_56,
        "times_min": TIMES,
        "n_subjects": 600,
        "seed": 11,
        "covariates": ADULT,
        "chunk_size": 100,
        "chunks_per_task": 2,
    }
    base.update(changes)
    return PopulationRequest(**base)  # type: ignore[arg-type]


def test_flint_correlation_and_variances_are_the_published_ones() -> None:
    spec = load_model_spec("flint")
    names, cholesky = covariance_cholesky(spec)
    covariance = cholesky @ cholesky.T
    i, j = names.index("cl"), names.index("cl_met")
    assert covariance[i, i] == pytest.approx(math.log(1 + 0.402**2))
    assert covariance[j, j] == pytest.approx(math.log(1 + 1.04**2))
    assert covariance[i, j] / math.sqrt(covariance[i, i] * covariance[j, j]) == pytest.approx(0.506)


def test_sampled_clearances_have_the_published_spread() -> None:
    spec = load_model_spec("flint")
    names, cholesky = covariance_cholesky(spec)
    rng = np.random.default_rng(5)
    draws = rng.standard_normal((40_000, len(names))) @ cholesky.T
    etas = {name: draws[:, k] for k, name in enumerate(names)}
    values = individual_values(
        spec, CovariateArrays.repeat(Covariates(weight_kg=7.0), 40_000), etas
    )
    log_cl = np.log(values["cl"])
    assert np.std(log_cl) == pytest.approx(math.sqrt(math.log(1 + 0.402**2)), rel=0.02)
    assert np.corrcoef(log_cl, np.log(values["cl_met"]))[0, 1] == pytest.approx(0.506, abs=0.02)


def test_same_seed_same_result_any_worker_count() -> None:
    one = simulate_population(_request(), workers=1)
    two = simulate_population(_request(), workers=2)
    for output in one.bands_ng_ml:
        np.testing.assert_array_equal(one.bands_ng_ml[output], two.bands_ng_ml[output])
        np.testing.assert_array_equal(one.mean_ng_ml[output], two.mean_ng_ml[output])


def test_different_seed_different_subjects() -> None:
    first = simulate_population(_request(), workers=1)
    second = simulate_population(_request(seed=12), workers=1)
    assert not np.array_equal(
        first.bands_ng_ml["concentration"], second.bands_ng_ml["concentration"]
    )


def test_histogram_percentiles_match_exact_percentiles() -> None:
    request = _request(n_subjects=2000, chunk_size=2000)
    values, _ = simulate_chunk(request, 0)
    exact = np.percentile(values["concentration"][:, 1:], [5, 50, 95], axis=0)
    result = simulate_population(request, workers=1)
    sketched = result.bands_ng_ml["concentration"][:, 1:]
    np.testing.assert_allclose(sketched, exact, rtol=0.004)


def test_percentile_sketch_on_known_distribution() -> None:
    rng = np.random.default_rng(3)
    values = np.exp(rng.normal(4.0, 0.8, (50_000, 3)))
    estimate = quantiles(bin_counts(values), np.array([5.0, 50.0, 95.0]))
    np.testing.assert_allclose(estimate, np.percentile(values, [5, 50, 95], axis=0), rtol=0.004)


def test_observations_add_the_published_residual_error() -> None:
    """Log-additive sigma 0.276: log(observed / predicted) has that SD (Perez-Ruixo Phase I/II)."""
    request = _request(n_subjects=4000, chunk_size=4000)
    predicted, _ = simulate_chunk(request, 0)
    observed, _ = simulate_chunk(_request(n_subjects=4000, chunk_size=4000, observations=True), 0)
    ratio = np.log(observed["concentration"][:, 5:] / predicted["concentration"][:, 5:])
    assert np.std(ratio) == pytest.approx(0.276, rel=0.03)


def test_observations_need_a_published_residual_error() -> None:
    request = _request(
        model_id="domino", regimen=Regimen((Dose(Route.IV, 35.0, 0, 40),)), observations=True
    )
    with pytest.raises(InvalidInput, match="no published residual error"):
        simulate_population(request, workers=1)


def test_models_without_variability_vary_by_covariates_only() -> None:
    request = _request(
        model_id="domino",
        regimen=Regimen((Dose(Route.IV, 35.0, 0, 40),)),
        weight_range_kg=(50.0, 100.0),
    )
    result = simulate_population(request, workers=1)
    assert any("covariates only" in note for note in result.notes)
    low, _, high = result.bands_ng_ml["concentration"][:, 5]
    assert high > low  # V1 scales with weight, and the dose is fixed in mg


def test_band_fractions_are_fractions() -> None:
    result = simulate_population(_request(), workers=1)
    for fractions in result.fraction_in_band.values():
        assert np.all((fractions >= 0) & (fractions <= 1))
    assert result.fraction_in_band["dissociation"].max() > 0


@pytest.mark.parametrize("subjects", [0, -5])
def test_subject_count_must_be_positive(subjects: int) -> None:
    with pytest.raises(InvalidInput, match="Number of subjects"):
        _request(n_subjects=subjects)


def _domino_bolus(**changes: object) -> PopulationRequest:
    base: dict[str, object] = {
        "model_id": "domino",
        "regimen": Regimen((Dose(Route.IV, 0.5 * 75.0),)),  # 0.5 mg/kg at the 75-kg midpoint
        "covariates": Covariates(weight_kg=75.0, age_years=40),
        "weight_range_kg": (50.0, 100.0),
        "n_subjects": 400,
    }
    base.update(changes)
    return _request(**base)


def test_a_per_kg_dose_is_computed_at_each_subjects_weight() -> None:
    """Domino: V1 is per kg and the rate constants are fixed, so 0.5 mg/kg gives every subject
    the same curve, while a fixed 37.5 mg spreads with weight."""
    per_kg = simulate_population(_domino_bolus(per_kg_doses=True), workers=1)
    fixed = simulate_population(_domino_bolus(), workers=1)
    typical = predict_concentration(
        "domino", Covariates(weight_kg=62.0), Regimen((Dose(Route.IV, 31.0),)), TIMES
    ).concentration_ng_ml
    for row in per_kg.bands_ng_ml["concentration"]:
        np.testing.assert_allclose(row[1:], typical[1:], rtol=0.004)  # one histogram bin
    low, _, high = fixed.bands_ng_ml["concentration"][:, 1]
    assert high / low > 1.5
    assert any("per kg" in note for note in per_kg.notes)
    assert any("fixed in mg" in note for note in fixed.notes)


def test_intranasal_esketamine_devices_cannot_be_dosed_per_kg() -> None:
    with pytest.raises(InvalidInput, match="28-mg devices"):
        _request(per_kg_doses=True, weight_range_kg=(50.0, 100.0))


def test_a_fixed_dose_is_checked_at_the_lightest_subject() -> None:
    request = _domino_bolus(regimen=Regimen((Dose(Route.IV, 400.0),)), weight_range_kg=(30, 100))
    with pytest.raises(InvalidInput, match="plausibility"):
        simulate_population(request, workers=1)


def test_ages_sex_and_ancestry_vary_as_requested() -> None:
    spread = _request(
        age_range_years=(20.0, 80.0),
        female_fraction=0.3,
        asian_fraction=0.4,
        japanese_fraction=0.1,
    ).spread
    arrays = spread.sample(ADULT, np.random.default_rng(1), 20_000)
    assert arrays.age_years.min() >= 20.0
    assert arrays.age_years.max() <= 80.0
    assert np.mean(arrays.age_years) == pytest.approx(50.0, abs=1.0)
    assert np.mean(arrays.female) == pytest.approx(0.3, abs=0.015)
    assert np.mean(arrays.asian) == pytest.approx(0.4, abs=0.015)
    assert np.mean(arrays.japanese) == pytest.approx(0.1, abs=0.01)
    assert not np.any(arrays.japanese & ~arrays.asian)  # Japanese subjects are Asian too


def test_ancestry_fractions_change_the_perez_ruixo_population() -> None:
    """Asian subjects: kel x0.36 and CLn/F x0.81, so higher concentrations later on."""
    none = simulate_population(_request(asian_fraction=0.0), workers=1)
    all_asian = simulate_population(_request(asian_fraction=1.0), workers=1)
    late = -1
    assert (
        all_asian.bands_ng_ml["concentration"][1, late] > none.bands_ng_ml["concentration"][1, late]
    )


def test_a_covariate_table_is_sampled_with_replacement() -> None:
    table = (
        Covariates(weight_kg=55.0, age_years=30, asian=True),
        Covariates(weight_kg=95.0, age_years=70),
    )
    arrays = _request(covariate_table=table).spread.sample(ADULT, np.random.default_rng(2), 1000)
    assert set(arrays.weight_kg.tolist()) == {55.0, 95.0}
    assert np.array_equal(arrays.asian, arrays.weight_kg == 55.0)
    assert np.array_equal(arrays.age_years, np.where(arrays.weight_kg == 55.0, 30.0, 70.0))
    with pytest.raises(InvalidInput, match="not both"):
        _request(covariate_table=table, weight_range_kg=(50.0, 60.0))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"female_fraction": 1.5}, "between 0 and 1"),
        ({"asian_fraction": 0.1, "japanese_fraction": 0.2}, "cannot exceed"),
        ({"age_range_years": (60.0, 20.0)}, "Age range"),
        ({"effect_half_time_min": 0.0}, "effect-site half-time"),
    ],
)
def test_bad_covariate_spreads_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _request(**changes)


def test_ranges_outside_the_model_population_warn() -> None:
    request = _request(
        model_id="herd",
        regimen=Regimen((Dose(Route.IV, 30.0),)),
        covariates=Covariates(weight_kg=40.0, age_years=8),
        weight_range_kg=(10.0, 100.0),
        age_range_years=(2.0, 30.0),
    )
    warnings = simulate_population(request, workers=1).warnings
    assert any("Weight 10-100 kg reaches outside the herd model" in w for w in warnings)
    assert any("Age 2-30 y reaches outside the herd model" in w for w in warnings)


def test_the_effect_site_half_time_is_settable_in_populations() -> None:
    fast = simulate_population(_request(effect_half_time_min=1.0), workers=1)
    slow = simulate_population(_request(effect_half_time_min=60.0), workers=1)
    assert "effect" in fast.bands_ng_ml
    early = 1  # 20 min
    assert fast.bands_ng_ml["effect"][1, early] > slow.bands_ng_ml["effect"][1, early]
    np.testing.assert_array_equal(
        fast.bands_ng_ml["concentration"], slow.bands_ng_ml["concentration"]
    )


def test_varied_covariates_are_the_same_for_any_worker_count() -> None:
    request = _request(
        age_range_years=(20.0, 80.0), asian_fraction=0.5, japanese_fraction=0.2, n_subjects=400
    )
    one = simulate_population(request, workers=1)
    two = simulate_population(request, workers=2)
    np.testing.assert_array_equal(
        one.bands_ng_ml["concentration"], two.bands_ng_ml["concentration"]
    )
