"""The demo a new user sees first: the default `demo load` (seed 1, the default size), loaded
once into SQLite at a fixed "today", checked for everything the demo promises. Smaller demos and
PostgreSQL are covered by test_demo.py and test_demo_days.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.protocols import all_protocols
from ketaclinic.clinical.questionnaires import score
from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.services import measurement, rems, safety, session_today
from ketaclinic.services.consents import research_consented_patient_ids
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.services.screening import current_screening_row
from ketaclinic.services.screening_facts import parse_treatment
from ketaclinic.storage.database import SessionFactory, make_engine, make_session_factory
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.measurements import QuestionnaireResponseRow
from ketaclinic.storage.tables.patients import PatientRow
from ketaclinic.storage.tables.planning import (
    DoseLimitOverrideRow,
    EligibilityOverrideRow,
    ScreeningRow,
    TreatmentPlanRow,
)
from ketaclinic.storage.tables.safety import BladderScreenRow, SafetyTaskRow
from ketaclinic.storage.tables.sessions import SessionAlertRow, SupervisedSessionRow
from ketaclinic.synthetic.demo import DemoReport, load_demo
from ketaclinic.synthetic.demo_plan import DEFAULT_PATIENTS, DemoPatient, plan_demo
from ketaclinic.synthetic.demo_plans import TREATMENT_OF_ROUTE
from support.databases import DatabaseProvider

# A Monday late morning: the clinic is mid-session.
TODAY = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(database_provider: DatabaseProvider) -> Iterator[tuple[SessionFactory, DemoReport]]:
    databases = database_provider.backend("sqlite")
    url = databases.create()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as db:
        report = load_demo(db, RequestContext(SYSTEM, TODAY))  # the CLI's defaults
        db.commit()
    yield factory, report
    engine.dispose()
    databases.drop(url)


@pytest.fixture(scope="module")
def people() -> list[DemoPatient]:
    return plan_demo(1, TODAY, DEFAULT_PATIENTS, now=TODAY)


@pytest.fixture
def db(demo: tuple[SessionFactory, DemoReport]) -> Iterator[Session]:
    with demo[0]() as session:
        yield session


def _role(people: list[DemoPatient], role: str) -> DemoPatient:
    return next(p for p in people if p.role == role)


def test_loading_again_the_same_day_adds_nothing(
    demo: tuple[SessionFactory, DemoReport], db: Session
) -> None:
    factory, first = demo
    assert first.patients_new == first.patients_planned > DEFAULT_PATIENTS  # arrivals booked
    tables = (PatientRow, ScreeningRow, TreatmentPlanRow, QuestionnaireResponseRow,
              SupervisedSessionRow, SafetyTaskRow, AuditEvent)  # fmt: skip
    counts = {t: db.scalar(select(func.count()).select_from(t)) for t in tables}
    with factory() as other:
        again = load_demo(other, RequestContext(SYSTEM, TODAY))
        other.commit()
    assert sum(again.written.values()) == 0
    assert again.patients_new == 0
    db.expire_all()
    assert {t: db.scalar(select(func.count()).select_from(t)) for t in tables} == counts


def test_screening_shows_every_decision_class_and_overrides(
    db: Session, people: list[DemoPatient]
) -> None:
    decisions = Counter(db.scalars(select(ScreeningRow.decision)))
    assert set(decisions) == {
        "eligible", "eligible-with-conditions", "not-eligible", "more-information-needed",
    }  # fmt: skip
    # The absolute contraindication stays a refusal: screened, never overridden, never planned.
    refused = _role(people, "absolute-contraindication")
    final = current_screening_row(db, refused.patient_id, parse_treatment(
        TREATMENT_OF_ROUTE[refused.course.route]))  # fmt: skip
    assert final is not None
    assert final.decision == "not-eligible"
    assert any(f["rule_class"] == "absolute-contraindication" and f["status"] == "present"
               for f in final.decision_json["findings"])  # fmt: skip
    assert not db.scalars(
        select(TreatmentPlanRow).where(TreatmentPlanRow.patient_id == refused.patient_id)
    ).all()
    overrides = db.scalars(select(EligibilityOverrideRow)).all()
    by_rule = {rule for o in overrides for rule in o.rule_ids}
    assert "treatment-resistance" in by_rule
    assert "substance-use-active" in by_rule  # a relative contraindication accepted in writing
    assert all(len(o.reason) > 40 and o.prescriber_name for o in overrides)
    dose_overrides = db.scalars(select(DoseLimitOverrideRow)).all()
    assert [o.limit_ids for o in dose_overrides] == [["first-session-dose"]]
    assert "Transferred" in dose_overrides[0].reason


def test_plans_in_every_protocol(db: Session, people: list[DemoPatient]) -> None:
    plans = db.scalars(select(TreatmentPlanRow)).all()
    assert {p.protocol_id for p in plans} == {p.id for p in all_protocols()}
    mdsi = [p for p in plans if p.protocol_id == "esketamine-mdsi"]
    case = _role(people, "esketamine-suicidal-ideation")
    assert [p.patient_id for p in mdsi] == [case.patient_id]
    assert {"mdd", "suicidal-ideation"} <= {d["condition"] for d in case.diagnoses}
    sublingual = [p for p in plans if p.protocol_id == "sublingual-racemic"]
    assert sublingual
    assert all(p.status == "draft" for p in sublingual)
    statuses = Counter(p.status for p in plans)
    assert {"draft", "signed", "active", "completed", "stopped"} <= set(statuses)


def test_today_board_is_live(db: Session) -> None:
    board = session_today.today_list(db, RequestContext(SYSTEM, TODAY), TODAY.date(), UTC)
    states = {e.state for e in board}
    assert {
        "scheduled", "checked-in", "predose-passed", "dosing", "monitoring",
        "ready-for-discharge", "discharged", "no-show", "aborted",
    } <= states  # fmt: skip
    assert sum(e.open_alerts for e in board) >= 1
    # Every session that was dosed carries out an entry of the patient's signed plan.
    rows = db.scalars(select(SupervisedSessionRow)).all()
    assert {r.state for r in rows} == {s.value for s in SessionState}
    dosed_states = {"dosing", "monitoring", "ready-for-discharge", "discharged"}
    assert all(r.plan_session_id for r in rows if r.state in dosed_states)


def test_alerts_adverse_events_rems_and_flags(db: Session) -> None:
    alerts = db.scalars(select(SessionAlertRow)).all()
    assert any(a.acknowledged_at is None for a in alerts)
    assert any(a.acknowledged_at is not None and a.acknowledgement_note for a in alerts)
    assert any("systolic" in a.rule_id or "bp" in a.rule_id for a in alerts)
    events = safety.adverse_events(db)
    assert any(e.is_serious for e in events)
    assert any(not e.is_serious for e in events)
    tasks = {t.kind for t in safety.open_tasks(db)}
    assert {"serious-ae-report", "serious-ae-medical-review", "bladder-referral",
            "prescriber-misuse-review", "suicide-risk-assessment"} <= tasks  # fmt: skip
    flags = {f.kind for f in safety.open_flags(db)}
    assert {"bladder-worsening", "misuse-signal", "serious-adverse-event",
            "suicide-screen-positive"} <= flags  # fmt: skip
    forms = Counter(s.status for s in rems.form_summaries(db, today=TODAY.date()))
    assert set(forms) == {"due", "submitted", "overdue"}


def test_measurement_across_the_caseload(db: Session, people: list[DemoPatient]) -> None:
    by_instrument: dict[str, list[QuestionnaireResponseRow]] = {}
    for row in db.scalars(select(QuestionnaireResponseRow)):
        by_instrument.setdefault(row.instrument_id, []).append(row)
    # A C-SSRS screener at every intake; the positive ones raised same-day assessment tasks.
    cssrs = by_instrument["cssrs-screener"]
    assert {r.patient_id for r in cssrs} == {p.patient_id for p in people}
    positive = [r for r in cssrs if r.extras.get("risk") in ("low", "moderate")]
    assert positive
    assert {r.extras["risk"] for r in positive} == {"low", "moderate"}
    assessed = set(db.scalars(select(SafetyTaskRow.patient_id).where(
        SafetyTaskRow.kind == "suicide-risk-assessment")))  # fmt: skip
    assert {r.patient_id for r in positive} <= assessed
    # PCL-5 trajectories for the patients with PTSD (more than one form each, mostly).
    ptsd = {p.patient_id for p in people if any(d["condition"] == "ptsd" for d in p.diagnoses)}
    pcl5 = Counter(r.patient_id for r in by_instrument["pcl5"])
    assert set(pcl5) <= ptsd
    assert any(n >= 2 for n in pcl5.values())
    # QIDS-SR16 for part of the caseload, its domain maxima scored by the engine.
    qids = by_instrument["qids-sr16"]
    assert 0 < len({r.patient_id for r in qids}) < len(people)
    for row in qids[:20]:
        answers = measurement.item_answers(db, row.id)
        assert score("qids-sr16", {k: int(v) for k, v in answers.items()}).total == row.total
    # The O'Leary-Sant screen in maintenance, one worsening with its bladder screen and referral.
    worse = _role(people, "bladder-worsening")
    icsi = [r for r in by_instrument["oleary-sant"] if r.patient_id == worse.patient_id]
    assert [r.total > 0 for r in sorted(icsi, key=lambda r: r.administered_at)] == [False, True]
    screens = db.scalars(
        select(BladderScreenRow).where(BladderScreenRow.patient_id == worse.patient_id)
    ).all()
    assert sorted(len(s.symptoms) for s in screens) == [0, 2]
    # PHQ-9 and GAD-7 filled in by patients through the portal.
    names = {f"{p.identity['given_name']} {p.identity['family_name']}" for p in people}
    portal = [r for r in by_instrument["phq9"] + by_instrument["gad7"] if r.recorded_by in names]
    assert {r.instrument_id for r in portal} == {"phq9", "gad7"}
    assert _role(people, "portal-user").patient_id in {r.patient_id for r in portal}


def test_most_patients_consent_to_research(db: Session, people: list[DemoPatient]) -> None:
    consented = set(research_consented_patient_ids(db, at=TODAY))
    assert len(consented) >= 0.75 * len(people)
    assert _role(people, "research-withdrawn").patient_id not in consented
