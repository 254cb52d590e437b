"""Dosing checks through the services: the protocol's device size and spacing (both databases)."""

from __future__ import annotations

import json

import pytest
from session_services import BASELINE, ESK, at, predose_answers, scheduled
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.errors import InvalidInput
from ketaclinic.services import sessions
from ketaclinic.storage.tables.access import AuditEvent
from support.clinic import NURSE

ESK_PROTOCOL = "esketamine-trd"


def _dosing_esketamine(db: Session) -> str:
    sid = scheduled(db, ESK, protocol_id=ESK_PROTOCOL)
    sessions.check_in(db, at(0), sid)
    sessions.record_observation(db, at(5), sid, "base-1", BASELINE)
    sessions.pass_predose(db, at(10), sid, predose_answers(ESK))
    sessions.start_dosing(
        db, at(15), sid, product="SPRAVATO", formulation="nasal spray 28 mg device",
        lot_number="LOT-ESK-9", dose_mg=56, administered_by="patient (self, observed)",
        supervised_by=NURSE.display_name,
    )  # fmt: skip
    return sid


def test_a_device_sooner_than_the_protocol_spacing_is_recorded_and_flagged(db: Session) -> None:
    devices = get_protocol(ESK_PROTOCOL).devices
    assert devices is not None
    sid = _dosing_esketamine(db)
    sessions.add_dosing_event(db, at(15), sid, "device", device_mg=devices.device_mg)
    early_at = 15 + devices.spacing_minutes - 2
    record = sessions.add_dosing_event(db, at(early_at), sid, "device", device_mg=28)
    assert record.dosing is not None
    assert len(record.dosing.devices) == 2  # what happened is recorded either way
    warnings = sessions.device_spacing_warnings(db, record)
    assert [(w.device.at, w.minutes_after_previous, w.spacing_minutes) for w in warnings] == [
        (at(early_at).now, devices.spacing_minutes - 2, devices.spacing_minutes)
    ]
    entry = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "session.dosing.event")
        .order_by(AuditEvent.sequence.desc())
    ).first()
    assert entry is not None
    assert "after the previous one" in json.loads(entry.detail_json)["early_device"]


def test_devices_at_the_protocol_spacing_raise_no_warning(db: Session) -> None:
    devices = get_protocol(ESK_PROTOCOL).devices
    assert devices is not None
    sid = _dosing_esketamine(db)
    sessions.add_dosing_event(db, at(15), sid, "device", device_mg=28)
    record = sessions.add_dosing_event(
        db, at(15 + devices.spacing_minutes), sid, "device", device_mg=28
    )
    assert sessions.device_spacing_warnings(db, record) == []


def test_a_device_of_another_size_is_refused(db: Session) -> None:
    sid = _dosing_esketamine(db)
    with pytest.raises(InvalidInput, match="Each device holds 28 mg") as refused:
        sessions.add_dosing_event(db, at(15), sid, "device", device_mg=56)
    assert refused.value.field == "device_mg"
