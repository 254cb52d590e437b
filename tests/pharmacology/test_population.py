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
