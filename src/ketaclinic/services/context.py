"""Who is acting: every service call gets it to check permission and write the audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo


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
    """The actor and the time of a call (the clinical core never reads the clock), and the
    clinic's time zone: its calendar day decides "today", "same day" and the REMS dates."""

    actor: Actor
    now: datetime
    clinic_tz: tzinfo = UTC

    @property
    def today(self) -> date:
        """The clinic's calendar day at ``now``."""
        return self.now.astimezone(self.clinic_tz).date()
