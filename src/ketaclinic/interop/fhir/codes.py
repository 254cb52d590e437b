"""Code systems, identifier systems and canonical URLs used in every ketaclinic FHIR resource.

LOINC codes come from the data files (instrument and vital-sign definitions, each with its source);
where LOINC has no code (or none was verified) the ketaclinic CodeSystem below carries the concept,
as FHIR allows for local codes, so nothing is coded with a guessed LOINC.
"""

from __future__ import annotations

from typing import Any

from ketaclinic.clinical.questionnaires import Instrument, Item, list_instruments

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY = "http://terminology.hl7.org/CodeSystem/consentcategorycodes"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
BP_PROFILE = "http://hl7.org/fhir/StructureDefinition/bp"
BP_PANEL_LOINC = "85354-9"

BASE = "https://ketaclinic.org/fhir"
MRN_SYSTEM = f"{BASE}/sid/mrn"
# Marks a de-identified registry key: never an MRN, never reversible without the clinic's secret.
REGISTRY_KEY_SYSTEM = f"{BASE}/sid/registry-key"
# On a de-identified Patient without a year of birth: aged 90 or over at the export date.
AGE_90_OR_OVER = f"{BASE}/StructureDefinition/age-90-or-over"
KETACLINIC_CODES = f"{BASE}/CodeSystem/ketaclinic"
CONDITION_CODES = f"{BASE}/CodeSystem/condition"
CONTACT_ROLE_CODES = f"{BASE}/CodeSystem/contact-role"
CONSENT_KIND_CODES = f"{BASE}/CodeSystem/consent-kind"
SYNTHETIC_TAG = {"system": f"{BASE}/CodeSystem/tags", "code": "synthetic"}
# Measurements a clinic codes itself (record_observation without a LOINC code).
CLINIC_OBSERVATION_CODES = f"{BASE}/CodeSystem/clinic-observation"
# Bedside scales charted in a session reading (interop.fhir.source), coded in the ketaclinic system.
SESSION_SCALE_CODES = {
    "moaas": "MOAA/S sedation score",
    "cadss_total": "CADSS dissociation total score",
    "bprs_positive_total": "BPRS positive-symptom items total",
    "phq9_item9": "PHQ-9 item 9 (thoughts of death or self-harm)",
}


def questionnaire_url(instrument_id: str) -> str:
    return f"{BASE}/Questionnaire/{instrument_id}"


def instrument_from_url(canonical: str) -> str | None:
    """The instrument id of a ketaclinic Questionnaire canonical (``url`` or ``url|version``)."""
    url = canonical.split("|", 1)[0]
    prefix = f"{BASE}/Questionnaire/"
    if url.startswith(prefix):
        return url[len(prefix) :]
    # LOINC's own canonical for a panel form, e.g. http://loinc.org/q/44249-1 (PHQ-9).
    if url.startswith("http://loinc.org/q/"):
        panel = url.rsplit("/", 1)[-1]
        for instrument in list_instruments():
            if instrument.loinc_panel == panel:
                return instrument.id
    return None


def local(code: str, display: str) -> dict[str, Any]:
    return {"system": KETACLINIC_CODES, "code": code, "display": display}


def instrument_total_codings(instrument: Instrument) -> list[dict[str, Any]]:
    """LOINC total-score code where the instrument file carries one, plus the local code always."""
    codings: list[dict[str, Any]] = []
    if instrument.loinc_total:
        codings.append(
            {
                "system": LOINC,
                "code": instrument.loinc_total,
                "display": f"{instrument.short_name} total score",
            }
        )
    codings.append(local(f"{instrument.id}-total", f"{instrument.short_name} total score"))
    return codings


def item_codings(instrument: Instrument, item: Item) -> list[dict[str, Any]]:
    codings: list[dict[str, Any]] = []
    if item.loinc:
        codings.append({"system": LOINC, "code": item.loinc, "display": item.label})
    codings.append(local(f"{instrument.id}-{item.id}", f"{instrument.short_name} {item.label}"))
    return codings


def code_system_resource() -> dict[str, Any]:
    """The ketaclinic CodeSystem: every instrument total and item code used above, and the
    bedside scales of session readings."""
    concepts: list[dict[str, Any]] = [
        {"code": code, "display": display} for code, display in SESSION_SCALE_CODES.items()
    ]
    for instrument in list_instruments():
        concepts.append(
            {"code": f"{instrument.id}-total", "display": f"{instrument.short_name} total score"}
        )
        concepts.extend(
            {
                "code": f"{instrument.id}-{item.id}",
                "display": f"{instrument.short_name} {item.label}",
            }
            for item in instrument.items
        )
    return {
        "resourceType": "CodeSystem",
        "id": "ketaclinic",
        "url": KETACLINIC_CODES,
        "name": "KetaclinicCodes",
        "title": "ketaclinic instrument, item and bedside-scale codes",
        "status": "active",
        "content": "complete",
        "description": "Local codes for rating instruments, their items and the bedside scales "
        "of a supervised session; LOINC codes are used alongside wherever the instrument data "
        "file carries a verified one.",
        "caseSensitive": True,
        "count": len(concepts),
        "concept": concepts,
    }
