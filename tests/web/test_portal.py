"""The patient portal: questionnaires due, answers kept on error, progress in plain words, crisis
resources and the clinician's same-day task on a positive suicide item, own record only."""

from __future__ import annotations

from datetime import timedelta

from clinic_pages_support import audit_actions
from fastapi.testclient import TestClient
from session_pages import STAFF, field_error, make_patient, post
from web_support import PATIENT_ID, Clock

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.services import measurement, patients, progress, safety, sessions
from ketaclinic.services.context import RequestContext
from ketaclinic.services.questionnaire_schedule import due_questionnaires
from ketaclinic.storage.database import SessionFactory


def _all(value: int, count: int = 9) -> dict[str, str]:
    return {f"q{i}": str(value) for i in range(1, count + 1)}


def test_phq9_is_due_then_filled_and_shown_in_plain_words(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    patient = signed_in["patient"]
    home = patient.get("/portal").text
    assert 'href="/portal/questionnaires/phq9"' in home
    assert 'href="/portal/questionnaires/gad7"' in home
    form = patient.get("/portal/questionnaires/phq9").text
    assert "Little interest or pleasure in doing things" in form
    answers = _all(1) | {"q9": "0"}  # total 8, item 9 negative
    saved = post(patient, "/portal/questionnaires/phq9", "/portal/questionnaires/phq9", answers)
    assert saved.status_code == 303
    home = patient.get(saved.headers["location"]).text
    assert "your answers were saved" in home
    assert 'href="/portal/questionnaires/phq9"' not in home  # answered this week
    assert "Your latest PHQ-9 score is 8 out of 27 (lower is better)" in home
    assert "mild depression" in home  # the PHQ-9 band 5-9
    chart = patient.get("/portal/progress/phq9.svg")
    assert chart.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in chart.content
    # Due again once the schedule's interval has passed since this answer.
    every = next(q.every_days for q in progress.portal_data().questionnaires if q.id == "phq9")
    with session_factory() as db:
        later = due_questionnaires(
            db, RequestContext(STAFF, clock.now + timedelta(days=every)), PATIENT_ID
        )
        sooner = due_questionnaires(
            db, RequestContext(STAFF, clock.now + timedelta(days=every - 1)), PATIENT_ID
        )
    assert "phq9" in [q.instrument_id for q in later]
    assert "phq9" not in [q.instrument_id for q in sooner]


def test_a_missing_answer_is_shown_beside_the_question_and_the_others_are_kept(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    patient = signed_in["patient"]
    answers = _all(2)
    del answers["q4"]
    response = post(patient, "/portal/questionnaires/phq9", "/portal/questionnaires/phq9", answers)
    assert response.status_code == 422
    assert field_error(response.text, "q4") == "Question 4: choose one answer."
    assert response.text.count("checked") == 8
    with session_factory() as db:
        assert measurement.score_trajectory(db, PATIENT_ID, "phq9") == []


def test_a_positive_suicide_item_shows_crisis_resources_and_creates_the_same_day_task(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    patient = signed_in["patient"]
    answers = _all(1) | {"q9": "1"}
    response = post(patient, "/portal/questionnaires/phq9", "/portal/questionnaires/phq9", answers)
    assert response.status_code == 200
    assert 'role="alert"' in response.text
    assert 'href="tel:988"' in response.text
    with session_factory() as db:
        tasks = safety.open_tasks(db, patient_id=PATIENT_ID)
    assert [t.kind for t in tasks] == ["suicide-risk-assessment"]
    assert tasks[0].due_at.date() == clock.now.date()


def test_progress_over_time_says_how_far_the_score_fell(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    with session_factory() as db:
        ctx = RequestContext(STAFF, clock.now)
        measurement.record_questionnaire_response(
            db, ctx, PATIENT_ID, "phq9", {f"q{i}": 2 for i in range(1, 10)},
            administered_at=clock.now - timedelta(weeks=4),
        )  # fmt: skip
        db.commit()
    patient = signed_in["patient"]
    answers = _all(1) | {"q9": "0"}
    post(patient, "/portal/questionnaires/phq9", "/portal/questionnaires/phq9", answers)
    home = patient.get("/portal").text
    # 18 four weeks ago, 8 now: 10 points lower, more than half: a response.
    assert "When you started it was 18: now 10 points lower than that." in home
    assert "Your scores have reached that fall at least once." in home


def test_only_patients_reach_the_portal_and_only_their_own_record(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    for role in ("prescriber", "nurse", "researcher", "administrator"):
        assert signed_in[role].get("/portal").status_code == 403
    patient = signed_in["patient"]
    # Clinician-rated scales are not offered, and no route takes another patient's id.
    assert patient.get("/portal/questionnaires/madrs").status_code == 404
    assert all("{patient_id}" not in getattr(r, "path", "") for r in patient.app.routes
               if getattr(r, "path", "").startswith("/portal"))  # type: ignore[attr-defined]  # fmt: skip


def test_upcoming_sessions_are_listed_and_past_ones_are_not(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    with session_factory() as db:
        ctx = RequestContext(STAFF, clock.now)
        for days in (-2, 3):
            sessions.schedule_session(
                db, ctx, PATIENT_ID, ProtocolKind.IV_RACEMIC,
                clock.now + timedelta(days=days, hours=1),
            )  # fmt: skip
        db.commit()
    home = signed_in["patient"].get("/portal").text
    coming = (clock.now + timedelta(days=3)).strftime("%A %d %B %Y")
    past = (clock.now - timedelta(days=2)).strftime("%A %d %B %Y")
    assert coming in home
    assert past not in home
    assert "Treatment session at 10:00" in home
    assert "Times are clinic time (UTC)" in home


def test_a_form_the_plan_calls_for_is_offered_with_the_reason_and_its_read_is_audited(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    patient = signed_in["patient"]
    assert patient.get("/portal/questionnaires/pcl5").status_code == 404
    with session_factory() as db:
        patients.add_diagnosis(
            db, RequestContext(STAFF, clock.now), PATIENT_ID, {"condition": "ptsd"}
        )
        db.commit()
    home = patient.get("/portal").text
    assert 'href="/portal/questionnaires/pcl5"' in home
    assert "your care team recorded" in home
    form = patient.get("/portal/questionnaires/pcl5").text
    assert "Repeated, disturbing, and unwanted memories" in form
    saved = post(patient, "/portal/questionnaires/pcl5", "/portal/questionnaires/pcl5",
                 _all(1, 20))  # fmt: skip
    assert saved.status_code == 303
    due = patient.get("/api/v1/portal/questionnaires-due").json()
    assert "pcl5" not in [d["instrument_id"] for d in due]
    assert {d["instrument_id"] for d in due} >= {"phq9", "gad7"}
    assert all(d["reason"] and d["every_days"] > 0 for d in due)
    reads = audit_actions(session_factory, PATIENT_ID)
    assert reads.count("questionnaires.due.read.portal") == 2  # the page and the API call
