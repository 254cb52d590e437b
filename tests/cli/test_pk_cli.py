"""``ketaclinic pk models | simulate | population``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def _population(*arguments: str) -> dict[str, Any]:
    base = ["pk", "population", "--subjects", "200", "--seed", "3", "--workers", "1", "--json"]
    result = runner.invoke(app, [*base, *arguments])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    payload["stderr"] = result.stderr
    return payload


DOMINO_BOLUS = ("--model", "domino", "--route", "iv", "--age", "40", "--times", "0,5,30")


def test_population_per_kg_dose_is_per_subject() -> None:
    """Domino at 0.5 mg/kg: every subject has the same curve whatever its weight."""
    per_kg = _population(*DOMINO_BOLUS, "--weight", "50-100", "--dose", "0.5mg/kg")
    fixed = _population(*DOMINO_BOLUS, "--weight", "50-100", "--dose", "37.5mg")
    low, _, high = (row[1] for row in per_kg["bands_ng_ml"]["concentration"])
    assert high / low < 1.01
    low, _, high = (row[1] for row in fixed["bands_ng_ml"]["concentration"])
    assert high / low > 1.5
    assert any("per kg" in note for note in per_kg["notes"])


def test_population_covariate_ranges_fractions_and_effect_site() -> None:
    payload = _population(
        *("--model", "perez-ruixo", "--route", "intranasal", "--dose", "56mg"),
        *("--weight", "30-100", "--age", "20-90", "--times", "0,30,240"),
        *("--asian-fraction", "0.5", "--japanese-fraction", "0.1", "--female-fraction", "0.5"),
        *("--effect-half-time", "10"),
    )
    assert "effect" in payload["bands_ng_ml"]
    assert "Weight 30-100 kg reaches outside the perez-ruixo model" in payload["stderr"]
    assert "Age 20-90 y reaches outside" in payload["stderr"]
    assert any("10 min" in note for note in payload["notes"])


def test_population_from_a_covariate_table(tmp_path: Path) -> None:
    table = tmp_path / "cohort.csv"
    table.write_text("weight_kg,age_years,sex,asian\n60,30,F,true\n90,70,M,no\n")
    payload = _population(
        *("--model", "perez-ruixo", "--route", "iv", "--dose", "20mg", "--weight", "75"),
        *("--times", "0,30", "--covariates", str(table)),
    )
    assert any("table of 2 rows" in note for note in payload["notes"])
    bad = tmp_path / "bad.csv"
    bad.write_text("age_years\n30\n")
    refused = runner.invoke(
        app,
        [
            *("pk", "population", "--model", "herd", "--route", "iv", "--dose", "5mg"),
            *("--weight", "30", "--covariates", str(bad)),
        ],
    )
    assert refused.exit_code == 2
    assert "weight_kg column" in refused.stderr


@pytest.mark.spark
def test_population_on_spark_matches_local() -> None:
    arguments = (*DOMINO_BOLUS, "--weight", "50-100", "--dose", "0.5mg/kg", "--subjects", "120")
    local = _population(*arguments)
    spark = _population(*arguments, "--engine", "spark", "--spark-master", "local[1]")
    assert spark["bands_ng_ml"] == local["bands_ng_ml"]
    assert spark["mean_ng_ml"] == local["mean_ng_ml"]


def test_later_doses_such_as_an_im_top_up() -> None:
    """IM 4 mg/kg, then an IV top-up of 0.5 mg/kg over 10 min at 20 min (Hornik, a 20-kg child)."""
    base = ["pk", "simulate", "--model", "hornik", "--weight", "20", "--age", "5"]
    base += ["--route", "im", "--dose", "4mg/kg", "--times", "0,19,21,30", "--json"]
    alone = json.loads(runner.invoke(app, base).stdout)
    topped = runner.invoke(app, [*base, "--then", "iv:0.5mg/kg@20/10"])
    assert topped.exit_code == 0, topped.output
    with_top_up = json.loads(topped.stdout)
    assert with_top_up["concentration_ng_ml"][1] == alone["concentration_ng_ml"][1]
    assert with_top_up["concentration_ng_ml"][2] > alone["concentration_ng_ml"][2]
    refused = runner.invoke(app, [*base, "--then", "iv:0.5mg/kg"])
    assert refused.exit_code == 2
    assert "route:dose@start_min" in refused.stderr


def test_a_population_refuses_mixed_per_kg_and_mg_doses_when_weights_vary() -> None:
    result = runner.invoke(
        app,
        [
            *("pk", "population", "--model", "domino", "--weight", "50-90", "--route", "iv"),
            *("--dose", "0.5mg/kg", "--then", "iv:10mg@30", "--subjects", "50"),
        ],
    )
    assert result.exit_code == 2
    assert "every dose per kg or every dose in mg" in result.stderr
