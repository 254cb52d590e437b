"""``ketaclinic pk models | simulate | population``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.pharmacology import MODEL_IDS

runner = CliRunner()


def test_models_lists_every_model_with_its_source() -> None:
    result = runner.invoke(app, ["pk", "models", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["id"] for row in rows] == list(MODEL_IDS)
    for row in rows:
        for key in ("population", "structure", "routes", "source"):
            assert row[key]
    text = runner.invoke(app, ["pk", "models"]).output
    assert "perez-ruixo" in text
    assert "hepato-portal" in text


def test_simulate_json_has_the_promised_fields() -> None:
    result = runner.invoke(
        app,
        [
            "pk",
            "simulate",
            "--model",
            "domino",
            "--weight",
            "70",
            "--route",
            "iv",
            "--dose",
            "0.5mg/kg",
            "--duration",
            "40",
            "--times",
            "0,20,40,60,120",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["times_min"] == [0.0, 20.0, 40.0, 60.0, 120.0]
    for key in ("concentration_ng_ml", "cmax_ng_ml", "tmax_min", "auc_ng_h_ml"):
        assert key in payload
    # Infusion peak at its end; 35 mg into the Domino model (V1 0.063 L/kg).
    assert payload["tmax_min"] == pytest.approx(40.0, abs=1e-3)
    assert payload["concentration_ng_ml"][0] == 0.0


def test_simulate_esketamine_reports_the_metabolite() -> None:
    result = runner.invoke(
        app,
        [
            "pk",
            "simulate",
            "--model",
            "perez-ruixo",
            "--weight",
            "70",
            "--age",
            "40",
            "--route",
            "intranasal",
            "--dose",
            "56mg",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["metabolite"] == "noresketamine"
    assert len(payload["metabolite_ng_ml"]) == len(payload["times_min"])


def test_simulate_table_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "plot.png"
    result = runner.invoke(
        app,
        [
            "pk",
            "simulate",
            "--model",
            "kamp",
            "--weight",
            "80",
            "--route",
            "iv",
            "--steps",
            "0:60,20:0,30:30",
            "--stop",
            "60",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Cmax" in result.output
    assert f"plot: {plot}" in result.output
    assert plot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--model", "flint", "--weight", "10", "--route", "intranasal", "--dose", "1mg"],
            "allows: iv",
        ),
        (
            ["--model", "domino", "--weight", "70", "--route", "iv", "--dose", "-3mg"],
            "like 0.5mg/kg",
        ),
        (
            ["--model", "domino", "--weight", "70", "--route", "iv", "--dose", "500mg/kg"],
            "plausibility",
        ),
        (
            ["--model", "domino", "--weight", "70", "--route", "rectal", "--dose", "5mg"],
            "Route 'rectal'",
        ),
        (
            ["--model", "nope", "--weight", "70", "--route", "iv", "--dose", "5mg"],
            "Unknown PK model",
        ),
    ],
)
def test_simulate_errors(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["pk", "simulate", *arguments])
    assert result.exit_code in (2, 3)
    assert message in result.stderr


def test_population_json_csv_and_plot(tmp_path: Path) -> None:
    table = tmp_path / "pop.csv"
    result = runner.invoke(
        app,
        [
            "pk",
            "population",
            "--model",
            "herd",
            "--weight",
            "20-40",
            "--age",
            "8",
            "--route",
            "iv",
            "--dose",
            "1mg/kg",
            "--subjects",
            "300",
            "--seed",
            "4",
            "--times",
            "0,10,60",
            "--workers",
            "1",
            "--output",
            str(table),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    low, median, high = (row[1] for row in payload["bands_ng_ml"]["concentration"])
    assert low < median < high
    assert table.read_text().startswith('"output"')


def test_weight_outside_population_is_a_warning_not_an_error() -> None:
    result = runner.invoke(
        app,
        [
            "pk",
            "simulate",
            "--model",
            "herd",
            "--weight",
            "95",
            "--route",
            "iv",
            "--dose",
            "20mg",
            "--json",
        ],
    )
    assert result.exit_code == 0
    assert "outside the herd model's population" in result.stderr


def test_a_child_weight_with_an_adult_model_warns() -> None:
    result = runner.invoke(
        app,
        [
            *("pk", "simulate", "--model", "domino", "--weight", "12", "--route", "iv"),
            *("--dose", "1mg/kg", "--times", "0,10", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Weight 12 kg is outside the domino model's population" in result.stderr
    assert "12 kg" in json.loads(result.stdout)["warnings"][0]


def test_effect_site_half_time_is_configurable() -> None:
    base = [
        "pk",
        "simulate",
        "--model",
        "kamp",
        "--weight",
        "70",
        "--route",
        "iv",
        "--dose",
        "20mg",
    ]
    base += ["--times", "0,5,10", "--json"]
    slow = json.loads(runner.invoke(app, [*base, "--effect-half-time", "30"]).stdout)
    fast = json.loads(runner.invoke(app, [*base, "--effect-half-time", "1"]).stdout)
    assert fast["effect_site_ng_ml"][1] > slow["effect_site_ng_ml"][1]
    assert fast["concentration_ng_ml"] == slow["concentration_ng_ml"]
    refused = runner.invoke(app, [*base, "--effect-half-time", "-2"])
    assert refused.exit_code == 2
    assert "effect-site half-time" in refused.stderr
