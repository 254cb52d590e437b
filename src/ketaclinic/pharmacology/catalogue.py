"""The list of PK models as a clinician or researcher would want to read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ketaclinic.pharmacology.schema import MODEL_IDS, ModelSpec, load_model_spec

_STRUCTURES = {
    "micro": "{n}-compartment (micro-constants, V1 per kg)",
    "macro": "{n}-compartment (clearances and volumes)",
    "perez-ruixo": (
        "3-compartment + hepato-portal liver + 2-compartment noresketamine, 3 absorption paths"
    ),
}


@dataclass(frozen=True)
class ModelSummary:
    spec: ModelSpec

    @property
    def compartments(self) -> int:
        ids = {p.id for p in self.spec.parameters}
        return 1 + sum(1 for name in ("k12", "k13", "q2", "q3") if name in ids)

    def to_json(self) -> dict[str, Any]:
        spec = self.spec
        structure = _STRUCTURES[spec.structure].format(n=self.compartments)
        if spec.metabolite and spec.structure != "perez-ruixo":
            structure += f" + 1-compartment {spec.metabolite}"
        return {
            "id": spec.id,
            "name": spec.name,
            "drug": spec.drug,
            "analyte": spec.analyte,
            "metabolite": spec.metabolite,
            "population": spec.population.description,
            "weight_kg": list(spec.population.weight_kg) if spec.population.weight_kg else None,
            "age_years": list(spec.population.age_years) if spec.population.age_years else None,
            "structure": structure,
            "routes": [r.value for r in spec.routes],
            "sampling_site": spec.sampling.site,
            "inter_individual_variability": [p.id for p in spec.variable_parameters],
            "source": spec.source.short(),
            "resolutions": [
                {"issue": r.issue, "resolution": r.resolution} for r in spec.resolutions
            ],
        }


def list_models() -> list[ModelSummary]:
    return [ModelSummary(load_model_spec(model_id)) for model_id in MODEL_IDS]
