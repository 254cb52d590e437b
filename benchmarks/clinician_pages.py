"""Benchmark: the clinician pages for a patient with two years of weekly scores and sessions.

    .venv/bin/python benchmarks/clinician_pages.py [--postgres | --database-url URL] [--requests 60]

Builds (through the services) a patient with 104 weekly PHQ-9 scores, 104 vital-sign sets, 104
scheduled sessions and a signed esketamine plan, then serves the real app with uvicorn on
loopback and times sequential HTTP requests from httpx as a signed-in prescriber: the chart page
(HTML only), its score and vitals plots, the plan page and its curve, and the Today board.
Prints p50/p95/max per page and a JSON summary. Target (issue 6): chart p95 under 150 ms.
Default database: a fresh SQLite file in a temporary folder; ``--postgres`` starts a private
PostgreSQL server (as the tests do) and ``--database-url`` uses any other.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn

from ketaclinic.services import measurement, patients, planning, screening, sessions
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.users import create_user
from ketaclinic.settings import Settings
from ketaclinic.storage.database import make_engine, make_session_factory, transaction
from ketaclinic.storage.migrate import upgrade
from ketaclinic.web.app import create_app

PASSWORD = "benchmark passphrase long enough"
WEEKS = 104
TARGET_P95_MS = 150.0
RULED_OUT = (
    "psychosis",
    "substance-use-disorder",
    "bipolar-depression",
    "raised-intracranial-pressure",
    "raised-intraocular-pressure",
    "sleep-apnoea",
    "hypertension",
    "cardiovascular-disease",
    "aneurysmal-vascular-disease",
    "arteriovenous-malformation",
    "intracerebral-haemorrhage",
    "bladder-disorder",
)


def build_patient(factory: object, now: datetime) -> tuple[str, str]:
    doctor = Actor(user_id=None, role="prescriber", display_name="Dr Bench")
    start = now - timedelta(weeks=WEEKS)
    with transaction(factory) as db:  # type: ignore[arg-type]
        ctx = RequestContext(doctor, start - timedelta(days=2))
        pid = patients.register_patient(
            db,
            ctx,
            {
                "given_name": "Long",
                "family_name": "Course",
                "date_of_birth": "1975-01-02",
                "sex": "M",
            },
        )
        for condition in ("mdd", "trd"):
            patients.add_diagnosis(db, ctx, pid, {"condition": condition})
        for condition in RULED_OUT:
            patients.add_diagnosis(db, ctx, pid, {"condition": condition, "status": "ruled-out"})
        for drug, dose, weeks in (("sertraline", 150, 10), ("venlafaxine", 225, 8)):
            patients.add_antidepressant_trial(
                db,
                ctx,
                pid,
                {
                    "drug": drug,
                    "dose_mg_per_day": dose,
                    "duration_weeks": weeks,
                    "outcome": "no-response",
                },
            )
        patients.record_vitals(
            db,
            ctx,
            pid,
            {"weight_kg": 82, "height_cm": 180, "systolic_mmhg": 126, "diastolic_mmhg": 80},
            ctx.now,
        )
        screened = screening.screen_patient(
            db,
            ctx,
            pid,
            "esketamine-intranasal",
            {
                "urinary_symptoms": False,
                "sleep_apnoea_risk": "low",
                "hepatic_impairment": "none",
                "takes_no_medicines": True,
                "phq9_item9": 0,
                "cssrs_screener_risk": "low",
                "pregnant": False,
                "breastfeeding": False,
                "hypersensitivity_to_ketamine": False,
            },
        )
        assert not screened.decision.blocking_rule_ids, screened.decision.summary
        plan = planning.create_plan(db, ctx, pid, "esketamine-trd", start.date())
        planning.sign_plan(db, ctx, plan.plan_id)
        for week in range(WEEKS):
            moment = start + timedelta(weeks=week, hours=10)
            weekly = RequestContext(doctor, moment + timedelta(hours=3))
            total = max(2, 22 - week // 4)
            answers = [min(3, total // 9 + (1 if i < total % 9 else 0)) for i in range(8)] + [0]
            measurement.record_questionnaire_response(
                db, weekly, pid, "phq9", answers, administered_at=moment
            )
            patients.record_vitals(
                db,
                weekly,
                pid,
                {
                    "systolic_mmhg": 120 + week % 15,
                    "diastolic_mmhg": 78,
                    "heart_rate_bpm": 70 + week % 9,
                    "spo2_percent": 98,
                },
                moment,
            )
            sessions.schedule_session(
                db, weekly, pid, "intranasal-esketamine", moment, chair=str(1 + week % 4)
            )
    return pid, plan.plan_id


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument(
        "--postgres", action="store_true", help="start a private PostgreSQL (as the tests do)"
    )
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kc-bench-pages-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    postgres = None
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from support.postgres import start_postgres  # type: ignore[import-not-found]

        postgres = start_postgres()
        url = postgres.url("postgres")
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    now = datetime.now(UTC)
    began = time.perf_counter()
    pid, plan_id = build_patient(factory, now)
    with transaction(factory) as db:
        create_user(
            db,
            Actor(None, "system", "bench"),
            email="bench@example.org",
            display_name="Dr Bench",
            role="prescriber",
            password=PASSWORD,
            now=now,
        )
    print(f"patient built in {time.perf_counter() - began:.1f} s ({WEEKS} weeks)")
    app = create_app(Settings(data_dir=folder, database_url=url, secret_key="b" * 32), factory)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    results: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/sign-in").text)
        assert token is not None
        client.post(
            "/sign-in",
            data={
                "email": "bench@example.org",
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/",
            },
        )
        pages = {
            "chart": f"/patients/{pid}/chart",
            "chart scores plot": f"/patients/{pid}/chart/scores/phq9.png",
            "chart vitals plot": f"/patients/{pid}/chart/vitals.png",
            "plan": f"/plans/{plan_id}",
            "plan curve": f"/plans/{plan_id}/curve.png",
            "today": "/today",
        }
        chart = client.get(pages["chart"]).text
        assert f"{WEEKS} scores from" in chart, "the chart must show the whole course"
        for name, path in pages.items():
            assert client.get(path).status_code == 200, path  # warm-up (imports, caches)
            times_ms = []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = client.get(path)
                times_ms.append(1000 * (time.perf_counter() - start))
                assert response.status_code == 200
            times_ms.sort()
            p95 = times_ms[max(0, round(0.95 * len(times_ms)) - 1)]
            results[name] = {
                "p50_ms": round(statistics.median(times_ms), 1),
                "p95_ms": round(p95, 1),
                "max_ms": round(times_ms[-1], 1),
            }
            print(
                f"{name:18s} p50 {results[name]['p50_ms']:7.1f} ms  p95 {p95:7.1f} ms  "
                f"max {times_ms[-1]:7.1f} ms"
            )
    server.should_exit = True
    if postgres is not None:
        postgres.stop()
    chart_p95 = results["chart"]["p95_ms"]
    verdict = "meets" if chart_p95 < TARGET_P95_MS else "misses"
    print(f"chart p95 {chart_p95} ms {verdict} the {TARGET_P95_MS:.0f} ms target")
    print(
        json.dumps(
            {
                "database": url.split(":")[0],
                "weeks": WEEKS,
                "requests": args.requests,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
