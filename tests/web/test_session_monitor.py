"""The session monitor pages: a nurse walks IV and esketamine sessions through every step with the
page's forms; refusals show the reason beside the field, keep what was typed and write nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from session_pages import (
    BASELINE,
    PREDOSE,
    RECOVERED,
    STAFF,
    field_error,
    make_patient,
    post,
    schedule,
    step,
    wait,
)
from web_support import Clock

from ketaclinic.clinical import rems as rems_core
from ketaclinic.clinical.policy import ProtocolKind, default_policy
from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.services import rems, sessions
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory
from ketaclinic.web.routes.session_rems import field_kind
from services.session_services import PLAN_PROTOCOL

IV = ProtocolKind.IV_RACEMIC
ESK = ProtocolKind.INTRANASAL_ESKETAMINE


def _state(factory: SessionFactory, clock: Clock, sid: str) -> str:
    with factory() as db:
        return sessions.get_session(db, RequestContext(STAFF, clock.now), sid).state.value


def test_a_nurse_runs_an_iv_session_from_check_in_to_signed_record(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse, prescriber = signed_in["nurse"], signed_in["prescriber"]
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), IV)
    listing = nurse.get("/sessions")
    assert f'href="/sessions/{sid}"' in listing.text
    assert "Robin Hale" in listing.text

    step(nurse, sid, "check-in")
    wait(clock, 5, nurse, prescriber)
    step(nurse, sid, "readings", BASELINE)
    wait(clock, 5, nurse, prescriber)
    # "Check answers" lists every pre-dose item without changing the session.
    checked = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/predose",
                   PREDOSE | {"action": "check"})  # fmt: skip
    assert checked.status_code == 200
    assert "✓ Met" in checked.text
    assert _state(session_factory, clock, sid) == "checked-in"
    step(nurse, sid, "predose", PREDOSE | {"action": "pass"})
    wait(clock, 5, nurse, prescriber)
    step(nurse, sid, "dosing/start", {
        "iv": "yes", "product": "ketamine hydrochloride", "formulation": "solution for infusion",
        "lot_number": "LOT-KET-777", "dose_mg": "35", "concentration_mg_per_ml": "1",
        "initial_rate_mg_per_h": "52.5"})  # fmt: skip
    wait(clock, 10, nurse, prescriber)
    step(nurse, sid, "dosing/event", {"kind": "rate-change", "rate_mg_per_h": "40",
                                      "reason": "dissociation"})  # fmt: skip
    step(nurse, sid, "dosing/event", {"kind": "pause", "reason": "nausea"})
    page = nurse.get(f"/sessions/{sid}").text
    assert "Infusion paused" in page
    assert "Resume infusion" in page
    step(nurse, sid, "dosing/event", {"kind": "resume"})
    wait(clock, 30, nurse, prescriber)
    step(nurse, sid, "dosing/end")

    # A high blood pressure raises an alert that stays open until acknowledged with a note.
    step(nurse, sid, "readings", RECOVERED | {"systolic_mmhg": "185", "diastolic_mmhg": "105"})
    page = nurse.get(f"/sessions/{sid}").text
    alert_ids = re.findall(r'/alerts/([^/"]+)/acknowledge', page)
    assert alert_ids, "a BP of 185/105 after 128/82 raised no alert"
    refused = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/alerts/{alert_ids[0]}/acknowledge",
                   {f"note_{alert_ids[0]}": ""})  # fmt: skip
    assert refused.status_code == 422
    assert "note" in field_error(refused.text, f"note_{alert_ids[0]}").lower()
    for alert_id in alert_ids:
        step(nurse, sid, f"alerts/{alert_id}/acknowledge",
             {f"note_{alert_id}": "Rechecked after 5 min rest; prescriber informed."})  # fmt: skip
    assert "No open alerts." in nurse.get(f"/sessions/{sid}").text

    # Too early to leave: every unmet discharge criterion is explained.
    early = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/discharge",
                 {"action": "mark_ready", "escort_present": "yes"})  # fmt: skip
    assert early.status_code == 422
    assert "Not met" in early.text
    assert _state(session_factory, clock, sid) == "monitoring"
    minimum = default_policy(IV).number("min_observation_minutes")
    wait(clock, minimum, nurse, prescriber)
    step(nurse, sid, "readings", RECOVERED)
    step(nurse, sid, "discharge", {"action": "mark_ready", "escort_present": "yes"})
    step(nurse, sid, "discharge", {"action": "discharge", "escort_present": "yes"})
    step(prescriber, sid, "sign")
    page = nurse.get(f"/sessions/{sid}").text
    assert "Signed and locked by Demo Prescriber" in page
    step(nurse, sid, "addenda", {"text": "Phoned at home: well."})
    assert "Phoned at home: well." in nurse.get(f"/sessions/{sid}").text


def test_an_esketamine_session_records_each_device_and_offers_the_rems_form(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), ESK)
    step(nurse, sid, "check-in")
    step(nurse, sid, "readings", BASELINE)
    step(nurse, sid, "predose", PREDOSE | {"action": "pass"})
    step(nurse, sid, "dosing/start", {"iv": "no", "product": "SPRAVATO",
         "formulation": "nasal spray 28 mg device", "lot_number": "LOT-ESK-1", "dose_mg": "56",
         "administered_by": "patient (self, observed)"})  # fmt: skip
    step(nurse, sid, "dosing/event", {"kind": "device", "device_mg": "28"})
    clock.advance(minutes=5)
    step(nurse, sid, "dosing/event", {"kind": "device", "device_mg": "28"})
    step(nurse, sid, "dosing/end")
    page = nurse.get(f"/sessions/{sid}").text
    assert page.count("<td>device</td>") == 2
    assert "56.0 mg" in page
    wait(clock, default_policy(ESK).number("min_observation_minutes"), nurse)
    step(nurse, sid, "readings", RECOVERED)
    step(nurse, sid, "discharge", {"action": "mark_ready", "escort_present": "yes"})
    step(nurse, sid, "discharge", {"action": "discharge", "escort_present": "yes"})
    page = nurse.get(f"/sessions/{sid}").text
    assert f'href="/sessions/{sid}/rems"' in page


def test_bad_readings_are_shown_beside_the_field_and_kept(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), IV)
    step(nurse, sid, "check-in")
    typed = {"systolic_mmhg": "12o", "heart_rate_bpm": "71"}
    response = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/readings", typed)
    assert response.status_code == 422
    assert "write a number" in field_error(response.text, "systolic_mmhg")
    assert 'value="12o"' in response.text
    assert 'value="71"' in response.text
    moaas = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/readings", {"moaas": "7"})
    assert "MOAA/S" in field_error(moaas.text, "moaas")
    empty = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/readings", {})
    assert "at least one" in field_error(empty.text, "systolic_mmhg")
    with session_factory() as db:
        record = sessions.get_session(db, RequestContext(STAFF, clock.now), sid)
    assert record.observations == ()


def test_predose_refused_while_a_check_is_unmet_and_nothing_changes(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), ESK)
    step(nurse, sid, "check-in")
    step(nurse, sid, "readings", BASELINE)
    answers = PREDOSE | {
        "escort_confirmed": "no", "liquid_minutes_ago": "10", "action": "pass",
    }  # fmt: skip
    response = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/predose", answers)
    assert response.status_code == 422
    assert "✗ Not met" in response.text
    assert "escort" in response.text.lower()
    assert 'value="10"' in response.text  # kept as typed
    assert _state(session_factory, clock, sid) == "checked-in"


def test_patients_and_researchers_cannot_open_a_session(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), IV)
    for role in ("patient", "researcher", "administrator"):
        assert signed_in[role].get(f"/sessions/{sid}").status_code == 403
    assert signed_in["nurse"].get("/sessions/no-such-session").status_code == 404


def _esketamine_discharged(nurse: TestClient, factory: SessionFactory, clock: Clock) -> str:
    sid = schedule(factory, clock, make_patient(factory, clock), ESK)
    step(nurse, sid, "check-in")
    step(nurse, sid, "readings", BASELINE)
    step(nurse, sid, "predose", PREDOSE | {"action": "pass"})
    step(nurse, sid, "dosing/start", {"iv": "no", "product": "SPRAVATO",
         "formulation": "nasal spray", "lot_number": "LOT-ESK-2", "dose_mg": "56"})  # fmt: skip
    step(nurse, sid, "dosing/event", {"kind": "device", "device_mg": "28"})
    step(nurse, sid, "dosing/event", {"kind": "device", "device_mg": "28"})
    step(nurse, sid, "dosing/end")
    wait(clock, default_policy(ESK).number("min_observation_minutes"), nurse)
    step(nurse, sid, "readings", RECOVERED)
    step(nurse, sid, "discharge", {"action": "mark_ready", "escort_present": "yes"})
    step(nurse, sid, "discharge", {"action": "discharge", "escort_present": "yes"})
    return sid


def test_the_rems_form_is_completed_finalised_downloaded_and_submitted(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    sid = _esketamine_discharged(nurse, session_factory, clock)
    url = f"/sessions/{sid}/rems"
    with session_factory() as db:
        missing = rems_core.missing_fields(rems.get_form(db, RequestContext(STAFF, clock.now), sid))
    assert missing, "a demo record without setting details leaves fields to complete"
    page = nurse.get(url).text
    assert f"Complete the missing fields ({len(missing)})" in page
    refused = post(nurse, url, url, {"action": "finalise"})
    assert refused.status_code == 422
    assert "cannot be finalised" in refused.text
    answers: dict[str, str] = {}
    for name in missing:
        kind = field_kind(name)
        answers[name] = {"bool": "no", "number": "1", "date": "2026-03-02"}.get(kind, "Clinic A")
    done = post(nurse, url, url, answers | {"action": "finalise"})
    assert done.status_code == 303, done.text[:500]
    assert "Finalised by Demo Nurse" in nurse.get(url).text
    pdf = nurse.get(f"{url}.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    no_reference = post(nurse, url, url, {"action": "submitted"})
    assert "confirmation reference" in field_error(no_reference.text, "submission_reference")
    assert (
        post(nurse, url, url, {"action": "submitted", "submission_reference": "R-1"}).status_code
        == 303
    )
    assert "Submitted, reference R-1" in nurse.get(url).text


def test_eligibility_and_dose_are_shown_from_the_record_never_typed(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), ESK)
    step(nurse, sid, "check-in")
    page = nurse.get(f"/sessions/{sid}").text
    assert "From the record (not typed here)" in page
    assert "plan version 1 signed by" in page
    assert "56.0 mg" in page  # the signed plan's day-1 dose
    for typed in ("eligibility_valid", "planned_dose_mg", "max_dose_mg"):
        assert f'name="{typed}"' not in page
    step(nurse, sid, "readings", BASELINE)
    step(nurse, sid, "predose", PREDOSE | {"action": "pass"})
    start = nurse.get(f"/sessions/{sid}").text
    assert 'name="dose_mg"' in start
    assert 'value="56.0"' in start  # the planned dose, ready to confirm
    assert 'name="override_reason"' not in start  # a nurse cannot override


def test_a_decision_to_proceed_is_the_prescribers_on_the_page(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse, prescriber = signed_in["nurse"], signed_in["prescriber"]
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), ESK)
    step(nurse, sid, "check-in")
    step(nurse, sid, "readings", BASELINE | {"systolic_mmhg": "152", "diastolic_mmhg": "94"})
    checked = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/predose",
                   PREDOSE | {"action": "check"})  # fmt: skip
    assert "needs the prescriber's decision" in checked.text
    assert 'name="decision_blood-pressure-gate"' not in checked.text
    decision = {"decision_blood-pressure-gate": "Rechecked after rest; proceed."}
    refused = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/predose",
                   PREDOSE | decision | {"action": "pass"})  # fmt: skip
    assert refused.status_code == 422
    assert "Only a prescriber may decide to proceed" in refused.text
    assert _state(session_factory, clock, sid) == "checked-in"
    offered = post(prescriber, f"/sessions/{sid}", f"/sessions/{sid}/predose",
                   PREDOSE | {"action": "check"})  # fmt: skip
    assert 'name="decision_blood-pressure-gate"' in offered.text
    step(prescriber, sid, "predose", PREDOSE | decision | {"action": "pass"})
    assert _state(session_factory, clock, sid) == "predose-passed"


def test_a_dose_other_than_the_plans_needs_the_prescribers_override_on_the_page(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse, prescriber = signed_in["nurse"], signed_in["prescriber"]
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), ESK)
    step(nurse, sid, "check-in")
    step(nurse, sid, "readings", BASELINE)
    step(nurse, sid, "predose", PREDOSE | {"action": "pass"})
    start = {"iv": "no", "product": "SPRAVATO", "formulation": "nasal spray",
             "lot_number": "LOT-ESK-3", "dose_mg": "84"}  # fmt: skip
    refused = post(nurse, f"/sessions/{sid}", f"/sessions/{sid}/dosing/start", start)
    assert refused.status_code == 422
    assert "differs from the signed plan" in field_error(refused.text, "dose_mg")
    assert 'value="84"' in refused.text  # kept as typed
    assert _state(session_factory, clock, sid) == "predose-passed"
    reason = "Partial response on 56 mg at the last course; step up."
    step(prescriber, sid, "dosing/start", start | {"override_reason": reason})
    assert _state(session_factory, clock, sid) == "dosing"
    # Devices closer than the protocol's spacing are recorded and shown.
    step(nurse, sid, "dosing/event", {"kind": "device", "device_mg": "28"})
    clock.advance(minutes=2)
    step(nurse, sid, "dosing/event", {"kind": "device", "device_mg": "28"})
    page = nurse.get(f"/sessions/{sid}").text
    devices = get_protocol(PLAN_PROTOCOL[ESK]).devices
    assert devices is not None
    assert (
        f"2 min after the previous one; the protocol asks for {devices.spacing_minutes:g} min"
        in page
    )
    assert "Early: 2 min after the previous device" in page
