"""A clinic's protocol settings: who may set what, how far, with which record, and their effect.

Hand-worked figures:
- 300 kg x 1.0 mg/kg = 300 mg: within the IV 1.0 mg/kg ceiling; no source gives an mg-per-session
  ceiling, so until the clinic sets one the dose says "not configured"; at a 200 mg ceiling it is
  refused unless a prescriber overrides it.
- Minimum interval 3 days, IV thrice weekly from Wednesday 4 March 2026: Wed 4, Mon 9 (Sat 7 is
  closed, so the third day after is Saturday -> Monday), Thu 12, Mon 16 (Sun 15 closed), ...
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from screened_patients import STATED_ALL_CLEAR, make_known_patient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.overrides import Override
from ketaclinic.errors import InvalidInput, OverrideRequired, PermissionDenied
from ketaclinic.services import planning, screening
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.protocol_settings import (
    change_protocol_setting,
    check_dose_limits,
    effective_protocol,
    protocol_setting_lines,
    setting_history,
)
from ketaclinic.storage.tables.access import AuditEvent
from support.clinic import PRESCRIBER, context

IV3 = "iv-racemic-thrice-weekly"
ADMIN = Actor(user_id="user-admin-1", role="administrator", display_name="Ada Admin")
REASON = "Pharmacy and medical director agreed a ceiling for the largest patients."


@pytest.fixture
def admin() -> RequestContext:
    return context(ADMIN)


def test_per_session_ceiling_is_not_configured_until_the_clinic_sets_it(
    db: Session, admin: RequestContext
) -> None:
    before = check_dose_limits(db, IV3, dose_mg=300, dose_mg_per_kg=1.0)
    session_check = next(c for c in before.checks if c.id == "max-mg-per-session")
    assert (session_check.configured, session_check.limit, session_check.within) == (
        False,
        None,
        None,
    )
    assert session_check.status == "not configured"
    assert any("No maximum mg per session is configured" in w for w in before.warnings)
    assert before.refused == []
    before.require_within()

    change_protocol_setting(db, admin, IV3, "limits.max_mg_per_session", 200, reason=REASON)
    db.commit()
    after = check_dose_limits(db, IV3, dose_mg=300, dose_mg_per_kg=1.0)
    assert after.refused == ["max-mg-per-session"]
    assert after.warnings == ()
    ceiling = next(limit for limit in after.limits if limit.id == "max-mg-per-session")
    assert (ceiling.value, ceiling.set_by_clinic) == (200, True)
    assert "Ada Admin" in ceiling.source
    assert REASON in ceiling.source
    with pytest.raises(OverrideRequired) as refused:
        after.require_within()
    assert refused.value.rule_ids == ["max-mg-per-session"]
    accepted = Override.create(
        rule_ids=["max-mg-per-session"],
        reason="Bariatric patient; anaesthetist present.",
        prescriber_id="dr-okafor",
        overridden_at=admin.now,
    )
    overridden = check_dose_limits(db, IV3, dose_mg=300, dose_mg_per_kg=1.0, overrides=[accepted])
    assert overridden.refused == []
    # The other IV protocol keeps its own (unset) ceiling.
    other = check_dose_limits(db, "iv-racemic-twice-weekly", dose_mg=300, dose_mg_per_kg=1.0)
    assert other.refused == []


def test_each_change_is_recorded_with_who_when_why_and_audited(
    db: Session, admin: RequestContext
) -> None:
    change_protocol_setting(db, admin, IV3, "limits.max_mg_per_session", 200, reason=REASON)
    later = context(ADMIN, admin.now + timedelta(days=1))
    change_protocol_setting(
        db, later, IV3, "limits.max_mg_per_session", None, reason="Back to the data.", revert=True
    )
    db.commit()
    first, second = setting_history(db, f"protocol:{IV3}")
    assert (first.value, first.previous_value, first.default_value) == (200, None, None)
    assert (first.changed_by, first.changed_at, first.reason) == ("Ada Admin", admin.now, REASON)
    assert (second.reverted, second.previous_value) == (True, 200)
    assert effective_protocol(db, IV3).limits.max_mg_per_session is None
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "protocol.setting.change")
    ).all()
    assert len(events) == 2


def test_only_an_administrator_with_a_reason_changes_a_setting(
    db: Session, admin: RequestContext
) -> None:
    with pytest.raises(PermissionDenied):
        change_protocol_setting(
            db, context(PRESCRIBER), IV3, "limits.max_mg_per_session", 200, reason=REASON
        )
    with pytest.raises(InvalidInput) as no_reason:
        change_protocol_setting(db, admin, IV3, "limits.max_mg_per_session", 200, reason=" ")
    assert no_reason.value.field == "reason"
    assert setting_history(db) == []


@pytest.mark.parametrize(
    ("protocol_id", "setting_id", "value", "message"),
    [
        # The esketamine label fixes its 84 mg ceiling: only the interval is the clinic's.
        ("esketamine-trd", "limits.max_mg_per_session", 100, "Settable: limits.min_interval_days"),
        # A ceiling may be lowered, never raised above the highest dose studied.
        (IV3, "limits.max_mg_per_kg", 1.5, "not raised above the sourced 1"),
        (IV3, "dose.default", 1.2, "outside the protocol's sourced range 0.1-1"),
        (IV3, "dose.titration_steps", "0.75, 0.5", "steps go up"),
        (IV3, "dose.weight_policy", "lean", "not one of actual, ideal, adjusted"),
        (IV3, "limits.min_interval_days", 1.5, "whole number"),
        (IV3, "infusion.default_duration_min", 4000, "outside the accepted range"),
        ("oral-racemic", "dose.maximum", 9, "outside the protocol's sourced range 0.25-7"),
    ],
)
def test_a_setting_outside_what_the_protocol_allows_is_refused_by_name(
    db: Session,
    admin: RequestContext,
    protocol_id: str,
    setting_id: str,
    value: object,
    message: str,
) -> None:
    with pytest.raises(InvalidInput, match=message):
        change_protocol_setting(db, admin, protocol_id, setting_id, value, reason=REASON)
    assert setting_history(db) == []


def test_contradicting_settings_are_refused_naming_the_setting(
    db: Session, admin: RequestContext
) -> None:
    change_protocol_setting(db, admin, IV3, "dose.default", 0.75, reason=REASON)
    with pytest.raises(InvalidInput, match="contradict") as refused:
        change_protocol_setting(db, admin, IV3, "limits.max_mg_per_kg", 0.5, reason=REASON)
    # A default dose above the ceiling would be refused at every session: nothing is written.
    assert refused.value.field == "limits.max_mg_per_kg"
    assert "above the 0.5 mg/kg ceiling" in refused.value.message
    assert len(setting_history(db)) == 1


def _screened(db: Session, ctx: RequestContext, **kw: object) -> str:
    pid = make_known_patient(db, ctx, **kw)  # type: ignore[arg-type]
    screening.screen_patient(db, ctx, pid, "racemic-iv-im", STATED_ALL_CLEAR)
    return pid


def test_plans_use_the_clinics_default_dose_interval_and_weight_policy(
    db: Session, ctx: RequestContext, admin: RequestContext
) -> None:
    for setting_id, value in (
        ("dose.default", 0.75),
        ("limits.min_interval_days", 3),
        ("dose.weight_policy", "adjusted"),
    ):
        change_protocol_setting(db, admin, IV3, setting_id, value, reason=REASON)
    # 120 kg, 178 cm man: IBW = 50 + 2.3 x (178/2.54 - 60) = 73.18 kg;
    # adjusted = 73.18 + 0.4 x (120 - 73.18) = 91.9 kg; 0.75 mg/kg x 91.9 = 68.9 mg.
    pid = _screened(db, ctx, weight_kg=120.0, height_cm=178.0)
    plan = planning.create_plan(db, context(PRESCRIBER), pid, IV3, date(2026, 3, 4))
    db.commit()
    dose = plan.first_dose
    assert dose.weight_policy == "adjusted"
    assert dose.dose_mg_per_kg == 0.75
    assert dose.dosing_weight_kg == pytest.approx(91.9, abs=0.05)
    assert dose.dose_mg == pytest.approx(68.9, abs=0.05)
    assert any("practice, not guideline" in w for w in dose.warnings)
    assert any("dose.default: clinic setting by Ada Admin" in s for s in dose.sources)
    days = [s.scheduled_on for s in plan.sessions][:4]
    assert days == [date(2026, 3, 4), date(2026, 3, 9), date(2026, 3, 12), date(2026, 3, 16)]
    assert all(s.scheduled_on.weekday() < 5 for s in plan.sessions)


def test_the_policy_page_lines_show_sourced_and_clinic_values_with_sources(
    db: Session, admin: RequestContext
) -> None:
    change_protocol_setting(db, admin, IV3, "limits.max_mg_per_session", 250, reason=REASON)
    lines = {(line.protocol_id, line.setting.id): line for line in protocol_setting_lines(db)}
    ceiling = lines[(IV3, "limits.max_mg_per_session")]
    assert (ceiling.sourced_value, ceiling.value) == (None, 250)
    assert ceiling.applied is not None
    assert ceiling.applied.changed_by == "Ada Admin"
    assert not ceiling.verified
    assert ("esketamine-trd", "limits.max_mg_per_session") not in lines
    assert lines[("esketamine-trd", "limits.min_interval_days")].sourced_value == 2


def test_an_old_weight_warns_for_a_later_session_and_is_refused_on_the_day(
    db: Session, ctx: RequestContext
) -> None:
    # Weighed and screened 35 days before Monday 2 March 2026; the clinic accepts 30 days.
    earlier = context(ctx.actor, ctx.now - timedelta(days=35))
    pid = _screened(db, earlier)
    doctor = context(PRESCRIBER)
    ahead = planning.create_plan(db, doctor, pid, IV3, date(2026, 3, 9))
    db.commit()
    dose = ahead.first_dose
    assert dose.weight_measured_on == earlier.now.date()
    assert any(
        "42 days from the session" in w and "weigh the patient again" in w for w in dose.warnings
    )
    with pytest.raises(InvalidInput, match="Weigh the patient before dosing") as refused:
        planning.create_plan(db, doctor, pid, IV3, date(2026, 3, 2))
    assert refused.value.field == "weight"
