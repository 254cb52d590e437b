"""Every route that reads patient data writes an audit entry: each GET route whose permission is
about patient data is called (as a role it allows) for a treated patient, and must add an entry
by that person; a route about one patient must name the patient in it. Routes are read from the
app, so a route added later is checked too. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from ketaclinic.services import consents
from ketaclinic.storage.database import SessionFactory, transaction
from ketaclinic.storage.tables.access import AuditEvent, User
from ketaclinic.storage.tables.planning import TreatmentPlanRow
from ketaclinic.web.deps import RouteInfo, api_routes, route_access
from ketaclinic.web.permissions import permission_matrix
from services.session_services import ESK, at, discharged
from support.treated_course import treated_patient

# Permissions whose reads show identified patient data (the audit trail's own search is audited
# by the service too: it names patients).
PATIENT_DATA = (
    "patient_record:read", "screening:read", "consent:read", "treatment_plan:read",
    "treatment_session:read", "reports:read", "own_record:read", "audit_trail:read",
)  # fmt: skip
# Reads that are not of patient data although their permission is.
NOT_PATIENT_DATA = {
    "GET /api/v1/outcome-definitions": "the clinic's outcome definitions (policy, no patient)",
    "GET /today/board": "the Today board's polling: audited when it changes (test_today_page)",
    "GET /admin/audit/export": "audited, with the same check as the API export",
    "GET /api/v1/audit/verify": "walks the chain; answers counts and hashes, no patient",
    "GET /api/audit/verify": "the same, at its path before /api/v1",
    "GET /portal/help": "crisis resources, the same for every patient",
    "GET /portal/questionnaires/{instrument_id}": "a blank form (its answers are audited)",
    "GET /patients/{patient_id}/intake/questionnaires/{instrument_id}": (
        "a blank form naming no patient (its answers are audited)"
    ),
}


def _permission(route: RouteInfo) -> str | None:
    found = [m.removeprefix("permission:") for m in route_access(route.dependant)]
    return next((p for p in found if p in PATIENT_DATA), None)


@pytest.fixture
def course(
    session_factory: SessionFactory, accounts: dict[str, str], signed_in: dict[str, TestClient]
) -> dict[str, str]:
    """A treated patient (IV course, a discharged esketamine session too), whom the web tests'
    patient account opens."""
    with transaction(session_factory) as db:
        patient_id = treated_patient(db)
        consents.record_consent(db, at(-600), patient_id, "rems-enrolment")
        esketamine = discharged(db, ESK, patient_id)
        plan_id = db.scalars(
            select(TreatmentPlanRow.id).where(TreatmentPlanRow.patient_id == patient_id)
        ).first()
        db.execute(update(User).where(User.role == "patient").values(patient_id=patient_id))
    assert plan_id is not None
    return {"patient_id": patient_id, "session_id": esketamine, "plan_id": plan_id,
            "instrument_id": "phq9"}  # fmt: skip


def _entries(factory: SessionFactory, user_id: str) -> list[AuditEvent]:
    with factory() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.actor_user_id == user_id)))


def test_every_read_of_patient_data_is_audited(
    app: FastAPI,
    course: dict[str, str],
    signed_in: dict[str, TestClient],
    session_factory: SessionFactory,
) -> None:
    matrix = permission_matrix()
    with session_factory() as db:
        user_ids = {u.role: u.id for u in db.scalars(select(User))}
    checked, problems = 0, []
    for route in api_routes(app):
        where = f"{route.method} {route.path}"
        permission = _permission(route)
        if route.method != "GET" or permission is None or where in NOT_PATIENT_DATA:
            continue
        names = re.findall(r"\{(\w+)\}", route.path)
        if not set(names) <= set(course):
            problems.append(f"{where}: no test value for {names}")
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: course[m.group(1)], route.path)
        role = next(r for r in ("nurse", "prescriber", "patient", "administrator")
                    if matrix.allows(r, permission))  # fmt: skip
        before = len(_entries(session_factory, user_ids[role]))
        response = signed_in[role].get(path, params={"treatment": "racemic-iv-im"})
        if response.status_code != 200:
            problems.append(f"{where} as {role}: status {response.status_code}")
            continue
        new = _entries(session_factory, user_ids[role])[before:]
        checked += 1
        about_one = {"patient_id", "session_id", "plan_id"} & set(names)
        if not new:
            problems.append(f"{where} as {role}: no audit entry")
        elif (about_one or permission.startswith("own_")) and course["patient_id"] not in {
            e.patient_id for e in new
        }:
            problems.append(f"{where} as {role}: the entries do not name the patient")
    assert problems == [], "\n".join(problems)
    assert checked >= 30, "the routes must really have been called"
