"""Import QuestionnaireResponse and vital-sign Observation resources from another system.

A file (NDJSON, a Bundle, or one resource) is checked completely before anything is written:
every resource must parse as FHIR R4, name a patient of this clinic (by MRN identifier or by
``Patient/<id>``), and map to a known instrument and its items or to a vital sign in its unit.
Then everything is written in one savepoint through the same services as a form entered at the
desk (scored by the one engine, vital signs range-checked); any refusal, in either phase, leaves
nothing behind and names the resource (line, type/id) and the reason.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from sqlalchemy.orm import Session

from ketaclinic.clinical.questionnaires import Instrument, get_instrument
from ketaclinic.clinical.vitals import VitalKind, vital_definition
from ketaclinic.errors import InvalidInput, KetaclinicError
from ketaclinic.interop.fhir.codes import BP_PANEL_LOINC, LOINC, MRN_SYSTEM, instrument_from_url
from ketaclinic.services import measurement, patients
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.measurements import ObservationRow, QuestionnaireResponseRow
from ketaclinic.storage.tables.patients import PatientRow

# Imported ids are derived from the sending system's resource ids, so importing a file twice
# does not duplicate anything (the second time those resources are reported as already there).
IMPORT_NAMESPACE = uuid.UUID("6f1c2b1e-3d0a-5a7e-9c1b-2f4e8d7a6b50")
_VITAL_BY_LOINC = {vital_definition(k).loinc: k for k in VitalKind}
_VITAL_BY_LOINC["2708-6"] = VitalKind.SPO2_PERCENT  # FHIR core SpO2 code; 59408-5 in vitals.yaml


@dataclass(frozen=True)
class _Planned:
    where: str
    kind: str  # "questionnaire" | "vitals"
    patient_id: str
    when: datetime
    record_id: str
    instrument_id: str = ""
    answers: dict[str, int | float] = field(default_factory=dict)
    vitals: dict[str, float] = field(default_factory=dict)


@dataclass
class ImportSummary:
    questionnaire_responses: int = 0
    vital_sign_sets: int = 0
    already_imported: int = 0


def _refuse(where: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{where}: {reason} Nothing from this file was imported.", field="file")


def _read_resources(path: Path) -> list[tuple[str, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8")
    stripped = text.strip()
    if not stripped:
        raise InvalidInput(f"{path.name} is empty: nothing to import.", field="file")
    if (
        stripped.startswith("{")
        and "\n" in stripped
        and stripped.splitlines()[0].rstrip().endswith("}")
    ):
        lines = [(f"line {n}", line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    else:
        lines = [("file", stripped)]
    found: list[tuple[str, dict[str, Any]]] = []
    for where, raw in lines:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _refuse(where, f"not JSON ({exc.msg}).") from None
        if not isinstance(value, dict):
            raise _refuse(where, "not a FHIR resource (expected a JSON object).")
        if value.get("resourceType") == "Bundle":
            for n, entry in enumerate(value.get("entry") or [], 1):
                found.append((f"{where}, Bundle entry {n}", entry.get("resource") or {}))
        else:
            found.append((where, value))
    return found


def _validated(where: str, raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = raw.get("resourceType")
    label = f"{where} ({kind}/{raw.get('id', '?')})"
    if kind not in ("QuestionnaireResponse", "Observation"):
        raise _refuse(
            label,
            "only QuestionnaireResponse and vital-sign Observation resources can be imported.",
        )
    try:
        get_fhir_model_class(kind).model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise _refuse(label, f"not valid FHIR R4 ({place}: {first['msg']}).") from None
    return label, raw


def _patient(db: Session, label: str, subject: dict[str, Any] | None) -> str:
    subject = subject or {}
    identifier = subject.get("identifier") or {}
    if identifier.get("system") == MRN_SYSTEM and identifier.get("value"):
        row = patients.find_patient_by_mrn(db, identifier["value"])
        if row is not None:
            return row.id
        raise _refuse(label, f"no patient has the clinic number {identifier['value']}.")
    reference = subject.get("reference") or ""
    if reference.startswith("Patient/") and db.get(PatientRow, reference[8:]) is not None:
        return reference[8:]
    raise _refuse(
        label,
        f"the subject names no patient of this clinic; give subject.identifier with system "
        f"{MRN_SYSTEM} and the clinic number (MRN), or subject.reference Patient/<ketaclinic id>.",
    )


def _moment(label: str, value: Any, field_name: str) -> datetime:
    if not isinstance(value, str) or "T" not in value:
        raise _refuse(label, f"{field_name} must be a date-time with a time zone.")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise _refuse(label, f"{field_name} {value} has no time zone.")
    return moment


def _item_id(instrument: Instrument, link_id: str) -> str | None:
    for item in instrument.items:
        if link_id in (item.id, item.loinc, f"/{item.loinc}"):
            return item.id
    return None


def _plan_response(db: Session, label: str, raw: dict[str, Any]) -> _Planned:
    if raw.get("status") not in ("completed", "amended"):
        raise _refuse(label, f"status is {raw.get('status')}; only completed forms are imported.")
    instrument_id = instrument_from_url(raw.get("questionnaire") or "")
    if instrument_id is None:
        raise _refuse(
            label,
            f"questionnaire {raw.get('questionnaire')!r} is not an instrument ketaclinic knows "
            "(use https://ketaclinic.org/fhir/Questionnaire/<id> or the LOINC form URL).",
        )
    try:
        instrument = get_instrument(instrument_id)
    except KetaclinicError as exc:
        raise _refuse(label, exc.message) from None
    answers: dict[str, int | float] = {}
    for item in raw.get("item") or []:
        item_id = _item_id(instrument, item.get("linkId", ""))
        if item_id is None:
            known = ", ".join(i.id for i in instrument.items)
            raise _refuse(
                label,
                f"item {item.get('linkId')!r} is not an item of {instrument.short_name} ({known}).",
            )
        answer = (item.get("answer") or [{}])[0]
        value = answer.get("valueInteger", answer.get("valueDecimal"))
        if value is None:
            raise _refuse(label, f"item {item.get('linkId')} has no integer or decimal answer.")
        answers[item_id] = value
    patient_id = _patient(db, label, raw.get("subject"))
    return _Planned(
        label,
        "questionnaire",
        patient_id,
        _moment(label, raw.get("authored"), "authored"),
        str(uuid.uuid5(IMPORT_NAMESPACE, f"QuestionnaireResponse/{raw.get('id')}|{patient_id}")),
        instrument_id=instrument_id,
        answers=answers,
    )


def _vital(
    label: str, coding_owner: dict[str, Any], quantity: dict[str, Any] | None
) -> tuple[str, float]:
    codes = [c.get("code") for c in coding_owner.get("coding") or [] if c.get("system") == LOINC]
    kind = next((_VITAL_BY_LOINC[c] for c in codes if c in _VITAL_BY_LOINC), None)
    if kind is None:
        raise _refuse(
            label, f"LOINC code(s) {codes or 'none'} name no vital sign ketaclinic records."
        )
    definition = vital_definition(kind)
    if not quantity or quantity.get("value") is None:
        raise _refuse(label, f"{definition.display} has no valueQuantity.")
    if quantity.get("code", quantity.get("unit")) != definition.unit:
        raise _refuse(
            label,
            f"{definition.display} is in {quantity.get('code', quantity.get('unit'))!r}; "
            f"send it in UCUM {definition.unit!r} (no unit conversion on import).",
        )
    return kind.value, float(quantity["value"])


def _plan_observation(db: Session, label: str, raw: dict[str, Any]) -> _Planned:
    if raw.get("status") not in ("final", "amended", "corrected"):
        raise _refuse(label, f"status is {raw.get('status')}; only final results are imported.")
    codes = {c.get("code") for c in (raw.get("code") or {}).get("coding") or []}
    vitals: dict[str, float] = {}
    if BP_PANEL_LOINC in codes:
        for component in raw.get("component") or []:
            kind, value = _vital(label, component.get("code") or {}, component.get("valueQuantity"))
            vitals[kind] = value
    else:
        kind, value = _vital(label, raw.get("code") or {}, raw.get("valueQuantity"))
        vitals[kind] = value
    patient_id = _patient(db, label, raw.get("subject"))
    return _Planned(
        label,
        "vitals",
        patient_id,
        _moment(label, raw.get("effectiveDateTime"), "effectiveDateTime"),
        str(uuid.uuid5(IMPORT_NAMESPACE, f"Observation/{raw.get('id')}|{patient_id}")),
        vitals=vitals,
    )


def import_fhir_file(db: Session, ctx: RequestContext, path: Path) -> ImportSummary:
    """Check every resource of ``path``, then write them all or nothing; the caller commits."""
    plans: list[_Planned] = []
    for where, raw in _read_resources(path):
        label, resource = _validated(where, raw)
        if resource["resourceType"] == "QuestionnaireResponse":
            plans.append(_plan_response(db, label, resource))
        else:
            plans.append(_plan_observation(db, label, resource))
    summary = ImportSummary()
    with atomic(db):
        for plan in plans:
            try:
                _write(db, ctx, plan, summary)
            except KetaclinicError as exc:
                raise _refuse(plan.where, exc.message) from None
        record_event(
            db,
            ctx.actor,
            "fhir.import",
            "fhir",
            path.name,
            now=ctx.now,
            detail={
                "questionnaire_responses": summary.questionnaire_responses,
                "vital_sign_sets": summary.vital_sign_sets,
                "already_imported": summary.already_imported,
            },
        )
    return summary


def _write(db: Session, ctx: RequestContext, plan: _Planned, summary: ImportSummary) -> None:
    if plan.kind == "questionnaire":
        if db.get(QuestionnaireResponseRow, plan.record_id) is not None:
            summary.already_imported += 1
            return
        measurement.record_questionnaire_response(
            db,
            ctx,
            plan.patient_id,
            plan.instrument_id,
            plan.answers,
            administered_at=plan.when,
            response_id=plan.record_id,
        )
        summary.questionnaire_responses += 1
        return
    ids = {kind: str(uuid.uuid5(uuid.UUID(plan.record_id), kind)) for kind in plan.vitals}
    if any(db.get(ObservationRow, i) is not None for i in ids.values()):
        summary.already_imported += 1
        return
    patients.record_vitals(
        db, ctx, plan.patient_id, plan.vitals, plan.when, method="import", record_ids=ids
    )
    summary.vital_sign_sets += 1
