"""Courses, sessions, scores, vitals and adverse events for a block of patients on one course type.

Everything is drawn as (patients x sessions) arrays and flattened through masks, so a block of
thousands of patients costs a few NumPy calls rather than a Python loop per patient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ketaclinic.synthetic.cohort_model import (
    CohortModel,
    ResolvedCourse,
    blood_pressures,
    normal,
)
from ketaclinic.synthetic.trajectories import OutcomeCutoffs, sample_trajectories

# Weekly follow-up scores after induction, through week 8, as measurement-based care asks for
# and as a relapse rule of two consecutive assessments needs.
FOLLOW_UP_DAYS = (14, 21, 28, 35, 42, 49, 56)
NO_SHOW, ABORTED, DISCHARGED = "no-show", "aborted", "discharged"


@dataclass(frozen=True)
class CourseBlock:
    course: ResolvedCourse
    patient_keys: np.ndarray  # object array of strings
    cutoffs: OutcomeCutoffs
    bp_rise_alert_mmhg: float


def _string_array(values: np.ndarray) -> pa.Array:
    return pa.array(values.tolist(), pa.string())


def course_block_tables(
    rng: np.random.Generator, block: CourseBlock, model: CohortModel
) -> dict[str, pa.Table]:
    course, keys = block.course, block.patient_keys
    m, days = keys.size, np.array(course.session_days, dtype=np.int64)
    k = days.size
    course_keys = np.array([f"{key}-c1" for key in keys], dtype=object)

    # Doses: weight-based doses become mg through the patient's weight.
    option = rng.choice(len(course.dose_options), size=m, p=np.array(course.dose_weights))
    planned = np.array(course.dose_options)[option]
    weight_kg = normal(rng, model.population.weight_kg, m)
    dose_mg = np.round(planned * weight_kg, 1) if course.dose_per_kg else planned

    # Drop-out: a dropped patient attends 1..k-1 sessions and gives no later scores.
    dropped = rng.random(m) < course.dropout_share
    scheduled = np.where(dropped, rng.integers(1, k, size=m), k)
    in_course = np.arange(k)[None, :] < scheduled[:, None]
    shares = model.sessions
    draw = rng.random((m, k))
    status = np.where(
        draw < shares.no_show_share,
        NO_SHOW,
        np.where(draw < shares.no_show_share + shares.aborted_share, ABORTED, DISCHARGED),
    ).astype(object)
    status[:, 0] = DISCHARGED  # day 0 is by definition the first session given
    given = in_course & (status != NO_SHOW)

    courses = pa.table(
        {
            "course_key": _string_array(course_keys),
            "patient_key": _string_array(keys),
            "protocol_id": pa.array([course.protocol_id] * m, pa.string()),
            "route": pa.array([course.route.value] * m, pa.string()),
            "dose_mg_per_kg": pa.array(planned if course.dose_per_kg else [None] * m, pa.float64()),
            "dose_mg": pa.array([None] * m if course.dose_per_kg else planned, pa.float64()),
            "planned_sessions": pa.array(np.full(m, k), pa.int32()),
            "completed_sessions": pa.array(given.sum(axis=1), pa.int32()),
            "dropped_out": pa.array(dropped, pa.bool_()),
            "induction_end_day": pa.array(days[scheduled - 1], pa.int32()),
        }
    )

    # Sessions and their vital signs.
    row, col = np.nonzero(in_course)
    session_keys = np.array([f"{keys[r]}-s{c + 1:02d}" for r, c in zip(row, col, strict=True)])
    session_given = given[row, col]
    session_dose_mg = dose_mg[row]
    if course.first_session_dose is not None and not course.dose_per_kg:
        session_dose_mg = np.where(col == 0, course.first_session_dose, session_dose_mg)
    minutes = np.array(course.vitals_minutes, dtype=np.int64)
    n_sessions, n_readings = row.size, minutes.size
    vit = model.vitals
    peak_rise = normal(rng, course.systolic_rise_mmhg, n_sessions)
    # Rise over the session: none before dosing, the peak at the second reading (end of the
    # infusion or ~40 min after the spray), part of it left at the last.
    rise = np.zeros((n_sessions, n_readings))
    rise[:, minutes > 0] = peak_rise[:, None] * rng.random((n_sessions, int((minutes > 0).sum())))
    if n_readings > 1:
        rise[:, 1] = peak_rise
    base_sys, base_dia = blood_pressures(rng, vit.systolic_mmhg, vit.diastolic_mmhg, n_sessions)
    systolic = np.round(base_sys[:, None] + rise)
    diastolic = np.round(base_dia[:, None] + rise * vit.diastolic_rise_share_of_systolic)
    max_rise = (systolic - systolic[:, :1]).max(axis=1)
    bp_alert = session_given & (max_rise >= block.bp_rise_alert_mmhg)
    sessions = pa.table(
        {
            "session_key": pa.array(session_keys.tolist(), pa.string()),
            "course_key": _string_array(course_keys[row]),
            "patient_key": _string_array(keys[row]),
            "day": pa.array(days[col], pa.int32()),
            "status": _string_array(status[row, col]),
            "dose_mg": pa.array(np.where(session_given, session_dose_mg, 0.0), pa.float64()),
            "bp_alert": pa.array(bp_alert, pa.bool_()),
            "max_systolic_rise_mmhg": pa.array(max_rise, pa.float64(), mask=~session_given),
        }
    )
    sv = np.flatnonzero(session_given)
    shape = (sv.size, n_readings)
    vitals = pa.table(
        {
            "session_key": pa.array(np.repeat(session_keys[sv], n_readings).tolist(), pa.string()),
            "patient_key": _string_array(np.repeat(keys[row[sv]], n_readings)),
            "minute": pa.array(np.tile(minutes, sv.size), pa.int32()),
            "systolic_mmhg": pa.array(systolic[sv].ravel(), pa.float64()),
            "diastolic_mmhg": pa.array(diastolic[sv].ravel(), pa.float64()),
            "heart_rate_bpm": pa.array(np.round(normal(rng, vit.heart_rate_bpm, shape)).ravel()),
            "spo2_percent": pa.array(
                np.clip(np.round(normal(rng, vit.spo2_percent, shape)), 0, 100).ravel()
            ),
            "respiratory_rate_per_min": pa.array(
                np.round(normal(rng, vit.respiratory_rate_per_min, shape)).ravel()
            ),
        }
    )
    return {
        "courses": courses,
        "sessions": sessions,
        "scores": _scores(rng, block, days, scheduled, dropped, course_keys),
        "vitals": vitals,
        "adverse_events": _adverse_events(
            rng, model, course, session_keys[sv], keys[row[sv]], course_keys[row[sv]], days[col[sv]]
        ),
    }


def _scores(
    rng: np.random.Generator,
    block: CourseBlock,
    days: np.ndarray,
    scheduled: np.ndarray,
    dropped: np.ndarray,
    course_keys: np.ndarray,
) -> pa.Table:
    m, k = block.patient_keys.size, days.size
    # Calibrated to the planned schedule; drop-out only hides the later scores.
    traj = sample_trajectories(
        rng,
        induction_end_day=np.full(m, days[-1]),
        cutoffs=block.cutoffs,
        targets=block.course.targets,
        follow_up_days=FOLLOW_UP_DAYS,
    )
    session_days = np.ascontiguousarray(np.broadcast_to(days[1:], (m, k - 1)))
    end_day = traj.end_score_day
    follow_up = np.broadcast_to(traj.follow_up_day, (m, traj.follow_up_day.size))
    day = np.column_stack([np.zeros(m), np.ones(m), session_days, end_day, follow_up])
    total = np.column_stack(
        [
            traj.baseline_total,
            traj.total_24h,
            traj.totals_on(session_days),
            traj.total_end,
            traj.total_follow_up,
        ]
    )
    completed = ~dropped[:, None]
    valid = np.column_stack(
        [
            np.ones((m, 2), dtype=bool),
            np.arange(1, k)[None, :] < scheduled[:, None],
            completed,
            completed & (follow_up > end_day[:, None]),
        ]
    )
    r, c = np.nonzero(valid)
    return pa.table(
        {
            "patient_key": _string_array(block.patient_keys[r]),
            "course_key": _string_array(course_keys[r]),
            "instrument": pa.array([block.course.instrument] * r.size, pa.string()),
            "day": pa.array(day[r, c].astype(np.int64), pa.int32()),
            "total": pa.array(total[r, c].astype(np.float64), pa.float64()),
        }
    )


def _adverse_events(
    rng: np.random.Generator,
    model: CohortModel,
    course: ResolvedCourse,
    session_keys: np.ndarray,
    patient_keys: np.ndarray,
    course_keys: np.ndarray,
    session_days: np.ndarray,
) -> pa.Table:
    terms = list(course.adverse_event_per_session)
    p = np.array([course.adverse_event_per_session[t] for t in terms])
    hit = rng.random((session_keys.size, p.size)) < p[None, :]
    s, t = np.nonzero(hit)
    ae = model.adverse_events
    severities = list(ae.severity_weights)
    weights = np.array([ae.severity_weights[name] for name in severities])
    severity = np.array(severities, dtype=object)[
        rng.choice(len(severities), size=s.size, p=weights / weights.sum())
    ]
    return pa.table(
        {
            "patient_key": _string_array(patient_keys[s]),
            "course_key": _string_array(course_keys[s]),
            "session_key": pa.array(session_keys[s].tolist(), pa.string()),
            "day": pa.array(session_days[s], pa.int32()),
            "term": pa.array(np.array(terms, dtype=object)[t].tolist(), pa.string()),
            "serious": pa.array(rng.random(s.size) < ae.serious_share, pa.bool_()),
            "severity": _string_array(severity),
        }
    )
