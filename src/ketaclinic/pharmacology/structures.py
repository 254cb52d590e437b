"""From a model's individual parameters and a regimen to a linear system and its input events.

Three structures cover the eight models:
- ``micro``: V1 and micro-constants (Domino, Clements, Hijazi);
- ``macro``: clearances and volumes, optionally a metabolite fed by the parent clearance (Herd,
  Hornik, Kamp, Flint);
- ``perez-ruixo``: esketamine with the hepato-portal compartment, noresketamine and three
  absorption paths.
Racemic extravascular routes add one first-order depot per formulation; an optional effect-site
state (dCe/dt = ke0 (Cp - Ce)) follows the central concentration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.absorption import resolve_absorption
from ketaclinic.pharmacology.parameters import FloatArray
from ketaclinic.pharmacology.regimen import Dose, Regimen
from ketaclinic.pharmacology.schema import ModelSpec
from ketaclinic.pharmacology.solver import InputEvent, LinearSystem, Output


@dataclass(frozen=True)
class BuiltModel:
    system: LinearSystem
    events: list[InputEvent]
    notes: tuple[str, ...]


class _Builder:
    def __init__(self, n_subjects: int) -> None:
        self.n = n_subjects
        self.names: list[str] = []
        self.flows: list[tuple[str, str | None, FloatArray]] = []

    def add(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def flow(self, source: str, target: str | None, rate_per_min: FloatArray) -> None:
        self.flows.append((source, target, rate_per_min))

    def matrix(self) -> FloatArray:
        n = len(self.names)
        matrix = np.zeros((self.n, n, n))
        for source, target, rate in self.flows:
            i = self.names.index(source)
            matrix[:, i, i] -= rate
            if target is not None:
                matrix[:, self.names.index(target), i] += rate
        return matrix


def check_route(spec: ModelSpec, route: Route) -> None:
    if route not in spec.routes:
        allowed = ", ".join(r.value for r in spec.routes)
        raise InvalidInput(
            f"The {spec.id} model cannot take the {route.value} route; it allows: {allowed}.",
            field="route",
        )


def build_model(
    spec: ModelSpec,
    values: dict[str, FloatArray],
    regimen: Regimen,
    *,
    effect_half_time_min: float | None = None,
    japanese: np.ndarray | None = None,
) -> BuiltModel:
    for dose in regimen.doses:
        check_route(spec, dose.route)
    n = next(iter(values.values())).shape[0]
    builder = _Builder(n)
    builder.add("central")
    outputs: dict[str, Output] = {}
    if spec.structure == "perez-ruixo":
        volume, events, notes = _perez_ruixo(builder, values, regimen, spec, japanese)
        outputs["metabolite"] = Output(builder.names.index("noresketamine"), values["vcn"])
    else:
        volume = _disposition(builder, spec, values)
        events, notes = _racemic_inputs(builder, spec, values, regimen)
        if "metabolite" in builder.names:
            outputs["metabolite"] = Output(builder.names.index("metabolite"), values["v_met"])
    outputs["concentration"] = Output(0, volume)
    if effect_half_time_min is not None:
        ke0 = np.full(n, math.log(2.0) / effect_half_time_min)
        builder.add("effect")
        # Effect-site state in mg/L: gains ke0 * x_central / V1, loses ke0 * Ce; no mass leaves
        # central.
        builder.flow("effect", None, ke0)
        outputs["effect"] = Output(builder.names.index("effect"), np.ones(n))
    matrix = builder.matrix()
    if effect_half_time_min is not None:
        matrix[:, builder.names.index("effect"), 0] += ke0 / volume
    system = LinearSystem(matrix, tuple(builder.names), outputs)
    return BuiltModel(system, events, notes)


def _disposition(builder: _Builder, spec: ModelSpec, v: dict[str, FloatArray]) -> FloatArray:
    """Central, peripheral (and metabolite) flows; returns the central volume (L)."""
    if spec.structure == "micro":
        builder.flow("central", None, v["k10"])
        for index in ("2", "3"):
            if f"k1{index}" in v:
                builder.add(f"peripheral{index}")
                builder.flow("central", f"peripheral{index}", v[f"k1{index}"])
                builder.flow(f"peripheral{index}", "central", v[f"k{index}1"])
        return v["v1"]
    volume = v["v1"]
    elimination = v["cl"] / volume
    if "cl_met" in v:
        builder.add("metabolite")
        builder.flow("central", "metabolite", elimination)
        # Flint: CLsnk/Fm rises 0.870%/h since the first dose; held at its value at simulation
        # start.
        drift = 1.0 + v["cl_met_time_slope"] * 60.0 * v.get("hours_since_first_dose", 0.0)
        builder.flow("metabolite", None, v["cl_met"] * drift / v["v_met"])
    else:
        builder.flow("central", None, elimination)
    for index in ("2", "3"):
        if f"q{index}" in v:
            builder.add(f"peripheral{index}")
            builder.flow("central", f"peripheral{index}", v[f"q{index}"] / volume)
            builder.flow(f"peripheral{index}", "central", v[f"q{index}"] / v[f"v{index}"])
    return volume


def _racemic_inputs(
    builder: _Builder, spec: ModelSpec, v: dict[str, FloatArray], regimen: Regimen
) -> tuple[list[InputEvent], tuple[str, ...]]:
    events: list[InputEvent] = []
    notes: list[str] = []
    n = builder.n
    for dose in regimen.doses:
        if dose.route == Route.IV:
            events.append(
                InputEvent(0, dose.start_min, dose.duration_min, np.full(n, dose.amount_mg))
            )
            continue
        absorption = resolve_absorption(spec, dose.route, dose.formulation)
        depot = f"depot:{absorption.formulation.id}"
        if depot not in builder.names:
            builder.add(depot)
            builder.flow(depot, "central", np.full(n, absorption.ka_per_min))
            notes.append(absorption.note)
        # A lag moves the start (and the end of a zero-order release); F scales the amount, so a
        # release keeps its duration and F scales its rate (see absorption.py).
        events.append(
            InputEvent(
                builder.names.index(depot),
                dose.start_min + absorption.lag_min,
                absorption.formulation.zero_order_min or 0.0,
                np.full(n, dose.amount_mg * absorption.bioavailability),
            )
        )
    return events, tuple(notes)


def _devices(dose: Dose, spec: ModelSpec) -> list[float]:
    """Start times of the 28-mg devices that make up one intranasal esketamine session."""
    assert spec.device is not None
    count = dose.amount_mg / spec.device.amount_mg
    if count < 0.999 or abs(count - round(count)) > 1e-6:
        raise InvalidInput(
            f"Intranasal esketamine comes in {spec.device.amount_mg:g}-mg devices; "
            f"{dose.amount_mg:g} mg is not a whole number of devices (use 28, 56 or 84 mg).",
            field="dose",
        )
    spacing = (
        spec.device.spacing_min if dose.device_spacing_min is None else dose.device_spacing_min
    )
    return [dose.start_min + k * spacing for k in range(round(count))]


def _perez_ruixo(
    builder: _Builder,
    v: dict[str, FloatArray],
    regimen: Regimen,
    spec: ModelSpec,
    japanese: np.ndarray | None,
) -> tuple[FloatArray, list[InputEvent], tuple[str, ...]]:
    for name in (
        "peripheral1",
        "peripheral2",
        "liver",
        "noresketamine",
        "noresketamine_peripheral",
    ):
        builder.add(name)
    for depot in ("nasal", "swallowed", "oral"):
        builder.add(depot)
    vc = v["vc"]
    builder.flow("central", "peripheral1", v["q1"] / vc)
    builder.flow("peripheral1", "central", v["q1"] / v["vp1"])
    builder.flow("central", "peripheral2", v["q2"] / vc)
    builder.flow("peripheral2", "central", v["q2"] / v["vp2"])
    builder.flow("central", "liver", v["qh"] / vc)
    builder.flow("liver", "central", v["qh"] / v["vh"])
    builder.flow("liver", None, v["kel"])
    builder.flow("liver", "noresketamine", v["kmet"])
    builder.flow("noresketamine", None, v["cln"] / v["vcn"])
    builder.flow("noresketamine", "noresketamine_peripheral", v["q3"] / v["vcn"])
    builder.flow("noresketamine_peripheral", "noresketamine", v["q3"] / v["vpn"])
    builder.flow("nasal", "central", v["ka_n"])
    builder.flow("swallowed", "liver", v["ka_sw"])
    builder.flow("oral", "liver", v["ka_po"])
    frn = v["frn"] * (
        np.where(japanese, v["frn_japanese_factor"], 1.0) if japanese is not None else 1.0
    )
    frn = np.minimum(frn, 1.0)
    d_sw, d_po = float(v["d_sw"][0]), float(v["d_po"][0])
    events: list[InputEvent] = []
    index = builder.names.index
    for dose in regimen.doses:
        if dose.route == Route.IV:
            events.append(
                InputEvent(0, dose.start_min, dose.duration_min, np.full(builder.n, dose.amount_mg))
            )
        elif dose.route == Route.ORAL:
            events.append(
                InputEvent(index("oral"), dose.start_min, d_po, dose.amount_mg * v["f_gut"])
            )
        else:
            assert spec.device is not None
            device_mg = spec.device.amount_mg
            for k, start_min in enumerate(_devices(dose, spec)):
                # Each device after the first in a session: FRn x 0.62 (Table 3, dose on FRn).
                frn_device = frn * (v["frn_later_device_factor"] if k > 0 else 1.0)
                events.append(InputEvent(index("nasal"), start_min, 0.0, device_mg * frn_device))
                swallowed = device_mg * (1.0 - frn_device) * v["f_gut"]
                events.append(InputEvent(index("swallowed"), start_min, d_sw, swallowed))
    notes = ("Perez-Ruixo 2021 model-specific absorption (nasal, swallowed and oral paths).",)
    return vc, events, notes
