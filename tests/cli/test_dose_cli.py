"""``ketaclinic dose`` and ``ketaclinic protocols``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ketaclinic.cli import app

runner = CliRunner()


def test_iv_dose_json_has_the_promised_fields() -> None:
    result = runner.invoke(
        app,
        [
            "dose",
            "--protocol",
            "iv-racemic-thrice-weekly",
            "--weight",
            "80",
            "--concentration",
            "10",
            "--bag-ml",
            "100",
            "--duration",
            "40",
        ],
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    # 0.5 x 80 = 40 mg; 4.0 mL; (100 + 4) / (40/60) = 156 mL/h.
    assert payload["dose_mg"] == 40
    assert payload["dose_mg_per_kg"] == 0.5
    assert payload["volume_ml"] == 4.0
    assert payload["rate_ml_per_h"] == 156.0


def test_esketamine_dose_gives_devices() -> None:
    result = runner.invoke(
        app, ["dose", "--protocol", "esketamine-trd", "--weight", "70", "--dose-mg", "56"]
    )
    payload = json.loads(result.stdout)
    assert payload["devices"] == 2
    assert payload["device_offsets_min"] == [0.0, 5.0]
    assert payload["volume_ml"] is None


def test_limit_refused_exit_4_then_overridden() -> None:
    args = [
        "dose",
        "--protocol",
        "iv-racemic-thrice-weekly",
        "--weight",
        "70",
        "--dose-mg-per-kg",
        "1.5",
    ]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 4
    assert "max-mg-per-kg" in refused.stderr
    missing_reason = runner.invoke(app, [*args, "--override-limit", "max-mg-per-kg"])
    assert missing_reason.exit_code == 2
    allowed = runner.invoke(
        app,
        [
            *args,
            "--override-limit",
            "max-mg-per-kg",
            "--reason",
            "Partial response at 1.0 mg/kg",
            "--prescriber",
            "dr-okafor",
            "--at",
            "2026-03-02T09:15:00+00:00",
        ],
    )
    assert allowed.exit_code == 0, allowed.stderr
    check = json.loads(allowed.stdout)["limit_checks"][0]
    assert check["within"] is False
    assert check["override"]["reason"] == "Partial response at 1.0 mg/kg"


def test_implausible_input_exit_2() -> None:
    for args in (
        ["--protocol", "iv-racemic-thrice-weekly", "--weight", "700"],
        ["--protocol", "iv-racemic-thrice-weekly", "--weight", "70", "--concentration", "0"],
        ["--protocol", "iv-racemic-thrice-weekly", "--weight", "70", "--height", "1.75"],
        ["--protocol", "no-such-protocol", "--weight", "70"],
    ):
        result = runner.invoke(app, ["dose", *args])
        assert result.exit_code == 2, args
        assert result.stderr.startswith("error:")


def test_protocols_lists_every_protocol_with_sources() -> None:
    result = runner.invoke(app, ["protocols"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    ids = {p["id"] for p in payload}
    assert {"iv-racemic-thrice-weekly", "esketamine-trd", "esketamine-mdsi", "oral-racemic"} <= ids
    for protocol in payload:
        assert protocol["sources"]
        assert isinstance(protocol["verified"], bool)
    oral = next(p for p in payload if p["id"] == "oral-racemic")
    assert oral["experimental"] is True
    assert oral["unverified_sources"]
    for protocol in payload:
        # A source shared by several parts (the Ketalar vial strengths) is listed once.
        assert len(protocol["unverified_sources"]) == len(set(protocol["unverified_sources"]))
    iv = next(p for p in payload if p["id"] == "iv-racemic-thrice-weekly")
    ketalar = [s for s in iv["unverified_sources"] if s.startswith("Ketalar")]
    assert len(ketalar) == 1


def test_dose_tries_a_clinic_setting_and_refuses_one_the_protocol_does_not_allow() -> None:
    # 300 kg x 1.0 mg/kg = 300 mg: without a ceiling "not configured"; at 200 mg, refused.
    base = ["dose", "--protocol", "iv-racemic-thrice-weekly", "--weight", "300",
            "--dose-mg-per-kg", "1.0"]  # fmt: skip
    unset = runner.invoke(app, base)
    assert unset.exit_code == 0, unset.stderr
    checks = {c["id"]: c for c in json.loads(unset.stdout)["limit_checks"]}
    assert checks["max-mg-per-session"]["status"] == "not configured"
    capped = runner.invoke(app, [*base, "--setting", "limits.max_mg_per_session=200"])
    assert capped.exit_code == 4
    assert "max-mg-per-session" in capped.stderr
    wrong = runner.invoke(
        app, ["dose", "--protocol", "esketamine-trd", "--weight", "70",
              "--setting", "limits.max_mg_per_session=100"],
    )  # fmt: skip
    assert wrong.exit_code == 2
    assert "Settable: limits.min_interval_days" in wrong.stderr


def test_regional_profile_from_the_command_line() -> None:
    result = runner.invoke(
        app,
        ["dose", "--protocol", "esketamine-trd", "--weight", "60", "--first-session",
         "--region", "eu-65-and-over", "--age", "70"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["dose_mg"], payload["devices"]) == (28, 1)
