"""Helpers for the session-monitor, report and portal page tests: a patient and sessions on the
web app's database, and posting the monitor's forms the way a browser does."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import PATIENT_ID, Clock, csrf_from

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.services import consents, patients, sessions
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.planning import ScreeningRow
from services.screened_patients import RULED_OUT, answer_screening_questions
from services.session_services import PLAN_PROTOCOL, next_plan_entry
from support.factories import FAILED_TRIALS

STAFF = Actor(user_id=None, role="nurse", display_name="Setup Nurse")

BASELINE = {
    "systolic_mmhg": "128", "diastolic_mmhg": "82", "heart_rate_bpm": "72", "spo2_percent": "98",
    "respiratory_rate_per_min": "14", "moaas": "5", "cadss_total": "0", "phq9_item9": "0",
    "cssrs_risk": "none",
}  # fmt: skip
RECOVERED = {
    "systolic_mmhg": "134", "diastolic_mmhg": "84", "heart_rate_bpm": "76", "spo2_percent": "98",
    "respiratory_rate_per_min": "14", "moaas": "5", "cadss_total": "0",
}  # fmt: skip
PREDOSE = {
    "identity_confirmed": "yes", "food_hours_ago": "3", "liquid_minutes_ago": "60",
    "escort_confirmed": "yes", "transport_confirmed": "yes", "pregnancy_status": "not-pregnant",
}  # fmt: skip


def make_patient(
    factory: SessionFactory, clock: Clock, *, patient_id: str = PATIENT_ID, **identity: str
) -> str:
    """A registered patient (70 kg, consented to treatment, enrolled in the SPRAVATO REMS), a
    week before the clinic morning."""
    ctx = RequestContext(STAFF, clock.now - timedelta(days=7))
    person = {"given_name": "Robin", "family_name": "Hale", "date_of_birth": "1980-02-01",
              "sex": "F"} | identity  # fmt: skip
    with factory() as db:
        pid = patients.register_patient(db, ctx, person, {}, patient_id=patient_id)
        patients.record_vitals(db, ctx, pid, {"weight_kg": 70.0}, observed_at=ctx.now)
        consents.record_consent(db, ctx, pid, "treatment")
        consents.record_consent(db, ctx, pid, "rems-enrolment")
        db.commit()
    return pid


def _answer_screening(db: Session, patient_id: str) -> None:
    """What screening asks, recorded at registration time: depression with treatment resistance,
    three failed trials, a current medication, everything else asked and found absent."""
    patient = patients.get_patient_row(db, patient_id)
    ctx = RequestContext(STAFF, patient.created_at)
    for condition in ("mdd", "trd"):
        patients.add_diagnosis(db, ctx, patient_id, {"condition": condition})
    medication = {"drug_name": "mirtazapine", "dose_amount": 30, "dose_unit": "mg"}
    patients.add_medication(db, ctx, patient_id, medication)
    for trial in FAILED_TRIALS:
        patients.add_antidepressant_trial(db, ctx, patient_id, trial)
    woman = ("pregnancy", "breastfeeding") if patient.sex == "F" else ()
    answer_screening_questions(db, ctx, patient_id, ruled_out=(*RULED_OUT, *woman))


def schedule(factory: SessionFactory, clock: Clock, patient_id: str, kind: ProtocolKind) -> str:
    """A session now, carrying out the patient's next signed-plan entry (screened and planned by
    a prescriber first if needed): IV 35 mg, esketamine 56 mg on 70 kg."""
    ctx = RequestContext(STAFF, clock.now - timedelta(hours=1))
    with factory() as db:
        if not db.scalars(
            select(ScreeningRow.id).where(ScreeningRow.patient_id == patient_id)
        ).first():
            _answer_screening(db, patient_id)
        entry = next_plan_entry(db, patient_id, kind)
        record = sessions.schedule_session(
            db, ctx, patient_id, kind, clock.now, chair="Chair 2", room="Room A",
            plan_session_id=entry, protocol_id=PLAN_PROTOCOL[kind],
        )  # fmt: skip
        db.commit()
    return record.session_id


def post(client: TestClient, page_url: str, action: str, data: dict[str, Any]) -> Response:
    """Post a form from the page (with its CSRF token) without following the redirect."""
    token = csrf_from(client.get(page_url).text)
    return client.post(action, data={"csrf_token": token} | data, follow_redirects=False)


def step(client: TestClient, sid: str, path: str, data: dict[str, Any] | None = None) -> Response:
    response = post(client, f"/sessions/{sid}", f"/sessions/{sid}/{path}", data or {})
    assert response.status_code == 303, _first_error(response.text)
    assert response.headers["location"].startswith(f"/sessions/{sid}"), response.headers["location"]
    return response


def wait(clock: Clock, minutes: float, *clients: TestClient) -> None:
    """Let time pass at the chair; each client opens a page every 10 minutes so the 15-minute
    idle time-out (which the monitor's own page loads would prevent at a real chair) does not end
    the test's sessions."""
    left = minutes
    while left > 0:
        chunk = min(10.0, left)
        clock.advance(minutes=chunk)
        left -= chunk
        for client in clients:
            assert client.get("/").status_code == 200


def _first_error(html: str) -> str:
    found = re.search(r'class="field-error"[^>]*>(.*?)</p>', html, re.S) or re.search(
        r'class="form-error"[^>]*>(.*?)</div>', html, re.S
    )
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip() if found else html[:300]


def field_error(html: str, field: str) -> str:
    found = re.search(rf'id="f-{re.escape(field)}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found is not None, f"no error shown beside {field}"
    return re.sub(r"<[^>]+>", "", found.group(1)).replace("Error:", "").strip()
