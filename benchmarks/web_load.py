"""Benchmark: the web app on PostgreSQL under a real load generator on loopback (issue 6).

    .venv/bin/python benchmarks/web_load.py [--seconds 30] [--clients 8] [--batch 25]
        [--sessions 16] [--workers 2] [--chart-requests 200]

1. Starts a private PostgreSQL server (as the tests do), migrates it and builds, through the
   services: a patient with two years of an esketamine course (successive screened and signed
   plans, every calendar session booked from its plan and taken to discharge, PHQ-9 and GAD-7 at
   each visit: the chart), and ``--sessions`` IV sessions booked from signed plans and under way
   (infusion started) that take readings from one registered bedside device (the feed).
2. Serves the app with uvicorn on 127.0.0.1 in a subprocess, ``--workers`` processes (the
   request handlers are synchronous Python, so one process uses at most one core).
3. Device feed: ``--clients`` asyncio clients (httpx) post batches of new readings, each client
   to its own sessions, for ``--seconds`` (at most ``--max-requests`` requests); every 20th batch
   is sent twice, as a monitor unsure of the first answer would, and must come back all
   duplicates. Then every reading the server acknowledged as accepted must be in the database
   exactly once (zero lost), and the audit chain must verify.
4. Chart: a signed-in prescriber GETs the chart page ``--chart-requests`` times, one at a time.

Prints a table with p50/p95/p99 and the ratios against the targets (chart p95 < 150 ms; at least
1,000 readings/s sustained), then a JSON summary. Traffic goes only to 127.0.0.1; the script
stops the server and the database by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark passphrase long enough"
PRESCRIBER_EMAIL = "bench.prescriber@example.org"
WEEKS = 104
CHART_TARGET_P95_MS = 150.0
FEED_TARGET_READINGS_PER_S = 1000.0
RESEND_EVERY = 20


def serve_app() -> FastAPI:
    """The uvicorn factory for the server subprocess (settings from KETACLINIC_* variables)."""
    from ketaclinic.settings import Settings
    from ketaclinic.web.app import create_app

    return create_app(Settings())


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (the value below which ``fraction`` of the samples fall)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ------------------------------------------------------------------------------------ set-up
def _signed_plan(db: Any, doctor: Any, patient_id: str, protocol_id: str, start: datetime) -> Any:
    """Screen the patient for the protocol's treatment, plan from ``start`` and sign: the plan."""
    from ketaclinic.clinical.protocols import get_protocol
    from ketaclinic.services import planning, screening
    from services.screened_patients import STATED_ALL_CLEAR

    protocol = get_protocol(protocol_id)
    treatment = planning.treatment_for_protocol(protocol)
    screening.screen_patient(db, doctor, patient_id, treatment, STATED_ALL_CLEAR)
    # Open every day, so a run on a weekend still has today's sessions on their planned day.
    plan = planning.create_plan(
        db, doctor, patient_id, protocol.id, start.date(), clinic_days=range(7)
    )
    return planning.sign_plan(db, doctor, plan.plan_id)


def _calendar(db: Any, plan_id: str) -> list[Any]:
    from sqlalchemy import select

    from ketaclinic.storage.tables.planning import PlanSessionRow

    query = select(PlanSessionRow).where(PlanSessionRow.plan_id == plan_id)
    return list(db.scalars(query.order_by(PlanSessionRow.sequence)))


def _screening_facts(db: Any, ctx: Any, patient_id: str) -> None:
    """What screening reads and wants recent: blood pressure, weight and a PHQ-9."""
    from ketaclinic.services import measurement, patients

    earlier = ctx.now - timedelta(minutes=20)
    patients.record_vitals(
        db,
        ctx,
        patient_id,
        {"systolic_mmhg": 126, "diastolic_mmhg": 80, "weight_kg": 80.0},
        earlier,
    )
    measurement.record_questionnaire_response(
        db, ctx, patient_id, "phq9", [2, 2, 1, 2, 1, 1, 1, 0, 0], administered_at=earlier
    )


def _checked_in_and_cleared(
    db: Any, at: Any, session_id: str, reading_id: str, systolic_mmhg: int, heart_rate_bpm: int
) -> None:
    """Check-in, a baseline reading at 5 minutes and the pre-dose checks passed at 10 (the
    eligibility and the planned dose come from the record)."""
    from ketaclinic.clinical.sessions.alerts import Measures
    from ketaclinic.services import sessions

    sessions.check_in(db, at(0), session_id)
    baseline = Measures(
        systolic_mmhg=systolic_mmhg, diastolic_mmhg=80, heart_rate_bpm=heart_rate_bpm,
        spo2_percent=98, respiratory_rate_per_min=14, moaas=5, cadss_total=0, phq9_item9=0,
        cssrs_risk="none",
    )  # fmt: skip
    sessions.record_observation(db, at(5), session_id, reading_id, baseline)
    checked_in_at = at(0).now
    sessions.pass_predose(db, at(10), session_id, {
        "identity_confirmed": True, "last_food_at": checked_in_at - timedelta(hours=3),
        "last_liquid_at": checked_in_at - timedelta(hours=1), "escort_confirmed": True,
        "transport_confirmed": True, "pregnancy_status": "not-applicable",
    })  # fmt: skip


def build_chart_patient(factory: Any, now: datetime) -> tuple[str, int]:
    """Two years of an esketamine course: successive signed SPRAVATO TRD plans (induction twice
    weekly, then weekly), every calendar session booked from its plan and taken to discharge,
    with PHQ-9, GAD-7, weight and vitals at each visit."""
    from ketaclinic.clinical.policy import ProtocolKind
    from ketaclinic.clinical.sessions.alerts import Measures
    from ketaclinic.services import consents, measurement, patients, plan_calendar, sessions
    from ketaclinic.services.context import RequestContext
    from ketaclinic.storage.database import transaction
    from services.screened_patients import make_known_patient
    from support.clinic import NURSE, PRESCRIBER

    esk = ProtocolKind.INTRANASAL_ESKETAMINE
    start = (now - timedelta(weeks=WEEKS)).replace(hour=9, minute=0, second=0, microsecond=0)
    with transaction(factory) as db:
        ctx = RequestContext(NURSE, start - timedelta(days=7))
        pid = make_known_patient(db, ctx, names={"given_name": "Long", "family_name": "Course"})
        consents.record_consent(db, ctx, pid, "treatment")
        consents.record_consent(db, ctx, pid, "rems-enrolment")
    plan_start, visit = start, 0
    while plan_start < now - timedelta(days=1):
        with transaction(factory) as db:
            doctor = RequestContext(PRESCRIBER, plan_start - timedelta(days=1))
            _screening_facts(db, doctor, pid)
            plan = _signed_plan(db, doctor, pid, "esketamine-trd", plan_start)
            entries = [(e.id, e.sequence, e.scheduled_on) for e in _calendar(db, plan.plan_id)]
        for entry_id, sequence, day in entries:
            t0 = datetime.combine(day, plan_start.timetz())
            if t0 > now - timedelta(hours=4):
                break

            def at(minutes: float, t0: datetime = t0) -> RequestContext:
                return RequestContext(NURSE, t0 + timedelta(minutes=minutes))

            # A course that improves slowly, with some visit-to-visit noise.
            phq9_total = max(3, 22 - visit // 8 + (visit * 7) % 3)
            phq9 = [min(3, phq9_total // 8 + (1 if i < phq9_total % 8 else 0)) for i in range(8)]
            gad7_total = max(2, 16 - visit // 11 + (visit * 5) % 3)
            gad7 = [min(3, gad7_total // 7 + (1 if i < gad7_total % 7 else 0)) for i in range(7)]
            with transaction(factory) as db:
                measurement.record_questionnaire_response(
                    db, at(-30), pid, "phq9", [*phq9, 0], administered_at=t0 - timedelta(minutes=40)
                )
                measurement.record_questionnaire_response(
                    db, at(-30), pid, "gad7", gad7, administered_at=t0 - timedelta(minutes=35)
                )
                patients.record_vitals(
                    db, at(-30), pid, {"weight_kg": 80.0}, t0 - timedelta(minutes=45)
                )
                sid = sessions.schedule_session(
                    db, at(-60), pid, esk, t0, responsible_clinician=PRESCRIBER.display_name,
                    chair=f"Chair {1 + visit % 4}", room="Room A", plan_session_id=entry_id,
                    protocol_id="esketamine-trd",
                ).session_id  # fmt: skip
                _checked_in_and_cleared(
                    db, at, sid, f"base-{visit}", 124 + visit % 9, 70 + visit % 7
                )
                dose_mg = plan_calendar.session_dose(db, at(12), plan.plan_id, sequence).dose_mg
                sessions.start_dosing(
                    db, at(15), sid, product="SPRAVATO", formulation="nasal spray 28 mg device",
                    lot_number=f"LOT-{visit:03d}", dose_mg=dose_mg,
                    administered_by="patient (self, observed)", supervised_by=NURSE.display_name,
                )  # fmt: skip
                devices = round(dose_mg / 28)
                for device in range(devices):
                    sessions.add_dosing_event(db, at(15 + 5 * device), sid, "device", device_mg=28)
                sessions.end_dosing(db, at(15 + 5 * (devices - 1)), sid)
                for n, minute in enumerate((40, 65, 135, 150), start=1):
                    measures = Measures(
                        systolic_mmhg=138 - n * 2, diastolic_mmhg=84, heart_rate_bpm=76,
                        spo2_percent=98, respiratory_rate_per_min=14, moaas=5, cadss_total=0,
                    )  # fmt: skip
                    sessions.record_observation(db, at(minute), sid, f"v{visit}-r{n}", measures)
                sessions.mark_ready(db, at(152), sid, escort_present=True)
                sessions.discharge(db, at(155), sid, escort_present=True)
            visit += 1
        plan_start = datetime.combine(entries[-1][2], plan_start.timetz()) + timedelta(days=7)
    return pid, visit


def build_feed(factory: Any, now: datetime, count: int) -> tuple[str, list[str], datetime]:
    """A device token and ``count`` IV sessions under way (one per patient).

    Each patient was screened and given a signed IV plan; its first session was booked from the
    plan, checked in three hours ago with a baseline reading, passed its pre-dose checks and
    started its infusion 20 minutes later, as a monitor's session is for most of its readings.
    Returns the token, the session ids and when dosing started (readings are taken after it).
    """
    from ketaclinic.clinical.policy import ProtocolKind
    from ketaclinic.services import consents, device_feed, plan_calendar, sessions
    from ketaclinic.services.context import Actor, RequestContext
    from ketaclinic.services.users import create_user
    from ketaclinic.storage.database import transaction
    from services.screened_patients import make_known_patient
    from support.clinic import NURSE, PRESCRIBER

    checked_in_at = now - timedelta(hours=3)
    admin = RequestContext(Actor(None, "system", "benchmark"), now)
    with transaction(factory) as db:
        _, token = device_feed.register_device(db, admin, "Benchmark monitor")
        create_user(
            db, admin.actor, email=PRESCRIBER_EMAIL, display_name="Dr Bench",
            role="prescriber", password=PASSWORD, now=now,
        )  # fmt: skip
    session_ids = []

    def at(minutes: float) -> RequestContext:
        return RequestContext(NURSE, checked_in_at + timedelta(minutes=minutes))

    for n in range(count):
        with transaction(factory) as db:
            early = RequestContext(NURSE, checked_in_at - timedelta(days=2))
            pid = make_known_patient(db, early, names={"family_name": f"Feed{n:03d}"})
            consents.record_consent(db, early, pid, "treatment")
            doctor = RequestContext(PRESCRIBER, checked_in_at - timedelta(days=1))
            _screening_facts(db, doctor, pid)
            plan = _signed_plan(db, doctor, pid, "iv-racemic-thrice-weekly", checked_in_at)
            first = _calendar(db, plan.plan_id)[0]
            sid = sessions.schedule_session(
                db, early, pid, ProtocolKind.IV_RACEMIC, checked_in_at, chair=f"Chair {n}",
                plan_session_id=first.id, protocol_id="iv-racemic-thrice-weekly",
            ).session_id  # fmt: skip
            _checked_in_and_cleared(db, at, sid, f"base-{n}", 126, 72)
            dose_mg = plan_calendar.session_dose(db, at(12), plan.plan_id, first.sequence).dose_mg
            sessions.start_dosing(
                db, at(20), sid, product="ketamine hydrochloride",
                formulation="solution for infusion", lot_number=f"LOT-{n:03d}", dose_mg=dose_mg,
                concentration_mg_per_ml=1.0, initial_rate_mg_per_h=dose_mg * 60 / 40,
                administered_by=NURSE.display_name, supervised_by="Dr Bench",
            )  # fmt: skip
            session_ids.append(sid)
    return token, session_ids, checked_in_at + timedelta(minutes=20)


# ------------------------------------------------------------------------------------ server
def start_server(url: str, workers: int, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = os.environ | {
        "KETACLINIC_DATABASE_URL": url,
        "KETACLINIC_DATA_DIR": str(folder),
        # Every worker must sign and check cookies with the same key.
        "KETACLINIC_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "web_load:serve_app",
        "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/sign-in", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError("the app did not answer on loopback within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# ------------------------------------------------------------------------------- device feed
@dataclass
class FeedTally:
    request_ms: list[float] = field(default_factory=list)
    per_reading_ms: list[float] = field(default_factory=list)
    accepted: dict[str, set[str]] = field(default_factory=dict)  # session id -> reading ids
    sent: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0


def _batch(rng: random.Random, size: int, since: datetime, until: datetime) -> list[dict[str, Any]]:
    span_s = (until - since).total_seconds()
    return [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "taken_at": (since + timedelta(seconds=rng.uniform(0, span_s))).isoformat(),
            "systolic_mmhg": rng.randint(112, 139),
            "diastolic_mmhg": rng.randint(70, 89),
            "heart_rate_bpm": rng.randint(60, 95),
            "spo2_percent": rng.randint(95, 100),
            "respiratory_rate_per_min": rng.randint(12, 18),
        }
        for _ in range(size)
    ]


async def _feed_client(
    number: int, base: str, token: str, sessions: list[str], window: tuple[datetime, datetime],
    args: argparse.Namespace, stop_at: float, tally: FeedTally, run: str,
) -> None:  # fmt: skip
    # Seeded per client and per run: the warm-up run must not send the measured run's ids.
    rng = random.Random(f"{args.seed}-{run}-{number}")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        turn = 0
        while time.perf_counter() < stop_at and tally.requests < args.max_requests:
            sid = sessions[turn % len(sessions)]
            readings = _batch(rng, args.batch, *window)
            copies = 2 if turn % RESEND_EVERY == RESEND_EVERY - 1 else 1
            for copy in range(copies):
                tally.requests += 1
                began = time.perf_counter()
                try:
                    answer = await client.post(
                        f"/api/v1/sessions/{sid}/vitals", json={"readings": readings}
                    )
                except httpx.HTTPError as exc:
                    tally.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed_ms = 1000 * (time.perf_counter() - began)
                if answer.status_code != 200:
                    tally.errors.append(f"HTTP {answer.status_code}: {answer.text[:200]}")
                    continue
                tally.request_ms.append(elapsed_ms)
                tally.per_reading_ms.append(elapsed_ms / len(readings))
                tally.sent += len(readings) if copy == 0 else 0
                for result in answer.json()["results"]:
                    if result["status"] == "accepted":
                        tally.accepted.setdefault(sid, set()).add(result["id"])
                    elif result["status"] == "duplicate":
                        tally.duplicates += 1
                    else:
                        tally.rejected.append(f"{result['id']}: {result['reason']}")
            turn += 1


async def run_feed(
    base: str, token: str, sessions: list[str], window: tuple[datetime, datetime],
    args: argparse.Namespace, seconds: float, run: str,
) -> tuple[FeedTally, float]:  # fmt: skip
    tally = FeedTally()
    began = time.perf_counter()
    stop_at = began + seconds
    tasks = [
        _feed_client(n, base, token, sessions[n :: args.clients], window, args, stop_at, tally, run)
        for n in range(args.clients)
    ]
    await asyncio.gather(*tasks)
    return tally, time.perf_counter() - began


def verify_feed(factory: Any, tally: FeedTally) -> dict[str, Any]:
    """Every acknowledged reading stored exactly once; the audit chain intact."""
    from sqlalchemy import func, select

    from ketaclinic.services.audit import verify_chain
    from ketaclinic.storage.database import transaction
    from ketaclinic.storage.tables.sessions import SessionReadingRow

    with transaction(factory) as db:
        stored: dict[tuple[str, str], int] = {}
        query = select(
            SessionReadingRow.session_id, SessionReadingRow.client_id, func.count()
        ).group_by(SessionReadingRow.session_id, SessionReadingRow.client_id)
        for session_id, client_id, copies in db.execute(
            query.where(SessionReadingRow.session_id.in_(list(tally.accepted)))
        ):
            stored[(session_id, client_id)] = int(copies)
        acknowledged = [(s, r) for s, ids in tally.accepted.items() for r in ids]
        lost = [key for key in acknowledged if key not in stored]
        twice = [key for key, copies in stored.items() if copies > 1]
        chain = verify_chain(db)
    return {
        "acknowledged": len(acknowledged),
        "lost": len(lost),
        "stored_twice": len(twice),
        "audit_chain": chain.describe(),
        "audit_ok": chain.ok,
    }


# ------------------------------------------------------------------------------------- chart
def measure_chart(base: str, patient_id: str, requests: int) -> list[float]:
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/sign-in").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None, "the sign-in form has no CSRF token"
        signed_in = client.post(
            "/sign-in",
            data={
                "email": PRESCRIBER_EMAIL,
                "password": PASSWORD,
                "csrf_token": csrf.group(1),
                "next": "/",
            },
        )
        assert signed_in.status_code in (200, 303), signed_in.text[:300]
        path = f"/patients/{patient_id}/chart"
        page = client.get(path)
        assert page.status_code == 200, page.text[:300]
        assert "Course" in page.text, "the chart does not name the patient"
        for _ in range(5):  # warm-up: template compilation, imports, the connection pool
            client.get(path)
        times_ms = []
        for _ in range(requests):
            began = time.perf_counter()
            answer = client.get(path)
            times_ms.append(1000 * (time.perf_counter() - began))
            assert answer.status_code == 200
    return times_ms


# -------------------------------------------------------------------------------------- main
def _row(name: str, values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, f) for f in (0.50, 0.95, 0.99))
    return f"| {name} | {len(values):,} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {max(values):.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the feed run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent device clients")
    parser.add_argument("--batch", type=int, default=25, help="readings per request")
    parser.add_argument("--sessions", type=int, default=16, help="sessions taking readings")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--max-requests", type=int, default=200_000, help="bound on requests")
    parser.add_argument("--chart-requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026, help="seeds the readings' ids and values")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from ketaclinic.storage.database import make_engine, make_session_factory
    from ketaclinic.storage.migrate import upgrade
    from support.postgres import start_postgres

    load_before = os.getloadavg()
    postgres = start_postgres()
    server = None
    try:
        url = postgres.url("postgres")
        upgrade(url)
        factory = make_session_factory(make_engine(url))
        now = datetime.now(UTC)
        began = time.perf_counter()
        patient_id, visits = build_chart_patient(factory, now)
        token, feed_sessions, dosing_from = build_feed(factory, now, args.sessions)
        print(
            f"data built in {time.perf_counter() - began:.1f} s (chart patient: {visits} sessions "
            "taken to discharge, each with PHQ-9 and GAD-7)",
            flush=True,
        )
        server, base = start_server(url, args.workers, postgres.root)
        window = (dosing_from + timedelta(minutes=1), now)
        # Warm-up (imports, pools in every worker), not counted.
        asyncio.run(run_feed(base, token, feed_sessions, window, args, 3.0, "warm-up"))
        tally, elapsed_s = asyncio.run(
            run_feed(base, token, feed_sessions, window, args, args.seconds, "measured")
        )
        accepted = sum(len(ids) for ids in tally.accepted.values())
        checks = verify_feed(factory, tally)
        chart_ms = measure_chart(base, patient_id, args.chart_requests)
    finally:
        if server is not None:
            stop_server(server)
        postgres.stop()
    load_after = os.getloadavg()
    rate = accepted / elapsed_s
    chart_p95 = percentile(chart_ms, 0.95)
    print()
    print(
        f"PostgreSQL, {args.workers} uvicorn workers, {args.clients} clients, "
        f"{args.batch} readings per batch, {args.sessions} sessions, {elapsed_s:.1f} s; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print("| measure | n | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    print(_row("feed: per request", tally.request_ms))
    print(_row("feed: per reading (request time / batch size)", tally.per_reading_ms))
    print(_row(f"chart page ({WEEKS} weeks)", chart_ms))
    print()
    print(
        f"feed: {accepted:,} readings accepted in {elapsed_s:.1f} s = {rate:,.0f} readings/s "
        f"({rate / FEED_TARGET_READINGS_PER_S:.2f}x the {FEED_TARGET_READINGS_PER_S:,.0f}/s "
        f"target: {'met' if rate >= FEED_TARGET_READINGS_PER_S else 'MISSED'}); "
        f"{tally.requests:,} requests, {tally.duplicates:,} duplicates from re-sent batches, "
        f"{len(tally.rejected)} rejected, {len(tally.errors)} errors"
    )
    print(
        f"feed: {checks['acknowledged']:,} acknowledged, {checks['lost']} lost, "
        f"{checks['stored_twice']} stored twice; {checks['audit_chain']}"
    )
    print(
        f"chart: p95 {chart_p95:.1f} ms = {chart_p95 / CHART_TARGET_P95_MS:.2f}x the "
        f"{CHART_TARGET_P95_MS:.0f} ms target: "
        f"{'met' if chart_p95 < CHART_TARGET_P95_MS else 'MISSED'}"
    )
    for problem in (tally.rejected + tally.errors)[:5]:
        print(f"  e.g. {problem}")
    summary = {
        "readings_per_s": round(rate, 1),
        "feed_request_ms": {
            f"p{int(f * 100)}": round(percentile(tally.request_ms, f), 1) for f in (0.5, 0.95, 0.99)
        },
        "chart_ms": {
            f"p{int(f * 100)}": round(percentile(chart_ms, f), 1) for f in (0.5, 0.95, 0.99)
        },
        **checks,
        "rejected": len(tally.rejected),
        "errors": len(tally.errors),
        "args": vars(args),
    }
    print(json.dumps(summary))
    healthy = not tally.rejected and not tally.errors and checks["audit_ok"]
    if not healthy or checks["lost"] or checks["stored_twice"]:
        raise SystemExit("the feed lost, doubled or refused readings, or the audit chain broke")


if __name__ == "__main__":
    main()
