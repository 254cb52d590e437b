"""The REMS Patient Monitoring Form and the session record as PDF: pure functions of values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, tzinfo

from ketaclinic.clinical.rems import RemsMonitoringForm, missing_fields
from ketaclinic.clinical.sessions.record import SessionRecord
from ketaclinic.reports.pdf import Row, Section, render_document
from ketaclinic.reports.pdf import show as show_value


def _bp(systolic: float | None, diastolic: float | None) -> str:
    if systolic is None or diastolic is None:
        return "(missing)"
    return f"{systolic:g}/{diastolic:g} mmHg"


def _shower(zone: tzinfo) -> Callable[[object], str]:
    """``show`` with times in the clinic's zone."""
    return lambda value: show_value(value, zone)


def render_rems_form_pdf(form: RemsMonitoringForm, clinic_tz: tzinfo = UTC) -> bytes:
    """The form laid out in the order of the paper form; a draft says which fields are missing.
    Times print in the clinic's zone (``clinic_tz``)."""
    show = _shower(clinic_tz)
    missing = missing_fields(form)
    state = (
        f"Finalised by {form.finalised_by} at {show(form.finalised_at)}"
        if form.finalised_at
        else "DRAFT - not finalised"
    )
    if form.submitted_at:
        state += f"; submitted {show(form.submitted_at)} (ref {form.submission_reference})"
    sections = [
        Section(
            "Patient",
            [
                ("First name", show(form.first_name)),
                ("Last name", show(form.last_name)),
                ("Date of birth", show(form.date_of_birth)),
                ("Sex", show(form.sex)),
                ("First treatment", show(form.first_treatment)),
                ("Enrolled in the REMS", show(form.enrolled_in_rems)),
            ],
        ),
        Section(
            "Concomitant medications",
            [
                ("Benzodiazepines", show(form.benzodiazepines)),
                (
                    "Non-benzodiazepine sedative hypnotics",
                    show(form.non_benzodiazepine_sedative_hypnotics),
                ),
                ("Psychostimulants", show(form.psychostimulants)),
                ("MAOIs", show(form.maois)),
                ("Opioids (later guidance)", show(form.opioids)),
            ],
        ),
        Section(
            "Monitoring healthcare provider and setting",
            [
                ("Monitoring HCP", show(form.monitoring_hcp_name)),
                ("Phone", show(form.monitoring_hcp_phone)),
                ("Email", show(form.monitoring_hcp_email)),
                ("Setting", show(form.setting_name)),
                ("Address", show(form.setting_address)),
            ],
        ),
        Section(
            "Session",
            [
                ("Date of session", show(form.session_date)),
                ("Dose", show(form.dose_choice)),
                ("Lot number", show(form.lot_number)),
                (
                    "Total minutes, first device to end of monitoring",
                    show(form.total_monitoring_minutes),
                ),
                (
                    "Ready to leave without the 2-hour rule (minutes)",
                    show(form.ready_to_leave_minutes),
                ),
                (
                    "Vital signs acceptable before administration",
                    show(form.vitals_acceptable_before),
                ),
                (
                    "Vital signs acceptable before completion",
                    show(form.vitals_acceptable_at_completion),
                ),
            ],
        ),
        Section(
            "Blood pressure",
            [
                (
                    "Before dosing",
                    _bp(form.bp_predose_systolic_mmhg, form.bp_predose_diastolic_mmhg),
                ),
                (
                    "About 40 minutes after dosing",
                    _bp(form.bp_40min_systolic_mmhg, form.bp_40min_diastolic_mmhg),
                ),
                (
                    "Before completion",
                    _bp(form.bp_completion_systolic_mmhg, form.bp_completion_diastolic_mmhg),
                ),
            ],
        ),
        Section(
            "Events",
            [
                ("Sedation", show(form.sedation)),
                ("Dissociation", show(form.dissociation)),
                ("Respiratory depression", show(form.respiratory_depression)),
                ("Serious adverse event", show(form.serious_adverse_event)),
                (
                    "Serious adverse event description",
                    form.serious_adverse_event_description or "-",
                ),
            ],
        ),
        Section(
            "Status",
            [
                ("Form", state),
                ("Due by", show(form.due_date)),
                ("Missing fields", ", ".join(missing) if missing else "none"),
            ],
        ),
    ]
    return render_document(
        "SPRAVATO REMS Patient Monitoring Form",
        sections,
        subtitle=f"{form.form_version} - session {form.session_id}",
    )


def render_session_record_pdf(record: SessionRecord, clinic_tz: tzinfo = UTC) -> bytes:
    """The signed or draft session record: steps, MAR, observations, alerts, discharge, addenda.
    Times print in the clinic's zone (``clinic_tz``)."""
    show = _shower(clinic_tz)
    steps: list[Row] = [
        (
            f"{show(s.at)} {s.event.value}",
            f"{s.by}" + (f" - {s.reason}" if s.reason else ""),
        )
        for s in record.steps
    ]
    sections = [
        Section(
            "Session",
            [
                ("Session", record.session_id),
                ("Patient", record.patient_id),
                ("Protocol kind", record.protocol_kind.value),
                ("Scheduled", show(record.scheduled_for)),
                ("State", record.state.value),
                ("Weight (kg)", show(record.weight_kg)),
            ],
        ),
        Section("Steps", steps or [("-", "no steps recorded")]),
    ]
    if record.dosing:
        d = record.dosing
        mar_rows: list[Row] = [
            ("Product / formulation", f"{d.product} / {d.formulation}"),
            ("Lot number", d.lot_number),
            ("Concentration (mg/mL)", show(d.concentration_mg_per_ml)),
            (
                "Dose",
                f"{d.dose_mg:g} mg"
                + (f" ({d.dose_mg_per_kg:.3g} mg/kg)" if d.dose_mg_per_kg else ""),
            ),
            ("Route", d.route.value),
            ("Started / stopped", f"{show(d.started_at)} / {show(d.stopped_at)}"),
            ("Administered by / supervised by", f"{d.administered_by} / {d.supervised_by}"),
        ]
        mar_rows += [
            (
                f"{show(e.at)} {e.kind.value}",
                ", ".join(
                    x
                    for x in (
                        f"{e.device_mg:g} mg" if e.device_mg else "",
                        f"{e.rate_mg_per_h:g} mg/h" if e.rate_mg_per_h else "",
                        e.reason or "",
                        e.by,
                    )
                    if x
                ),
            )
            for e in d.events
        ]
        sections.append(Section("Medication administration record", mar_rows))
    obs_rows: list[Row] = []
    for o in sorted(record.observations, key=lambda o: o.taken_at):
        values = ", ".join(
            f"{k}={show(v)}" for k, v in o.measures.model_dump(exclude_none=True).items()
        )
        obs_rows.append((show(o.taken_at), values or "-"))
    sections.append(Section("Observations", obs_rows or [("-", "none")]))
    alert_rows: list[Row] = [
        (
            f"{show(a.finding.observed_at)} {a.finding.severity.value}",
            a.finding.message
            + (
                f" Acknowledged by {a.acknowledgement.by} at {show(a.acknowledgement.at)}: "
                f"{a.acknowledgement.note}"
                if a.acknowledgement
                else " OPEN"
            ),
        )
        for a in record.alerts
    ]
    sections.append(Section("Alerts", alert_rows or [("-", "none")]))
    if record.discharge_assessment:
        da = record.discharge_assessment
        sections.append(
            Section(
                "Discharge",
                [
                    ("Assessed at", show(da.assessed_at)),
                    ("Observation (minutes)", show(da.observation_minutes)),
                    ("Clinically ready at", show(da.clinically_ready_at)),
                    ("Unmet criteria", "; ".join(u.message for u in da.unmet) or "none"),
                    ("Escort present", show(da.escort_present)),
                ],
            )
        )
    signed = (
        f"Signed by {record.signature.by} at {show(record.signature.at)}"
        if record.signature
        else "Not signed"
    )
    sections.append(
        Section(
            "Signature and addenda",
            [("Signature", signed)]
            + [(f"Addendum {show(a.at)} ({a.by})", a.text) for a in record.addenda],
        )
    )
    return render_document(f"Session record {record.session_id}", sections)
