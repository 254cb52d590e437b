"""Helpers for the clinician page tests: post a form with the page's CSRF token, build records
through the real services, and read the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from web_support import csrf_from

from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.database import SessionFactory, transaction
from ketaclinic.storage.tables.access import AuditEvent

DOCTOR = Actor(user_id=None, role="prescriber", display_name="Dr Ada Byrne")


def post_form(client: TestClient, url: str, data: dict[str, Any]) -> Response:
    """Post like the browser does: the token from a page this client opened."""
    token = csrf_from(client.get("/").text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def build(factory: SessionFactory, actor: Actor, now: Any, work: Any) -> Any:
    """Run ``work(db, ctx)`` in one committed transaction and return its result."""
    with transaction(factory) as db:
        return work(db, RequestContext(actor=actor, now=now))


def audit_actions(factory: SessionFactory, patient_id: str | None = None) -> list[str]:
    with factory() as db:
        query = select(AuditEvent.action).order_by(AuditEvent.sequence)
        if patient_id is not None:
            query = query.where(AuditEvent.patient_id == patient_id)
        return list(db.scalars(query))
