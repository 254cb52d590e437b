"""``ketaclinic screen``: JSON decision on stdout; exit 2 with a message for malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketaclinic.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "screening"


@pytest.mark.parametrize(
    ("example", "decision"),
    [
        ("eligible-iv.json", "eligible"),
        ("with-conditions-esketamine.json", "eligible-with-conditions"),
        ("not-eligible-esketamine.json", "not-eligible"),
        ("more-information-iv.json", "more-information-needed"),
        ("overridden-not-eligible-iv.json", "eligible-with-conditions"),
    ],
)
def test_examples_reach_their_decision(example: str, decision: str) -> None:
    result = runner.invoke(app, ["screen", "--input", str(EXAMPLES / example)])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["decision"] == decision
    for finding in payload["findings"]:
        assert finding["reason"]
        assert finding["action"]
        assert finding["citation"]


def test_not_eligible_names_the_blocking_rule() -> None:
    result = runner.invoke(
        app, ["screen", "--input", str(EXAMPLES / "not-eligible-esketamine.json")]
    )
    payload = json.loads(result.stdout)
    assert payload["blocking_rule_ids"] == ["esketamine-vascular"]


def test_override_is_echoed_with_who_and_why() -> None:
    result = runner.invoke(
        app, ["screen", "--input", str(EXAMPLES / "overridden-not-eligible-iv.json")]
    )
    payload = json.loads(result.stdout)
    (override,) = payload["overrides"]
    assert override["prescriber_id"] == "dr-okafor"
    assert override["rule_ids"] == ["treatment-resistance"]
    assert "Nortriptyline" in override["reason"]
    finding = next(f for f in payload["findings"] if f["rule_id"] == "treatment-resistance")
    assert finding["status"] == "not-met"
    assert finding["override"]["prescriber_id"] == "dr-okafor"


def test_every_example_is_documented() -> None:
    doc = (EXAMPLES.parents[1] / "docs" / "screening-input.md").read_text(encoding="utf-8")
    for example in EXAMPLES.glob("*.json"):
        assert example.name in doc


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "one JSON object"),
        ('{"treatment": "racemic-iv"}', "treatment"),
        ('{"treatment": "racemic-iv-im", "phq9_item9": 4}', "phq9_item9"),
        (
            '{"treatment": "racemic-iv-im", '
            '"baseline_bp": {"systolic_mmhg": 80, "diastolic_mmhg": 120}}',
            "swapped",
        ),
        ('{"treatment": "racemic-iv-im", "surprise": 1}', "surprise"),
        (
            '{"treatment": "racemic-iv-im", "overrides": [{"rule_ids": ["adult"], "reason": " ",'
            ' "prescriber_id": "dr", "overridden_at": "2026-03-02T09:00:00"}]}',
            "reason",
        ),
    ],
)
def test_malformed_input_exits_2_with_a_message(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "input.json"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["screen", "--input", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert expected in result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["screen", "--input", str(tmp_path / "absent.json")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_a_blood_pressure_older_than_the_clinic_policy_is_asked_for_again() -> None:
    # Screened 2 March 2026; BP of 12 January is 49 days old (the default accepts 30 days).
    result = runner.invoke(app, ["screen", "--input", str(EXAMPLES / "old-blood-pressure-iv.json")])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["decision"] == "more-information-needed"
    gate = next(f for f in payload["findings"] if f["rule_id"] == "bp-gate")
    assert "of 2026-01-12, is 49 days old" in gate["reason"]
    assert payload["policy"]["values"]["screening_bp_max_age_days"] == 30


def test_an_override_of_a_rule_that_did_not_fire_is_refused(tmp_path: Path) -> None:
    facts = json.loads((EXAMPLES / "eligible-iv.json").read_text())
    override = {"rule_ids": ["treatment-resistance"], "reason": "Typo in the file",
                "prescriber_id": "dr-okafor", "overridden_at": "2026-03-02T09:00"}  # fmt: skip
    facts["overrides"] = [override]
    path = tmp_path / "stale-override.json"
    path.write_text(json.dumps(facts))
    result = runner.invoke(app, ["screen", "--input", str(path)])
    assert result.exit_code == 2
    assert "treatment-resistance, which did not fire" in result.stderr
