"""``ketaclinic protocol-settings``: show, set with who and why, refuse, revert, rule classes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.services.protocol_settings import check_dose_limits, setting_history
from ketaclinic.storage.database import SessionFactory

runner = CliRunner()
IV3 = "iv-racemic-thrice-weekly"


def test_set_show_and_revert_a_protocol_setting(
    database_url: str, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", database_url)
    shown = json.loads(runner.invoke(app, ["protocol-settings", "show", "--protocol", IV3]).output)
    ceiling = next(s for s in shown if s["setting"] == "limits.max_mg_per_session")
    assert (ceiling["sourced_value"], ceiling["value"], ceiling["set_by"]) == (None, None, None)

    by = ["--by", "Dr Admin"]
    done = runner.invoke(app, ["protocol-settings", "set", IV3, "limits.max_mg_per_session",
                               "200", "--reason", "Board decision", *by])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["changed_by"] == "Dr Admin (command line)"
    with session_factory() as db:
        assert check_dose_limits(db, IV3, dose_mg=300, dose_mg_per_kg=1.0).refused == [
            "max-mg-per-session"
        ]
    refused = runner.invoke(app, ["protocol-settings", "set", IV3, "limits.max_mg_per_kg",
                                  "2", "--reason", "Non-responders", *by])  # fmt: skip
    assert refused.exit_code == 2
    assert "not raised above" in refused.output

    back = runner.invoke(app, ["protocol-settings", "revert", IV3, "limits.max_mg_per_session",
                               "--reason", "Back to the data", "--by", "Dr Admin"])  # fmt: skip
    assert back.exit_code == 0, back.output
    with session_factory() as db:
        assert [c.reverted for c in setting_history(db)] == [False, True]

    chosen = runner.invoke(app, ["protocol-settings", "rule-class", "uncontrolled-hypertension",
                                 "relative-contraindication", "--reason", "ASRA guideline",
                                 "--by", "Dr Admin"])  # fmt: skip
    assert chosen.exit_code == 0, chosen.output
    listed = json.loads(runner.invoke(app, ["protocol-settings", "rule-classes"]).output)
    assert listed[0]["class_in_force"] == "relative-contraindication"
