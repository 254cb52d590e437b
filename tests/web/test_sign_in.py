"""Signing in and out: cookies, wrong passwords, throttling, CSRF, idle time-out."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import PASSWORD, Clock, csrf_from, sign_in

from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.access import AuditEvent, SignInAttempt


def test_sign_in_sets_an_httponly_samesite_session_cookie(
    app: FastAPI, accounts: dict[str, str]
) -> None:
    client = TestClient(app)
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": accounts["nurse"], "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("kc_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    # Served over plain http in the test, so not Secure; over https it would be.
    assert "Secure" not in cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "Demo Nurse" in home.text


def test_cookie_is_secure_over_https(app: FastAPI, accounts: dict[str, str]) -> None:
    client = TestClient(app, base_url="https://clinic.example.org")
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": accounts["nurse"], "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("kc_session="))
    assert "Secure" in cookie


def test_wrong_password_is_refused_keeps_the_address_and_is_recorded(
    app: FastAPI, accounts: dict[str, str], session_factory: SessionFactory
) -> None:
    client = TestClient(app)
    status, html = sign_in(client, accounts["prescriber"], "not the password at all")
    assert status == 401
    assert "do not match an active account" in html
    assert f'value="{accounts["prescriber"]}"' in html  # what was typed is kept
    assert client.get("/", follow_redirects=False).status_code == 303
    with session_factory() as db:
        attempt = db.scalars(select(SignInAttempt)).one()
        assert not attempt.succeeded
        actions = db.scalars(select(AuditEvent.action)).all()
    assert "user.sign_in_failed" in actions


def test_unknown_address_gets_the_same_answer_as_a_wrong_password(
    app: FastAPI, accounts: dict[str, str]
) -> None:
    _, unknown = sign_in(TestClient(app), "nobody@clinic.example.org", "whatever password")
    _, wrong = sign_in(TestClient(app), accounts["nurse"], "whatever password")
    message = "That e-mail address and password do not match an active account."
    assert message in unknown
    assert message in wrong


def test_empty_fields_get_errors_beside_them(app: FastAPI) -> None:
    client = TestClient(app)
    status, html = sign_in(client, "", "")
    assert status == 422
    assert 'id="f-email-error"' in html
    assert 'id="f-password-error"' in html
    assert 'aria-invalid="true"' in html


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    app: FastAPI, accounts: dict[str, str], clock: Clock
) -> None:
    client = TestClient(app)
    for _ in range(3):  # the fixture allows 3 failures per account in 15 minutes
        assert sign_in(client, accounts["nurse"], "guess")[0] == 401
    status, html = sign_in(client, accounts["nurse"], PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins" in html
    # Other accounts are not locked by this account's failures (the address limit is higher).
    assert sign_in(TestClient(app), accounts["prescriber"], PASSWORD)[0] == 303
    clock.advance(minutes=16)
    assert sign_in(client, accounts["nurse"], PASSWORD)[0] == 303


def test_failures_from_one_address_are_throttled_across_accounts(
    app: FastAPI, accounts: dict[str, str]
) -> None:
    client = TestClient(app)
    for index in range(6):  # 6 per address in the fixture; different accounts each time
        sign_in(client, f"someone{index}@clinic.example.org", "guess")
    status, html = sign_in(client, accounts["administrator"], PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins" in html


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    admin = signed_in["administrator"]
    response = admin.post(
        "/admin/users",
        data={"email": "eve@clinic.example.org", "display_name": "Eve", "role": "nurse"},
    )
    assert response.status_code == 403
    assert "Nothing was saved" in response.text
    forged = admin.post(
        "/admin/users",
        data={"email": "eve@clinic.example.org", "display_name": "Eve", "role": "nurse",
              "csrf_token": "0" * 64},
    )  # fmt: skip
    assert forged.status_code == 403
    listing = admin.get("/api/users").json()
    assert all(u["email"] != "eve@clinic.example.org" for u in listing)


def test_the_csrf_token_of_another_browser_is_refused(
    signed_in: dict[str, TestClient],
) -> None:
    nurse_token = csrf_from(signed_in["nurse"].get("/").text)
    response = signed_in["administrator"].post(
        "/admin/users",
        data={"email": "eve@clinic.example.org", "display_name": "Eve", "role": "nurse",
              "csrf_token": nurse_token},
    )  # fmt: skip
    assert response.status_code == 403


def test_a_sign_in_without_the_form_token_is_refused(
    app: FastAPI, accounts: dict[str, str]
) -> None:
    response = TestClient(app).post(
        "/sign-in", data={"email": accounts["nurse"], "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403


def test_idle_time_out_signs_the_browser_out(
    signed_in: dict[str, TestClient], clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    clock.advance(minutes=14)
    assert nurse.get("/").status_code == 200  # activity keeps the session alive
    clock.advance(minutes=14)
    assert nurse.get("/").status_code == 200
    clock.advance(minutes=16)
    response = nurse.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=/admin/users")
    assert "expired=1" in response.headers["location"]
    page = nurse.get(response.headers["location"])
    assert "signed out after a period without activity" in page.text
    clock.advance(minutes=1)
    assert nurse.get("/", follow_redirects=False).status_code == 303  # stays ended
    assert nurse.get("/api/me").status_code == 401


def test_sign_out_ends_the_session_for_good(app: FastAPI, signed_in: dict[str, TestClient]) -> None:
    prescriber = signed_in["prescriber"]
    stolen_cookie = prescriber.cookies.get("kc_session")
    token = csrf_from(prescriber.get("/").text)
    response = prescriber.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?signed_out=1"
    # A copy of the old cookie is worthless once signed out.
    replay = TestClient(app, cookies={"kc_session": stolen_cookie or ""})
    assert replay.get("/api/me").status_code == 401


def test_switching_an_account_off_ends_its_sessions(
    signed_in: dict[str, TestClient],
) -> None:
    admin = signed_in["administrator"]
    nurse_id = signed_in["nurse"].get("/api/me").json()["user"]["id"]
    token = csrf_from(admin.get("/admin/users").text)
    response = admin.post(f"/admin/users/{nurse_id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 200
    assert signed_in["nurse"].get("/api/me").status_code == 401


def test_next_only_redirects_within_the_site(app: FastAPI, accounts: dict[str, str]) -> None:
    client = TestClient(app)
    page = client.get("/sign-in?next=https://evil.example.com/")
    assert "evil.example.com" not in page.text
    response = client.post(
        "/sign-in",
        data={"email": accounts["nurse"], "password": PASSWORD, "csrf_token": csrf_from(page.text),
              "next": "//evil.example.com/"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.headers["location"] == "/"


def test_session_status_counts_down_without_counting_as_activity(
    signed_in: dict[str, TestClient], clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    token = csrf_from(nurse.get("/").text)
    assert nurse.get("/session/status").json() == {"signed_in": True, "seconds_left": 15 * 60}
    clock.advance(minutes=10)
    assert nurse.get("/session/status").json()["seconds_left"] == 5 * 60
    clock.advance(minutes=4)
    # Asking twice did not extend the session; keep-alive does.
    assert nurse.get("/session/status").json()["seconds_left"] == 60
    assert nurse.post("/session/keep-alive", headers={"X-CSRF-Token": token}).status_code == 200
    assert nurse.get("/session/status").json()["seconds_left"] == 15 * 60
    clock.advance(minutes=16)
    assert nurse.get("/session/status").json() == {"signed_in": False, "seconds_left": 0}
    assert TestClient(nurse.app).get("/session/status").json()["signed_in"] is False
