"""OMOP CDM v5.4 export: person, observation_period, visit_occurrence, condition_occurrence,
drug_exposure, measurement, observation, as CSV or Parquet. Concept choices: docs/omop-mapping.md.

Public surface::

    export_omop(db, out_dir, patient_ids, *, fmt, deidentifier, progress) -> OmopSummary
    OMOP_TABLES  (column name, CDM datatype, required) per table
"""

from ketaclinic.interop.omop.export import OmopSummary, export_omop
from ketaclinic.interop.omop.schema import OMOP_TABLES

__all__ = ["OMOP_TABLES", "OmopSummary", "export_omop"]
