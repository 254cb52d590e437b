"""Identifiers shared across the clinical core: conditions, their status, medication classes.

These are the words every module uses for the same things. Codes (ICD-10-CM, SNOMED CT) and
display names for each id live in the data files, not here.
"""

from __future__ import annotations

from enum import StrEnum


class ConditionId(StrEnum):
    # Indications and psychiatric diagnoses
    MAJOR_DEPRESSION = "mdd"
    MAJOR_DEPRESSION_PSYCHOTIC = "mdd-psychotic"
    TREATMENT_RESISTANT_DEPRESSION = "trd"
    BIPOLAR_DEPRESSION = "bipolar-depression"
    SUICIDAL_IDEATION = "suicidal-ideation"
    PTSD = "ptsd"
    GENERALISED_ANXIETY = "gad"
    OCD = "ocd"
    NEUROPATHIC_PAIN = "neuropathic-pain"
    CRPS = "crps"
    FIBROMYALGIA = "fibromyalgia"
    SUBSTANCE_USE_DISORDER = "substance-use-disorder"
    PSYCHOSIS = "psychosis"
    # Medical conditions that matter for ketamine screening
    HYPERTENSION = "hypertension"
    CARDIOVASCULAR_DISEASE = "cardiovascular-disease"
    ANEURYSMAL_VASCULAR_DISEASE = "aneurysmal-vascular-disease"
    ARTERIOVENOUS_MALFORMATION = "arteriovenous-malformation"
    INTRACEREBRAL_HAEMORRHAGE = "intracerebral-haemorrhage"
    RAISED_INTRACRANIAL_PRESSURE = "raised-intracranial-pressure"
    RAISED_INTRAOCULAR_PRESSURE = "raised-intraocular-pressure"
    SEVERE_HEPATIC_IMPAIRMENT = "severe-hepatic-impairment"
    SLEEP_APNOEA = "sleep-apnoea"
    BLADDER_DISORDER = "bladder-disorder"
    PREGNANCY = "pregnancy"
    BREASTFEEDING = "breastfeeding"


class ConditionStatus(StrEnum):
    ACTIVE = "active"
    IN_REMISSION = "in-remission"
    HISTORICAL = "historical"
    RULED_OUT = "ruled-out"


class MedicationClass(StrEnum):
    ANTIDEPRESSANT = "antidepressant"
    BENZODIAZEPINE = "benzodiazepine"
    NON_BENZODIAZEPINE_HYPNOTIC = "non-benzodiazepine-hypnotic"
    PSYCHOSTIMULANT = "psychostimulant"
    MAOI = "maoi"
    OPIOID = "opioid"
    ANTIHYPERTENSIVE = "antihypertensive"
    LAMOTRIGINE = "lamotrigine"
    ANTIPSYCHOTIC = "antipsychotic"
    MOOD_STABILISER = "mood-stabiliser"
    OTHER_SEDATIVE = "other-sedative"
    OTHER = "other"


class Route(StrEnum):
    IV = "iv"
    IM = "im"
    INTRANASAL = "intranasal"
    ORAL = "oral"
    SUBLINGUAL = "sublingual"


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"


class WeightPolicy(StrEnum):
    """Which body weight an mg/kg dose is computed on (a clinic's choice; see dosing.yaml)."""

    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"
