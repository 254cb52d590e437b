"""Every route of the app against every role, exactly as web/data/permissions.yaml says.

Routes are read from the app itself, so a route added later by anyone is checked too; a route that
declares no access rule (require(...), SignedIn or Public) fails the first test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from web_support import ROLES, csrf_from

from ketaclinic.services.context import Actor
from ketaclinic.web.deps import (
    ACCESS_ATTRIBUTE,
    RouteInfo,
    SignedIn,
    api_routes,
    ensure_patient_access,
    route_access,
)
from ketaclinic.web.permissions import permission_matrix

DUMMY_ID = "00000000-0000-4000-8000-000000000000"
# Signing out ends the session the other calls need, so it goes last.
_LAST = ("/sign-out",)


def _access(route: RouteInfo) -> str:
    """The effective rule: a permission beats "signed in", which beats "public"."""
    markers = route_access(route.dependant)
    permissions = sorted({m for m in markers if m.startswith("permission:")})
    assert len(permissions) <= 1, f"{route.path} names several permissions: {permissions}"
    if permissions:
        return permissions[0]
    if "signed_in" in markers:
        return "signed_in"
    if "public" in markers:
        return "public"
    return "undeclared"


def _routes(app: FastAPI) -> list[RouteInfo]:
    return sorted(api_routes(app), key=lambda r: (r.path in _LAST, r.path, r.method))


def _call(client: TestClient, route: RouteInfo, token: str) -> Any:
    path = re.sub(r"\{[^}]+\}", DUMMY_ID, route.path)
    if route.method in ("GET", "HEAD", "OPTIONS"):
        return client.request(route.method, path, follow_redirects=False)
    if route.form_body:
        return client.request(
            route.method, path, data={"csrf_token": token}, follow_redirects=False
        )
    return client.request(
        route.method, path, json={}, headers={"X-CSRF-Token": token}, follow_redirects=False
    )


def test_every_route_declares_who_may_call_it(app: FastAPI) -> None:
    routes = _routes(app)
    assert len(routes) >= 15
    undeclared = [f"{r.method} {r.path}" for r in routes if _access(r) == "undeclared"]
    assert undeclared == []


def test_the_matrix_names_every_role_and_only_known_permissions(app: FastAPI) -> None:
    matrix = permission_matrix()
    assert set(matrix.roles) == set(ROLES)
    for route in _routes(app):
        rule = _access(route)
        if rule.startswith("permission:"):
            assert rule.removeprefix("permission:") in matrix.permissions()


def _mismatches(app: FastAPI, signed_in: dict[str, TestClient]) -> tuple[list[str], int]:
    matrix = permission_matrix()
    tokens = {role: csrf_from(client.get("/").text) for role, client in signed_in.items()}
    mismatches: list[str] = []
    checked = 0
    for route in _routes(app):
        rule = _access(route)
        for role in ROLES:
            allowed = rule in ("public", "signed_in") or matrix.allows(
                role, rule.removeprefix("permission:")
            )
            response = _call(signed_in[role], route, tokens[role])
            refused = response.status_code == 403 and "form had expired" not in response.text
            if allowed == refused or response.status_code == 401:
                verdict = "allows" if allowed else "refuses"
                mismatches.append(
                    f"{route.method} {route.path} as {role}: {response.status_code}, "
                    f"but {rule} {verdict}"
                )
            checked += 1
    return mismatches, checked


def test_every_route_against_every_role(app: FastAPI, signed_in: dict[str, TestClient]) -> None:
    mismatches, checked = _mismatches(app, signed_in)
    assert mismatches == []
    assert checked >= len(ROLES) * 15


def test_the_check_catches_a_route_that_declares_but_does_not_enforce(
    app: FastAPI, signed_in: dict[str, TestClient]
) -> None:
    def pretends_to_check() -> None:
        pass

    setattr(pretends_to_check, ACCESS_ATTRIBUTE, "permission:users:read")

    def leaky() -> dict[str, str]:
        return {"secret": "everyone sees this"}

    app.add_api_route("/api/leaky", leaky, dependencies=[Depends(pretends_to_check), SignedIn])
    mismatches, _ = _mismatches(app, signed_in)
    leaked = sorted(m.split(" as ")[1].split(":")[0] for m in mismatches if "/api/leaky" in m)
    assert leaked == ["nurse", "patient", "prescriber", "researcher"]


def test_routes_that_need_a_session_refuse_anonymous_callers(app: FastAPI) -> None:
    anonymous = TestClient(app)
    for route in _routes(app):
        if _access(route) == "public":
            continue
        response = _call(anonymous, route, "")
        where = f"{route.method} {route.path}"
        if route.path.startswith("/api/"):
            assert response.status_code == 401, where
        else:
            assert response.status_code in (303, 401), where
            if response.status_code == 303:
                assert response.headers["location"].startswith("/sign-in")


def test_a_patient_reaches_only_their_own_record() -> None:
    patient = Actor(user_id="u1", role="patient", display_name="Pat", patient_id="p-own")
    ensure_patient_access(patient, "p-own")
    with pytest.raises(Exception, match="your own record"):
        ensure_patient_access(patient, "p-someone-else")


def test_a_researcher_never_reaches_an_identified_record() -> None:
    researcher = Actor(user_id="u2", role="researcher", display_name="Rea")
    with pytest.raises(Exception, match="de-identified"):
        ensure_patient_access(researcher, "p-any")
    nurse = Actor(user_id="u3", role="nurse", display_name="Nur")
    ensure_patient_access(nurse, "p-any")


@pytest.mark.parametrize("role", ROLES)
def test_role_grants_follow_least_privilege(role: str) -> None:
    granted = set(permission_matrix().granted(role))
    if role == "patient":
        assert granted == {"own_record:read", "own_record:change"}
    if role == "researcher":
        assert all(p.startswith("deidentified_data:") for p in granted)
    if role != "administrator":
        assert "users:change" not in granted
        assert "audit_trail:read" not in granted
    assert "audit_trail:change" not in granted  # nobody edits the audit trail
