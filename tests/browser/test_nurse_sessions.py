"""In Chromium: a prescriber takes two new patients from registration to a booked session through
the pages (consents, history, screening, a signed IV plan and a signed esketamine plan, booking);
then, on a tablet-sized screen, a nurse runs both sessions from check-in to discharge, including
an alert and its acknowledgement with a note. The prescriber closes the same-day risk-assessment
task the screening raised from Today's open tasks. Nothing is written straight into the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from browser_support import LiveClinic, screenshot, sign_in
from clinic_pages import ESKETAMINE, IV, BookedPatient, clinic_weekday_morning, prepare_patient
from clinic_records import pass_time
from playwright.sync_api import Browser, Page, expect

from ketaclinic.clinical.policy import ProtocolKind, default_policy

TABLET = {"width": 1024, "height": 1366}


@pytest.fixture
def tablet(browser: Browser, live_clinic: LiveClinic) -> Iterator[Page]:
    context = browser.new_context(base_url=live_clinic.base_url, viewport=TABLET, has_touch=True)
    yield context.new_page()
    context.close()
    live_clinic.clock.offset = timedelta(0)


def _yes(page: Page, question: str, answer: str = "Yes") -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def _reading(page: Page, values: dict[str, str], cssrs: str | None = None) -> None:
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    if cssrs is not None:
        page.get_by_label("C-SSRS screen risk").select_option(cssrs)
    page.get_by_role("button", name="Save reading").click()


BASELINE = {
    "Systolic blood pressure": "126", "Diastolic blood pressure": "80", "Heart rate": "70",
    "Oxygen saturation (SpO2)": "98", "Respiratory rate": "14", "MOAA/S sedation score": "5",
    "CADSS dissociation total": "0", "PHQ-9 item 9 (thoughts of self-harm)": "0",
}  # fmt: skip
RECOVERED = {
    "Systolic blood pressure": "130", "Diastolic blood pressure": "82", "Heart rate": "74",
    "Oxygen saturation (SpO2)": "98", "Respiratory rate": "14", "MOAA/S sedation score": "5",
    "CADSS dissociation total": "0",
}  # fmt: skip


def _check_in_and_pass_predose(page: Page) -> None:
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#session-state")).to_have_text("State: checked in")
    _reading(page, BASELINE, cssrs="none")
    # Consent, REMS enrolment, eligibility and the dose come from the record, not from typing.
    expect(page.get_by_role("region", name="From the record (not typed here)")).to_contain_text(
        "Valid"
    )
    _yes(page, "Identity confirmed (two identifiers)?")
    page.get_by_label("Last solid food").fill("4")
    page.get_by_label("Last liquids").fill("90")
    _yes(page, "An adult escort will take the patient home?")
    _yes(page, "Transport home arranged (the patient will not drive)?")
    page.get_by_label("Pregnancy status").select_option("not-applicable")
    page.get_by_role("button", name="Check answers").click()
    expect(page.get_by_role("list", name="Pre-dose checks")).to_contain_text("✓ Met")
    page.get_by_role("button", name="Pass pre-dose checks").click()
    expect(page.locator("#session-state")).to_have_text("State: predose passed")


def _discharge(page: Page, clinic: LiveClinic, kind: ProtocolKind) -> None:
    pass_time(page, clinic, default_policy(kind).number("min_observation_minutes"))
    _reading(page, RECOVERED)
    page.get_by_label("The escort is here to take the patient home").check()
    page.get_by_role("button", name="Mark ready for discharge").click()
    expect(page.locator("#session-state")).to_have_text("State: ready for discharge")
    page.get_by_label("The escort is here to take the patient home").check()
    page.get_by_role("button", name="Discharge now").click()
    expect(page.locator("#session-state")).to_have_text("State: discharged")


def _prescriber_prepares_and_closes_the_risk_tasks(
    page: Page, clinic: LiveClinic
) -> tuple[BookedPatient, BookedPatient]:
    """Registration to booking for both patients; the C-SSRS 'moderate' at screening raised a
    same-day risk assessment for each, which the prescriber closes from Today with a note."""
    sign_in(page, clinic.accounts["prescriber"])
    iv = prepare_patient(page, clinic, "Iris", "Vance", IV, chair="Chair 1")
    screenshot(page, "plan-book-sessions")
    page.goto(f"/patients/{iv.patient_id}/intake#consent")
    expect(page.get_by_role("region", name="Consents")).to_contain_text("obtained by Dr Browser")
    screenshot(page, "intake-consents")
    esk = prepare_patient(page, clinic, "Esme", "Kato", ESKETAMINE, chair="Chair 2")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").click()
    tasks = page.locator("#today-tasks")
    expect(tasks).to_contain_text("Iris Vance")
    expect(tasks).to_contain_text("Esme Kato")
    expect(tasks).to_contain_text("suicide risk assessment")
    screenshot(page, "today-open-tasks")
    for name in ("Iris Vance", "Esme Kato"):
        page.goto("/today")
        page.locator("#today-tasks").get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Safety follow-up: {name}")
        page.get_by_label("What was done (suicide risk assessment)").fill(
            "C-SSRS repeated in clinic: passive ideation only, no plan; safety plan given."
        )
        page.get_by_role("button", name="Complete task").click()
        expect(page.get_by_role("status")).to_contain_text("Task completed.")
    screenshot(page, "patient-safety")
    return iv, esk


def test_a_nurse_doses_patients_booked_through_the_pages(
    page: Page, tablet: Page, live_clinic: LiveClinic
) -> None:
    clinic_weekday_morning(live_clinic)
    iv, esk = _prescriber_prepares_and_closes_the_risk_tasks(page, live_clinic)

    page = tablet
    sign_in(page, live_clinic.accounts["nurse"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    screenshot(page, "sessions-today")
    page.get_by_role("link", name="Iris Vance").click()
    expect(page).to_have_url(re.compile(f"/sessions/{iv.session_id}$"))

    # IV: pre-dose, infusion at the plan's dose with a rate change, a BP alert acknowledged.
    _check_in_and_pass_predose(page)
    page.get_by_label("Lot number").fill("LOT-IV-42")
    expect(page.get_by_label("Total dose this session")).to_have_value(re.compile(r"^40(\.0+)?$"))
    page.get_by_label("Concentration").fill("10")
    page.get_by_label("Initial infusion rate").fill("60")
    page.get_by_role("button", name="Start dosing now").click()
    expect(page.locator("#session-state")).to_have_text("State: dosing")
    page.get_by_label("New infusion rate").fill("45")
    page.get_by_label("Reason", exact=True).fill("marked dissociation")
    page.get_by_role("button", name="Change rate").click()
    pass_time(page, live_clinic, 10)
    _reading(page, {"Systolic blood pressure": "186", "Diastolic blood pressure": "104"})
    alert = page.locator(".alert-card").first
    expect(alert).to_be_visible()
    screenshot(page, "session-monitor-alert")
    alert.get_by_role("button", name=re.compile("Acknowledge alert")).click()
    expect(
        page.locator(".field-error").filter(has_text="a note saying what was assessed or done")
    ).to_be_visible()
    while page.locator(".alert-card").count():
        card = page.locator(".alert-card").first
        card.get_by_label("What was assessed or done (required)").fill(
            "Rechecked after rest: 150/90; prescriber informed."
        )
        card.get_by_role("button", name=re.compile("Acknowledge alert")).click()
    expect(page.get_by_text("No open alerts.")).to_be_visible()
    pass_time(page, live_clinic, 30)
    page.get_by_role("button", name="End dosing").click()
    expect(page.locator("#session-state")).to_have_text("State: monitoring")
    page.get_by_role("button", name="Mark ready for discharge").click()
    expect(page.locator(".checklist.unmet")).to_contain_text("Not met")  # too early: explained
    screenshot(page, "session-monitor-discharge-checklist")
    _discharge(page, live_clinic, ProtocolKind.IV_RACEMIC)
    screenshot(page, "session-monitor-discharged")

    # Esketamine: the plan's 56 mg as two 28 mg devices, then the REMS form at discharge.
    page.goto(f"/sessions/{esk.session_id}")
    _check_in_and_pass_predose(page)
    page.get_by_label("Lot number").fill("LOT-ESK-7")
    expect(page.get_by_label("Total dose this session")).to_have_value(re.compile(r"^56(\.0+)?$"))
    page.get_by_role("button", name="Start dosing now").click()
    page.get_by_role("button", name="Device given now").click()
    pass_time(page, live_clinic, 5)
    page.get_by_role("button", name="Device given now").click()
    expect(page.locator("#dosing tbody tr")).to_have_count(2)
    page.get_by_role("button", name="End dosing").click()
    screenshot(page, "session-monitor-esketamine")
    _discharge(page, live_clinic, ProtocolKind.INTRANASAL_ESKETAMINE)
    page.get_by_role("link", name="REMS monitoring form").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "SPRAVATO REMS patient monitoring form"
    )
    # Enrolment was recorded on the intake page, so the form knows it.
    expect(page.get_by_role("row", name=re.compile("^Enrolled in rems"))).to_contain_text("Yes")
    screenshot(page, "session-rems-form")

    # Reports: the session record and the patient's progress report as PDF.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_label("Find a patient (name or clinic number)").fill("Kato")
    page.get_by_role("button", name="Search").click()
    link = page.get_by_role("link", name=re.compile("Progress report .PDF. for Kato, Esme"))
    progress_pdf = page.request.get(str(link.get_attribute("href")))
    assert progress_pdf.headers["content-type"] == "application/pdf"
    assert progress_pdf.body().startswith(b"%PDF")
    record_pdf = page.request.get(f"/reports/sessions/{esk.session_id}/record.pdf")
    assert record_pdf.body().startswith(b"%PDF")
    screenshot(page, "reports")


def test_an_administrator_reads_and_changes_a_clinic_threshold(
    page: Page, live_clinic: LiveClinic
) -> None:
    sign_in(page, live_clinic.accounts["administrator"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clinic policy").click()
    page.get_by_role("link", name="intranasal esketamine").click()
    expect(page.locator("#p-min_observation_minutes")).to_contain_text("REMS-protected")
    page.get_by_label("Threshold", exact=True).select_option("min_observation_minutes")
    page.get_by_label("New value (in the threshold’s unit)").fill("60")
    page.get_by_label("Why it changes (recorded with your name)").fill("Trying to go faster")
    page.get_by_role("button", name="Save the new value").click()
    expect(page.locator("#f-value-error")).to_contain_text("protected for esketamine")
    expect(page.get_by_label("Why it changes (recorded with your name)")).to_have_value(
        "Trying to go faster"
    )
    screenshot(page, "admin-clinic-policy")
