"""The medication administration record (MAR) of one session.

What was given, from which lot, how much (mg and mg/kg), by which route, when it started and
stopped, every rate change and pause of an infusion, every esketamine device with its time, and
who administered and who supervised. The REMS form takes the first-device time, the dose and the
lot from here.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput, RuleViolation


class DosingEventKind(StrEnum):
    DEVICE = "device"  # one esketamine nasal device (2 sprays) self-administered under observation
    RATE_CHANGE = "rate-change"
    PAUSE = "pause"
    RESUME = "resume"


class DosingEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: DosingEventKind
    at: datetime
    by: str = Field(min_length=1)
    device_mg: float | None = Field(default=None, gt=0)
    rate_mg_per_h: float | None = Field(default=None, gt=0)
    reason: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> DosingEvent:
        if self.kind is DosingEventKind.DEVICE and self.device_mg is None:
            raise ValueError("a device event needs device_mg")
        if self.kind is DosingEventKind.RATE_CHANGE and self.rate_mg_per_h is None:
            raise ValueError("a rate change needs rate_mg_per_h")
        if self.kind in (DosingEventKind.PAUSE, DosingEventKind.RATE_CHANGE) and not self.reason:
            raise ValueError(f"a {self.kind.value} needs a reason")
        return self


class EarlyDevice(BaseModel):
    """A nasal device given sooner after the previous one than the protocol's spacing."""

    model_config = ConfigDict(frozen=True)
    device: DosingEvent
    minutes_after_previous: float
    spacing_minutes: float

    @property
    def message(self) -> str:
        return (
            f"Device at {self.device.at.strftime('%H:%M')} was given "
            f"{self.minutes_after_previous:.0f} min after the previous one; the protocol asks "
            f"for {self.spacing_minutes:g} min between devices."
        )


class DosingRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    product: str = Field(min_length=2, description="e.g. 'ketamine hydrochloride', 'SPRAVATO'")
    formulation: str = Field(
        min_length=2, description="e.g. 'solution for infusion', 'nasal spray'"
    )
    lot_number: str = Field(min_length=1)
    concentration_mg_per_ml: float | None = Field(default=None, gt=0)
    dose_mg: float = Field(gt=0)
    dose_mg_per_kg: float | None = Field(default=None, gt=0)
    route: Route
    started_at: datetime
    stopped_at: datetime | None = None
    initial_rate_mg_per_h: float | None = Field(default=None, gt=0)
    administered_by: str = Field(min_length=1)
    supervised_by: str = Field(min_length=1)
    events: tuple[DosingEvent, ...] = ()
    stop_note: str | None = None

    @property
    def devices(self) -> list[DosingEvent]:
        return [e for e in self.events if e.kind is DosingEventKind.DEVICE]

    @property
    def first_device_at(self) -> datetime | None:
        devices = self.devices
        return min(e.at for e in devices) if devices else None

    def early_devices(self, spacing_minutes: float) -> list[EarlyDevice]:
        """Devices given sooner than the protocol's spacing after the previous one.

        The label asks for 5 minutes between devices; the value comes from the protocol data
        (``Protocol.devices.spacing_minutes``). What happened is recorded either way; this list
        lets the service warn and the record show it.
        """
        ordered = sorted(self.devices, key=lambda e: e.at)
        gap = timedelta(minutes=spacing_minutes)
        return [
            EarlyDevice(
                device=later,
                minutes_after_previous=(later.at - earlier.at).total_seconds() / 60,
                spacing_minutes=spacing_minutes,
            )
            for earlier, later in itertools.pairwise(ordered)
            if later.at - earlier.at < gap
        ]

    @property
    def delivered_device_mg(self) -> float:
        return sum(e.device_mg or 0.0 for e in self.devices)

    @property
    def paused(self) -> bool:
        state = False
        for event in sorted(self.events, key=lambda e: e.at):
            if event.kind is DosingEventKind.PAUSE:
                state = True
            elif event.kind is DosingEventKind.RESUME:
                state = False
        return state

    @property
    def observation_anchor(self) -> datetime:
        """Observation counts from the first esketamine device (REMS) or the start of dosing."""
        return self.first_device_at or self.started_at


def start_record(
    *,
    product: str,
    formulation: str,
    lot_number: str,
    dose_mg: float,
    route: Route,
    started_at: datetime,
    administered_by: str,
    supervised_by: str,
    weight_kg: float | None,
    concentration_mg_per_ml: float | None = None,
    initial_rate_mg_per_h: float | None = None,
) -> DosingRecord:
    """A new MAR entry; dose in mg/kg is derived from the session weight so it cannot disagree."""
    if started_at.tzinfo is None:
        raise InvalidInput("The start of dosing needs a time zone.", field="started_at")
    if weight_kg is not None and weight_kg <= 0:
        raise InvalidInput("Weight must be a positive number of kg.", field="weight_kg")
    if route is Route.IV and initial_rate_mg_per_h is None:
        raise InvalidInput(
            "An IV infusion needs its initial rate in mg/h.", field="initial_rate_mg_per_h"
        )
    return DosingRecord(
        product=product,
        formulation=formulation,
        lot_number=lot_number,
        concentration_mg_per_ml=concentration_mg_per_ml,
        dose_mg=dose_mg,
        dose_mg_per_kg=(dose_mg / weight_kg) if weight_kg else None,
        route=route,
        started_at=started_at,
        initial_rate_mg_per_h=initial_rate_mg_per_h,
        administered_by=administered_by,
        supervised_by=supervised_by,
    )


def add_event(record: DosingRecord, event: DosingEvent) -> DosingRecord:
    if record.stopped_at is not None:
        raise RuleViolation("Dosing has ended; add an addendum to correct the MAR.", field="event")
    if event.at < record.started_at:
        raise InvalidInput("A dosing event cannot be earlier than the start of dosing.", field="at")
    if event.kind is DosingEventKind.DEVICE:
        if record.route is not Route.INTRANASAL:
            raise InvalidInput("Nasal devices belong to intranasal dosing only.", field="kind")
        if record.delivered_device_mg + (event.device_mg or 0) > record.dose_mg:
            raise RuleViolation(
                f"This device would take the dose above the prescribed {record.dose_mg:g} mg.",
                field="device_mg",
            )
    if event.kind in (DosingEventKind.RATE_CHANGE, DosingEventKind.PAUSE, DosingEventKind.RESUME):
        if record.route is Route.INTRANASAL:
            raise InvalidInput("Rate changes and pauses belong to infusions.", field="kind")
        if event.kind is DosingEventKind.PAUSE and record.paused:
            raise RuleViolation("The infusion is already paused.", field="kind")
        if event.kind is DosingEventKind.RESUME and not record.paused:
            raise RuleViolation("The infusion is not paused.", field="kind")
    return record.model_copy(update={"events": (*record.events, event)})


def stop_record(record: DosingRecord, *, at: datetime, note: str | None = None) -> DosingRecord:
    if record.stopped_at is not None:
        raise RuleViolation("Dosing has already ended.", field="stopped_at")
    if at < record.started_at:
        raise InvalidInput("Dosing cannot end before it started.", field="stopped_at")
    if record.route is Route.INTRANASAL and not record.devices:
        raise RuleViolation(
            "No nasal device recorded; record each device with its time.", field="events"
        )
    complete = record.route is not Route.INTRANASAL or record.delivered_device_mg == record.dose_mg
    if not complete and not note:
        raise InvalidInput(
            f"Devices delivered {record.delivered_device_mg:g} of {record.dose_mg:g} mg; "
            "write a note saying why the dose is incomplete.",
            field="stop_note",
        )
    return record.model_copy(update={"stopped_at": at, "stop_note": note})
