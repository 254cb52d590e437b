"""In Chromium on a tablet-sized screen: a nurse runs an IV session and an esketamine session from
check-in to discharge, including an alert and its acknowledgement with a note."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from browser_support import LiveClinic, screenshot, sign_in
from clinic_records import add_patient, add_session, clinic_database, pass_time
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


def _check_in_and_pass_predose(page: Page, planned_mg: str, max_mg: str) -> None:
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#session-state")).to_have_text("State: checked in")
    _reading(page, BASELINE, cssrs="none")
    _yes(page, "Identity confirmed (two identifiers)?")
    page.get_by_label("Last solid food").fill("4")
    page.get_by_label("Last liquids").fill("90")
    _yes(page, "An adult escort will take the patient home?")
    _yes(page, "Transport home arranged (the patient will not drive)?")
    page.get_by_label("Pregnancy status").select_option("not-applicable")
    _yes(page, "Eligibility screening valid and plan signed?")
    page.get_by_label("Planned dose (from the signed plan)").fill(planned_mg)
    page.get_by_label("Maximum dose allowed by the protocol").fill(max_mg)
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


def test_a_nurse_runs_an_iv_and_an_esketamine_session_to_discharge(
    tablet: Page, live_clinic: LiveClinic, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = tablet
    with clinic_database(tmp_path_factory) as db:
        iv_patient = add_patient(db, live_clinic, "Iris", "Vance")
        esk_patient = add_patient(db, live_clinic, "Esme", "Kato")
        iv = add_session(db, live_clinic, iv_patient, ProtocolKind.IV_RACEMIC)
        esk = add_session(db, live_clinic, esk_patient, ProtocolKind.INTRANASAL_ESKETAMINE)
    sign_in(page, live_clinic.accounts["nurse"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    screenshot(page, "sessions-today")
    page.get_by_role("link", name="Iris Vance").click()
    expect(page).to_have_url(re.compile(f"/sessions/{iv}$"))

    # IV: pre-dose, infusion with a rate change, a blood-pressure alert acknowledged with a note.
    _check_in_and_pass_predose(page, "40", "80")
    page.get_by_label("Lot number").fill("LOT-IV-42")
    page.get_by_label("Total dose this session").fill("40")
    page.get_by_label("Concentration").fill("1")
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

    # Esketamine: two 28 mg devices, then the REMS form at discharge.
    page.goto(f"/sessions/{esk}")
    _check_in_and_pass_predose(page, "56", "84")
    page.get_by_label("Lot number").fill("LOT-ESK-7")
    page.get_by_label("Total dose this session").fill("56")
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
    screenshot(page, "session-rems-form")

    # Reports: the session record and the patient's progress report as PDF.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_label("Find a patient (name or clinic number)").fill("Kato")
    page.get_by_role("button", name="Search").click()
    link = page.get_by_role("link", name=re.compile("Progress report .PDF. for Kato, Esme"))
    progress_pdf = page.request.get(str(link.get_attribute("href")))
    assert progress_pdf.headers["content-type"] == "application/pdf"
    assert progress_pdf.body().startswith(b"%PDF")
    record_pdf = page.request.get(f"/reports/sessions/{esk}/record.pdf")
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
