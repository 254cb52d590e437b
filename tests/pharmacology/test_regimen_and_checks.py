"""Regimens, dose parsing and the clear errors a nurse could act on."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput, NotFound
from ketaclinic.pharmacology import (
    MODEL_IDS,
    Covariates,
    Dose,
    Regimen,
    iv_infusion_steps,
    parse_dose_mg,
    predict_concentration,
)
from ketaclinic.pharmacology.schema import load_model_spec

ADULT = Covariates(weight_kg=70.0)


@pytest.mark.parametrize(
    ("text", "weight", "expected"),
    [
        ("0.5mg/kg", 70, 35.0),
        ("56mg", None, 56.0),
        ("250ug/kg", 80, 20.0),
        (" 1.5 mg/kg ", 10, 15.0),
    ],
)
def test_parse_dose(text: str, weight: float | None, expected: float) -> None:
    assert parse_dose_mg(text, weight) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["fifty mg", "-5mg", "5 ml", ""])
def test_parse_dose_refuses_nonsense(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"like 0\.5mg/kg"):
        parse_dose_mg(text, 70)


def test_per_kg_dose_needs_weight() -> None:
    with pytest.raises(InvalidInput, match="weight"):
        parse_dose_mg("0.5mg/kg", None)


@given(
    st.lists(
        st.tuples(st.floats(0, 500), st.floats(0, 200)),
        min_size=1,
        max_size=6,
        unique_by=lambda s: s[0],
    )
)
def test_infusion_steps_deliver_rate_times_duration(steps: list[tuple[float, float]]) -> None:
    stop = max(s for s, _ in steps) + 10.0
    if all(rate == 0 for _, rate in steps):
        with pytest.raises(InvalidInput):
            iv_infusion_steps(steps, stop)
        return
    ordered = sorted(steps)
    if any(b[0] - a[0] <= 0 for a, b in itertools.pairwise(ordered)):
        return
    doses = iv_infusion_steps(steps, stop)
    ends = [s for s, _ in ordered[1:]] + [stop]
    expected = sum(
        rate * (end - start) / 60.0 for (start, rate), end in zip(ordered, ends, strict=True)
    )
    assert sum(d.amount_mg for d in doses) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("dose", "message"),
    [
        (Dose(Route.IV, -5.0), "more than 0 mg"),
        (Dose(Route.IV, 10.0, -1.0), "0 min or later"),
        (Dose(Route.ORAL, 10.0, 0.0, 30.0), "only intravenous"),
    ],
)
def test_bad_doses_are_refused(dose: Dose, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Regimen((dose,))


def test_absurd_dose_is_refused_as_a_likely_unit_error() -> None:
    with pytest.raises(InvalidInput, match="plausibility limit"):
        predict_concentration("domino", ADULT, Regimen((Dose(Route.IV, 3500.0),)))
    with pytest.raises(InvalidInput, match="mg/kg/h"):
        predict_concentration("domino", ADULT, Regimen((Dose(Route.IV, 3500.0, 0, 60),)))


def test_route_the_model_cannot_take() -> None:
    with pytest.raises(
        InvalidInput, match="flint model cannot take the intranasal route; it allows: iv"
    ):
        predict_concentration("flint", Covariates(10.0), Regimen((Dose(Route.INTRANASAL, 5.0),)))
    with pytest.raises(InvalidInput, match="perez-ruixo model cannot take the im route"):
        predict_concentration("perez-ruixo", ADULT, Regimen((Dose(Route.IM, 28.0),)))


def test_esketamine_nasal_doses_must_be_whole_devices() -> None:
    with pytest.raises(InvalidInput, match="28-mg devices"):
        predict_concentration("perez-ruixo", ADULT, Regimen((Dose(Route.INTRANASAL, 40.0),)))


def test_unknown_model_and_formulation() -> None:
    with pytest.raises(NotFound, match="Choose one of"):
        predict_concentration("marsh", ADULT, Regimen((Dose(Route.IV, 10.0),)))
    with pytest.raises(InvalidInput, match="choose one of"):
        predict_concentration(
            "domino", ADULT, Regimen((Dose(Route.ORAL, 10.0, formulation="syrup"),))
        )


def test_weight_outside_population_warns_with_the_population() -> None:
    prediction = predict_concentration(
        "herd", Covariates(weight_kg=90.0, age_years=40), Regimen((Dose(Route.IV, 20.0),))
    )
    assert any("10.8-74.8 kg" in w and "Children" in w for w in prediction.warnings)
    assert any("1-14 y" in w for w in prediction.warnings)


# A weight outside each model's population (from its data file's range), or any weight where the
# population's range was never reported (Hijazi).
OUTSIDE_WEIGHT_KG = {
    "domino": 12.0,
    "clements": 12.0,
    "hijazi": 70.0,
    "herd": 90.0,
    "hornik": 200.0,
    "flint": 70.0,
    "kamp": 12.0,
    "perez-ruixo": 12.0,
}


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_every_model_warns_outside_or_without_a_population_range(model_id: str) -> None:
    spec = load_model_spec(model_id)
    route = Route.IV
    warnings = predict_concentration(
        model_id, Covariates(weight_kg=OUTSIDE_WEIGHT_KG[model_id]), Regimen((Dose(route, 5.0),))
    ).warnings
    if spec.population.weight_kg is None:
        assert any("cannot be checked" in w for w in warnings), warnings
    else:
        low, high = spec.population.weight_kg
        assert any(f"({low:g}-{high:g} kg)" in w and "outside" in w for w in warnings), warnings
        inside = predict_concentration(
            model_id, Covariates(weight_kg=(low + high) / 2), Regimen((Dose(route, 5.0),))
        ).warnings
        assert not any("Weight" in w for w in inside)


def test_an_adult_proxy_range_says_it_is_a_proxy() -> None:
    warnings = predict_concentration(
        "domino", Covariates(weight_kg=12.0), Regimen((Dose(Route.IV, 6.0),))
    ).warnings
    assert any("Proxy range" in w and "Perez-Ruixo 2021" in w for w in warnings)


@pytest.mark.parametrize("weight", [0.0, -3.0, 900.0, float("nan")])
def test_implausible_weight(weight: float) -> None:
    with pytest.raises(InvalidInput, match="kilograms"):
        Covariates(weight_kg=weight)


def test_bad_times() -> None:
    with pytest.raises(InvalidInput, match="increasing"):
        predict_concentration("domino", ADULT, Regimen((Dose(Route.IV, 10.0),)), [10.0, 5.0])


def test_later_nasal_devices_absorb_less() -> None:
    """Perez-Ruixo: effective FRn 0.54 / 0.4375 / 0.4032 at 28 / 56 / 84 mg (reference 1.2).

    0.54 x (1 + 0.62) / 2 is 0.4374; the reference prints 0.4375, so the tolerance is 1e-4.
    """
    from ketaclinic.pharmacology.predict import build_for_patient

    for dose_mg, effective in ((28.0, 0.54), (56.0, 0.4375), (84.0, 0.4032)):
        built = build_for_patient(
            "perez-ruixo", ADULT, Regimen((Dose(Route.INTRANASAL, dose_mg),)), None
        )
        nasal = built.system.compartments.index("nasal")
        absorbed = sum(float(e.amount_mg[0]) for e in built.events if e.compartment == nasal)
        assert absorbed / dose_mg == pytest.approx(effective, abs=1e-4)
