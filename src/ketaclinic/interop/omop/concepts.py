"""The few OMOP standard concept ids ketaclinic writes; everything else is concept id 0.

Only ids checked in more than one independent public OMOP ETL codebase (where each appears with
its concept name) are used; none was checked against Athena itself, so docs/omop-mapping.md calls
them "verified against secondary sources". Every other concept is 0, with the source code and
value kept in the ``*_source_value`` columns, as the OMOP conventions say for unmapped data.
"""

from __future__ import annotations

NO_MATCHING_CONCEPT = 0
# Type Concept "EHR": the record came from the clinic's electronic record.
EHR_TYPE_CONCEPT = 32817
OUTPATIENT_VISIT_CONCEPT = 9202
GENDER_CONCEPTS = {"F": 8532, "M": 8507}
# LOINC code -> standard Measurement concept (blood pressure only: the two ids we could check).
MEASUREMENT_CONCEPTS = {"8480-6": 3004249, "8462-4": 3012888}
# UCUM unit -> standard Unit concept.
UNIT_CONCEPTS = {"mm[Hg]": 8876}
