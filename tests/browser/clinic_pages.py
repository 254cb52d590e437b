"""A prescriber takes a new patient from registration to a booked session through the pages:
register, consents, history, screening, plan, signature, booking. What the nurse tests dose.

Every step is what a clinician does in the browser; nothing is written into the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from browser_support import LiveClinic
from playwright.sync_api import Page, expect

# The treatments the screening page offers and the protocols planned for them.
IV = ("racemic-iv-im", "iv-racemic-thrice-weekly")
ESKETAMINE = ("esketamine-intranasal", "esketamine-trd")


@dataclass(frozen=True)
class BookedPatient:
    patient_id: str
    plan_id: str
    session_id: str


def clinic_weekday_morning(clinic: LiveClinic) -> None:
    """Move the server's clock to 09:00 UTC on the next clinic weekday (today if a weekday), so a
    plan starting today has its first session today whatever day the tests run."""
    now = datetime.now(UTC)
    day = now.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    target = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
    clinic.clock.offset = target - now


def _register(page: Page, given: str, family: str) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Register a new patient").click()
    page.get_by_label("Given name").fill(given)
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Date of birth").fill("1979-04-12")
    page.get_by_label("Sex recorded at birth").select_option("M")
    page.get_by_role("button", name="Register and go to intake").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Intake and history: {given}")
    found = re.search(r"/patients/([0-9a-f-]+)/intake", page.url)
    assert found is not None
    return found.group(1)


def _consent(page: Page, kind_label: str) -> None:
    consents = page.get_by_role("region", name="Consents")
    consents.get_by_label("Consent signed").select_option(label=kind_label)
    consents.get_by_label("Obtained by (optional)").fill("Dr Browser Prescriber")
    consents.get_by_label("Where the signed form is kept (optional)").fill("scan-0001")
    consents.get_by_role("button", name="Record consent").click()
    expect(page.get_by_role("status")).to_contain_text("Consent recorded.")


def take_history(
    page: Page,
    *,
    stated_at_screening: tuple[str, ...] = (),
    weight_kg: str = "80",
    height_cm: str = "178",
) -> None:
    """On the intake page: MDD and TRD, everything else asked and found absent (except the
    conditions ``stated_at_screening``), two failed antidepressant trials, weight, height and a
    blood pressure."""
    for condition in ("mdd", "trd"):
        diagnoses = page.get_by_role("region", name="Diagnoses")
        diagnoses.get_by_label("Condition").select_option(condition)
        diagnoses.get_by_role("button", name="Add diagnosis").click()
        expect(page.get_by_role("status")).to_contain_text("Diagnosis added.")
    for box in (
        page.get_by_role("group", name="Asked and not present").get_by_role("checkbox").all()
    ):
        if box.get_attribute("value") not in stated_at_screening:
            box.check()
    page.get_by_role("button", name="Record as not present").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded as asked and not present.")
    for drug, dose, weeks in (("sertraline", "150", "10"), ("venlafaxine", "225", "8")):
        trials = page.get_by_role("region", name="Antidepressant trials")
        trials.get_by_label("Antidepressant").fill(drug)
        trials.get_by_label("Dose (mg per day)").fill(dose)
        trials.get_by_label("Duration (weeks)").fill(weeks)
        trials.get_by_label("Outcome").select_option("no-response")
        trials.get_by_role("button", name="Add trial").click()
        expect(page.get_by_role("status")).to_contain_text("Antidepressant trial added.")
    vitals = page.get_by_role("region", name="Weight, height and vital signs")
    vitals.get_by_label("Weight (kg)").fill(weight_kg)
    vitals.get_by_label("Height (cm)").fill(height_cm)
    vitals.get_by_label("Systolic blood pressure (mmHg)").fill("124")
    vitals.get_by_label("Diastolic blood pressure (mmHg)").fill("78")
    vitals.get_by_role("button", name="Record measurements").click()
    expect(page.get_by_role("status")).to_contain_text("Measurements recorded.")


def _screen(page: Page, treatment: str) -> None:
    page.get_by_role("link", name="Go to screening").click()
    run = page.get_by_role("region", name="Run the screening")
    run.get_by_label("Treatment", exact=True).select_option(treatment)
    for label, answer in (
        ("Pregnant?", "no"), ("Breastfeeding?", "no"), ("Known hypersensitivity", "no"),
        ("Urinary symptoms", "no"), ("Sleep apnoea risk", "low"), ("Liver impairment", "none"),
        ("PHQ-9 item 9", "0"), ("C-SSRS screener risk", "moderate"),
    ):  # fmt: skip
        run.get_by_label(label).select_option(answer)
    run.get_by_label("The patient takes no medicines").check()
    run.get_by_role("button", name="Screen").click()
    expect(page.locator("article.decision").first).to_contain_text("Source:")


def _plan_and_sign(page: Page, clinic: LiveClinic, protocol_id: str) -> str:
    page.get_by_role("navigation", name="This patient").get_by_role(
        "link", name="Plan treatment"
    ).click()
    page.get_by_label("Protocol", exact=True).select_option(protocol_id)
    page.get_by_label("First session", exact=True).fill(clinic.clock().date().isoformat())
    page.get_by_role("button", name="Compute the dose and save a draft").click()
    page.get_by_role("button", name="Sign the plan").click()
    expect(page.get_by_role("status")).to_contain_text("Plan signed by Browser Prescriber.")
    found = re.search(r"/plans/([0-9a-f-]+)", page.url)
    assert found is not None
    return found.group(1)


def _book_first_session(page: Page, clinic: LiveClinic, chair: str) -> str:
    page.get_by_role("navigation", name="This patient").get_by_role(
        "link", name="Book sessions"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Book sessions")
    page.get_by_label("Time for session 1", exact=True).fill(clinic.clock().strftime("%H:%M"))
    page.get_by_label("Chair for session 1", exact=True).fill(chair)
    page.get_by_label("Room for session 1", exact=True).fill("Room B")
    page.get_by_label("Book session 1", exact=True).check()
    page.get_by_role("button", name="Book the ticked sessions").click()
    expect(page.get_by_role("status")).to_contain_text("1 session booked.")
    link = page.locator("#session-0 a[href^='/sessions/']")
    found = re.search(r"/sessions/([0-9a-f-]+)", str(link.get_attribute("href")))
    assert found is not None
    return found.group(1)


def prepare_patient(
    page: Page,
    clinic: LiveClinic,
    given: str,
    family: str,
    treatment: tuple[str, str],
    *,
    chair: str,
) -> BookedPatient:
    """Signed in as a prescriber: a new patient booked for a session now, through the pages."""
    patient_id = _register(page, given, family)
    _consent(page, "Treatment consent")
    if treatment == ESKETAMINE:
        _consent(page, "SPRAVATO REMS patient enrolment (esketamine)")
    take_history(page)
    _screen(page, treatment[0])
    plan_id = _plan_and_sign(page, clinic, treatment[1])
    session_id = _book_first_session(page, clinic, chair)
    return BookedPatient(patient_id, plan_id, session_id)
