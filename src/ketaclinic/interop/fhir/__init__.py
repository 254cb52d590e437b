"""FHIR R4 export, import and search over the clinic record.

Resources are built with ``fhir.resources.R4B`` (wire-compatible with R4 for the core clinical
resources), so every exported resource is validated by construction.

Public surface (import from the module named; this package re-exports nothing, so that the
mapper modules can import the helpers without cycles)::

    fhir.source      load_patient_data, all_patient_ids, PatientData
    fhir.mappers     MAPPERS, register, patient_resources, parts_for
    fhir.export      export_ndjson, patient_bundle, resources_for, ExportSummary
    fhir.importer    import_fhir_file, ImportSummary  (import_files, import_answers: its parts)
    fhir.server      view_for, read, search, everything, FhirView   (used by web/routes/fhir.py)
    fhir.locate      owner_of (which patient a resource id belongs to)
    fhir.capability  capability_statement
    fhir.questionnaire  questionnaire
    fhir.code_systems   all_code_systems, LOCAL_SYSTEMS
"""
