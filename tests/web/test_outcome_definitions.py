"""Outcome definitions on the clinic policy page: listed with their sources; an administrator
chooses MADRS remission <= 12 with a reason (recorded, audited) and the chart judges by it; the
JSON twin reads and changes the same. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clinic_pages_support import DOCTOR, build
from fastapi.testclient import TestClient
from session_pages import field_error, post
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import Clock, csrf_from

from ketaclinic.clinical.outcome_policy import outcome_settings
from ketaclinic.services import measurement, outcome_policy
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.access import AuditEvent
from support.factories import make_patient

URL = "/admin/policy"
# MADRS with item 10 at 0: totals 30 and 12 (sums by hand).
MADRS_30 = [4, 4, 4, 4, 4, 4, 3, 3, 0, 0]
MADRS_12 = [2, 2, 2, 2, 2, 2, 0, 0, 0, 0]


@pytest.fixture
def madrs_patient(session_factory: SessionFactory, clock: Clock) -> str:
    start = clock.now - timedelta(days=30)

    def work(db: Session, ctx: RequestContext) -> str:
        pid = make_patient(db, ctx, conditions=("mdd", "trd"), failed_trials=2)
        for days, answers in ((1, MADRS_30), (29, MADRS_12)):
            measurement.record_questionnaire_response(
                db, ctx, pid, "madrs", answers, administered_at=start + timedelta(days=days)
            )
        return pid

    return str(build(session_factory, DOCTOR, clock.now - timedelta(hours=1), work))


def test_definitions_are_listed_with_sources_and_only_administrators_change_them(
    signed_in: dict[str, TestClient],
) -> None:
    page = signed_in["nurse"].get(URL).text
    for setting in outcome_settings():
        assert f'id="o-{setting.id}"' in page
    assert "Outcome definitions in force" in page
    assert "Change an outcome definition" not in page
    admin_page = signed_in["administrator"].get(URL).text
    assert 'value="remission.madrs=le12"' in admin_page
    assert signed_in["researcher"].get(URL).status_code == 403


def test_choosing_madrs_le12_changes_the_chart_and_is_recorded(
    signed_in: dict[str, TestClient], madrs_patient: str, session_factory: SessionFactory
) -> None:
    chart = f"/patients/{madrs_patient}/chart"
    before = signed_in["prescriber"].get(chart).text
    assert "Remission: total &lt;= 10" in before
    assert "not in remission" in before  # 12 is above MADRS <= 10
    admin = signed_in["administrator"]
    choice = {"outcome_choice": "remission.madrs=le12", "outcome_reason": "Esketamine programme"}
    response = post(admin, URL, f"{URL}/outcomes", choice)
    assert response.status_code == 303
    after = signed_in["prescriber"].get(chart).text
    assert "Remission: total &lt;= 12" in after
    assert "latest 12, baseline 30, response reached, in remission." in after
    with session_factory() as db:
        history = outcome_policy.outcome_choice_history(db)
        audited = db.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "policy.outcome.change")
        ).all()
    assert [(c.setting_id, c.previous_choice, c.choice, c.changed_by) for c in history] == [
        ("remission.madrs", "le10", "le12", history[0].changed_by)
    ]
    assert history[0].changed_by  # the administrator's name
    assert len(audited) == 1
    page = admin.get(response.headers["location"]).text
    assert "Esketamine programme" in page
    assert "changed by the clinic" in page


def test_refusals_are_shown_beside_the_field_with_the_input_kept(
    signed_in: dict[str, TestClient],
) -> None:
    admin = signed_in["administrator"]
    short = post(
        admin,
        URL,
        f"{URL}/outcomes",
        {"outcome_choice": "remission.madrs=le12", "outcome_reason": "no"},
    )
    assert short.status_code == 422
    assert "at least a few words" in field_error(short.text, "outcome_reason")
    assert 'value="remission.madrs=le12" selected' in short.text
    uncited_choice = {"outcome_choice": "remission.madrs=le15", "outcome_reason": "Try fifteen"}
    uncited = post(admin, URL, f"{URL}/outcomes", uncited_choice)
    assert uncited.status_code == 422
    assert "le10, le12" in field_error(uncited.text, "outcome_choice")
    assert "Try fifteen" in uncited.text


def test_the_json_twin_reads_and_changes_the_same_definitions(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    listed = signed_in["nurse"].get("/api/v1/outcome-definitions").json()["definitions"]
    madrs = next(d for d in listed if d["setting_id"] == "remission.madrs")
    assert (madrs["in_force"], madrs["default"]) == ("le10", "le10")
    assert [c["id"] for c in madrs["choices"]] == ["le10", "le12"]
    admin = signed_in["administrator"]
    headers = {"X-CSRF-Token": csrf_from(admin.get("/").text)}
    body = {"setting_id": "relapse.madrs", "choice": "loss-of-response", "reason": "Audit 2026"}
    changed = admin.post("/api/v1/outcome-definitions", json=body, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["previous_choice"] == "sustain1-madrs22"
    refused = admin.post(
        "/api/v1/outcome-definitions", json=body | {"choice": "made-up"}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "relapse.madrs"
    nurse = signed_in["nurse"]
    nurse_headers = {"X-CSRF-Token": csrf_from(nurse.get("/").text)}
    assert (
        nurse.post("/api/v1/outcome-definitions", json=body, headers=nurse_headers).status_code
        == 403
    )
    with session_factory() as db:
        assert outcome_policy.clinic_outcome_policy(db).relapse == {"madrs": "loss-of-response"}
