"""Questionnaire definitions (one per instrument), the targets of QuestionnaireResponse URLs."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire

from ketaclinic.clinical.questionnaires import Instrument, get_instrument
from ketaclinic.interop.fhir.codes import (
    LOINC,
    item_codings,
    questionnaire_url,
)


def questionnaire(instrument_id: str) -> Questionnaire:
    instrument: Instrument = get_instrument(instrument_id)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": instrument.id,
        "url": questionnaire_url(instrument.id),
        "version": instrument.version,
        "name": "".join(ch for ch in instrument.short_name if ch.isalnum()) or instrument.id,
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": instrument.description,
        "copyright": instrument.licence,
        "item": [
            {
                "linkId": item.id,
                "code": item_codings(instrument, item),
                # Licensed item wording is shipped only where the licence allows it.
                "text": (item.text if instrument.text_shipped and item.text else item.label),
                "type": "integer",
                "required": item.asked_only_if is None,
            }
            for item in instrument.items
        ],
    }
    if instrument.loinc_panel:
        resource["code"] = [{"system": LOINC, "code": instrument.loinc_panel}]
    return Questionnaire.model_validate(resource)
