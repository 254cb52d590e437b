"""QuestionnaireResponse (every item answer) and the total-score Observation derived from it.

The score Observation follows the US Core screening-assessment pattern: category ``survey``, the
instrument's LOINC total code where one is verified (local code always), ``derivedFrom`` the
QuestionnaireResponse, so a receiving system can re-check the total from the items.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.resource import Resource

from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.interop.fhir.codes import (
    OBSERVATION_CATEGORY,
    UCUM,
    instrument_total_codings,
    questionnaire_url,
)
from ketaclinic.interop.fhir.mappers._registry import instant, meta, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

SCORE_OBSERVATION_PREFIX = "score-"


def _answer(value: float) -> dict[str, Any]:
    return {"valueInteger": int(value)} if float(value).is_integer() else {"valueDecimal": value}


@register("QuestionnaireResponse", needs=("responses",), also=("Observation",))
def questionnaire_responses(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for response in data.responses:
        instrument = get_instrument(response.instrument_id)
        labels = {item.id: item.label for item in instrument.items}
        resource: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse",
            "id": response.id,
            "questionnaire": f"{questionnaire_url(instrument.id)}|{instrument.version}",
            "status": "completed",
            "subject": patient_ref(data),
            "authored": instant(response.administered_at),
            "item": [
                {"linkId": item_id, "text": labels.get(item_id, item_id), "answer": [_answer(v)]}
                for item_id, v in data.answers.get(response.id, {}).items()
            ],
        }
        if not resource["item"]:
            del resource["item"]
        found_meta = meta(data)
        if found_meta:
            resource["meta"] = found_meta
        found.append(QuestionnaireResponse.model_validate(resource))
        found.append(_score_observation(data, response.id))
    return found


def _score_observation(data: PatientData, response_id: str) -> Resource:
    response = next(r for r in data.responses if r.id == response_id)
    instrument = get_instrument(response.instrument_id)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{SCORE_OBSERVATION_PREFIX}{response.id}",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {
            "coding": instrument_total_codings(instrument),
            "text": f"{instrument.short_name} total",
        },
        "subject": patient_ref(data),
        "effectiveDateTime": instant(response.administered_at),
        "valueQuantity": {
            "value": response.total,
            "unit": "{score}",
            "system": UCUM,
            "code": "{score}",
        },
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{response.id}"}],
    }
    if response.severity_label:
        resource["interpretation"] = [{"text": response.severity_label}]
    found_meta = meta(data)
    if found_meta:
        resource["meta"] = found_meta
    return Observation.model_validate(resource)
