"""``ketaclinic report cohort`` and ``ketaclinic synthetic cohort`` from the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketaclinic.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("network")
    result = runner.invoke(
        app,
        [
            "synthetic",
            "cohort",
            "--patients",
            "1500",
            "--out",
            str(out),
            "--seed",
            "3",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"]["patients"] == 1500
    return out


def test_writes_a_self_contained_html_and_a_pdf(dataset: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["report", "cohort", "--data", str(dataset), "--out", str(tmp_path / "cohort.html")]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    html = Path(summary["html"]).read_text(encoding="utf-8")
    assert Path(summary["pdf"]).read_bytes().startswith(b"%PDF")
    # Self-contained: figures inline, nothing fetched from elsewhere.
    assert html.count("data:image/png;base64,") >= 5
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "Han Y" in html  # the comparison panel names its sources
    assert summary["verdicts"]["mcinnes2022-real-world-response"] in {"in line", "above", "below"}


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "cohort", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "--data" in result.output


def test_unknown_engine_names_the_allowed_ones(dataset: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "report",
            "cohort",
            "--data",
            str(dataset),
            "--out",
            str(tmp_path / "r"),
            "--engine",
            "oracle",
        ],
    )
    assert result.exit_code == 2
    assert "duckdb, spark" in result.output
