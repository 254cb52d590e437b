"""Intake pages through the app: register, history, questionnaires, screening and override.

Runs on SQLite and PostgreSQL (the shared ``session_factory``); every record is written through
the forms, as a clinician would.
"""

from __future__ import annotations

import re

from clinic_pages_support import audit_actions, post_form
from fastapi.testclient import TestClient

from ketaclinic.storage.database import SessionFactory

PHQ9_ITEMS = [f"q{n}" for n in range(1, 10)]


def _register(client: TestClient, **changes: str) -> str:
    data = {
        "given_name": "Rowan", "family_name": "Ellis", "date_of_birth": "1979-02-11",
        "sex": "F", "mrn": "", "phone": "", "email": "",
    } | changes  # fmt: skip
    response = post_form(client, "/patients", data)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/patients/([0-9a-f-]+)/intake", response.headers["location"])
    assert match is not None
    return match.group(1)


def test_a_refused_registration_says_why_beside_each_field_and_keeps_what_was_typed(
    signed_in: dict[str, TestClient],
) -> None:
    nurse = signed_in["nurse"]
    response = post_form(nurse, "/patients", {
        "given_name": "Jo", "family_name": "", "date_of_birth": "14/05/1983", "sex": "",
    })  # fmt: skip
    assert response.status_code == 422
    page = response.text
    assert "Enter the family name." in page
    assert "Write the date as YYYY-MM-DD, not &#39;14/05/1983&#39;." in page
    assert "Choose the sex recorded at birth" in page
    assert 'id="f-given_name" name="given_name" type="text" value="Jo"' in page
    assert page.count('aria-invalid="true"') == 3


def test_history_entered_on_the_intake_page_is_what_the_record_then_shows(
    signed_in: dict[str, TestClient],
) -> None:
    nurse = signed_in["nurse"]
    pid = _register(nurse)
    base = f"/patients/{pid}/intake"
    assert post_form(nurse, f"{base}/diagnoses", {"condition": "mdd", "status": "active"}
                     ).status_code == 303  # fmt: skip
    # Two adequate failed trials (doses and durations above the catalogue's minimums) and one
    # too short to count: the TRD count is 2 of 3.
    for drug, dose, weeks in (("sertraline", "150", "10"), ("venlafaxine", "225", "8"),
                              ("citalopram", "20", "2")):  # fmt: skip
        response = post_form(nurse, f"{base}/trials", {
            "trial_drug": drug, "trial_dose_mg_per_day": dose, "trial_duration_weeks": weeks,
            "trial_outcome": "no-response",
        })  # fmt: skip
        assert response.status_code == 303
    lone = post_form(nurse, f"{base}/vitals", {"weight_kg": "81.5", "systolic_mmhg": "130"})
    assert lone.status_code == 422
    assert "Enter both blood pressure numbers." in lone.text
    assert 'value="81.5"' in lone.text
    assert post_form(nurse, f"{base}/vitals", {
        "weight_kg": "81.5", "height_cm": "170", "systolic_mmhg": "130", "diastolic_mmhg": "84",
    }).status_code == 303  # fmt: skip
    assert post_form(nurse, f"{base}/allergies", {"substance": "latex", "reaction": "hives"}
                     ).status_code == 303  # fmt: skip
    bad_dose = post_form(
        nurse, f"{base}/medications", {"drug_name": "lithium", "dose_amount": "lots"}
    )
    assert bad_dose.status_code == 422
    assert "The dose must be a number, not &#39;lots&#39;." in bad_dose.text

    page = nurse.get(f"{base}?saved=allergy").text
    assert "Allergy added." in page
    assert "Adequate failed trials counted: <strong>2</strong> of 3 recorded." in page
    assert "latex: hives" in page
    # BMI = 81.5 / 1.70^2 = 28.2 (hand-computed).
    assert "81.5 kg, 170 cm, BMI 28.2" in page


def test_a_clinician_enters_a_phq9_and_sees_its_score_and_the_item_9_alert(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    nurse = signed_in["nurse"]
    pid = _register(nurse)
    url = f"/patients/{pid}/intake/questionnaires/phq9"
    form = nurse.get(url)
    assert form.status_code == 200
    assert form.text.count('type="radio"') == 9 * 4

    partial = dict.fromkeys(PHQ9_ITEMS[:8], "1")
    missing = post_form(nurse, url, partial)
    assert missing.status_code == 422
    assert "Answer item 9" in missing.text
    assert 'id="f-q1-1" name="q1" value="1" checked' in missing.text

    answers = dict(zip(PHQ9_ITEMS, ["2", "2", "1", "2", "1", "1", "1", "0", "1"], strict=True))
    saved = post_form(nurse, url, answers)
    assert saved.status_code == 200
    assert "Saved: total 11" in saved.text  # 2+2+1+2+1+1+1+0+1
    assert 'role="alert"' in saved.text  # item 9 answered above 0
    assert audit_actions(session_factory, pid).count("measurement.questionnaire.record") == 1


def _screen_pregnant_for_esketamine(client: TestClient, pid: str) -> str:
    response = post_form(client, f"/patients/{pid}/intake/screening", {
        "treatment": "esketamine-intranasal", "pregnant": "yes", "breastfeeding": "no",
    })  # fmt: skip
    assert response.status_code == 303
    page = client.get(f"/patients/{pid}/intake/screening").text
    match = re.search(r'/intake/screening/([0-9a-f-]+)/override"', page)
    assert match is not None, "a relative contraindication found present offers an override"
    return match.group(1)


def test_only_a_prescriber_overrides_a_relative_contraindication_and_must_give_a_reason(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    nurse, prescriber = signed_in["nurse"], signed_in["prescriber"]
    pid = _register(prescriber)
    post_form(prescriber, f"/patients/{pid}/intake/diagnoses", {"condition": "trd"})
    screening_id = _screen_pregnant_for_esketamine(prescriber, pid)
    page = prescriber.get(f"/patients/{pid}/intake/screening").text
    assert 'value="esketamine-pregnancy"' in page
    assert "relative contraindication" in page
    assert "Source:" in page

    nurse_page = nurse.get(f"/patients/{pid}/intake/screening").text
    assert "Only a prescriber can override these findings." in nurse_page
    url = f"/patients/{pid}/intake/screening/{screening_id}/override"
    refused = post_form(nurse, url, {"rule_ids": ["esketamine-pregnancy"], "reason": "asked"})
    assert refused.status_code == 403

    blank = post_form(prescriber, url, {"rule_ids": ["esketamine-pregnancy"], "reason": "  "})
    assert blank.status_code == 422
    assert "Write the reason for the override" in blank.text
    assert 'value="esketamine-pregnancy" checked' in blank.text

    reason = "Discussed risks with obstetrics; patient chooses treatment after counselling."
    done = post_form(prescriber, url, {"rule_ids": ["esketamine-pregnancy"], "reason": reason})
    assert done.status_code == 303
    after = prescriber.get(f"/patients/{pid}/intake/screening").text
    assert f"“{reason}”" in after
    assert "screening.override" in audit_actions(session_factory, pid)
    assert audit_actions(session_factory).count("access.denied") == 1


def test_the_cssrs_form_follows_its_skip_logic_and_refuses_a_value_not_offered(
    signed_in: dict[str, TestClient],
) -> None:
    nurse = signed_in["nurse"]
    pid = _register(nurse)
    url = f"/patients/{pid}/intake/questionnaires/cssrs-screener"
    # A yes to item 2 asks items 3-5: left empty, they are named.
    asked = post_form(nurse, url, {"q1": "1", "q2": "1", "q6": "0"})
    assert asked.status_code == 422
    for number in (3, 4, 5):
        assert f"Answer item {number} (" in asked.text
    assert "Answer item 7" not in asked.text  # item 6 was no: item 7 is not asked
    odd = post_form(nurse, url, {"q1": "0", "q2": "0", "q6": "yes"})
    assert odd.status_code == 422
    assert "takes one of 0, 1, not &#39;yes&#39;" in odd.text
    # No to items 2 and 6: items 3-5 and 7 are not asked, and the form is scored.
    saved = post_form(nurse, url, {"q1": "0", "q2": "0", "q6": "0"})
    assert saved.status_code == 200
    assert "Saved: total" in saved.text


def test_the_screener_states_uncontrolled_hypertension_and_the_finding_names_both_sources(
    signed_in: dict[str, TestClient],
) -> None:
    prescriber = signed_in["prescriber"]
    pid = _register(prescriber)
    post_form(prescriber, f"/patients/{pid}/intake/diagnoses", {"condition": "trd"})
    page = prescriber.get(f"/patients/{pid}/intake/screening").text
    assert 'for="f-hypertension_uncontrolled"' in page
    stated = {"treatment": "racemic-iv-im", "hypertension_uncontrolled": "yes"}
    done = post_form(prescriber, f"/patients/{pid}/intake/screening", stated)
    assert done.status_code == 303
    after = prescriber.get(f"/patients/{pid}/intake/screening").text
    assert "Uncontrolled hypertension" in after
    assert "stated: blood pressure not controlled" in after
    assert "Ketalar" in after  # the label's contraindication, the default class
