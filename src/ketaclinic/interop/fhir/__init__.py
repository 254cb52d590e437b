"""FHIR R4 export, import and search over the clinic record.

Resources are built with ``fhir.resources.R4B`` (wire-compatible with R4 for the core clinical
resources), so every exported resource is validated by construction.

Public surface (import from the module named; this package re-exports nothing, so that the
mapper modules can import the helpers without cycles)::

    fhir.source      load_patient_data, all_patient_ids, PatientData
    fhir.mappers     MAPPERS, register, patient_resources
    fhir.export      export_ndjson, patient_bundle, resources_for, ExportSummary
    fhir.importer    import_fhir_file, ImportSummary
    fhir.server      view_for, read, search, everything, FhirView   (used by web/routes/fhir.py)
    fhir.capability  capability_statement
    fhir.questionnaire  questionnaire, ketaclinic_code_system
"""
