"""Adverse events: validation, the legal seriousness criteria, and tasks for a serious event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ketaclinic.clinical.policy import default_policy
from ketaclinic.clinical.safety.adverse_events import (
    preferred_terms,
    record_adverse_event,
    seriousness_criteria,
)
from ketaclinic.clinical.safety.tasks import TaskKind
from ketaclinic.errors import InvalidInput

ONSET = datetime(2026, 3, 2, 9, 50, tzinfo=UTC)


def _event(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": "AE-1",
        "patient_id": "P-1",
        "session_id": "S-1",
        "verbatim_term": "felt sick, threw up once",
        "term_id": "vomiting",
        "onset_at": ONSET,
        "resolved_at": ONSET + timedelta(minutes=30),
        "severity": "mild",
        "relatedness": "probable",
        "action_taken": "dose-not-changed",
        "outcome": "recovered",
        "recorded_by": "Nora Quinn, RN",
        "recorded_at": ONSET + timedelta(minutes=40),
    }
    values.update(changes)
    return values


def test_curated_terms_and_criteria() -> None:
    wanted = {
        "dissociation",
        "sedation",
        "blood-pressure-increased",
        "nausea",
        "vomiting",
        "dizziness",
        "headache",
        "blurred-vision",
        "anxiety",
        "respiratory-depression",
        "urinary-symptoms",
        "cystitis",
        "psychotic-symptoms",
        "other",
    }
    assert set(preferred_terms()) == wanted
    # MedDRA PT strings are not checked against the licensed browser: all marked unverified.
    assert not any(t.source.verified for t in preferred_terms().values())
    assert set(seriousness_criteria()) == {
        "death",
        "life-threatening",
        "hospitalisation",
        "disability",
        "congenital-anomaly",
        "important-medical-event",
    }
    assert all("355-1" in c.source.citation for c in seriousness_criteria().values())


def test_non_serious_event_makes_no_task() -> None:
    event, tasks, flags = record_adverse_event(
        _event(), default_policy("iv-racemic"), responsible_clinician="Dr O"
    )
    assert not event.is_serious
    assert tasks == []
    assert flags == []
    assert event.preferred_term.meddra_pt == "Vomiting"


def test_serious_event_creates_review_and_report_tasks() -> None:
    data = _event(
        term_id="respiratory-depression",
        verbatim_term="stopped breathing briefly, needed jaw thrust",
        seriousness=("life-threatening",),
        severity="severe",
        action_taken="dosing-stopped",
    )
    event, tasks, flags = record_adverse_event(
        data, default_policy("intranasal-esketamine"), responsible_clinician="Dr O"
    )
    assert event.is_serious
    by_kind = {t.kind: t for t in tasks}
    review = by_kind[TaskKind.SERIOUS_AE_MEDICAL_REVIEW]
    assert review.due_at == datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)  # same day
    report = by_kind[TaskKind.SERIOUS_AE_REPORT]
    # REMS form window: 7 days from recording (10:30 on 2 March -> 10:30 on 9 March).
    assert report.due_at == datetime(2026, 3, 9, 10, 30, tzinfo=UTC)
    assert "REMS" in report.reason
    assert "MedWatch" in report.reason
    assert report.assignee == "Dr O"
    assert flags[0].severity == "critical"


def test_racemic_serious_event_reports_to_medwatch_only() -> None:
    _, tasks, _ = record_adverse_event(
        _event(seriousness=("hospitalisation",), outcome="recovering", resolved_at=None),
        default_policy("iv-racemic"),
        responsible_clinician=None,
    )
    report = next(t for t in tasks if t.kind is TaskKind.SERIOUS_AE_REPORT)
    assert "MedWatch" in report.reason
    assert "REMS" not in report.reason


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"term_id": "hiccups"}, "term_id"),
        ({"seriousness": ("scary",)}, "seriousness"),
        ({"resolved_at": ONSET - timedelta(minutes=1)}, "resolved_at"),
        ({"outcome": "fatal"}, "death"),
        ({"outcome": "recovered", "resolved_at": None}, "resolved_at"),
        ({"severity": "catastrophic"}, "severity"),
        ({"verbatim_term": ""}, "verbatim_term"),
    ],
)
def test_bad_events_are_refused_naming_the_field(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        record_adverse_event(
            _event(**changes), default_policy("iv-racemic"), responsible_clinician=None
        )
