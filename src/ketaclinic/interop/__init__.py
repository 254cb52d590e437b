"""Interoperability: FHIR R4 (``interop.fhir``), OMOP CDM v5.4 (``interop.omop``), de-identification
(``interop.deidentify``) and the research registry (``interop.registry``)."""
