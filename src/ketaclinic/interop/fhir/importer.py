"""Import QuestionnaireResponse and vital-sign Observation resources from another system.

What is read (one resource, a Bundle, an NDJSON file, or a Bulk Data export folder) is checked
completely before anything is written: every resource must parse as FHIR R4, name a patient of
this clinic (``import_files``: by identifier, or through a Patient resource sent alongside), and
map to a known instrument and its items (``import_answers``: nested groups, LOINC answer codes,
a checked total-score item) or to a vital sign in its unit. Observations that are not vital
signs (a score the QuestionnaireResponse it derives from carries, a laboratory result) are
skipped and counted, never guessed at. Then everything is written in one savepoint through the
same services as a form entered at the desk (scored by the one engine, vital signs range-checked);
any refusal, in either phase, leaves nothing behind and names the resource and the reason.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from sqlalchemy.orm import Session

from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.clinical.vitals import VitalKind, vital_definition
from ketaclinic.errors import KetaclinicError
from ketaclinic.interop.fhir.codes import (
    BP_PANEL_LOINC,
    LOINC,
    OBSERVATION_CATEGORY,
    instrument_from_url,
)
from ketaclinic.interop.fhir.import_answers import AnswerRefused, read_answers
from ketaclinic.interop.fhir.import_files import (
    Incoming,
    PatientIndex,
    patient_index,
    read_incoming,
    refuse,
)
from ketaclinic.services import measurement, patients
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.measurements import ObservationRow, QuestionnaireResponseRow

# Imported ids are derived from the sending system's resource ids, so importing a file twice
# does not duplicate anything (the second time those resources are reported as already there).
IMPORT_NAMESPACE = uuid.UUID("6f1c2b1e-3d0a-5a7e-9c1b-2f4e8d7a6b50")
IMPORTED = ("QuestionnaireResponse", "Observation")
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
    # Patient resources of the set matched to a patient of this clinic.
    patients_matched: int = 0
    # Why resources were left out (not refused), with how many.
    skipped: dict[str, int] = field(default_factory=dict)


def _validated(incoming: Incoming) -> tuple[str, dict[str, Any]]:
    raw = incoming.resource
    kind = raw.get("resourceType")
    label = f"{incoming.where} ({kind}/{raw.get('id', '?')})"
    if kind not in IMPORTED and kind != "Patient":
        raise refuse(
            label,
            "only QuestionnaireResponse and vital-sign Observation resources can be imported "
            "(Patient resources sent with them are used to find the patient).",
        )
    try:
        get_fhir_model_class(str(kind)).model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise refuse(label, f"not valid FHIR R4 ({place}: {first['msg']}).") from None
    return label, raw


def _patient(db: Session, index: PatientIndex, label: str, subject: dict[str, Any] | None) -> str:
    try:
        return index.subject(db, subject)
    except LookupError as exc:
        raise refuse(label, str(exc)) from None


def _moment(label: str, value: Any, field_name: str) -> datetime:
    if not isinstance(value, str) or "T" not in value:
        raise refuse(label, f"{field_name} must be a date-time with a time zone.")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise refuse(label, f"{field_name} {value} has no time zone.")
    return moment


def _plan_response(db: Session, index: PatientIndex, label: str, raw: dict[str, Any]) -> _Planned:
    if raw.get("status") not in ("completed", "amended"):
        raise refuse(label, f"status is {raw.get('status')}; only completed forms are imported.")
    instrument_id = instrument_from_url(raw.get("questionnaire") or "")
    if instrument_id is None:
        raise refuse(
            label,
            f"questionnaire {raw.get('questionnaire')!r} is not an instrument ketaclinic knows "
            "(use https://ketaclinic.org/fhir/Questionnaire/<id> or the LOINC form URL).",
        )
    try:
        instrument = get_instrument(instrument_id)
    except KetaclinicError as exc:
        raise refuse(label, exc.message) from None
    try:
        answers = read_answers(instrument, raw.get("item") or [])
    except AnswerRefused as exc:
        raise refuse(label, str(exc)) from None
    patient_id = _patient(db, index, label, raw.get("subject"))
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
        raise refuse(
            label, f"LOINC code(s) {codes or 'none'} name no vital sign ketaclinic records."
        )
    definition = vital_definition(kind)
    if not quantity or quantity.get("value") is None:
        raise refuse(label, f"{definition.display} has no valueQuantity.")
    if quantity.get("code", quantity.get("unit")) != definition.unit:
        raise refuse(
            label,
            f"{definition.display} is in {quantity.get('code', quantity.get('unit'))!r}; "
            f"send it in UCUM {definition.unit!r} (no unit conversion on import).",
        )
    return kind.value, float(quantity["value"])


def _plan_observation(
    db: Session, index: PatientIndex, label: str, raw: dict[str, Any]
) -> _Planned:
    if raw.get("status") not in ("final", "amended", "corrected"):
        raise refuse(label, f"status is {raw.get('status')}; only final results are imported.")
    codes = {c.get("code") for c in (raw.get("code") or {}).get("coding") or []}
    vitals: dict[str, float] = {}
    if BP_PANEL_LOINC in codes:
        for component in raw.get("component") or []:
            kind, value = _vital(label, component.get("code") or {}, component.get("valueQuantity"))
            vitals[kind] = value
    else:
        kind, value = _vital(label, raw.get("code") or {}, raw.get("valueQuantity"))
        vitals[kind] = value
    patient_id = _patient(db, index, label, raw.get("subject"))
    return _Planned(
        label,
        "vitals",
        patient_id,
        _moment(label, raw.get("effectiveDateTime"), "effectiveDateTime"),
        str(uuid.uuid5(IMPORT_NAMESPACE, f"Observation/{raw.get('id')}|{patient_id}")),
        vitals=vitals,
    )


def _categories(raw: dict[str, Any]) -> set[str]:
    return {
        str(coding.get("code"))
        for category in raw.get("category") or []
        for coding in category.get("coding") or []
        if coding.get("system") == OBSERVATION_CATEGORY
    }


def _skip_reason(raw: dict[str, Any]) -> str | None:
    """Why an Observation is left out, or None when it is to be imported as a vital sign."""
    categories = _categories(raw)
    if not categories or "vital-signs" in categories:
        return None
    if "survey" in categories:
        return (
            "score Observation (the QuestionnaireResponse it derives from is imported and scored)"
        )
    return f"Observation of category {', '.join(sorted(categories))} (not a vital sign)"


def import_fhir_file(
    db: Session, ctx: RequestContext, path: Path, *, mrn_systems: Collection[str] = ()
) -> ImportSummary:
    """Check every resource of ``path`` (a file or a Bulk Data folder), then write them all or
    nothing; the caller commits. ``mrn_systems``: identifier systems that carry this clinic's
    clinic numbers besides ketaclinic's own."""
    incoming, left_out = read_incoming(path)
    validated = [_validated(item) for item in incoming]
    index = patient_index(db, incoming, mrn_systems)
    plans: list[_Planned] = []
    skipped: Counter[str] = Counter(
        f"{name} (a type ketaclinic does not import)" for name in left_out
    )
    for label, resource in validated:
        kind = resource["resourceType"]
        if kind == "QuestionnaireResponse":
            plans.append(_plan_response(db, index, label, resource))
        elif kind == "Observation":
            reason = _skip_reason(resource)
            if reason is None:
                plans.append(_plan_observation(db, index, label, resource))
            else:
                skipped[reason] += 1
    summary = ImportSummary(patients_matched=index.patients_matched, skipped=dict(skipped))
    with atomic(db):
        for plan in plans:
            try:
                _write(db, ctx, plan, summary)
            except KetaclinicError as exc:
                raise refuse(plan.where, exc.message) from None
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
                "skipped": summary.skipped,
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
