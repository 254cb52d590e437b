"""The pages that are not in the navigation (the monitor in each state, the REMS form, the portal's
questionnaire and help pages) pass the same checks as every navigation page: one h1, a label for
every field, the skip link, the clinical notice and nothing from another host."""

from __future__ import annotations

from fastapi.testclient import TestClient
from session_pages import BASELINE, PREDOSE, RECOVERED, make_patient, post, schedule, step, wait
from test_pages import PageAudit
from web_support import Clock

from ketaclinic import CLINICAL_DISCLAIMER
from ketaclinic.clinical.policy import ProtocolKind, default_policy
from ketaclinic.storage.database import SessionFactory

ESK = ProtocolKind.INTRANASAL_ESKETAMINE


def _check(client: TestClient, path: str, html: str | None = None) -> None:
    text = html if html is not None else client.get(path).text
    audit = PageAudit()
    audit.feed(text)
    assert audit.h1 == 1, path
    assert audit.skip_link, path
    assert [i for i in audit.inputs if i not in audit.labels] == [], path
    assert audit.external == [], path
    assert CLINICAL_DISCLAIMER in text, path


def test_the_monitor_in_every_state_and_the_rems_form(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    sid = schedule(session_factory, clock, make_patient(session_factory, clock), ESK)
    page = f"/sessions/{sid}"
    _check(nurse, page)  # scheduled
    step(nurse, sid, "check-in")
    step(nurse, sid, "readings", BASELINE)
    _check(nurse, page)  # checked in: pre-dose checklist and readings
    answers = PREDOSE
    _check(nurse, page, post(nurse, page, f"{page}/predose", answers | {"action": "check"}).text)
    step(nurse, sid, "predose", answers | {"action": "pass"})
    _check(nurse, page)  # start of dosing
    step(nurse, sid, "dosing/start", {"iv": "no", "product": "SPRAVATO",
         "formulation": "nasal spray", "lot_number": "L-9", "dose_mg": "56"})  # fmt: skip
    step(nurse, sid, "dosing/event", {"kind": "device", "device_mg": "28"})
    step(nurse, sid, "readings", {"systolic_mmhg": "190", "diastolic_mmhg": "110"})
    _check(nurse, page)  # dosing, with an open alert
    refused = post(nurse, page, f"{page}/dosing/end", {})
    _check(nurse, page, refused.text)  # "write a note": shown beside the stop note
    assert 'id="f-stop_note-error"' in refused.text
    step(nurse, sid, "dosing/event", {"kind": "device", "device_mg": "28"})
    step(nurse, sid, "dosing/end")
    _check(nurse, page)  # monitoring: discharge checklist
    wait(clock, default_policy(ESK).number("min_observation_minutes"), nurse)
    step(nurse, sid, "readings", RECOVERED)
    for alert_page in nurse.get(page).text.split("/alerts/")[1:]:
        alert_id = alert_page.split("/")[0]
        step(nurse, sid, f"alerts/{alert_id}/acknowledge", {f"note_{alert_id}": "Rechecked, fine."})
    step(nurse, sid, "discharge", {"action": "mark_ready", "escort_present": "yes"})
    _check(nurse, page)  # ready for discharge
    step(nurse, sid, "discharge", {"action": "discharge", "escort_present": "yes"})
    step(nurse, sid, "sign")
    _check(nurse, page)  # signed: addenda
    _check(nurse, f"{page}/rems")


def test_the_portal_questionnaire_and_help_pages(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    patient = signed_in["patient"]
    for path in ("/portal/questionnaires/phq9", "/portal/questionnaires/gad7", "/portal/help"):
        _check(patient, path)
    crisis = post(patient, "/portal/questionnaires/phq9", "/portal/questionnaires/phq9",
                  {f"q{i}": "1" for i in range(1, 10)})  # fmt: skip
    _check(patient, "crisis page", crisis.text)
