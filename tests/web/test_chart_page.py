"""The chart page: summary, score trajectory with its response and remission lines, vitals
flowsheet, audit of the read, and who may not open it. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from clinic_pages_support import DOCTOR, audit_actions, build
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from web_support import Clock

from ketaclinic.services import measurement, patients
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory
from support.factories import make_patient

# PHQ-9 answers with item 9 at 0: totals 20, 9 and 4 (sums by hand).
PHQ9_20 = [3, 3, 3, 3, 2, 2, 2, 2, 0]
PHQ9_9 = [2, 1, 1, 1, 1, 1, 1, 1, 0]
PHQ9_4 = [1, 1, 1, 1, 0, 0, 0, 0, 0]


@pytest.fixture
def charted_patient(session_factory: SessionFactory, clock: Clock) -> str:
    start = clock.now - timedelta(days=20)

    def work(db: Session, ctx: RequestContext) -> str:
        pid = make_patient(db, ctx, conditions=("mdd", "trd"), failed_trials=2)
        for days, answers in ((1, PHQ9_20), (10, PHQ9_9), (19, PHQ9_4)):
            measurement.record_questionnaire_response(
                db, ctx, pid, "phq9", answers, administered_at=start + timedelta(days=days)
            )
        vitals = {"systolic_mmhg": 142, "diastolic_mmhg": 88, "heart_rate_bpm": 77}
        patients.record_vitals(db, ctx, pid, vitals, start + timedelta(days=19))
        return pid

    return str(build(session_factory, DOCTOR, clock.now - timedelta(hours=1), work))


def test_the_chart_draws_the_phq9_course_against_its_response_and_remission_lines(
    signed_in: dict[str, TestClient], charted_patient: str, session_factory: SessionFactory
) -> None:
    response = signed_in["nurse"].get(f"/patients/{charted_patient}/chart")
    assert response.status_code == 200
    page = response.text
    # Baseline 20 (the first score, no plan yet); response = 50% below baseline = 10.
    assert "Response: 50% below baseline (10)" in page
    assert "Remission: total &lt; 5" in page
    assert "3 scores from" in page
    assert "latest 4, baseline 20, response reached, in remission." in page
    images = re.findall(r'<img class="plot" src="([^"]+)"', page)
    assert images == [
        f"/patients/{charted_patient}/chart/scores/phq9.png",
        f"/patients/{charted_patient}/chart/vitals.png",
    ]
    assert "<td>142</td><td>88</td><td>77</td>" in page
    assert "Failed adequate antidepressant trials (TRD count)</dt><dd>2 of 2 recorded" in page
    assert "No plan yet." in page
    actions = audit_actions(session_factory, charted_patient)
    assert actions[-2:] == ["patient.read", "chart.read"]
    for image in images:
        plot = signed_in["nurse"].get(image)
        assert plot.status_code == 200
        assert plot.headers["content-type"] == "image/png"
        assert plot.content.startswith(b"\x89PNG")
        assert signed_in["researcher"].get(image).status_code == 403
    assert audit_actions(session_factory, charted_patient)[-2:] == ["chart.plot.read"] * 2
    missing = signed_in["nurse"].get(f"/patients/{charted_patient}/chart/scores/madrs.png")
    assert missing.status_code == 404


@pytest.mark.parametrize("role", ["researcher", "patient", "administrator"])
def test_no_identified_chart_for_a_researcher_a_patient_or_an_administrator(
    role: str, signed_in: dict[str, TestClient], charted_patient: str,
    session_factory: SessionFactory,
) -> None:  # fmt: skip
    before = audit_actions(session_factory, charted_patient)
    response = signed_in[role].get(f"/patients/{charted_patient}/chart")
    assert response.status_code == 403
    assert "Alex" not in response.text
    assert "Morgan" not in response.text
    # Nothing of the patient's was read, and the refusal itself is on the trail.
    assert audit_actions(session_factory, charted_patient) == before
    assert audit_actions(session_factory)[-1] == "access.denied"


def test_an_unknown_patient_is_a_plain_not_found(signed_in: dict[str, TestClient]) -> None:
    response = signed_in["prescriber"].get("/patients/00000000-0000-4000-8000-00000000beef/chart")
    assert response.status_code == 404
    assert "No patient with id" in response.text
