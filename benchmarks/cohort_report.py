"""Benchmark: the full cohort report on a one-million-patient synthetic network.

    .venv/bin/python benchmarks/cohort_report.py [--patients 1000000] [--spark-patients 100000]

1. Streams the network with the cohort generator (about 30 score and vital observations per
   patient), unless the folder already holds that size and seed (``--regenerate`` forces it).
2. Times the full cohort report on DuckDB: analysis, then HTML and PDF with plots. Target: under
   30 s for a million patients on a 2-core machine.
3. Times the same analysis on Spark local mode at a smaller size, and on DuckDB at that size, and
   checks that the answers match.

Each phase runs in its own process so its peak memory (max RSS, ``resource.getrusage``) is its
own. Prints one line per phase and a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 30.0


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_generate(data: str, patients: int, seed: int, sites: int) -> dict[str, Any]:
    from ketaclinic.synthetic.cohort import stream_cohort

    started = time.perf_counter()
    summary = stream_cohort(Path(data), patients=patients, seed=seed, sites=sites)
    return {
        "seconds": time.perf_counter() - started,
        "rows": summary.rows,
        "observations_per_patient": (summary.rows["scores"] + summary.rows["vitals"]) / patients,
        "peak_rss_mib": _peak_rss_mib(),
    }


def phase_report(data: str, engine: str, out: str, render: bool) -> dict[str, Any]:
    from ketaclinic.analytics.dataset import connect, spark_session

    backend = None
    started = time.perf_counter()
    if engine == "spark":
        backend = connect("spark", spark=spark_session("local[*]"))
    session_seconds = time.perf_counter() - started
    from ketaclinic.reports.cohort import build_report, write_cohort_report

    started = time.perf_counter()
    report = build_report(Path(data), "spark" if engine == "spark" else "duckdb", backend=backend)
    analysis_seconds = time.perf_counter() - started
    render_seconds = 0.0
    if render:
        started = time.perf_counter()
        write_cohort_report(report, Path(out))
        render_seconds = time.perf_counter() - started
    results = report.results
    answers = {
        "outcomes": results.outcomes[
            [
                "dimension",
                "value",
                "instrument",
                "timepoint",
                "n",
                "responders",
                "remitters",
                "worsened",
            ]
        ]
        .sort_values(["dimension", "value", "instrument", "timepoint"])
        .to_dict("records"),
        "adverse_events": results.adverse_events[
            ["route", "term", "serious", "events", "patients_with"]
        ]
        .sort_values(["route", "term", "serious"])
        .to_dict("records"),
        "bp_alerts": results.bp_alerts[["protocol_id", "alert_sessions", "alert_patients"]]
        .sort_values("protocol_id")
        .to_dict("records"),
        "durability": {
            k: [c.responders, c.relapses, c.median_days] for k, c in results.durability.items()
        },
        "verdicts": report.comparison.verdict.tolist(),
    }
    return {
        "engine": engine,
        "patients": results.patients,
        "session_seconds": session_seconds,
        "analysis_seconds": analysis_seconds,
        "render_seconds": render_seconds,
        "total_seconds": analysis_seconds + render_seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "answers": answers,
    }


def _child(args: list[str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, stdout=subprocess.PIPE, text=True
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def _ensure(
    data: Path, patients: int, seed: int, sites: int, regenerate: bool
) -> dict[str, Any] | None:
    manifest = data / "dataset.json"
    if not regenerate and manifest.exists():
        meta = json.loads(manifest.read_text())
        if (
            meta.get("patients") == patients
            and meta.get("seed") == seed
            and meta.get("sites") == sites
        ):
            print(f"reusing {data} ({patients} patients, seed {seed})")
            return None
    result = _child(["generate", str(data), str(patients), str(seed), str(sites)])
    print(
        f"generate  {patients:>9} patients  {result['seconds']:7.1f} s  "
        f"{result['observations_per_patient']:.1f} observations/patient  "
        f"peak {result['peak_rss_mib']:.0f} MiB  rows {result['rows']}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--spark-patients", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ketaclinic-bench"
    )
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    options = parser.parse_args()
    work = options.workdir
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start")
    summary: dict[str, Any] = {"cpus": os.cpu_count(), "load_at_start": os.getloadavg()}

    big = work / f"network-{options.patients}"
    summary["generate"] = _ensure(
        big, options.patients, options.seed, options.sites, options.regenerate
    )
    duck = _child(["report", str(big), "duckdb", str(work / "cohort-report"), "1"])
    verdict = "within" if duck["total_seconds"] < TARGET_SECONDS else "OVER"
    print(
        f"duckdb    {duck['patients']:>9} patients  analysis {duck['analysis_seconds']:6.1f} s  "
        f"html+pdf {duck['render_seconds']:5.1f} s  total {duck['total_seconds']:6.1f} s "
        f"({verdict} the {TARGET_SECONDS:.0f} s target)  peak {duck['peak_rss_mib']:.0f} MiB"
    )
    summary["duckdb"] = {k: v for k, v in duck.items() if k != "answers"}

    if not options.skip_spark:
        small = work / f"network-{options.spark_patients}"
        _ensure(small, options.spark_patients, options.seed, options.sites, options.regenerate)
        small_duck = _child(["report", str(small), "duckdb", str(work / "small-report"), "0"])
        spark = _child(["report", str(small), "spark", str(work / "spark-report"), "0"])
        same = small_duck["answers"] == spark["answers"]
        print(
            f"spark     {spark['patients']:>9} patients  "
            f"analysis {spark['analysis_seconds']:6.1f} s "
            f"(session start {spark['session_seconds']:.1f} s)  "
            f"peak driver {spark['peak_rss_mib']:.0f} MiB; "
            f"duckdb at that size {small_duck['analysis_seconds']:.1f} s; answers match: {same}"
        )
        summary["spark"] = {k: v for k, v in spark.items() if k != "answers"}
        summary["duckdb_small"] = {k: v for k, v in small_duck.items() if k != "answers"}
        summary["answers_match"] = same
        if not same:
            for key in spark["answers"]:
                if spark["answers"][key] != small_duck["answers"][key]:
                    print(f"  differs: {key}")
    summary["load_at_end"] = os.getloadavg()
    print(json.dumps(summary, default=str))


def _child_main(argv: list[str]) -> None:
    if argv[0] == "generate":
        result = phase_generate(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))
    else:
        result = phase_report(argv[1], argv[2], argv[3], argv[4] == "1")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child_main(sys.argv[2:])
    else:
        main()
