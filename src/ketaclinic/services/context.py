"""Who is acting: every service call gets it to check permission and write the audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Actor:
    """A signed-in person, a device, or the system itself (demo loader, scheduled checks)."""

    user_id: str | None
    # "administrator", "prescriber", "nurse", "patient", "researcher", "device" or "system"
    role: str
    display_name: str
    ip_address: str | None = None
    # For a patient account, the patient record it may see; None for staff.
    patient_id: str | None = None


SYSTEM = Actor(user_id=None, role="system", display_name="ketaclinic system")


@dataclass(frozen=True)
class RequestContext:
    """The actor and the time of a call (the clinical core never reads the clock)."""

    actor: Actor
    now: datetime
