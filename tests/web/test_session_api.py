"""The JSON API of the session monitor, portal and policy: the same use cases as the pages, with
the same permissions, errors as {"error", "field"}, and the routes in the OpenAPI schema."""

from __future__ import annotations

from fastapi.testclient import TestClient
from session_pages import BASELINE, make_patient, schedule
from web_support import Clock, csrf_from

from ketaclinic.clinical.policy import ProtocolKind, default_policy
from ketaclinic.storage.database import SessionFactory


def _headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_from(client.get("/").text)}


def test_a_reading_raises_an_alert_that_is_acknowledged_through_the_api(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    headers = _headers(nurse)
    sid = schedule(
        session_factory, clock, make_patient(session_factory, clock), ProtocolKind.IV_RACEMIC
    )
    base = f"/api/v1/sessions/{sid}"
    assert nurse.post(f"{base}/steps", json={"step": "check-in"}, headers=headers).json() == {
        "state": "checked-in"
    }
    baseline = {k: float(v) for k, v in BASELINE.items() if k != "cssrs_risk"}
    assert (
        nurse.post(f"{base}/readings", json={"measures": baseline}, headers=headers).json()[
            "alerts"
        ]
        == []
    )
    low = nurse.post(f"{base}/readings", json={"measures": {"spo2_percent": 85}}, headers=headers)
    assert low.status_code == 201
    alerts = low.json()["alerts"]
    assert [a["finding"]["rule_id"] for a in alerts] == ["spo2-low"]
    no_note = nurse.post(f"{base}/alerts/{alerts[0]['id']}/acknowledge", json={"note": ""},
                         headers=headers)  # fmt: skip
    assert no_note.status_code == 422
    assert no_note.json()["field"] == "note"
    done = nurse.post(f"{base}/alerts/{alerts[0]['id']}/acknowledge",
                      json={"note": "Repositioned; 97% on recheck."}, headers=headers)  # fmt: skip
    assert done.json() == {"state": "checked-in", "open_alerts": 0}
    record = nurse.get(base).json()["record"]
    assert len(record["observations"]) == 2
    assert signed_in["researcher"].get(base).status_code == 403


def test_portal_and_policy_through_the_api(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    patient = signed_in["patient"]
    due = patient.get("/api/v1/portal/questionnaires-due").json()
    assert {d["instrument_id"] for d in due} == {"phq9", "gad7"}
    answers = {f"q{i}": 1 for i in range(1, 10)}
    saved = patient.post("/api/v1/portal/questionnaires/phq9", json={"answers": answers},
                         headers=_headers(patient))  # fmt: skip
    assert saved.status_code == 201
    assert saved.json()["total"] == 9
    assert [r["phone"] for r in saved.json()["crisis_resources"]][:1] == ["988"]

    admin = signed_in["administrator"]
    kind = ProtocolKind.IV_RACEMIC.value
    default = default_policy(kind).number("tachycardia_bpm")
    tighter = {"parameter_id": "tachycardia_bpm", "value": default - 10, "reason": "Older people"}
    changed = admin.post(f"/api/v1/policy/{kind}", headers=_headers(admin), json=tighter)
    assert changed.json()["previous_value"] == default
    policy = signed_in["nurse"].get(f"/api/v1/policy/{kind}").json()
    assert policy["values"]["tachycardia_bpm"]["value"] == default - 10
    nurse = signed_in["nurse"]
    refused = nurse.post(f"/api/v1/policy/{kind}", headers=_headers(nurse), json=tighter)
    assert refused.status_code == 403


def test_the_api_is_in_the_openapi_schema(signed_in: dict[str, TestClient]) -> None:
    paths = signed_in["nurse"].get("/openapi.json").json()["paths"]
    for path in ("/api/v1/sessions/{session_id}/readings", "/api/v1/portal/questionnaires-due",
                 "/api/v1/policy/{protocol_kind}"):  # fmt: skip
        assert path in paths
