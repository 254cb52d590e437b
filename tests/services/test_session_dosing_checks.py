"""Dosing checks through the services (both databases): the dose given is the signed plan's
unless a prescriber overrides it with a reason; whole devices of the protocol's size, spaced as the
protocol asks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from session_services import (
    BASELINE,
    ESK,
    IV,
    PLANNED_MG,
    at,
    audit_count,
    checked_in,
    predose_answers,
    scheduled,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.errors import InvalidInput, OverrideRequired, PermissionDenied
from ketaclinic.services import sessions
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.planning import DoseLimitOverrideRow
from support.clinic import NURSE, PRESCRIBER

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


def _passed_esketamine(db: Session) -> str:
    sid = checked_in(db, ESK)
    sessions.pass_predose(db, at(10), sid, predose_answers(ESK))
    return sid


def _start(db: Session, sid: str, dose_mg: float, minute: float = 15, **kw: Any) -> object:
    actor = kw.pop("actor", NURSE)
    return sessions.start_dosing(
        db, at(minute, actor), sid, product="SPRAVATO", formulation="nasal spray 28 mg device",
        lot_number="LOT-ESK-9", dose_mg=dose_mg, administered_by="patient (self, observed)",
        supervised_by=NURSE.display_name, **kw,
    )  # fmt: skip


def test_dosing_84_mg_against_a_planned_56_is_refused_and_writes_nothing(db: Session) -> None:
    sid = _passed_esketamine(db)
    before = audit_count(db)
    with pytest.raises(OverrideRequired, match="84 mg differs from the signed plan's 56 mg") as no:
        _start(db, sid, 84)
    assert no.value.rule_ids == ["planned-dose"]
    assert no.value.field == "dose_mg"
    assert audit_count(db) == before
    assert sessions.get_session(db, at(16), sid).state is SessionState.PREDOSE_PASSED
    # A nurse cannot write the override.
    with pytest.raises(PermissionDenied, match="prescriber"):
        _start(db, sid, 84, override_reason="The patient asked for more.")
    # The planned dose is given without any override.
    record = _start(db, sid, 56)
    assert record.dosing.dose_mg == 56  # type: ignore[attr-defined]


def test_a_prescribers_override_with_a_reason_allows_that_dose_in_that_session_only(
    db: Session,
) -> None:
    sid = _passed_esketamine(db)
    with pytest.raises(InvalidInput, match="reason"):
        sessions.override_session_dose(db, at(12, PRESCRIBER), sid, dose_mg=84, reason=" ")
    covered = sessions.override_session_dose(
        db, at(12, PRESCRIBER), sid, dose_mg=84,
        reason="Partial response on 56 mg; tolerated well; step up per label.",
    )  # fmt: skip
    assert covered == ["planned-dose"]
    stored = db.scalars(select(DoseLimitOverrideRow)).all()
    assert [(r.prescriber_name, r.overridden_at, r.reason[:15]) for r in stored] == [
        (PRESCRIBER.display_name, at(12).now, "Partial respons")
    ]
    # The override covers 84 mg in this session, not another dose.
    with pytest.raises(OverrideRequired):
        _start(db, sid, 28)
    record = _start(db, sid, 84)
    assert record.dosing.dose_mg == 84  # type: ignore[attr-defined]
    entry = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "session.dosing.start")
        .order_by(AuditEvent.sequence.desc())
    ).first()
    assert entry is not None
    detail = json.loads(entry.detail_json)
    assert (detail["planned_dose_mg"], detail["overrides"]) == (56, ["planned-dose"])


def test_a_dose_above_the_protocol_limit_names_every_limit_to_override(db: Session) -> None:
    sid = _passed_esketamine(db)
    maximum = get_protocol(ESK_PROTOCOL).limits.max_mg_per_session
    assert maximum is not None
    above = maximum + 28
    with pytest.raises(OverrideRequired, match=f"Maximum mg per session is {maximum:g}") as no:
        _start(db, sid, above)
    assert no.value.rule_ids == ["planned-dose", "max-mg-per-session"]
    # A prescriber at the chair gives the reason with the start of dosing.
    record = _start(
        db, sid, above, actor=PRESCRIBER,
        override_reason="Documented discussion with the patient and the medical director.",
    )  # fmt: skip
    assert record.dosing.dose_mg == above  # type: ignore[attr-defined]
    ids = db.scalars(select(DoseLimitOverrideRow.limit_ids)).one()
    assert ids == [
        f"planned-dose@session:{sid}:{above:g}mg",
        f"max-mg-per-session@session:{sid}:{above:g}mg",
    ]


def test_an_esketamine_dose_must_be_whole_devices(db: Session) -> None:
    sid = _passed_esketamine(db)
    with pytest.raises(InvalidInput, match="cannot be given with 28 mg devices") as no:
        _start(db, sid, 70, actor=PRESCRIBER, override_reason="Between the doses.")
    assert no.value.field == "dose_mg"
    assert db.scalars(select(DoseLimitOverrideRow)).all() == []


def test_an_iv_dose_is_the_planned_mg_or_what_the_measured_volume_delivers(db: Session) -> None:
    sid = checked_in(db, IV)
    sessions.pass_predose(db, at(10), sid, predose_answers(IV))
    planned = sessions.predose_facts(db, at(11), sid).dose.dose
    assert planned is not None
    assert planned.dose_mg == PLANNED_MG[IV]
    with pytest.raises(OverrideRequired, match="differs from the signed plan's 35 mg"):
        sessions.start_dosing(
            db, at(15), sid, product="ketamine hydrochloride", formulation="solution",
            lot_number="LOT-1", dose_mg=40, administered_by=NURSE.display_name,
            supervised_by=NURSE.display_name, concentration_mg_per_ml=10,
            initial_rate_mg_per_h=60,
        )  # fmt: skip
    record = sessions.start_dosing(
        db, at(15), sid, product="ketamine hydrochloride", formulation="solution",
        lot_number="LOT-1", dose_mg=planned.delivered_dose_mg or planned.dose_mg,
        administered_by=NURSE.display_name, supervised_by=NURSE.display_name,
        concentration_mg_per_ml=10, initial_rate_mg_per_h=60,
    )  # fmt: skip
    assert record.state is SessionState.DOSING
