"""``ketaclinic db upgrade`` and ``ketaclinic demo load`` against real SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.errors import ConfigurationError
from ketaclinic.storage.database import make_engine
from ketaclinic.storage.migrate import current_revision, head_revision
from ketaclinic.storage.tables.patients import PatientRow

runner = CliRunner()


def _patients(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(PatientRow)).scalar_one()
    finally:
        engine.dispose()


def test_db_upgrade_migrates_then_reports_already_current(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", empty_database_url)
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"upgraded from empty to revision {head_revision()}" in first.output
    assert current_revision(empty_database_url) == head_revision()
    second = runner.invoke(app, ["db", "upgrade"])
    assert second.exit_code == 0
    assert "already at revision" in second.output


def test_demo_load_upgrades_first_and_twice_adds_nothing(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", empty_database_url)
    first = runner.invoke(app, ["demo", "load", "--seed", "3", "--patients", "4"])
    assert first.exit_code == 0, first.output
    # Four in the demo's month, and those who arrived since (intake done, course about to start).
    found = re.search(
        r"(\d+) patients \(4 in the month, (\d+) arrived since\), (\d+) new", first.output
    )
    assert found, first.output
    total, arrived, new = (int(n) for n in found.groups())
    assert total == new == 4 + arrived
    second = runner.invoke(app, ["demo", "load", "--seed", "3", "--patients", "4"])
    assert second.exit_code == 0, second.output
    assert f"0 new, {total} already there" in second.output
    assert _patients(empty_database_url) == total


def test_default_database_is_a_sqlite_file_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KETACLINIC_DATABASE_URL", raising=False)
    data_dir = tmp_path / "not-yet" / "data"
    monkeypatch.setenv("KETACLINIC_DATA_DIR", str(data_dir))
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (data_dir / "ketaclinic.db").is_file()


def test_unsupported_database_url_fails_with_a_clear_message() -> None:
    # The real entry point: the message must reach standard error, with the configuration exit code.
    env = dict(os.environ, KETACLINIC_DATABASE_URL="mysql://clinic@localhost/ketaclinic")
    completed = subprocess.run(
        [sys.executable, "-c", "from ketaclinic.cli import main; main()", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert completed.returncode == ConfigurationError.exit_code
    assert "not supported" in completed.stderr
