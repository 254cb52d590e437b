"""``ketaclinic users create-admin / invite`` and ``ketaclinic audit verify / export``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.cli.audit import EXIT_CHAIN_BROKEN
from ketaclinic.storage.database import make_engine, make_session_factory
from ketaclinic.storage.tables.access import User
from ketaclinic.web.security.passwords import verify_password

runner = CliRunner()


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", database_url)
    return database_url


def _users(url: str) -> list[User]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            return list(db.scalars(select(User)))
    finally:
        engine.dispose()


def test_create_admin_reads_the_password_from_stdin_and_only_once(configured: str) -> None:
    result = runner.invoke(
        app,
        ["users", "create-admin", "--email", "Ada@Clinic.example.org", "--name", "Ada Admin",
         "--password-stdin"],
        input="a sufficiently long phrase\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Administrator Ada Admin <ada@clinic.example.org> created." in result.output
    (admin,) = _users(configured)
    assert admin.role == "administrator"
    assert verify_password(admin.password_hash, "a sufficiently long phrase")
    again = runner.invoke(
        app,
        ["users", "create-admin", "--email", "bob@clinic.example.org", "--name", "Bob",
         "--password-stdin"],
        input="another long phrase here\n",
    )  # fmt: skip
    assert again.exit_code == 4  # RuleViolation
    assert "An administrator already exists" in again.output


def test_create_admin_refuses_a_short_password(configured: str) -> None:
    result = runner.invoke(
        app,
        ["users", "create-admin", "--email", "ada@clinic.example.org", "--name", "Ada",
         "--password-stdin"],
        input="short\n",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "at least 12 characters" in result.output
    assert _users(configured) == []


def test_invite_prints_a_link_and_requires_a_patient_id_for_patients(configured: str) -> None:
    missing = runner.invoke(
        app, ["users", "invite", "--email", "p@example.org", "--name", "P", "--role", "patient"]
    )
    assert missing.exit_code == 2
    assert "--mrn" in missing.output
    result = runner.invoke(
        app,
        ["users", "invite", "--email", "n@example.org", "--name", "Nia", "--role", "nurse",
         "--base-url", "https://clinic.example.org/"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "https://clinic.example.org/set-password/" in result.output
    (nurse,) = _users(configured)
    assert nurse.password_hash is None


def test_a_patient_is_invited_by_clinic_number(configured: str) -> None:
    from ketaclinic.services import patients
    from ketaclinic.services.context import SYSTEM, RequestContext

    engine = make_engine(configured)
    try:
        with make_session_factory(engine)() as db:
            person = {"given_name": "Robin", "family_name": "Hale", "date_of_birth": "1980-02-01",
                      "sex": "F"}  # fmt: skip
            ctx = RequestContext(SYSTEM, datetime.now(UTC))
            patient_id = patients.register_patient(db, ctx, person, {}, mrn="KC-CLI-1")
            db.commit()
    finally:
        engine.dispose()
    wrong = runner.invoke(app, ["users", "invite", "--email", "r@example.org", "--name", "Robin",
                                "--role", "patient", "--mrn", "KC-NONE"])  # fmt: skip
    assert wrong.exit_code == 3  # NotFound
    assert "No patient has the clinic number 'KC-NONE'" in wrong.output
    done = runner.invoke(app, ["users", "invite", "--email", "r@example.org", "--name", "Robin",
                               "--role", "patient", "--mrn", "kc-cli-1"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Linked to the record of Robin Hale (KC-CLI-1)." in done.output
    (account,) = _users(configured)
    assert (account.role, account.patient_id) == ("patient", patient_id)


def test_audit_verify_passes_then_names_the_tampered_entry(configured: str, tmp_path: Path) -> None:
    for index in range(3):
        runner.invoke(
            app,
            ["users", "invite", "--email", f"s{index}@example.org", "--name", f"S{index}",
             "--role", "researcher"],
        )  # fmt: skip
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "6 entries verified" in ok.output  # per invitation: the account and its link
    engine = make_engine(configured)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET detail_json = '{}' WHERE sequence = 4"))
    engine.dispose()
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == EXIT_CHAIN_BROKEN
    assert "audit trail broken at entry 4" in broken.output

    out = tmp_path / "trail.json"
    exported = runner.invoke(app, ["audit", "export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    rows = json.loads(out.read_text())
    assert [r["sequence"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert rows[-1]["action"] == "audit.export"
    bad = runner.invoke(
        app, ["audit", "export", "--out", str(tmp_path / "x.txt"), "--format", "xml"]
    )
    assert bad.exit_code == 2


def test_commands_on_an_unmigrated_database_say_what_to_do(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", empty_database_url)
    for command in (["audit", "verify"], ["users", "purge-sign-ins"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 6, result.output  # ConfigurationError
        assert "Run `ketaclinic db upgrade` first" in result.output
