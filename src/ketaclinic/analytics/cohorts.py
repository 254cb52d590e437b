"""The cohort questions a medical director and a researcher ask first, with 95% intervals.

Written once with Ibis; the same code runs on DuckDB and on Spark. Each question is one query
whose small result comes back as a pandas frame; intervals are added in Python (Wilson).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from ketaclinic.analytics.course_outcomes import (
    assessments,
    durability_inputs,
    rules_for,
    timepoint_outcomes,
)
from ketaclinic.analytics.dataset import Dataset
from ketaclinic.analytics.durability import KaplanMeier, kaplan_meier_by
from ketaclinic.analytics.instruments import PRIMARY_DEPRESSION, mark_primary_scale
from ketaclinic.analytics.stats import wilson_arrays
from ketaclinic.clinical.outcomes import OutcomePolicy, OutcomeRules, outcome_defaults

# Age bands of ten years; 90 stands for 90 or over in the research dataset (Safe Harbor).
AGE_BANDS = ((18, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 79), (80, 89))
DIMENSIONS = ("all", "protocol", "route", "dose", "indication", "age_band", "sex", "site")


@dataclass(frozen=True)
class CohortResults:
    engine: str
    patients: int
    courses: int
    # dimension, value, timepoint, instrument, n, responders, remitters, worsened + rates and CIs;
    # instrument PRIMARY_DEPRESSION: each course once, on its primary depression scale.
    outcomes: pd.DataFrame
    # "all", "protocol=...", "route=..." on each course's primary depression scale;
    # "instrument=..." per scale.
    durability: dict[str, KaplanMeier]
    # route, term, serious, events, sessions_with, patients_with, patients_with_term (any
    # seriousness), sessions, patients + per-session and per-patient rates with CIs
    adverse_events: pd.DataFrame
    bp_alerts: pd.DataFrame  # protocol_id, sessions, alert_sessions, patients, alert_patients
    dropout: pd.DataFrame  # protocol_id, courses, dropped_out
    notes: list[str] = field(default_factory=list)


def with_wilson(frame: pd.DataFrame, events: str, n: str, prefix: str) -> pd.DataFrame:
    """Add ``<prefix>``, ``<prefix>_low`` and ``<prefix>_high`` columns (Wilson 95%)."""
    counts = frame[events].to_numpy(float)
    totals = frame[n].to_numpy(float)
    low, high = wilson_arrays(counts, totals)
    out = frame.copy()
    out[prefix] = counts / totals
    out[f"{prefix}_low"] = low
    out[f"{prefix}_high"] = high
    return out


def _age_band(age: ir.IntegerValue) -> ir.StringValue:
    cases = [((age >= low) & (age <= high), f"{low}-{high}") for low, high in AGE_BANDS]
    return ibis.cases(*cases, else_="90+")


def _dose_label(courses: ir.Table) -> ir.StringValue:
    per_kg = courses.dose_mg_per_kg.round(2).cast("string").concat(" mg/kg")
    fixed = courses.dose_mg.round(0).cast("int64").cast("string").concat(" mg")
    return ibis.ifelse(courses.dose_mg_per_kg.notnull(), per_kg, fixed.fill_null("unknown"))


def _strata(ds: Dataset) -> ir.Table:
    courses = ds.courses.mutate(dose=_dose_label(ds.courses))
    patients = ds.patients.mutate(age_band=_age_band(ds.patients.age_years))
    joined = courses.join(patients, "patient_key")
    return joined.select(
        "course_key",
        protocol=joined.protocol_id,
        route=joined.route,
        dose=joined.dose,
        indication=joined.primary_indication,
        age_band=joined.age_band,
        sex=joined.sex,
        site=joined.site_id,
    )


def _outcomes_by_dimension(timepoints: ir.Table, strata: ir.Table) -> pd.DataFrame:
    # One query at the finest grain (a few thousand rows even for a large network), rolled up
    # per dimension in pandas: one pass over the data on any engine instead of one per dimension.
    # Each instrument's rows, plus those on a course's primary depression scale once more under
    # the pooled label: both from the same aggregate.
    rows = timepoints.join(strata, "course_key")
    subgroups = [d for d in DIMENSIONS if d != "all"]
    grouped = rows.mutate(**{d: rows[d].cast("string").fill_null("unknown") for d in subgroups})
    finest = (
        grouped.group_by(["timepoint", "instrument", "on_primary_scale", *subgroups])
        .aggregate(
            n=lambda t: t.count(),
            responders=lambda t: t.response.cast("int64").sum(),
            remitters=lambda t: t.remission.cast("int64").sum(),
            worsened=lambda t: t.worsened.cast("int64").sum(),
        )
        .to_pandas()
    )
    counts = ["n", "responders", "remitters", "worsened"]
    finest[counts] = finest[counts].fillna(0).astype("int64")
    primary = finest[finest.on_primary_scale.astype(bool)].assign(instrument=PRIMARY_DEPRESSION)
    finest = pd.concat([finest, primary], ignore_index=True).drop(columns="on_primary_scale")
    parts = []
    for dimension in DIMENSIONS:
        by = (
            ["timepoint", "instrument"]
            if dimension == "all"
            else ["timepoint", "instrument", dimension]
        )
        part = finest.groupby(by, as_index=False)[counts].sum()
        part["value"] = "all" if dimension == "all" else part.pop(dimension)
        part["dimension"] = dimension
        parts.append(part)
    columns = ["timepoint", "instrument", "value", *counts, "dimension"]
    frame = pd.concat([p[columns] for p in parts], ignore_index=True)
    frame = frame.sort_values(["dimension", "value", "instrument", "timepoint"]).reset_index(
        drop=True
    )
    frame = with_wilson(frame, "responders", "n", "response")
    frame = with_wilson(frame, "remitters", "n", "remission")
    return with_wilson(frame, "worsened", "n", "worsening")


def _adverse_events(ds: Dataset) -> pd.DataFrame:
    given = ds.sessions.filter(ds.sessions.status != "no-show")
    routes = ds.courses.select("course_key", "route")
    given = given.join(routes, "course_key")
    denominators = (
        given.group_by("route")
        .aggregate(sessions=lambda t: t.count(), patients=lambda t: t.patient_key.nunique())
        .to_pandas()
    )
    events = ds.adverse_events.join(routes, "course_key")
    counts = (
        events.group_by(["route", "term", "serious"])
        .aggregate(
            events=lambda t: t.count(),
            sessions_with=lambda t: t.session_key.nunique(),
            patients_with=lambda t: t.patient_key.nunique(),
        )
        .to_pandas()
    )
    # Patients with the term at any seriousness: one who had it both serious and not is one.
    any_seriousness = (
        events.group_by(["route", "term"])
        .aggregate(patients_with_term=lambda t: t.patient_key.nunique())
        .to_pandas()
    )
    frame = counts.merge(any_seriousness, on=["route", "term"], how="left")
    frame = frame.merge(denominators, on="route", how="left")
    frame = frame.sort_values(["route", "term", "serious"]).reset_index(drop=True)
    frame = with_wilson(frame, "sessions_with", "sessions", "per_session")
    return with_wilson(frame, "patients_with", "patients", "per_patient")


def _bp_alerts(ds: Dataset) -> pd.DataFrame:
    given = ds.sessions.filter(ds.sessions.status != "no-show")
    joined = given.join(ds.courses.select("course_key", "protocol_id", "route"), "course_key")
    per_patient = joined.group_by(["protocol_id", "route", "patient_key"]).aggregate(
        any_alert=lambda t: t.bp_alert.cast("int64").max()
    )
    sessions = (
        joined.group_by(["protocol_id", "route"])
        .aggregate(
            sessions=lambda t: t.count(), alert_sessions=lambda t: t.bp_alert.cast("int64").sum()
        )
        .to_pandas()
    )
    patients = (
        per_patient.group_by(["protocol_id", "route"])
        .aggregate(patients=lambda t: t.count(), alert_patients=lambda t: t.any_alert.sum())
        .to_pandas()
    )
    frame = sessions.merge(patients, on=["protocol_id", "route"]).sort_values("protocol_id")
    frame = with_wilson(frame.reset_index(drop=True), "alert_sessions", "sessions", "per_session")
    return with_wilson(frame, "alert_patients", "patients", "per_patient")


def _dropout(ds: Dataset) -> pd.DataFrame:
    frame = (
        ds.courses.group_by(["protocol_id", "route"])
        .aggregate(
            courses=lambda t: t.count(), dropped_out=lambda t: t.dropped_out.cast("int64").sum()
        )
        .to_pandas()
        .sort_values("protocol_id")
        .reset_index(drop=True)
    )
    return with_wilson(frame, "dropped_out", "courses", "dropout")


def _durability(
    post: ir.Table,
    rules: dict[str, OutcomeRules],
    strata: ir.Table,
    policy: OutcomePolicy | None = None,
) -> dict[str, KaplanMeier]:
    """Curves for everyone, by protocol and by route on each course's primary depression scale
    (one row per course), and one curve per instrument ("instrument=phq9"), never pooled."""
    durations = mark_primary_scale(durability_inputs(post, rules, policy), post).join(
        strata.select("course_key", "protocol", "route"), "course_key"
    )
    durations = durations.mutate(
        duration_days=durations.relapse_day.fill_null(durations.last_day)
        - durations.first_response_day,
        relapsed=durations.relapse_day.notnull(),
    )
    by = ["instrument", "on_primary_scale", "protocol", "route", "duration_days", "relapsed"]
    counted = durations.group_by(by).aggregate(courses=lambda t: t.count()).to_pandas()
    primary = counted[counted.on_primary_scale.astype(bool)]
    pooled = kaplan_meier_by(primary, ["all", "protocol", "route"])
    return pooled | kaplan_meier_by(counted, ["instrument"])


def analyse_cohort(ds: Dataset, policy: OutcomePolicy | None = None) -> CohortResults:
    """Run every cohort question on ``ds`` (DuckDB or Spark) and return small result frames.

    ``policy``: the clinic's outcome definitions (``services.outcome_policy``), so remission,
    relapse and worsening mean what they mean on the clinic's charts; the data file's defaults
    when None."""
    instruments = ds.scores.select("instrument").distinct().to_pandas()["instrument"].tolist()
    rules = rules_for(instruments)
    policy_rise = policy.worsening_min_rise_points if policy else None
    min_rise = outcome_defaults().worsening_min_rise_points if policy_rise is None else policy_rise
    post = assessments(ds.scores, rules, policy).cache()
    # Per instrument (a course counts once per scale it was scored on), and once per course on
    # its primary depression scale, under its own instrument label.
    timepoints = mark_primary_scale(timepoint_outcomes(post, ds.courses, min_rise), post)
    strata = _strata(ds)
    outcomes = _outcomes_by_dimension(timepoints, strata)
    durability = _durability(post, rules, strata, policy)
    notes = []
    skipped = sorted(set(instruments) - set(rules))
    if skipped:
        notes.append(f"No outcome rules for {', '.join(skipped)}; their scores were not judged.")
    dropout = _dropout(ds)
    return CohortResults(
        engine=ds.engine,
        patients=int(ds.patients.count().to_pandas()),
        courses=int(dropout.courses.sum()),
        outcomes=outcomes,
        durability=durability,
        adverse_events=_adverse_events(ds),
        bp_alerts=_bp_alerts(ds),
        dropout=dropout,
        notes=notes,
    )
