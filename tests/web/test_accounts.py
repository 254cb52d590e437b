"""Administration of accounts: staff, patient invitations, password links, switching off."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_support import PASSWORD, PATIENT_ID, Clock, csrf_from, sign_in

_LINK = re.compile(r'id="new-link">https?://[^/]+(/set-password/[A-Za-z0-9_-]+)<')


def _link_from(html: str) -> str:
    match = _LINK.search(html)
    assert match is not None, "no set-password link on the page"
    return match.group(1)


def _post(client: TestClient, path: str, data: dict[str, str]) -> str:
    token = csrf_from(client.get("/admin/users").text)
    response = client.post(path, data={**data, "csrf_token": token})
    assert response.status_code in (200, 422), response.text
    return response.text


def test_a_new_staff_member_sets_their_own_password_then_signs_in(
    app: FastAPI, signed_in: dict[str, TestClient]
) -> None:
    html = _post(
        signed_in["administrator"],
        "/admin/users",
        {"email": "Rita.Nurse@Clinic.example.org", "display_name": "Rita Nurse", "role": "nurse"},
    )
    link = _link_from(html)
    visitor = TestClient(app)
    page = visitor.get(link)
    assert "rita.nurse@clinic.example.org" in page.text  # stored in lower case
    response = visitor.post(
        link,
        data={"password": "a long enough phrase", "password_again": "a long enough phrase",
              "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    assert sign_in(visitor, "rita.nurse@clinic.example.org", "a long enough phrase")[0] == 303
    # The link works once only.
    assert "already been used" in TestClient(app).get(link).text


def test_form_errors_sit_beside_the_field_and_keep_what_was_typed(
    signed_in: dict[str, TestClient],
) -> None:
    html = _post(
        signed_in["administrator"],
        "/admin/users",
        {"email": "not-an-address", "display_name": "Sam Prescriber", "role": "prescriber"},
    )
    assert 'id="f-email-error"' in html
    assert "write it as name@example.org" in html
    assert 'value="Sam Prescriber"' in html
    assert '<option value="prescriber" selected>' in html


def test_a_duplicate_address_is_refused_with_a_clear_message(
    signed_in: dict[str, TestClient], accounts: dict[str, str]
) -> None:
    html = _post(
        signed_in["administrator"],
        "/admin/users",
        {"email": accounts["nurse"], "display_name": "Another", "role": "nurse"},
    )
    assert f"An account for {accounts['nurse']} already exists." in html


def test_a_patient_invitation_links_the_record_and_expires(
    app: FastAPI, signed_in: dict[str, TestClient], clock: Clock
) -> None:
    html = _post(
        signed_in["administrator"],
        "/admin/patients/invite",
        {"email": "pat@example.org", "display_name": "Pat Example", "patient_id": PATIENT_ID},
    )
    link = _link_from(html)
    accounts = signed_in["administrator"].get("/api/users").json()
    pat = next(a for a in accounts if a["email"] == "pat@example.org")
    assert pat["patient_id"] == PATIENT_ID
    assert pat["role"] == "patient"
    clock.advance(days=6, hours=23)
    assert "Set your password" in TestClient(app).get(link).text
    clock.advance(hours=1)  # invitations are valid for 7 days by default
    assert "This link has expired" in TestClient(app).get(link).text


def test_password_rules_are_explained_beside_the_field(
    app: FastAPI, signed_in: dict[str, TestClient]
) -> None:
    html = _post(
        signed_in["administrator"],
        "/admin/patients/invite",
        {"email": "pat2@example.org", "display_name": "Pat Two", "patient_id": PATIENT_ID},
    )
    link = _link_from(html)
    visitor = TestClient(app)
    page = visitor.get(link)
    short = visitor.post(
        link,
        data={"password": "short", "password_again": "short", "csrf_token": csrf_from(page.text)},
    )
    assert short.status_code == 422
    assert 'id="f-password-error"' in short.text
    assert "at least 12 characters" in short.text
    different = visitor.post(
        link,
        data={"password": "first long phrase", "password_again": "second long phrase",
              "csrf_token": csrf_from(page.text)},
    )  # fmt: skip
    assert 'id="f-password_again-error"' in different.text


def test_a_reset_link_replaces_the_password_and_signs_the_person_out(
    app: FastAPI, signed_in: dict[str, TestClient], accounts: dict[str, str]
) -> None:
    nurse_id = signed_in["nurse"].get("/api/me").json()["user"]["id"]
    html = _post(signed_in["administrator"], f"/admin/users/{nurse_id}/reset-password", {})
    link = _link_from(html)
    assert signed_in["nurse"].get("/api/me").status_code == 401
    assert sign_in(TestClient(app), accounts["nurse"], PASSWORD)[0] == 401
    visitor = TestClient(app)
    page = visitor.get(link)
    visitor.post(
        link,
        data={"password": "a brand new phrase", "password_again": "a brand new phrase",
              "csrf_token": csrf_from(page.text)},
    )  # fmt: skip
    assert sign_in(TestClient(app), accounts["nurse"], "a brand new phrase")[0] == 303


def test_an_administrator_cannot_switch_themself_off(signed_in: dict[str, TestClient]) -> None:
    admin = signed_in["administrator"]
    me = admin.get("/api/me").json()["user"]["id"]
    token = csrf_from(admin.get("/admin/users").text)
    response = admin.post(f"/admin/users/{me}/deactivate", data={"csrf_token": token})
    assert response.status_code == 409
    assert "cannot switch off your own account" in response.text


def test_the_api_creates_an_account_with_a_set_password_link(
    signed_in: dict[str, TestClient],
) -> None:
    admin = signed_in["administrator"]
    token = csrf_from(admin.get("/").text)
    created = admin.post(
        "/api/users",
        json={"email": "res2@example.org", "display_name": "Re Searcher", "role": "researcher"},
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201
    assert created.json()["set_password_path"].startswith("/set-password/")
    bad = admin.post(
        "/api/users",
        json={"email": "x@example.org", "display_name": "X", "role": "surgeon"},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "role"
    assert "administrator, prescriber, nurse, patient, researcher" in bad.json()["error"]


def test_links_use_the_configured_public_address(
    app: FastAPI, signed_in: dict[str, TestClient]
) -> None:
    app.state.security.public_url = "https://clinic.example.org/"
    html = _post(
        signed_in["administrator"],
        "/admin/users",
        {"email": "ola@example.org", "display_name": "Ola", "role": "prescriber"},
    )
    assert 'id="new-link">https://clinic.example.org/set-password/' in html


def test_the_sign_in_page_sends_a_signed_in_person_home(signed_in: dict[str, TestClient]) -> None:
    response = signed_in["nurse"].get("/sign-in", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
