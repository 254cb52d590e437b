"""Courses, sessions, session vitals and adverse events of one patient as research-dataset rows.

A course is a treatment plan (its current version; superseded versions' calendars count as the
same course) with at least one session that took place. Day 0 is the course's first dosed session
(docs/research-dataset.md); a course without a dosed session starts on its first check-in.
Sessions not linked to a plan belong to no course and are left out of the registry.

The induction's planned sessions are the current calendar's induction entries (a rescheduled
entry counts once, through its successor; a cancelled one was planned and not given); it ends on
the day of the last induction session that took place. A course dropped out when its induction
was not completed and either the plan was stopped or no induction session is still to come on
the calendar at the export date (lost to follow-up: the remaining sessions passed without the
patient).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.errors import KetaclinicError
from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.source import PatientData
from ketaclinic.storage.tables.planning import TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SessionAlertRow, SupervisedSessionRow

Row = dict[str, object]
_CLOSED = ("discharged", "aborted", "no-show")
_VITAL_COLUMNS = (
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_percent",
    "respiratory_rate_per_min",
)


@dataclass
class CourseTables:
    courses: list[Row] = field(default_factory=list)
    sessions: list[Row] = field(default_factory=list)
    vitals: list[Row] = field(default_factory=list)
    adverse_events: list[Row] = field(default_factory=list)
    # (day 0, course key) of every course, earliest first: a score belongs to the latest course
    # that had started by its day (one before every course, to the first course).
    starts: list[tuple[date, str]] = field(default_factory=list)

    def course_of(self, day: date) -> tuple[str, date] | None:
        """(course key, day 0) of the course whose window holds ``day``."""
        if not self.starts:
            return None
        started = [start for start in self.starts if start[0] <= day] or self.starts[:1]
        day_zero, course_key = started[-1]
        return course_key, day_zero


def _chain(plan: TreatmentPlanRow, by_id: dict[str, TreatmentPlanRow]) -> list[str]:
    ids = [plan.id]
    while by_id[ids[-1]].previous_version_id in by_id:
        ids.append(str(by_id[ids[-1]].previous_version_id))
    return ids


def _route(protocol_id: str) -> str:
    try:
        return get_protocol(protocol_id).route.value
    except KetaclinicError:
        return "unknown"


def _check_in(data: PatientData, session_id: str) -> datetime | None:
    return next((s.at for s in data.steps.get(session_id, []) if s.event == "check-in"), None)


# A rescheduled entry was replaced by a later one; a cancelled one was planned and not given.
_NOT_PLANNED = ("rescheduled",)


def _took_place(data: PatientData, session: SupervisedSessionRow) -> datetime | None:
    """When the session's dose started, else when the patient arrived; None if neither."""
    dosing = data.dosing.get(session.id)
    return dosing.started_at if dosing is not None else _check_in(data, session.id)


def course_tables(
    db: Session, data: PatientData, key: Deidentifier, patient_key: str, *, as_of: date
) -> CourseTables:
    found = CourseTables()
    by_id = {plan.id: plan for plan in data.plans}
    plan_session_to_course: dict[str, str] = {}
    heads = [p for p in data.plans if p.status != "superseded"]
    for head in heads:
        for plan_id in _chain(head, by_id):
            for row in data.plan_sessions.get(plan_id, []):
                plan_session_to_course[row.id] = head.id
    sessions_by_course: dict[str, list[SupervisedSessionRow]] = defaultdict(list)
    for session in data.sessions:
        course = plan_session_to_course.get(session.plan_session_id or "")
        if course is not None and _check_in(data, session.id) is not None:
            sessions_by_course[course].append(session)
    bp_alerts = _bp_alert_sessions(db, [s.id for s in data.sessions])
    for head in heads:
        sessions = sessions_by_course.get(head.id)
        if not sessions:
            continue
        course_key = key.pseudonym(f"course:{head.id}")
        dosed = sorted(data.dosing[s.id].started_at for s in sessions if s.id in data.dosing)
        arrivals = [t for t in (_check_in(data, s.id) for s in sessions) if t is not None]
        day_zero = (dosed[0] if dosed else min(arrivals)).date()
        found.starts.append((day_zero, course_key))
        chain_rows = [r for pid in _chain(head, by_id) for r in data.plan_sessions.get(pid, [])]
        induction_ids = {r.id for r in chain_rows if r.phase_kind == "induction"}
        planned = [
            r
            for r in data.plan_sessions.get(head.id, [])
            if r.phase_kind == "induction" and r.status not in _NOT_PLANNED
        ]
        given = [s for s in sessions if s.plan_session_id in induction_ids]
        completed = sum(1 for s in given if s.state == "discharged")
        to_come = any(r.status == "planned" and r.scheduled_on >= as_of for r in planned)
        incomplete = completed < len(planned)
        # The last induction session that took place ends the induction; the calendar only
        # where none did (a course that so far had only maintenance sessions).
        held = [t.date() for t in (_took_place(data, s) for s in given) if t is not None]
        end = max(held) if held else max((r.scheduled_on for r in planned), default=day_zero)
        found.courses.append(
            {
                "course_key": course_key,
                "patient_key": patient_key,
                "protocol_id": head.protocol_id,
                "route": _route(head.protocol_id),
                "dose_mg_per_kg": head.dose_mg_per_kg,
                "dose_mg": head.dose_mg,
                "planned_sessions": len(planned),
                "completed_sessions": completed,
                "dropped_out": incomplete and (head.status == "stopped" or not to_come),
                "induction_end_day": (end - day_zero).days,
            }
        )
        for session in sessions:
            _session_rows(found, data, session, key, patient_key, course_key, day_zero, bp_alerts)
        _event_rows(found, data, {s.id for s in sessions}, key, patient_key, course_key, day_zero)
    found.starts.sort()
    return found


def _bp_alert_sessions(db: Session, session_ids: list[str]) -> set[str]:
    if not session_ids:
        return set()
    rows = db.scalars(
        select(SessionAlertRow.session_id).where(
            SessionAlertRow.session_id.in_(session_ids), SessionAlertRow.rule_id.startswith("bp-")
        )
    )
    return set(rows)


def _session_rows(
    found: CourseTables,
    data: PatientData,
    session: SupervisedSessionRow,
    key: Deidentifier,
    patient_key: str,
    course_key: str,
    day_zero: date,
    bp_alerts: set[str],
) -> None:
    if session.state not in _CLOSED:
        return
    session_key = key.pseudonym(f"session:{session.id}")
    dosing = data.dosing.get(session.id)
    when = dosing.started_at if dosing else _check_in(data, session.id) or session.scheduled_for
    readings: dict[datetime, dict[str, float]] = defaultdict(dict)
    for row in data.observations:
        if row.context_id == session.id and row.kind in _VITAL_COLUMNS:
            readings[row.observed_at][row.kind] = row.value
    rise: float | None = None
    if dosing is not None:
        before = [
            v["systolic_mmhg"]
            for t, v in sorted(readings.items())
            if t <= dosing.started_at and "systolic_mmhg" in v
        ]
        after = [
            v["systolic_mmhg"]
            for t, v in readings.items()
            if t > dosing.started_at and "systolic_mmhg" in v
        ]
        if before and after:
            rise = max(after) - before[-1]
        for taken_at, values in sorted(readings.items()):
            minute = int((taken_at - dosing.started_at).total_seconds() // 60)
            found.vitals.append(
                {"session_key": session_key, "patient_key": patient_key, "minute": minute}
                | {column: values.get(column) for column in _VITAL_COLUMNS}
            )
    found.sessions.append(
        {
            "session_key": session_key,
            "course_key": course_key,
            "patient_key": patient_key,
            "day": (when.date() - day_zero).days,
            "status": session.state,
            "dose_mg": dosing.dose_mg if dosing else 0.0,
            "bp_alert": session.id in bp_alerts,
            "max_systolic_rise_mmhg": rise,
        }
    )


def _event_rows(
    found: CourseTables,
    data: PatientData,
    session_ids: set[str],
    key: Deidentifier,
    patient_key: str,
    course_key: str,
    day_zero: date,
) -> None:
    for event in data.adverse_events:
        if event.session_id not in session_ids:
            continue
        found.adverse_events.append(
            {
                "patient_key": patient_key,
                "course_key": course_key,
                "session_key": key.pseudonym(f"session:{event.session_id}"),
                "day": (event.onset_at.date() - day_zero).days,
                "term": event.term_id,
                "serious": bool(event.seriousness),
                "severity": event.severity,
            }
        )
