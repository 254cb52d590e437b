"""In Chromium: a prescriber registers and screens a new patient, overrides a relative
contraindication with a reason, plans and signs; a researcher cannot open the chart.

Screenshots of Today, intake, screening, plan and chart go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

from browser_support import LiveClinic, screenshot, sign_in
from clinic_pages import take_history
from playwright.sync_api import Browser, Page, expect

REASON = "Pregnancy discussed with obstetrics; severe TRD, patient consents after counselling."


def _register_and_take_history(page: Page) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Register a new patient").click()
    page.get_by_label("Given name").fill("Imogen")
    page.get_by_label("Family name").fill("Thackeray")
    page.get_by_label("Date of birth").fill("1990-06-15")
    page.get_by_role("button", name="Register and go to intake").click()
    # Sex was left out: the error sits beside the field and the names are kept.
    expect(page.locator("#f-sex-error")).to_contain_text("Choose the sex recorded at birth")
    expect(page.get_by_label("Family name")).to_have_value("Thackeray")
    page.get_by_label("Sex recorded at birth").select_option("F")
    page.get_by_role("button", name="Register and go to intake").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Intake and history: Imogen")
    patient_id = re.search(r"/patients/([0-9a-f-]+)/intake", page.url)
    assert patient_id is not None

    # Everything asked and absent except pregnancy, which the screener states below.
    take_history(
        page, stated_at_screening=("pregnancy", "breastfeeding"), weight_kg="64", height_cm="168"
    )
    screenshot(page, "intake")
    return patient_id.group(1)


def test_a_prescriber_screens_overrides_a_relative_contraindication_and_signs_a_plan(
    page: Page, browser: Browser, live_clinic: LiveClinic
) -> None:
    sign_in(page, live_clinic.accounts["prescriber"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today,")
    screenshot(page, "today")

    patient_id = _register_and_take_history(page)
    page.get_by_role("link", name="Go to screening").click()
    run = page.get_by_role("region", name="Run the screening")
    run.get_by_label("Treatment").select_option("esketamine-intranasal")
    run.get_by_label("Pregnant?").select_option("yes")
    run.get_by_label("Breastfeeding?").select_option("no")
    run.get_by_label("Known hypersensitivity").select_option("no")
    run.get_by_label("Urinary symptoms").select_option("no")
    run.get_by_label("Sleep apnoea risk").select_option("low")
    run.get_by_label("Liver impairment").select_option("none")
    run.get_by_label("PHQ-9 item 9").select_option("0")
    run.get_by_label("C-SSRS screener risk").select_option("low")
    run.get_by_label("The patient takes no medicines").check()
    run.get_by_role("button", name="Screen").click()
    decision = page.locator("article.decision").first
    expect(decision).to_contain_text("relative contraindication")
    expect(decision).to_contain_text("Source:")

    decision.get_by_role("button", name="Record the override").click()
    expect(page.locator("#f-rule_ids-error")).to_contain_text("Tick the finding")
    decision = page.locator("article.decision").first
    decision.get_by_role("checkbox").first.check()
    decision.get_by_label("Reason for the override").fill(REASON)
    decision.get_by_role("button", name="Record the override").click()
    expect(page.locator("article.decision").first).to_contain_text(REASON)
    screenshot(page, "screening")

    page.get_by_role("navigation", name="This patient").get_by_role(
        "link", name="Plan treatment"
    ).click()
    page.get_by_label("Protocol", exact=True).select_option("esketamine-trd")
    page.get_by_role("button", name="Compute the dose and save a draft").click()
    expect(page.get_by_role("heading", level=2, name=re.compile("draft"))).to_be_visible()
    expect(page.get_by_text("2 × 28 mg")).to_be_visible()
    expect(page.locator("img.plot")).to_have_count(1)
    page.get_by_role("button", name="Sign the plan").click()
    expect(page.get_by_role("status")).to_contain_text("Plan signed by Browser Prescriber.")
    screenshot(page, "plan")

    page.get_by_role("navigation", name="This patient").get_by_role("link", name="Chart").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Imogen Thackeray")
    expect(page.get_by_role("region", name="Summary")).to_contain_text(
        "signed by Browser Prescriber"
    )
    screenshot(page, "chart")

    researcher = browser.new_context(base_url=live_clinic.base_url)
    try:
        tab = researcher.new_page()
        sign_in(tab, live_clinic.accounts["researcher"])
        response = tab.goto(f"/patients/{patient_id}/chart")
        assert response is not None
        assert response.status == 403
        expect(tab.get_by_role("heading", level=1)).to_have_text("Not allowed")
        expect(tab.get_by_text("Thackeray")).to_have_count(0)
        screenshot(tab, "chart-refused-researcher")
    finally:
        researcher.close()
