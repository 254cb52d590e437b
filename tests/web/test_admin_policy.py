"""Clinic policy page: thresholds with sources and verified flags; an administrator changes one
with a reason (recorded), REMS-protected values only tighten, refusals shown beside the field."""

from __future__ import annotations

from fastapi.testclient import TestClient
from session_pages import field_error, post
from sqlalchemy import select
from web_support import Clock

from ketaclinic.clinical.policy import ProtocolKind, default_policy, policy_file
from ketaclinic.services import policy
from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.access import AuditEvent

URL = "/admin/policy"
ESK = ProtocolKind.INTRANASAL_ESKETAMINE


def test_every_threshold_is_listed_with_its_source_and_verified_flag(
    signed_in: dict[str, TestClient],
) -> None:
    page = signed_in["nurse"].get(f"{URL}?kind=intranasal-esketamine").text
    for param in policy_file().parameters:
        assert f'id="p-{param.id}"' in page
    minimum = default_policy(ESK).values["min_observation_minutes"]
    assert minimum.protected
    assert minimum.source.citation in page
    assert "REMS-protected" in page
    assert ("not verified" in page) == any(
        not v.source.verified for v in default_policy(ESK).values.values()
    )
    assert "Change a threshold" not in page  # nurses read, administrators change


def test_an_administrator_tightens_a_threshold_with_a_reason(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    admin = signed_in["administrator"]
    default = default_policy(ESK).number("min_observation_minutes")
    answers = {"kind": ESK.value, "parameter_id": "min_observation_minutes",
               "value": str(default + 30), "reason": "Clinic board decision 2026-02"}  # fmt: skip
    response = post(admin, URL, URL, answers | {"action": "change"})
    assert response.status_code == 303
    with session_factory() as db:
        assert policy.clinic_policy(db, ESK).number("min_observation_minutes") == default + 30
        history = policy.policy_history(db, ESK)
        audited = db.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "policy.threshold.change")
        ).all()
    assert [(c.parameter_id, c.previous_value, c.reason) for c in history] == [
        ("min_observation_minutes", default, "Clinic board decision 2026-02")
    ]
    assert len(audited) == 1
    page = admin.get(response.headers["location"]).text
    assert "changed by the clinic" in page
    assert "Clinic board decision 2026-02" in page
    # And back to the default a minute later, also recorded. (Two changes at the very same
    # instant would be ordered by their random row ids in services.policy.)
    clock.advance(minutes=1)
    back = post(admin, URL, URL, answers | {"action": "revert", "reason": "Board reversed it"})
    assert back.status_code == 303
    with session_factory() as db:
        assert policy.clinic_policy(db, ESK).number("min_observation_minutes") == default


def test_loosening_a_rems_value_or_no_reason_is_refused_beside_the_field(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    admin = signed_in["administrator"]
    default = default_policy(ESK).number("min_observation_minutes")
    looser = {"kind": ESK.value, "parameter_id": "min_observation_minutes",
              "value": str(default - 30), "reason": "We are busy", "action": "change"}  # fmt: skip
    refused = post(admin, URL, URL, looser)
    assert refused.status_code == 422
    assert "protected for esketamine" in field_error(refused.text, "value")
    assert 'value="We are busy"' not in refused.text  # a textarea keeps it as content
    assert ">We are busy</textarea>" in refused.text
    no_reason = post(admin, URL, URL, looser | {"value": str(default + 10), "reason": ""})
    assert "Write why" in field_error(no_reason.text, "reason")
    with session_factory() as db:
        assert policy.policy_history(db) == []
    for role in ("nurse", "prescriber", "patient", "researcher"):
        assert post(signed_in[role], "/", URL, looser).status_code == 403
