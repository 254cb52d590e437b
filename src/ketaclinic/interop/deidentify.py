"""HIPAA Safe Harbor de-identification of a patient snapshot (used by every research export).

What is removed or transformed (45 CFR 164.514(b)(2)(i), identifiers A-R):
- names, contacts (escort, next of kin: whole RelatedPerson records), telephone, e-mail, street
  address, city; free-text notes (they may name anyone); staff names (``recorded_by``);
- the MRN and every record id become keyed pseudonyms (HMAC-SHA256 of a secret kept in the data
  folder), so no id of the source database appears in an export;
- postal code: first three digits of a US ZIP only when not in the restricted list (else ``000``);
  other countries' postal codes are dropped (Safe Harbor is a US rule; nothing finer than country);
- dates: shifted by a per-patient offset from the same secret, the same for every date of one
  patient so intervals stay exact; year of birth only, none at all for patients aged 90 or over
  (their age is reported as 90, meaning 90 or over);
- consents keep kind and status, not the document reference; the audit trail is left out.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.interop.fhir.source import READING_ID, PatientData

KEY_FILE_NAME = "deidentification.key"
RowT = TypeVar("RowT")


class DateShiftRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int
    max: int


class SafeHarborRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Source
    population_threshold: int
    age_cap_years: int
    restricted_zip3: tuple[str, ...]
    date_shift_days: DateShiftRange


def safe_harbor_rules() -> SafeHarborRules:
    return load_knowledge("ketaclinic.interop", "safe_harbor.yaml", SafeHarborRules)


def load_or_create_secret(data_dir: Path) -> bytes:
    """The clinic's de-identification secret: created once, owner-only, never exported."""
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    temporary = path.with_name(f".{KEY_FILE_NAME}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    try:
        # A hard link never replaces an existing file: if two callers race, the first key wins
        # and both use it (a second key would silently change every pseudonym and offset).
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


@dataclass(frozen=True)
class Deidentifier:
    secret: bytes
    # The day ages are computed on (the export date): ages over 89 are capped at this date.
    as_of: date

    def _digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest()

    def pseudonym(self, value: str) -> str:
        """A stable opaque id (UUID-shaped, so it fits every id column) for a source id."""
        return str(uuid.UUID(bytes=self._digest("id", value)[:16], version=4))

    def resource_id(self, source_id: str) -> str:
        """The pseudonym of a record id. A session reading's observation keeps the measure in
        clear ("<pseudonym of the reading>-<kind>"), so the endpoint can find the record a
        requested id belongs to by pseudonymising readings rather than every measure of each."""
        match = READING_ID.match(source_id)
        if match is None:
            return self.pseudonym(source_id)
        return f"{self.pseudonym('reading-' + match['reading'])}-{match['kind']}"

    def registry_key(self, patient_id: str) -> str:
        return "R-" + self._digest("registry-key", patient_id)[:8].hex().upper()

    def offset_days(self, patient_id: str) -> int:
        shift = safe_harbor_rules().date_shift_days
        span = shift.max - shift.min + 1
        number = int.from_bytes(self._digest("date-shift", patient_id)[:8], "big")
        return shift.min + number % span

    def patient(self, data: PatientData) -> PatientData:
        return deidentify_patient_data(data, self)


def age_years(date_of_birth: date, on: date) -> int:
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


def safe_harbor_age(date_of_birth: date, on: date) -> int:
    """Age in whole years, 90 standing for "90 or over" (Safe Harbor identifier C)."""
    return min(age_years(date_of_birth, on), safe_harbor_rules().age_cap_years)


def safe_harbor_zip3(postal_code: str | None, country: str | None) -> str | None:
    """The first three ZIP digits where allowed, ``000`` for a restricted area, else nothing."""
    if not postal_code or (country or "US").upper() != "US":
        return None
    digits = "".join(ch for ch in postal_code if ch.isdigit())
    if len(digits) < 5:
        return None
    zip3 = digits[:3]
    return "000" if zip3 in safe_harbor_rules().restricted_zip3 else zip3


def _copy(row: RowT, shift: timedelta, **changes: Any) -> RowT:
    """A detached copy of an ORM row (never added to a session) with some columns changed and
    every other date or date-time column moved by ``shift``: a column added to a table later is
    shifted too, so no real date can slip through a column this module does not name."""
    table = type(row).__table__  # type: ignore[attr-defined]
    values: dict[str, Any] = {}
    for column in table.columns:
        value = getattr(row, column.key)
        # datetime is a date too; both move by whole days.
        values[column.key] = value + shift if isinstance(value, date) else value
    values.update(changes)
    return type(row)(**values)


def deidentify_patient_data(data: PatientData, key: Deidentifier) -> PatientData:
    source = data.patient
    shift = timedelta(days=key.offset_days(source.id))
    pid = key.pseudonym(source.id)
    age = safe_harbor_age(source.date_of_birth, key.as_of)
    # Year of birth only; for 90 or over not even that (date(1, 1, 1) = "withheld" for mappers).
    birth = (
        date(1, 1, 1)
        if age >= safe_harbor_rules().age_cap_years
        else date(source.date_of_birth.year, 1, 1)
    )
    patient = _copy(
        source,
        shift,
        id=pid,
        mrn=key.registry_key(source.id),
        given_name="",
        family_name="",
        preferred_name=None,
        date_of_birth=birth,
        gender_identity=None,
        phone=None,
        email=None,
        address_line=None,
        city=None,
        postal_code=safe_harbor_zip3(source.postal_code, source.country),
    )
    common = {"patient_id": pid}

    def sid(value: str | None) -> str | None:
        return None if value is None else key.pseudonym(value)

    answers = {key.pseudonym(rid): dict(items) for rid, items in data.answers.items()}
    return PatientData(
        patient=patient,
        contacts=[],
        diagnoses=[
            _copy(r, shift, id=key.pseudonym(r.id), notes=None, **common) for r in data.diagnoses
        ],
        medications=[
            _copy(r, shift, id=key.pseudonym(r.id), notes=None, **common) for r in data.medications
        ],
        trials=[_copy(r, shift, id=key.pseudonym(r.id), notes=None, **common) for r in data.trials],
        allergies=[_copy(r, shift, id=key.pseudonym(r.id), **common) for r in data.allergies],
        observations=[
            _copy(
                r,
                shift,
                id=key.resource_id(r.id),
                recorded_by=None,
                context_id=sid(r.context_id),
                notes=None,
                **common,
            )
            for r in data.observations
        ],
        responses=[
            _copy(
                r,
                shift,
                id=key.pseudonym(r.id),
                recorded_by=None,
                context_id=sid(r.context_id),
                **common,
            )
            for r in data.responses
        ],
        answers=answers,
        consents=[
            _copy(
                r,
                shift,
                id=key.pseudonym(r.id),
                recorded_by="",
                document_ref=None,
                notes=None,
                **common,
            )
            for r in data.consents
        ],
        **_session_copies(data, key, shift, pid),
        audit_events=[],  # staff names and addresses: never in a research export
        deidentified=True,
    )


def _session_copies(
    data: PatientData, key: Deidentifier, shift: timedelta, pid: str
) -> dict[str, Any]:
    """Sessions, administrations, steps, adverse events and flags without staff, free text or
    places (chair, room), times moved by the patient's offset (``_copy`` moves every date)."""

    def sid(value: str | None) -> str | None:
        return None if value is None else key.pseudonym(value)

    sessions = [
        _copy(
            r,
            shift,
            id=sid(r.id),
            patient_id=pid,
            plan_session_id=sid(r.plan_session_id),
            chair=None,
            room=None,
            responsible_clinician=None,
            predose=None,
            signed_by=None,
        )
        for r in data.sessions
    ]
    dosing = {
        key.pseudonym(session_id): _copy(
            r,
            shift,
            session_id=key.pseudonym(session_id),
            administered_by="",
            supervised_by="",
            stop_note=None,
        )
        for session_id, r in data.dosing.items()
    }
    steps = {
        key.pseudonym(session_id): [
            _copy(r, shift, session_id=key.pseudonym(session_id), by="", reason=None) for r in rows
        ]
        for session_id, rows in data.steps.items()
    }
    adverse_events = [
        # The verbatim term is free text (it may name anyone): the curated term replaces it.
        _copy(
            r,
            shift,
            id=sid(r.id),
            patient_id=pid,
            session_id=sid(r.session_id),
            verbatim_term=r.term_id,
            recorded_by="",
        )
        for r in data.adverse_events
    ]
    flags = [
        _copy(
            r,
            shift,
            id=sid(r.id),
            patient_id=pid,
            reason=r.kind,
            source={},
            related_id=sid(r.related_id),
            resolved_by=None,
            resolution_note=None,
        )
        for r in data.flags
    ]
    plans = [
        _copy(
            r,
            shift,
            id=sid(r.id),
            patient_id=pid,
            screening_id=sid(r.screening_id),
            previous_version_id=sid(r.previous_version_id),
            prescriber_user_id=None,
            prescriber_name="",
            amendment_reason=None,
            signed_by_user_id=None,
            signed_by_name=None,
            stopped_reason=None,
            holidays=[],
        )
        for r in data.plans
    ]
    plan_sessions = {
        key.pseudonym(plan_id): [
            _copy(r, shift, id=sid(r.id), plan_id=key.pseudonym(plan_id), review_action=None)
            for r in rows
        ]
        for plan_id, rows in data.plan_sessions.items()
    }
    return {
        "plans": plans,
        "plan_sessions": plan_sessions,
        "sessions": sessions,
        "dosing": dosing,
        "steps": steps,
        "adverse_events": adverse_events,
        "flags": flags,
    }
