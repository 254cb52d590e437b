"""Administration of accounts: staff, patient invitations, password links, switching off."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from session_pages import make_patient
from sqlalchemy import select
from web_support import PASSWORD, Clock, csrf_from, sign_in

from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.patients import PatientRow

OTHER_ID = "3c0b6e52-8f41-4d6a-9a57-2b1e7d9c4f20"  # a patient with no portal account yet
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


def _registered(factory: SessionFactory, clock: Clock, patient_id: str = OTHER_ID) -> str:
    """A patient record (Robin Hale) without a portal account; returns its clinic number."""
    make_patient(factory, clock, patient_id=patient_id)
    with factory() as db:
        return db.scalars(select(PatientRow.mrn).where(PatientRow.id == patient_id)).one()


def test_a_patient_invitation_links_the_record_and_expires(
    app: FastAPI, signed_in: dict[str, TestClient], clock: Clock, session_factory: SessionFactory
) -> None:
    mrn = _registered(session_factory, clock)
    html = _post(
        signed_in["administrator"],
        "/admin/patients/invite",
        {"email": "pat@example.org", "display_name": "Pat Example", "mrn": mrn.lower()},
    )
    link = _link_from(html)
    assert f"Linked to the record of <strong>Robin Hale ({mrn})</strong>" in html
    accounts = signed_in["administrator"].get("/api/users").json()
    pat = next(a for a in accounts if a["email"] == "pat@example.org")
    assert pat["patient_id"] == OTHER_ID
    assert pat["role"] == "patient"
    clock.advance(days=6, hours=23)
    assert "Set your password" in TestClient(app).get(link).text
    clock.advance(hours=1)  # invitations are valid for 7 days by default
    assert "This link has expired" in TestClient(app).get(link).text


def test_password_rules_are_explained_beside_the_field(
    app: FastAPI, signed_in: dict[str, TestClient], clock: Clock, session_factory: SessionFactory
) -> None:
    mrn = _registered(session_factory, clock)
    html = _post(
        signed_in["administrator"],
        "/admin/patients/invite",
        {"email": "pat2@example.org", "display_name": "Pat Two", "mrn": mrn},
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


def _actions(client: TestClient, prefix: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = client.get(
        "/api/audit/events", params={"action": prefix}
    ).json()
    return events


def test_the_invitation_finds_the_patient_by_name_and_refuses_a_wrong_or_taken_number(
    signed_in: dict[str, TestClient], clock: Clock, session_factory: SessionFactory
) -> None:
    admin = signed_in["administrator"]
    mrn = _registered(session_factory, clock)
    found = admin.get("/admin/patients/invite/search", params={"q": "hale"}).text
    assert f'<td class="mono">{mrn}</td>' in found
    assert f'href="/admin/users?mrn={mrn}#f-invite-mrn"' in found
    searches = _actions(admin, "patient.search.invite")
    assert searches[0]["detail"] == {"search": "hale", "shown": 1}
    prefilled = admin.get("/admin/users", params={"mrn": mrn}).text
    assert f'id="f-invite-mrn" name="mrn" type="text" value="{mrn}"' in prefilled
    short = admin.get("/admin/patients/invite/search", params={"q": "h"})
    assert short.status_code == 422
    assert 'id="f-find-q-error"' in short.text
    wrong = _post(admin, "/admin/patients/invite",
                  {"email": "x@example.org", "display_name": "X", "mrn": "KC-NOPE"})  # fmt: skip
    assert 'id="f-invite-mrn-error"' in wrong
    assert "No patient has the clinic number &#39;KC-NOPE&#39;" in wrong
    assert 'value="x@example.org"' in wrong  # what was typed is kept
    _post(admin, "/admin/patients/invite",
          {"email": "robin@example.org", "display_name": "Robin", "mrn": mrn})  # fmt: skip
    again = _post(admin, "/admin/patients/invite",
                  {"email": "robin2@example.org", "display_name": "Robin", "mrn": mrn})  # fmt: skip
    assert "already has a portal account (robin@example.org)" in again
    assert "has an account" in admin.get("/admin/patients/invite/search", params={"q": mrn}).text


def test_a_role_is_changed_with_an_audit_entry_within_the_rules(
    signed_in: dict[str, TestClient], accounts: dict[str, str]
) -> None:
    admin = signed_in["administrator"]
    people = {a["role"]: a["id"] for a in admin.get("/api/users").json()}
    page = admin.get(f"/admin/users/{people['nurse']}").text
    token = csrf_from(page)
    changed = admin.post(
        f"/admin/users/{people['nurse']}/role",
        data={"role": "prescriber", "csrf_token": token},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert "Role changed." in admin.get(changed.headers["location"]).text
    # The nurse's next page is a prescriber's (the role is read on every request).
    assert signed_in["nurse"].get("/api/me").json()["user"]["role"] == "prescriber"
    entry = _actions(admin, "user.role.change")[0]
    assert (entry["entity_id"], entry["detail"]) == (
        people["nurse"], {"from": "nurse", "to": "prescriber"})  # fmt: skip
    for who, role, message in (
        (people["patient"], "nurse", "stays a patient account"),
        (people["researcher"], "patient", "stays a patient account"),
        (people["administrator"], "nurse", "cannot change your own role"),
        (people["researcher"], "surgeon", "Role must be one of"),
    ):
        refused = admin.post(f"/admin/users/{who}/role", data={"role": role, "csrf_token": token})
        assert refused.status_code == 422, (who, role)
        assert message in refused.text
        if who == people["researcher"]:  # the form is on the page: the error sits beside it
            assert 'id="f-role-role-error"' in refused.text
    assert len(_actions(admin, "user.role.change")) == 1


def test_a_name_and_e_mail_are_corrected_with_the_old_values_in_the_trail(
    app: FastAPI, signed_in: dict[str, TestClient], accounts: dict[str, str]
) -> None:
    admin = signed_in["administrator"]
    nurse_id = next(a["id"] for a in admin.get("/api/users").json() if a["role"] == "nurse")
    token = csrf_from(admin.get(f"/admin/users/{nurse_id}").text)
    bad = admin.post(f"/admin/users/{nurse_id}/details",
                     data={"display_name": "Nora Q", "email": accounts["prescriber"],
                           "csrf_token": token})  # fmt: skip
    assert bad.status_code == 422
    assert 'id="f-details-email-error"' in bad.text
    assert 'value="Nora Q"' in bad.text
    saved = admin.post(f"/admin/users/{nurse_id}/details",
                       data={"display_name": "Nora Quinn", "email": "Nora.Quinn@clinic.example.org",
                             "csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    entry = _actions(admin, "user.update")[0]
    assert entry["detail"] == {
        "display_name": {"from": "Demo Nurse", "to": "Nora Quinn"},
        "email": {"from": accounts["nurse"], "to": "nora.quinn@clinic.example.org"},
    }
    assert sign_in(TestClient(app), "nora.quinn@clinic.example.org")[0] == 303


def test_the_permission_matrix_is_shown_read_only_to_administrators(
    signed_in: dict[str, TestClient],
) -> None:
    page = signed_in["administrator"].get("/admin/permissions")
    assert page.status_code == 200
    assert '<th scope="row"><span class="mono">patient_record</span>' in page.text
    assert "read and change" in page.text
    assert "<form" not in page.text.split("<main", 1)[1].split("</main>", 1)[0]
    for role in ("prescriber", "nurse", "patient", "researcher"):
        assert signed_in[role].get("/admin/permissions").status_code == 403
