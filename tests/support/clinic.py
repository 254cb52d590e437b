"""Small realistic building blocks for tests: an acting nurse, a fixed clinic time."""

from __future__ import annotations

from datetime import UTC, datetime

from ketaclinic.services.context import Actor, RequestContext

CLINIC_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NURSE = Actor(user_id="user-nurse-1", role="nurse", display_name="Nora Quinn, RN")
PRESCRIBER = Actor(user_id="user-prescriber-1", role="prescriber", display_name="Dr Sam Okafor")


def context(actor: Actor = NURSE, now: datetime = CLINIC_NOW) -> RequestContext:
    return RequestContext(actor=actor, now=now)
