"""An ODE cross-check that shares nothing with the engine's model assembly.

``test_exact_vs_ode.py`` integrates the matrices that ``structures.py`` builds, so it checks the
solver but not the assembly. Here the right-hand sides are written out by hand from the model
equations, with named compartments, parameters read straight from the data files (units
converted here) and the dose routing (device split, later-device factor, Fgut, swallowed and oral
zero-order releases, covariate effects) done here, then compared with ``predict_concentration``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from pk_helpers import assert_agree
from scipy.integrate import solve_ivp

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.pharmacology import Covariates, Dose, Regimen, predict_concentration
from ketaclinic.pharmacology.schema import load_model_spec

TIMES = np.concatenate([np.linspace(0.0, 60.0, 61), np.linspace(65.0, 1440.0, 120)])


@dataclass(frozen=True)
class Bolus:
    state: str
    time_min: float
    amount_mg: float


@dataclass(frozen=True)
class Release:
    state: str
    start_min: float
    end_min: float
    amount_mg: float


def _integrate(
    states: list[str],
    rhs: Callable[[dict[str, float]], dict[str, float]],
    boluses: list[Bolus],
    releases: list[Release],
    times: np.ndarray,
) -> dict[str, np.ndarray]:
    """Integrate piece by piece between input events (LSODA, tight tolerances)."""
    cuts = sorted(
        {0.0, float(times[-1])}
        | {b.time_min for b in boluses}
        | {r.start_min for r in releases}
        | {r.end_min for r in releases}
    )
    index = {name: i for i, name in enumerate(states)}
    state = np.zeros(len(states))
    out = np.zeros((len(states), times.size))

    for k, start in enumerate(cuts):
        for bolus in boluses:
            if bolus.time_min == start:
                state[index[bolus.state]] += bolus.amount_mg
        out[:, times == start] = state[:, None]
        if k + 1 == len(cuts):
            break
        end = cuts[k + 1]
        inputs = np.zeros(len(states))
        for release in releases:
            if release.start_min <= start < release.end_min:
                duration = release.end_min - release.start_min
                inputs[index[release.state]] += release.amount_mg / duration

        def f(_t: float, x: np.ndarray, inputs: np.ndarray = inputs) -> np.ndarray:
            change = rhs(dict(zip(states, x, strict=True)))
            return np.array([change[name] for name in states]) + inputs

        inside = (times > start) & (times <= end)
        evaluation = np.unique(np.concatenate([times[inside], [end]]))
        solution = solve_ivp(
            f, (start, end), state, method="LSODA", t_eval=evaluation, rtol=1e-11, atol=1e-14
        )
        out[:, inside] = solution.y[:, np.searchsorted(evaluation, times[inside])]
        state = solution.y[:, -1].copy()
    return {name: out[i] for i, name in enumerate(states)}


def _perez_ruixo_parameters(covariates: Covariates) -> dict[str, float]:
    """Typical values in min, L, mg, with the abstract's covariate effects applied by hand."""
    spec = load_model_spec("perez-ruixo")
    raw = {p.id: p.value for p in spec.parameters}
    per_h = 1.0 / 60.0
    p = {
        "ka_n": raw["ka_n"] * per_h,
        "ka_sw": raw["ka_sw"] * per_h,
        "ka_po": raw["ka_po"] * per_h,
        "d_sw": raw["d_sw"] * 60.0,
        "d_po": raw["d_po"] * 60.0,
        "vc": raw["vc"],
        "vp1": raw["vp1"],
        "vp2": raw["vp2"],
        "q1": raw["q1"] * per_h,
        "q2": raw["q2"] * per_h,
        "qh": raw["qh"] * per_h,
        "vh": raw["vh"],
        "kel": raw["kel"] * per_h,
        "kmet": raw["kmet"] * per_h,
        "vcn": raw["vcn"],
        "cln": raw["cln"] * per_h,
        "vpn": raw["vpn"],
        "q3": raw["q3"] * per_h,
        "f_gut": raw["f_gut"],
        "frn": raw["frn"],
        "later": raw["frn_later_device_factor"],
    }
    asian = covariates.asian or covariates.japanese
    if asian:
        p["kel"] *= raw["kel_asian_factor"]
        p["cln"] *= raw["cln_asian_factor"]
    if covariates.age_years is not None and covariates.age_years > 60:
        p["qh"] -= raw["qh_age_slope"] * per_h * (covariates.age_years - 60)
    if covariates.japanese:
        p["frn"] = min(p["frn"] * raw["frn_japanese_factor"], 1.0)
    return p


PR_STATES = ["nasal", "swallowed", "oral", "central", "p1", "p2", "liver", "nork", "nork_p"]


def _perez_ruixo_rhs(p: dict[str, float]) -> Callable[[dict[str, float]], dict[str, float]]:
    def rhs(a: dict[str, float]) -> dict[str, float]:
        cc, cl, cn = a["central"] / p["vc"], a["liver"] / p["vh"], a["nork"] / p["vcn"]
        return {
            "nasal": -p["ka_n"] * a["nasal"],
            "swallowed": -p["ka_sw"] * a["swallowed"],
            "oral": -p["ka_po"] * a["oral"],
            "central": p["ka_n"] * a["nasal"]
            - (p["q1"] + p["q2"] + p["qh"]) * cc
            + p["q1"] * a["p1"] / p["vp1"]
            + p["q2"] * a["p2"] / p["vp2"]
            + p["qh"] * cl,
            "p1": p["q1"] * (cc - a["p1"] / p["vp1"]),
            "p2": p["q2"] * (cc - a["p2"] / p["vp2"]),
            "liver": p["qh"] * (cc - cl)
            - (p["kel"] + p["kmet"]) * a["liver"]
            + p["ka_sw"] * a["swallowed"]
            + p["ka_po"] * a["oral"],
            "nork": p["kmet"] * a["liver"]
            - (p["cln"] + p["q3"]) * cn
            + p["q3"] * a["nork_p"] / p["vpn"],
            "nork_p": p["q3"] * (cn - a["nork_p"] / p["vpn"]),
        }

    return rhs


@pytest.mark.parametrize(
    "covariates",
    [Covariates(70.0, 45), Covariates(58.0, 74, asian=True, japanese=True)],
    ids=["typical", "japanese-74y"],
)
def test_perez_ruixo_by_hand(covariates: Covariates) -> None:
    """84 mg intranasal (3 devices 5 min apart), 56 mg oral solution at 6 h, IV 20 mg/40 min."""
    p = _perez_ruixo_parameters(covariates)
    boluses, releases = [], []
    for device, start in enumerate((0.0, 5.0, 10.0)):
        frn = p["frn"] * (p["later"] if device > 0 else 1.0)
        boluses.append(Bolus("nasal", start, 28.0 * frn))
        swallowed = 28.0 * (1.0 - frn) * p["f_gut"]
        releases.append(Release("swallowed", start, start + p["d_sw"], swallowed))
    releases.append(Release("oral", 360.0, 360.0 + p["d_po"], 56.0 * p["f_gut"]))
    releases.append(Release("central", 600.0, 640.0, 20.0))
    amounts = _integrate(PR_STATES, _perez_ruixo_rhs(p), boluses, releases, TIMES)

    regimen = Regimen(
        (
            Dose(Route.INTRANASAL, 84.0, 0.0),
            Dose(Route.ORAL, 56.0, 360.0),
            Dose(Route.IV, 20.0, 600.0, 40.0),
        )
    )
    engine = predict_concentration("perez-ruixo", covariates, regimen, TIMES)
    assert_agree(engine.concentration_ng_ml, amounts["central"] / p["vc"] * 1000.0)
    assert engine.metabolite_ng_ml is not None
    assert_agree(engine.metabolite_ng_ml, amounts["nork"] / p["vcn"] * 1000.0)


def test_domino_micro_constants_by_hand() -> None:
    """Bolus, then an infusion with a rate change and a pause; plasma and effect site (t1/2 6.1)."""
    spec = load_model_spec("domino")
    k = {p.id: p.value for p in spec.parameters}  # 1/min; v1 in L/kg
    weight_kg = 64.0
    v1 = k["v1"] * weight_kg
    ke0 = math.log(2.0) / 6.1

    def rhs(a: dict[str, float]) -> dict[str, float]:
        return {
            "central": -(k["k10"] + k["k12"] + k["k13"]) * a["central"]
            + k["k21"] * a["p2"]
            + k["k31"] * a["p3"],
            "p2": k["k12"] * a["central"] - k["k21"] * a["p2"],
            "p3": k["k13"] * a["central"] - k["k31"] * a["p3"],
            "effect": ke0 * (a["central"] / v1 - a["effect"]),  # mg/L
        }

    boluses = [Bolus("central", 0.0, 10.0)]
    releases = [
        Release("central", 5.0, 25.0, 20.0),
        Release("central", 25.0, 45.0, 8.0),
        Release("central", 60.0, 90.0, 9.0),
    ]
    amounts = _integrate(["central", "p2", "p3", "effect"], rhs, boluses, releases, TIMES)
    regimen = Regimen(
        (
            Dose(Route.IV, 10.0),
            Dose(Route.IV, 20.0, 5.0, 20.0),
            Dose(Route.IV, 8.0, 25.0, 20.0),
            Dose(Route.IV, 9.0, 60.0, 30.0),
        )
    )
    engine = predict_concentration(
        "domino", Covariates(weight_kg), regimen, TIMES, effect_half_time_min=6.1
    )
    assert_agree(engine.concentration_ng_ml, amounts["central"] / v1 * 1000.0)
    assert_agree(engine.effect_site_ng_ml, amounts["effect"] * 1000.0)
