"""The devices, sessions today, rems forms and clinic-policy commands on a real database."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.services.audit import AuditFilter, search_events
from ketaclinic.services.device_feed import device_actor
from ketaclinic.storage.database import SessionFactory, transaction
from services.signed_plans import signed_plan

runner = CliRunner()


def test_device_register_prints_a_working_token_and_revoke_stops_it(
    database_url: str, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", database_url)
    result = runner.invoke(app, ["devices", "register", "--name", "Chair 3 monitor"])
    assert result.exit_code == 0, result.output
    issued = json.loads(result.output)
    with session_factory() as db:
        found = device_actor(db, issued["token"])
    assert found is not None
    assert found[0] == issued["device_id"]
    revoked = runner.invoke(app, ["devices", "revoke", issued["device_id"]])
    assert revoked.exit_code == 0, revoked.output
    with session_factory() as db:
        assert device_actor(db, issued["token"]) is None


def test_policy_set_records_the_change_and_refuses_loosening_rems(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", database_url)
    ok = runner.invoke(
        app,
        ["clinic-policy", "set", "iv-racemic", "spo2_low_percent", "92", "--reason", "Altitude"],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["previous_value"] == 90
    refused = runner.invoke(
        app,
        ["clinic-policy", "set", "intranasal-esketamine", "min_observation_minutes", "60",
         "--reason", "Shorter visits"],
    )  # fmt: skip
    assert refused.exit_code != 0
    assert "protected for esketamine" in refused.output
    history = json.loads(runner.invoke(app, ["clinic-policy", "history"]).output)
    assert [h["reason"] for h in history] == ["Altitude"]
    assert json.loads(runner.invoke(app, ["sessions", "today"]).output) == []
    assert json.loads(runner.invoke(app, ["rems", "forms"]).output) == []


def test_sessions_book_and_reschedule_from_the_command_line(
    database_url: str, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", database_url)
    with transaction(session_factory) as db:
        plan = signed_plan(db, start=date.today() + timedelta(days=7))
    first = plan.live_sessions[0].scheduled_on
    args = ["sessions", "book", plan.plan_id, "--session", "1", "--by", "Nora Quinn"]
    refused = runner.invoke(app, [*args, "--at", f"{first}T10:00", "--role", "administrator"])
    assert refused.exit_code == 2
    assert "--role must be one of nurse, prescriber" in refused.output
    booked = runner.invoke(app, [*args, "--at", f"{first}T10:00", "--chair", "Chair 2"])
    assert booked.exit_code == 0, booked.output
    session_id = json.loads(booked.output)["session_id"]
    again = runner.invoke(app, [*args, "--at", f"{first}T10:00"])
    assert again.exit_code == 4
    assert "already booked" in again.output
    not_missed = runner.invoke(app, ["sessions", "reschedule", session_id, "--by", "Nora Quinn"])
    assert not_missed.exit_code == 4
    with session_factory() as db:
        [event] = search_events(db, AuditFilter(action="plan.sessions.book"))
    assert event.actor_name == "Nora Quinn (command line)"
