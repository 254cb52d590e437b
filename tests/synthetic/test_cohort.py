"""The synthetic network streamer: the research-dataset contract, determinism, calibration."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ketaclinic.clinical.outcomes import ScorePoint, assess_course, outcome_rules
from ketaclinic.clinical.policy import ProtocolKind, default_policy
from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.errors import InvalidInput
from ketaclinic.synthetic.cohort import TABLES, stream_cohort
from ketaclinic.synthetic.cohort_model import Normal, blood_pressures, resolve_courses
from ketaclinic.synthetic.trajectories import cutoffs_for

# docs/research-dataset.md, column by column.
CONTRACT = {
    "patients": {
        "patient_key": pa.string(),
        "site_id": pa.string(),
        "sex": pa.string(),
        "age_years": pa.int32(),
        "primary_indication": pa.string(),
        "adequate_failed_trials": pa.int32(),
    },
    "courses": {
        "course_key": pa.string(),
        "patient_key": pa.string(),
        "protocol_id": pa.string(),
        "route": pa.string(),
        "dose_mg_per_kg": pa.float64(),
        "dose_mg": pa.float64(),
        "planned_sessions": pa.int32(),
        "completed_sessions": pa.int32(),
        "dropped_out": pa.bool_(),
        "induction_end_day": pa.int32(),
    },
    "sessions": {
        "session_key": pa.string(),
        "course_key": pa.string(),
        "patient_key": pa.string(),
        "day": pa.int32(),
        "status": pa.string(),
        "dose_mg": pa.float64(),
        "bp_alert": pa.bool_(),
        "max_systolic_rise_mmhg": pa.float64(),
    },
    "scores": {
        "patient_key": pa.string(),
        "course_key": pa.string(),
        "instrument": pa.string(),
        "day": pa.int32(),
        "total": pa.float64(),
    },
    "vitals": {
        "session_key": pa.string(),
        "patient_key": pa.string(),
        "minute": pa.int32(),
        "systolic_mmhg": pa.float64(),
        "diastolic_mmhg": pa.float64(),
        "heart_rate_bpm": pa.float64(),
        "spo2_percent": pa.float64(),
        "respiratory_rate_per_min": pa.float64(),
    },
    "adverse_events": {
        "patient_key": pa.string(),
        "course_key": pa.string(),
        "session_key": pa.string(),
        "day": pa.int32(),
        "term": pa.string(),
        "serious": pa.bool_(),
        "severity": pa.string(),
    },
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    stream_cohort(out, patients=6_000, seed=5, sites=4, part_patients=5_000, show_progress=False)
    return out


def _read(folder: Path, table: str) -> pa.Table:
    return pq.read_table(folder / table)


def test_tables_follow_the_contract(cohort: Path) -> None:
    for table, columns in CONTRACT.items():
        schema = _read(cohort, table).schema
        assert {f.name: f.type for f in schema} == columns
    assert len(list((cohort / "patients").glob("part-*.parquet"))) == 2


def test_keys_resolve_and_values_are_in_range(cohort: Path) -> None:
    con = duckdb.connect()
    for table in TABLES:
        con.register(table, _read(cohort, table))
    orphans = con.execute(
        "select count(*) from scores s left join courses c using (course_key) "
        "where c.course_key is null"
    ).fetchone()
    assert orphans == (0,)
    assert con.execute(
        "select count(*) from vitals v anti join sessions s using (session_key)"
    ).fetchone() == (0,)
    assert con.execute("select min(age_years), max(age_years) from patients").fetchone()[0] >= 18
    assert set(con.execute("select distinct sex from patients").fetchnumpy()["sex"]) == {"F", "M"}
    # Scores stay inside each instrument's range.
    for instrument, low, high in con.execute(
        "select instrument, min(total), max(total) from scores group by all"
    ).fetchall():
        assert low >= 0
        assert high <= cutoffs_for(instrument).max_total
    # Esketamine is only given for its labelled indication (TRD).
    assert con.execute(
        "select count(*) from courses join patients using (patient_key) "
        "where protocol_id = 'esketamine-trd' and primary_indication <> 'trd'"
    ).fetchone() == (0,)
    # Esketamine's label fixes the first dose; later sessions use the label's allowed doses.
    first_doses = con.execute(
        "select distinct s.dose_mg from sessions s join courses c using (course_key) "
        "where c.protocol_id = 'esketamine-trd' and s.day = 0"
    ).fetchall()
    assert first_doses == [(get_protocol("esketamine-trd").dose.first_session,)]
    # About thirty score and vital observations per patient (the benchmark's premise).
    per_patient = (_read(cohort, "scores").num_rows + _read(cohort, "vitals").num_rows) / 6_000
    assert 25 <= per_patient <= 40


def test_bp_alert_matches_the_policy_threshold(cohort: Path) -> None:
    sessions = _read(cohort, "sessions").to_pandas()
    courses = _read(cohort, "courses").to_pandas()[["course_key", "route"]]
    merged = sessions.merge(courses, on="course_key")
    threshold = {
        "iv": default_policy(ProtocolKind.IV_RACEMIC).number("bp_rise_systolic_mmhg"),
        "intranasal": default_policy(ProtocolKind.INTRANASAL_ESKETAMINE).number(
            "bp_rise_systolic_mmhg"
        ),
    }
    given = merged[merged.status != "no-show"]
    expected = given.max_systolic_rise_mmhg >= given.route.map(threshold)
    assert (given.bp_alert == expected).all()
    assert not merged[merged.status == "no-show"].bp_alert.any()


def test_same_seed_same_data_whatever_the_part_size(tmp_path: Path) -> None:
    small = stream_cohort(
        tmp_path / "a", patients=7_000, seed=9, part_patients=5_000, show_progress=False
    )
    large = stream_cohort(
        tmp_path / "b", patients=7_000, seed=9, part_patients=50_000, show_progress=False
    )
    assert small.rows == large.rows
    for table in TABLES:
        assert _read(tmp_path / "a", table).equals(_read(tmp_path / "b", table))
    stream_cohort(tmp_path / "c", patients=7_000, seed=10, show_progress=False)
    assert not _read(tmp_path / "c", "scores").equals(_read(tmp_path / "a", "scores"))


def test_end_of_induction_rates_follow_the_targets(cohort: Path) -> None:
    """Judged by the per-patient outcome engine, completers land on each profile's targets."""
    scores = _read(cohort, "scores").to_pandas()
    courses = _read(cohort, "courses").to_pandas().set_index("course_key")
    for course in resolve_courses():
        members = courses[(courses.protocol_id == course.protocol_id) & ~courses.dropped_out]
        end_day = members.induction_end_day + 1
        chosen = scores[scores.course_key.isin(members.index)]
        responded = remitted = 0
        for key, rows in chosen.groupby("course_key"):
            rows = rows[(rows.day == 0) | (rows.day == end_day[key])]
            outcome = assess_course(
                course.instrument,
                [ScorePoint(d, t) for d, t in zip(rows.day, rows.total, strict=True)],
                policy=course.targets.outcome_policy,  # the calibration figures' definitions
            )
            responded += outcome.responded
            remitted += outcome.remitted
        n = len(members)
        for observed, expected in (
            (responded / n, course.targets.end_of_induction.response),
            (remitted / n, course.targets.end_of_induction.remission),
        ):
            # Five binomial standard errors.
            assert abs(observed - expected) <= 5 * np.sqrt(expected * (1 - expected) / n)
    assert outcome_rules("phq9").response.type == "percent_reduction"


def test_bad_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="patients"):
        stream_cohort(tmp_path, patients=0, show_progress=False)
    with pytest.raises(InvalidInput, match="sites"):
        stream_cohort(tmp_path, patients=10, sites=0, show_progress=False)


def test_drawn_blood_pressures_keep_the_systolic_above_the_diastolic() -> None:
    # Wide, overlapping distributions so that independent draws often cross: every kept pair
    # must still be a possible blood pressure, and the marginals must not collapse.
    systolic, diastolic = Normal(mean=100, sd=20), Normal(mean=90, sd=20)
    sys_mmhg, dia_mmhg = blood_pressures(np.random.default_rng(7), systolic, diastolic, 20_000)
    assert (np.round(sys_mmhg) > np.round(dia_mmhg)).all()
    assert sys_mmhg.std() > 10
    assert dia_mmhg.std() > 10
