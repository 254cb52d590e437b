"""SPRAVATO REMS Patient Monitoring Form (outpatient), generated from a session record.

Form version: the fields follow the outpatient Patient Monitoring Form (c) Janssen 11/2021, as
read in third-party copies (manuzoid.com, 11/2021; manualspro.net, posted 2024; clinical.md 2.4
[S44]) and the J&J MedicalConnect PMF overview video [S45]: patient (name, date of birth, sex,
first treatment; enrolment asked only for a first treatment), four concomitant-medication classes,
monitoring HCP, setting, date, dose 56/84/other and lot, total minutes from the first device to
the end of monitoring, the "ready to leave without the 2-hour rule" minutes from the start of
administration, vitals acceptable before and at completion, BP before, 40 minutes after and
before completion. The events section (sedation / dissociation / respiratory depression, serious
adverse event) was truncated in every copy, so its exact sub-fields are unverified, as are any
2025+ REMS changes: re-check the current form on spravatorems.com before relying on this layout.
Simplifications: one HCP name field (the form has first/last) and one address line (the form has
address 1/2, city, state, ZIP).
The form is due within 7 days of every session (REMS; [S44] [S45]).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.policy import EffectivePolicy, ProtocolKind
from ketaclinic.clinical.safety.adverse_events import AdverseEvent
from ketaclinic.clinical.sessions.lifecycle import SessionEvent
from ketaclinic.clinical.sessions.predose import CheckStatus
from ketaclinic.clinical.sessions.record import SessionRecord
from ketaclinic.errors import InvalidInput, RuleViolation

FORM_VERSION = "SPRAVATO REMS Patient Monitoring Form (outpatient), 11/2021 layout [unverified]"
SUBMISSION_WINDOW_DAYS = 7  # REMS: submit within 7 days of the session [S44] [S45]

RemsStatus = Literal["due", "submitted", "overdue"]
_RESPIRATORY_RULES = frozenset({"spo2-low", "respiratory-rate-low"})


class RemsPatientFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    first_treatment: bool | None = None
    enrolled_in_rems: bool | None = None
    benzodiazepines: bool | None = None
    non_benzodiazepine_sedative_hypnotics: bool | None = None
    psychostimulants: bool | None = None
    maois: bool | None = None
    # Later REMS guidance also asks about opioids; optional until the current form is checked.
    opioids: bool | None = None


class RemsSetting(BaseModel):
    model_config = ConfigDict(frozen=True)
    setting_name: str | None = None
    setting_address: str | None = None
    monitoring_hcp_name: str | None = None
    monitoring_hcp_phone: str | None = None
    monitoring_hcp_email: str | None = None


class RemsMonitoringForm(RemsPatientFacts, RemsSetting):
    model_config = ConfigDict(frozen=True)

    form_version: str = FORM_VERSION
    session_id: str
    patient_id: str
    session_date: date | None = None
    dose_mg: float | None = Field(default=None, gt=0)
    lot_number: str | None = None
    total_monitoring_minutes: float | None = Field(default=None, ge=0)
    ready_to_leave_minutes: float | None = Field(default=None, ge=0)
    vitals_acceptable_before: bool | None = None
    vitals_acceptable_at_completion: bool | None = None
    bp_predose_systolic_mmhg: float | None = None
    bp_predose_diastolic_mmhg: float | None = None
    bp_40min_systolic_mmhg: float | None = None
    bp_40min_diastolic_mmhg: float | None = None
    bp_completion_systolic_mmhg: float | None = None
    bp_completion_diastolic_mmhg: float | None = None
    sedation: bool | None = None
    dissociation: bool | None = None
    respiratory_depression: bool | None = None
    serious_adverse_event: bool | None = None
    serious_adverse_event_description: str | None = None
    finalised_by: str | None = None
    finalised_at: datetime | None = None
    submitted_at: datetime | None = None
    submission_reference: str | None = None

    @property
    def dose_choice(self) -> str | None:
        """The form's dose box: 56 mg, 84 mg or other."""
        if self.dose_mg is None:
            return None
        return (
            f"{self.dose_mg:g} mg" if self.dose_mg in (56, 84) else f"other ({self.dose_mg:g} mg)"
        )

    @property
    def due_date(self) -> date | None:
        if self.session_date is None:
            return None
        return self.session_date + timedelta(days=SUBMISSION_WINDOW_DAYS)


_NOT_REQUIRED = frozenset(
    {
        "opioids",
        # Asked only when this is the patient's first treatment (J&J PMF overview video).
        "enrolled_in_rems",
        "form_version",
        "serious_adverse_event_description",
        "finalised_by",
        "finalised_at",
        "submitted_at",
        "submission_reference",
    }
)
REQUIRED_FIELDS = tuple(f for f in RemsMonitoringForm.model_fields if f not in _NOT_REQUIRED)


def missing_fields(form: RemsMonitoringForm) -> list[str]:
    """Every required field without an answer, in form order."""
    missing = [name for name in REQUIRED_FIELDS if getattr(form, name) is None]
    if form.first_treatment and form.enrolled_in_rems is None:
        missing.append("enrolled_in_rems")
    if form.serious_adverse_event and not form.serious_adverse_event_description:
        missing.append("serious_adverse_event_description")
    return missing


def _bp_near(
    record: SessionRecord, target: datetime, window: timedelta
) -> tuple[float, float] | None:
    candidates = [
        o
        for o in record.observations_after_dose()
        if o.measures.systolic_mmhg is not None
        and o.measures.diastolic_mmhg is not None
        and abs(o.taken_at - target) <= window
    ]
    if not candidates:
        return None
    best = min(candidates, key=lambda o: abs(o.taken_at - target))
    return best.measures.systolic_mmhg, best.measures.diastolic_mmhg  # type: ignore[return-value]


def form_from_record(
    record: SessionRecord,
    patient: RemsPatientFacts,
    setting: RemsSetting,
    policy: EffectivePolicy,
    adverse_events: Sequence[AdverseEvent] = (),
    *,
    clinic_tz: tzinfo = UTC,
) -> RemsMonitoringForm:
    """Fill the form from a closed esketamine session; what the record cannot say stays empty.

    The session date (and so the due date) is the clinic's calendar day of the first device
    (``clinic_tz``): an evening session in California is not dated the next (UTC) day.
    """
    if record.protocol_kind is not ProtocolKind.INTRANASAL_ESKETAMINE:
        raise InvalidInput(
            "The REMS form is for intranasal esketamine sessions only.", field="session"
        )
    dosing = record.dosing
    if dosing is None or dosing.first_device_at is None:
        raise RuleViolation(
            "No esketamine device was recorded in this session; no REMS form is due."
        )
    first = dosing.first_device_at
    end = record.step_time(SessionEvent.DISCHARGE) or record.step_time(SessionEvent.ABORT)
    base = record.baseline()
    after = [o for o in record.observations_after_dose() if end is None or o.taken_at <= end]
    window = timedelta(minutes=policy.number("checkpoint_missed_after_minutes"))
    rems_minutes = policy.number("rems_bp_checkpoint_minutes")
    bp40 = _bp_near(record, first + timedelta(minutes=rems_minutes), window)
    last_bp = next(
        (o.measures for o in reversed(after) if o.measures.systolic_mmhg is not None), None
    )
    cadss_limit = policy.number("cadss_dissociation_total_above")
    dissociation = any(
        o.measures.cadss_total is not None
        and o.measures.cadss_total > cadss_limit
        and o.measures.cadss_total - (base.cadss_total or 0) > 0
        for o in after
    )
    session_events = [e for e in adverse_events if e.session_id == record.session_id]
    respiratory = any(a.finding.rule_id in _RESPIRATORY_RULES for a in record.alerts) or any(
        e.term_id == "respiratory-depression" for e in session_events
    )
    serious = [e for e in session_events if e.is_serious]
    predose_items = record.predose.items if record.predose else []
    gate = next((i for i in predose_items if i.id == "blood-pressure-gate"), None)
    assessment = record.discharge_assessment
    values: dict[str, Any] = {
        **patient.model_dump(),
        **setting.model_dump(),
        "session_id": record.session_id,
        "patient_id": record.patient_id,
        "session_date": first.astimezone(clinic_tz).date(),
        "dose_mg": dosing.dose_mg,
        "lot_number": dosing.lot_number,
        "total_monitoring_minutes": (end - first).total_seconds() / 60 if end else None,
        "ready_to_leave_minutes": assessment.clinically_ready_minutes if assessment else None,
        # A BP above the gate that a prescriber chose to accept is for the clinician to answer.
        "vitals_acceptable_before": True if gate and gate.status is CheckStatus.PASSED else None,
        "vitals_acceptable_at_completion": (
            not any(u.id == "vitals-within-range" for u in assessment.unmet) if assessment else None
        ),
        "bp_predose_systolic_mmhg": base.systolic_mmhg,
        "bp_predose_diastolic_mmhg": base.diastolic_mmhg,
        "bp_40min_systolic_mmhg": bp40[0] if bp40 else None,
        "bp_40min_diastolic_mmhg": bp40[1] if bp40 else None,
        "bp_completion_systolic_mmhg": last_bp.systolic_mmhg if last_bp else None,
        "bp_completion_diastolic_mmhg": last_bp.diastolic_mmhg if last_bp else None,
        "sedation": any(o.measures.moaas is not None and o.measures.moaas < 5 for o in after),
        "dissociation": dissociation,
        "respiratory_depression": respiratory,
        "serious_adverse_event": bool(serious),
        "serious_adverse_event_description": (
            "; ".join(f"{e.verbatim_term} ({', '.join(e.seriousness)})" for e in serious) or None
        ),
    }
    return RemsMonitoringForm.model_validate(values)


def with_answers(form: RemsMonitoringForm, **answers: Any) -> RemsMonitoringForm:
    """The clinician's answers to empty fields or corrections; refused once finalised."""
    if form.finalised_at is not None:
        raise RuleViolation("The REMS form is finalised; it cannot be changed.", field="form")
    unknown = sorted(set(answers) - set(RemsMonitoringForm.model_fields))
    if unknown:
        raise InvalidInput(f"No REMS form field named {', '.join(unknown)}.", field=unknown[0])
    return RemsMonitoringForm.model_validate({**form.model_dump(), **answers})


def finalise(form: RemsMonitoringForm, *, by: str, at: datetime) -> RemsMonitoringForm:
    missing = missing_fields(form)
    if missing:
        raise RuleViolation(
            f"The REMS form cannot be finalised; missing: {', '.join(missing)}.", field=missing[0]
        )
    if form.finalised_at is not None:
        raise RuleViolation("The REMS form is already finalised.", field="form")
    return form.model_copy(update={"finalised_by": by, "finalised_at": at})


def mark_submitted(form: RemsMonitoringForm, *, at: datetime, reference: str) -> RemsMonitoringForm:
    if form.finalised_at is None:
        raise RuleViolation("Finalise the REMS form before recording its submission.", field="form")
    if form.submitted_at is not None:
        raise RuleViolation("The REMS form was already submitted.", field="form")
    return form.model_copy(update={"submitted_at": at, "submission_reference": reference})


def status(form: RemsMonitoringForm, *, today: date) -> RemsStatus:
    """Submitted, due (within 7 days of the session) or overdue."""
    if form.submitted_at is not None:
        return "submitted"
    due = form.due_date
    if due is not None and today > due:
        return "overdue"
    return "due"


__all__ = [
    "FORM_VERSION",
    "REQUIRED_FIELDS",
    "RemsMonitoringForm",
    "RemsPatientFacts",
    "RemsSetting",
    "finalise",
    "form_from_record",
    "mark_submitted",
    "missing_fields",
    "status",
    "with_answers",
]
