"""What ketaclinic exports it can import again (round trip), and mapper properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fhir.resources.R4B.observation import Observation
from hypothesis import given
from hypothesis import strategies as st
from interop_clinic import Clinic
from sqlalchemy.orm import Session

from ketaclinic.clinical.vitals import VitalKind, vital_definition
from ketaclinic.interop.fhir.codes import MRN_SYSTEM
from ketaclinic.interop.fhir.export import export_ndjson
from ketaclinic.interop.fhir.importer import import_fhir_file
from ketaclinic.interop.fhir.mappers.observation_vitals import vital_observations
from ketaclinic.interop.fhir.source import PatientData
from ketaclinic.services.context import RequestContext
from ketaclinic.services.measurement import score_trajectory
from ketaclinic.storage.tables.measurements import ObservationRow
from ketaclinic.storage.tables.patients import PatientRow


def test_exported_scores_and_vitals_import_into_another_record(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    out = tmp_path / "fhir"
    export_ndjson(db, out, [clinic.consented], transaction_time=ctx.now)
    incoming: list[str] = []
    for name in ("QuestionnaireResponse", "Observation"):
        for line in (out / f"{name}.ndjson").read_text().splitlines():
            resource = json.loads(line)
            if (
                resource["resourceType"] == "Observation"
                and resource["category"][0]["coding"][0]["code"] != "vital-signs"
            ):
                continue  # score Observations are derived: the responses carry them
            resource["subject"] = {"identifier": {"system": MRN_SYSTEM, "value": "KC-900789"}}
            incoming.append(json.dumps(resource))
    path = tmp_path / "incoming.ndjson"
    path.write_text("\n".join(incoming) + "\n")
    summary = import_fhir_file(db, ctx, path)
    assert summary.questionnaire_responses == 3
    source = [(p.administered_at, p.total) for p in score_trajectory(db, clinic.consented, "phq9")]
    copied = [
        (p.administered_at, p.total) for p in score_trajectory(db, clinic.not_consented, "phq9")
    ]
    assert copied == source


_VITAL_VALUES = {
    kind: st.floats(vital_definition(kind).min_value, vital_definition(kind).max_value).map(
        lambda v: round(v, 1)
    )
    for kind in VitalKind
}


@given(
    kinds=st.sets(st.sampled_from(list(VitalKind)), min_size=1),
    data=st.data(),
    minutes=st.integers(0, 60 * 24 * 365),
)
def test_any_set_of_vitals_maps_to_valid_observations_keeping_every_value(
    kinds: set[VitalKind], data: st.DataObject, minutes: int
) -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    patient = PatientRow(
        id="p-1",
        mrn="KC-1",
        given_name="A",
        family_name="B",
        sex="F",
        date_of_birth=datetime(1980, 1, 1).date(),
        is_synthetic=False,
    )
    rows = [
        ObservationRow(
            id=f"o-{number}",
            patient_id="p-1",
            kind=kind.value,
            value=data.draw(_VITAL_VALUES[kind]),
            unit=vital_definition(kind).unit,
            observed_at=when,
            recorded_at=when,
        )
        for number, kind in enumerate(sorted(kinds))
    ]
    resources = vital_observations(PatientData(patient=patient, observations=rows))
    values: dict[str, float] = {}
    for resource in resources:
        raw = json.loads(resource.model_dump_json(exclude_none=True))
        Observation.model_validate(raw)
        for part in raw.get("component", [raw]):
            values[part["code"]["coding"][0]["code"]] = part["valueQuantity"]["value"]
    # A systolic with its diastolic becomes one panel; every value survives exactly once.
    paired = {VitalKind.SYSTOLIC_MMHG, VitalKind.DIASTOLIC_MMHG} <= kinds
    assert len(resources) == len(kinds) - int(paired)
    assert values == {vital_definition(r.kind).loinc: r.value for r in rows}
