"""The clinic's outcome definitions: stored with who and why, applied by the progress report and
the portal's data exactly as by the chart; only administrators change them. Both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from ketaclinic.clinical.outcomes import remission_cutoff
from ketaclinic.errors import InvalidInput, PermissionDenied
from ketaclinic.services import measurement, outcome_policy, progress
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.database import SessionFactory, transaction
from support.factories import make_patient

ADMIN = Actor(user_id=None, role="administrator", display_name="Sam Admin")
# MADRS with item 10 at 0: totals 30 and 12 (sums by hand).
MADRS_30 = [4, 4, 4, 4, 4, 4, 3, 3, 0, 0]
MADRS_12 = [2, 2, 2, 2, 2, 2, 0, 0, 0, 0]


def _madrs_course(db: Session, ctx: RequestContext) -> str:
    pid = make_patient(db, ctx)
    start = ctx.now - timedelta(days=30)
    for days, answers in ((0, MADRS_30), (28, MADRS_12)):
        measurement.record_questionnaire_response(
            db, ctx, pid, "madrs", answers, administered_at=start + timedelta(days=days)
        )
    return pid


def test_madrs_le12_changes_the_progress_result_and_revert_restores_it(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    admin = replace(ctx, actor=ADMIN)
    with transaction(session_factory) as db:
        pid = _madrs_course(db, ctx)

    def madrs_outcome() -> tuple[bool, float]:
        with transaction(session_factory) as db:
            data = progress.progress(db, ctx, pid, purpose="test")
        item = next(i for i in data.instruments if i.instrument_id == "madrs")
        assert item.outcome is not None
        return item.outcome.remitted, item.outcome.remission_rule.value

    assert madrs_outcome() == (False, remission_cutoff("madrs").value)
    with transaction(session_factory) as db:
        change = outcome_policy.change_outcome_choice(
            db, admin, "remission.madrs", "le12", reason="Esketamine trials' definition"
        )
    assert (change.previous_choice, change.choice, change.changed_by) == (
        "le10",
        "le12",
        "Sam Admin",
    )
    assert madrs_outcome() == (True, 12)
    with transaction(session_factory) as db:
        outcome_policy.change_outcome_choice(
            db, replace(admin, now=admin.now + timedelta(minutes=1)), "remission.madrs", None,
            reason="Back to the KetECT cut-off", revert=True,
        )  # fmt: skip
        history = outcome_policy.outcome_choice_history(db)
    assert madrs_outcome() == (False, 10)
    assert [(h.choice, h.reverted, h.previous_choice) for h in history] == [
        ("le12", False, "le10"),
        (None, True, "le12"),
    ]


def test_only_an_administrator_with_a_reason_and_a_cited_choice(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    admin = replace(ctx, actor=ADMIN)
    with transaction(session_factory) as db:
        with pytest.raises(PermissionDenied):
            outcome_policy.change_outcome_choice(
                db, ctx, "remission.madrs", "le12", reason="why not"
            )
        with pytest.raises(InvalidInput) as short:
            outcome_policy.change_outcome_choice(db, admin, "remission.madrs", "le12", reason="ok")
        assert short.value.field == "reason"
        with pytest.raises(InvalidInput) as uncited:
            outcome_policy.change_outcome_choice(
                db, admin, "remission.pcl5", "lt30", reason="Looser PCL-5"
            )
        assert uncited.value.field == "remission.pcl5"
        with pytest.raises(InvalidInput) as unknown:
            outcome_policy.change_outcome_choice(
                db, admin, "remission.phq9", "lt5", reason="Only one option"
            )
        assert unknown.value.field == "setting_id"
        assert outcome_policy.outcome_choice_history(db) == []


def test_progress_states_each_form_out_of_the_engines_maximum(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    # QIDS-SR16 scores the highest item of each domain: 9 domains of 0-3, so 27, not 16 x 3.
    with transaction(session_factory) as db:
        pid = make_patient(db, ctx)
        measurement.record_questionnaire_response(
            db, ctx, pid, "qids-sr16", [1] * 16, administered_at=ctx.now - timedelta(days=1)
        )
        data = progress.progress(db, ctx, pid, purpose="test")
    (qids,) = [i for i in data.instruments if i.instrument_id == "qids-sr16"]
    assert qids.max_total == 27
