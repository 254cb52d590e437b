"""The endpoint builds only what a request asks for: a read finds its patient by lookup and runs
the mappers of one type on that one record; a search without ``patient`` runs only the mappers
of the requested type. Every exported resource still reads back by id, in every view."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection
from typing import Any

import pytest
from fhir.resources.R4B.resource import Resource
from interop_clinic import Clinic
from sqlalchemy.orm import Session

from ketaclinic.errors import NotFound
from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir import export, server
from ketaclinic.interop.fhir.mappers import MAPPERS
from ketaclinic.interop.fhir.source import PatientData, load_patient_data
from ketaclinic.services.consents import research_consented_patient_ids
from ketaclinic.services.context import RequestContext
from support.treated_course import RESPONDING_PHQ9, treated_patient


@pytest.fixture
def records(db: Session, clinic: Clinic) -> list[str]:
    """The interop clinic plus a treated patient (plan, session readings, administration,
    adverse event): every resource type the server has."""
    return [
        clinic.consented,
        clinic.elderly,
        clinic.not_consented,
        treated_patient(db, later_phq9=RESPONDING_PHQ9),
    ]


def _dump(resources: list[Resource]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", exclude_none=True) for r in resources]


def test_each_mapper_reads_only_the_parts_it_declares(db: Session, records: list[str]) -> None:
    built: Counter[str] = Counter()
    for patient_id in records:
        full = load_patient_data(db, patient_id)
        for mapper in MAPPERS.values():
            partial = load_patient_data(db, patient_id, mapper.needs)
            expected = _dump(mapper.build(full))
            assert _dump(mapper.build(partial)) == expected, mapper.resource_type
            built.update(r["resourceType"] for r in expected)
    assert set(built) >= set(MAPPERS)  # the records exercise every mapper


def _all_resources(db: Session, ids: list[str], key: Deidentifier | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for patient_id in ids:
        found += _dump(export.resources_for(db, patient_id, key)[1])
    return found


def test_every_resource_reads_back_by_id_in_every_view(
    db: Session, ctx: RequestContext, records: list[str], deidentifier: Deidentifier
) -> None:
    identified = server.FhirView(None, None, identified=True)
    for resource in _all_resources(db, records, None):
        kind, rid = resource["resourceType"], resource["id"]
        assert server.read(db, identified, kind, rid) == resource
    consented = research_consented_patient_ids(db, at=ctx.now)
    research = server.FhirView(tuple(consented), deidentifier, identified=False)
    deidentified = _all_resources(db, consented, deidentifier)
    assert {r["resourceType"] for r in deidentified} >= {"Observation", "Encounter", "CarePlan"}
    for resource in deidentified:
        kind, rid = resource["resourceType"], resource["id"]
        assert server.read(db, research, kind, rid) == resource
    # A patient reads their own record only; a researcher no identified id.
    own = server.FhirView((records[0],), None, identified=True)
    for resource in _all_resources(db, records[1:2], None):
        with pytest.raises(NotFound):
            server.read(db, own, resource["resourceType"], resource["id"])
    with pytest.raises(NotFound):
        server.read(db, research, "Patient", records[0])


class _Spy:
    """Counts snapshot loads (with their parts) and mapper runs, around the real functions."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.loads: list[frozenset[str]] = []
        self.runs: Counter[str] = Counter()
        real_load = export.load_patient_data

        def load(db: Session, patient_id: str, parts: Collection[str] | None = None) -> Any:
            self.loads.append(frozenset(parts or ()))
            return real_load(db, patient_id, parts)

        monkeypatch.setattr(export, "load_patient_data", load)
        for name, mapper in list(MAPPERS.items()):

            def counted(data: PatientData, _mapper: Any = mapper) -> list[Resource]:
                self.runs[_mapper.resource_type] += 1
                built: list[Resource] = _mapper.build(data)
                return built

            monkeypatch.setitem(MAPPERS, name, dataclasses.replace(mapper, build=counted))


def test_a_read_builds_one_type_of_one_record(
    db: Session, records: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    view = server.FhirView(None, None, identified=True)
    [condition] = [
        r for r in _all_resources(db, records[:1], None) if r["resourceType"] == "Condition"
    ][:1]
    spy = _Spy(monkeypatch)
    assert server.read(db, view, "Condition", condition["id"]) == condition
    assert spy.loads == [frozenset({"diagnoses"})]
    assert spy.runs == Counter({"Condition": 1})


def test_a_search_without_patient_runs_only_the_mappers_of_its_type(
    db: Session, records: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    view = server.FhirView(None, None, identified=True)
    spy = _Spy(monkeypatch)
    patients = server.search(db, view, "Patient")
    assert len(patients) == len(records)
    assert spy.runs == Counter({"Patient": len(records)})
    assert set(spy.loads) == {frozenset()}  # the patient row only
    spy.runs.clear()
    observations = server.search(db, view, "Observation")
    assert {o["resourceType"] for o in observations} == {"Observation"}
    # Vital signs and the score Observations a QuestionnaireResponse derives, nothing else.
    assert set(spy.runs) == {"Observation", "QuestionnaireResponse"}
