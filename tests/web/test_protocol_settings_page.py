"""Clinic policy, protocol settings page and its JSON twin: every configurable value with its
source; an administrator sets one with a reason (recorded); refusals beside the field."""

from __future__ import annotations

from fastapi.testclient import TestClient
from session_pages import field_error, post
from web_support import csrf_from

from ketaclinic.clinical.protocols import all_protocols
from ketaclinic.services import protocol_settings
from ketaclinic.storage.database import SessionFactory

URL = "/admin/policy/protocols"
IV3 = "iv-racemic-thrice-weekly"


def test_every_configurable_value_is_listed_with_its_source(
    signed_in: dict[str, TestClient],
) -> None:
    page = signed_in["prescriber"].get(URL).text
    for protocol in all_protocols():
        for setting_id in protocol.configurable:
            assert f'id="s-{protocol.id}-{setting_id.replace(".", "-")}"' in page
    assert "not configured" in page  # the IV/IM mg-per-session ceiling no source gives
    assert "practice, not guideline" in page
    assert "Change a protocol setting" not in page  # prescribers read, administrators change


def test_an_administrator_sets_the_per_session_ceiling_with_a_reason(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    admin = signed_in["administrator"]
    form = {"setting": f"{IV3}|limits.max_mg_per_session", "value": "200",
            "reason": "Medical director, 2026-03 board", "action": "change"}  # fmt: skip
    response = post(admin, URL, URL, form)
    assert response.status_code == 303
    with session_factory() as db:
        report = protocol_settings.check_dose_limits(db, IV3, dose_mg=300, dose_mg_per_kg=1.0)
    assert report.refused == ["max-mg-per-session"]
    page = admin.get(response.headers["location"]).text
    assert "set by the clinic" in page
    assert "Medical director, 2026-03 board" in page


def test_a_refused_setting_is_shown_beside_the_field_with_the_input_kept(
    signed_in: dict[str, TestClient],
) -> None:
    admin = signed_in["administrator"]
    form = {"setting": f"{IV3}|limits.max_mg_per_kg", "value": "1.5",
            "reason": "Non-responders", "action": "change"}  # fmt: skip
    refused = post(admin, URL, URL, form)
    assert refused.status_code == 422
    assert "not raised above the sourced 1" in field_error(refused.text, "value")
    assert 'value="1.5"' in refused.text
    assert ">Non-responders</textarea>" in refused.text
    no_reason = post(admin, URL, URL, form | {"value": "0.75", "reason": ""})
    assert "Write why" in field_error(no_reason.text, "reason")


def test_the_json_twin_lists_and_changes_settings(signed_in: dict[str, TestClient]) -> None:
    admin = signed_in["administrator"]
    token = csrf_from(admin.get(URL).text)
    changed = admin.post(
        f"/api/v1/protocol-settings/{IV3}",
        json={"setting_id": "dose.titration_steps", "value": [0.5, 0.75],
              "reason": "No 1.0 mg/kg step in this clinic"},
        headers={"X-CSRF-Token": token},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["value"] == [0.5, 0.75]
    listed = signed_in["nurse"].get("/api/v1/protocol-settings").json()
    steps = next(
        line for line in listed
        if (line["protocol_id"], line["setting_id"]) == (IV3, "dose.titration_steps")
    )  # fmt: skip
    assert (steps["sourced_value"], steps["value"]) == ([0.5, 0.75, 1.0], [0.5, 0.75])
    assert steps["reason"] == "No 1.0 mg/kg step in this clinic"
    refused = admin.post(
        "/api/v1/protocol-settings/esketamine-trd",
        json={"setting_id": "limits.max_mg_per_session", "value": 112, "reason": "Try it"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 422
    assert "Settable: limits.min_interval_days" in refused.json()["error"]
    assert (
        signed_in["nurse"]
        .post(
            f"/api/v1/protocol-settings/{IV3}",
            json={"setting_id": "dose.default", "value": 0.75, "reason": "Nurse try"},
            headers={"X-CSRF-Token": csrf_from(signed_in["nurse"].get(URL).text)},
        )
        .status_code
        == 403
    )


def test_an_administrator_chooses_the_class_of_uncontrolled_hypertension(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    from ketaclinic.services.screening_policy import rule_classes

    admin = signed_in["administrator"]
    page = admin.get(URL).text
    assert 'id="r-uncontrolled-hypertension"' in page
    assert "Ketalar" in page
    assert "Cohen" in page
    action = f"{URL}/rule-class"
    no_reason = post(admin, URL, action, {
        "rule_choice": "uncontrolled-hypertension=relative-contraindication",
        "rule_reason": "", "action": "change",
    })  # fmt: skip
    assert no_reason.status_code == 422
    assert "Write why" in field_error(no_reason.text, "rule_reason")
    done = post(admin, URL, action, {
        "rule_choice": "uncontrolled-hypertension=relative-contraindication",
        "rule_reason": "Follows the ASRA guideline", "action": "change",
    })  # fmt: skip
    assert done.status_code == 303
    with session_factory() as db:
        assert rule_classes(db) == {"uncontrolled-hypertension": "relative-contraindication"}
    listed = signed_in["nurse"].get("/api/v1/screening-rule-classes").json()
    line = next(item for item in listed if item["rule_id"] == "uncontrolled-hypertension")
    assert (line["class_in_force"], line["default_class"]) == (
        "relative-contraindication",
        "absolute-contraindication",
    )


def test_the_clinic_policy_page_links_to_the_protocol_settings(
    signed_in: dict[str, TestClient],
) -> None:
    assert 'href="/admin/policy/protocols"' in signed_in["nurse"].get("/admin/policy").text
