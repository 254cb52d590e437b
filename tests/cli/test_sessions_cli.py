"""The devices, sessions today, rems forms and clinic-policy commands on a real database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.services.device_feed import device_actor
from ketaclinic.storage.database import SessionFactory

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
