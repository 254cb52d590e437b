"""Plan pages through the app: a prescriber plans from a screening, reviews dose, schedule and
curve, and signs; a nurse reads but cannot sign. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from clinic_pages_support import DOCTOR, audit_actions, build, post_form
from fastapi.testclient import TestClient
from web_support import Clock

from ketaclinic.storage.database import SessionFactory
from services.screened_patients import make_known_patient

ALL_CLEAR = {"urinary_symptoms": "no", "sleep_apnoea_risk": "low", "hepatic_impairment": "none"}


@pytest.fixture
def known_patient(session_factory: SessionFactory, clock: Clock) -> str:
    """A 44-year-old man, 80 kg, MDD with TRD (3 failed trials), everything else ruled out."""
    return str(build(session_factory, DOCTOR, clock.now - timedelta(days=1),
                     lambda db, ctx: make_known_patient(db, ctx)))  # fmt: skip


def _screen(client: TestClient, pid: str, treatment: str) -> None:
    data = {"treatment": treatment} | ALL_CLEAR
    assert post_form(client, f"/patients/{pid}/intake/screening", data).status_code == 303


def _plan(client: TestClient, pid: str, **fields: str) -> str:
    response = post_form(client, f"/patients/{pid}/plans", {"start_date": "2026-03-03"} | fields)
    assert response.status_code == 303, response.text[-2000:]
    match = re.fullmatch(r"/plans/([0-9a-f-]+)", response.headers["location"])
    assert match is not None
    return match.group(1)


def test_planning_before_screening_is_refused_with_what_to_do(
    signed_in: dict[str, TestClient], known_patient: str
) -> None:
    response = post_form(signed_in["prescriber"], f"/patients/{known_patient}/plans",
                         {"protocol_id": "esketamine-trd", "start_date": "2026-03-03"})  # fmt: skip
    assert response.status_code == 409
    assert (
        "has not been screened for esketamine-intranasal: screen before planning" in response.text
    )
    assert 'value="esketamine-trd" selected' in response.text


def test_an_esketamine_plan_shows_the_label_first_dose_and_is_signed_by_the_prescriber(
    signed_in: dict[str, TestClient], known_patient: str, session_factory: SessionFactory
) -> None:
    prescriber, nurse = signed_in["prescriber"], signed_in["nurse"]
    _screen(prescriber, known_patient, "esketamine-intranasal")
    plan_id = _plan(prescriber, known_patient, protocol_id="esketamine-trd")

    page = prescriber.get(f"/plans/{plan_id}").text
    # Spravato label: induction day 1 is 56 mg for adults under 65, two 28 mg devices.
    assert "56 mg" in page
    assert "2 × 28 mg" in page
    assert "draft" in page
    assert "Sign the plan" in page
    assert f'src="/plans/{plan_id}/curve.png"' in page
    curve = prescriber.get(f"/plans/{plan_id}/curve.png")
    assert curve.status_code == 200
    assert curve.content.startswith(b"\x89PNG")
    assert "perez-ruixo model" in page
    # Induction: twice weekly for 4 weeks = 8 sessions, numbered from 1.
    rows = re.findall(
        r'<tr><td>(\d+)</td><td class="nowrap">\w{3} ([\d-]+)</td><td>(\S+) \((\w+)\)', page
    )
    induction = [r for r in rows if r[3] == "induction"]
    assert [r[0] for r in induction] == [str(n) for n in range(1, 9)]

    nurse_view = nurse.get(f"/plans/{plan_id}")
    assert nurse_view.status_code == 200
    assert "Sign the plan" not in nurse_view.text
    assert post_form(nurse, f"/plans/{plan_id}/sign", {}).status_code == 403

    signed = post_form(prescriber, f"/plans/{plan_id}/sign", {})
    assert signed.status_code == 303
    after = prescriber.get(signed.headers["location"]).text
    assert "Plan signed by Demo Prescriber." in after
    assert "Sign the plan" not in after
    again = post_form(prescriber, f"/plans/{plan_id}/sign", {})
    assert again.status_code == 409
    assert "not a draft" in again.text
    assert "plan.sign" in audit_actions(session_factory, known_patient)


def test_an_iv_plan_computes_the_weight_based_dose_and_refuses_a_dose_beyond_the_hard_limit(
    signed_in: dict[str, TestClient], known_patient: str
) -> None:
    prescriber = signed_in["prescriber"]
    _screen(prescriber, known_patient, "racemic-iv-im")
    plan_id = _plan(prescriber, known_patient, protocol_id="iv-racemic-twice-weekly",
                    dose_mg_per_kg="0.5")  # fmt: skip
    page = prescriber.get(f"/plans/{plan_id}").text
    assert "40 mg (0.5 mg/kg)" in page  # 0.5 mg/kg x 80 kg
    assert "Pump rate" in page

    too_much = post_form(prescriber, f"/patients/{known_patient}/plans", {
        "protocol_id": "iv-racemic-twice-weekly", "start_date": "2026-03-03",
        "dose_mg_per_kg": "5",
    })  # fmt: skip
    assert too_much.status_code == 422
    assert 'value="5"' in too_much.text


def test_every_clinician_page_has_one_h1_labelled_fields_and_nothing_from_another_host(
    signed_in: dict[str, TestClient], known_patient: str
) -> None:
    from test_pages import PageAudit

    prescriber = signed_in["prescriber"]
    _screen(prescriber, known_patient, "esketamine-intranasal")
    plan_id = _plan(prescriber, known_patient, protocol_id="esketamine-trd")
    base = f"/patients/{known_patient}"
    for path in (
        f"{base}/chart", f"{base}/intake", f"{base}/intake/screening",
        f"{base}/intake/questionnaires/phq9", f"{base}/intake/questionnaires/cssrs-screener",
        f"{base}/plans/new", f"/plans/{plan_id}", "/patients/new", "/today",
    ):  # fmt: skip
        response = prescriber.get(path)
        assert response.status_code == 200, path
        audit = PageAudit()
        audit.feed(response.text)
        assert audit.h1 == 1, path
        assert [i for i in audit.inputs if i not in audit.labels] == [], path
        assert audit.external == [], path


def test_an_esketamine_plan_of_56_then_84_mg_and_a_day_1_84_mg_needing_an_override(
    signed_in: dict[str, TestClient], known_patient: str
) -> None:
    prescriber = signed_in["prescriber"]
    _screen(prescriber, known_patient, "esketamine-intranasal")
    plan_id = _plan(prescriber, known_patient, protocol_id="esketamine-trd",
                    dose_mg="84", first_session_dose_mg="56")  # fmt: skip
    page = prescriber.get(f"/plans/{plan_id}").text
    assert "56 mg" in page
    assert "2 × 28 mg" in page  # day 1: the label's 56 mg
    straight_84 = post_form(prescriber, f"/patients/{known_patient}/plans", {
        "protocol_id": "esketamine-trd", "start_date": "2026-03-03", "dose_mg": "84",
    })  # fmt: skip
    assert straight_84.status_code == 422
    assert "Label first-session dose (mg) is 56, this is 84" in straight_84.text
    assert 'value="first-session-dose"' in straight_84.text  # the override checkbox offered
    overridden = post_form(prescriber, f"/patients/{known_patient}/plans", {
        "protocol_id": "esketamine-trd", "start_date": "2026-03-03", "dose_mg": "84",
        "limit_ids": "first-session-dose", "limit_reason": "Tolerated 84 mg in a trial last year",
    })  # fmt: skip
    assert overridden.status_code == 303
    shown = prescriber.get(overridden.headers["location"]).text
    assert "exceeded, overridden" in shown
    assert "Tolerated 84 mg in a trial last year" in shown


def test_an_iv_plan_says_no_per_session_ceiling_is_configured(
    signed_in: dict[str, TestClient], known_patient: str
) -> None:
    prescriber = signed_in["prescriber"]
    _screen(prescriber, known_patient, "racemic-iv-im")
    plan_id = _plan(prescriber, known_patient, protocol_id="iv-racemic-thrice-weekly")
    page = prescriber.get(f"/plans/{plan_id}").text
    assert "not configured" in page
    assert "No maximum mg per session is configured" in page
    form = prescriber.get(f"/patients/{known_patient}/plans/new").text
    assert "Adjusted body weight (practice, not guideline)" in form
