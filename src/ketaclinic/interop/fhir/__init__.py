"""FHIR R4 export, import and search over the clinic record.

Resources are built with ``fhir.resources.R4B`` (wire-compatible with R4 for the core clinical
resources), so every exported resource is validated by construction.

Public surface::

    load_patient_data, PatientData          (fhir.source)
    patient_resources, MAPPERS               (fhir.mappers)
    export_ndjson, patient_bundle            (fhir.export)
    import_fhir_file, ImportSummary          (fhir.importer)
    capability_statement                     (fhir.capability)
"""
