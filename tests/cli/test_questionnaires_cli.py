"""The CLI contract other tools rely on: JSON on stdout; exit 2 and stderr on bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ketaclinic.cli import app

runner = CliRunner()


def test_score_prints_one_json_object() -> None:
    result = runner.invoke(app, ["score", "phq9", "--answers", json.dumps([2] * 9)])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["instrument"], payload["total"], payload["severity"]) == (
        "phq9",
        18,
        "moderately-severe",
    )
    assert payload["alerts"][0]["id"] == "phq9-item9-suicide-risk"


def test_score_accepts_an_object_keyed_by_item_id_and_prints_extras() -> None:
    answers = {f"q{n}": 0 for n in range(1, 8)} | {"q1": 1, "q2": 1, "q4": 1}
    result = runner.invoke(app, ["score", "cssrs-screener", "--answers", json.dumps(answers)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["risk"] == "high"


def test_score_cutoff_and_baseline_options() -> None:
    pcl = [2] * 16 + [0] * 4  # total 32
    result = runner.invoke(
        app, ["score", "pcl5", "--answers", json.dumps(pcl), "--cutoff", "probable_ptsd=32"]
    )
    assert json.loads(result.stdout)["probable_ptsd"] is True
    cadss = [1] * 5 + [0] * 18
    result = runner.invoke(
        app, ["score", "cadss", "--answers", json.dumps(cadss), "--baseline-total", "0"]
    )
    assert json.loads(result.stdout)["dissociation"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "phq9", "--answers", "[1,2"], "not valid JSON"),
        (["score", "phq9", "--answers", "[1,2]"], "item 3"),
        (["score", "phq9", "--answers", json.dumps([0] * 8 + [4])], "item 9"),
        (["score", "phq9", "--answers", '"0,1"'], "JSON array"),
        (["score", "nosuch", "--answers", "[1]"], "Known instruments"),
        (
            ["score", "pcl5", "--answers", json.dumps([0] * 20), "--cutoff", "probable_ptsd=20"],
            "31",
        ),
    ],
)
def test_invalid_input_exits_2_with_message_on_stderr(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_instruments_table_and_json() -> None:
    table = runner.invoke(app, ["instruments"])
    assert table.exit_code == 0
    header = table.stdout.splitlines()[0]
    for column in ("id", "name", "items", "range", "LOINC total", "version"):
        assert column in header
    assert any(line.startswith("phq9 ") and "0-27" in line for line in table.stdout.splitlines())
    listing = json.loads(runner.invoke(app, ["instruments", "--json"]).stdout)
    phq9 = next(row for row in listing if row["id"] == "phq9")
    assert (phq9["items"], phq9["max_total"], phq9["loinc_total"]) == (9, 27, "44261-6")
