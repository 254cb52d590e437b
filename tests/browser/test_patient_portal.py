"""In Chromium on a phone-sized screen (390 x 844): a patient fills a PHQ-9 in the portal and sees
their progress; the prescriber's chart then shows the new point. A positive item 9 brings the
crisis resources at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from browser_support import PATIENT_ID, LiveClinic, screenshot, sign_in
from clinic_records import SETUP, add_patient, clinic_database
from playwright.sync_api import Browser, Page, expect

from ketaclinic.services import measurement
from ketaclinic.services.context import RequestContext

PHONE = {"width": 390, "height": 844}
# Answer labels of the PHQ-9 items (0-3), as the portal shows them.
OPTIONS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]


@pytest.fixture
def phone(browser: Browser, live_clinic: LiveClinic) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_clinic.base_url, viewport=PHONE, has_touch=True, is_mobile=True
    )
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def portal_patient(live_clinic: LiveClinic, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The browser patient account's record, with a PHQ-9 of 18 four weeks ago."""
    with clinic_database(tmp_path_factory) as db:
        add_patient(db, live_clinic, "Pat", "Rivers", patient_id=PATIENT_ID)
        ctx = RequestContext(SETUP, live_clinic.clock())
        measurement.record_questionnaire_response(
            db, ctx, PATIENT_ID, "phq9", {f"q{i}": 2 for i in range(1, 10)},
            administered_at=ctx.now - timedelta(weeks=4),
        )  # fmt: skip
    return PATIENT_ID


def _answer(page: Page, answers: list[int]) -> None:
    for number, value in enumerate(answers, start=1):
        question = page.get_by_role("group", name=re.compile(rf"^{number}\. "))
        question.get_by_label(OPTIONS[value], exact=True).check()


def test_a_patient_fills_a_phq9_on_a_phone_and_the_chart_shows_it(
    phone: Page, browser: Browser, live_clinic: LiveClinic, portal_patient: str
) -> None:
    page = phone
    sign_in(page, live_clinic.accounts["patient"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My care").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My care")
    page.get_by_role("link", name="Fill in the PHQ-9").click()
    # Forgetting one question keeps the others and says which one.
    _answer(page, [1, 1, 1, 1, 1, 1, 1, 1])
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator("#f-q9-error")).to_have_text(re.compile("Question 9: choose one answer."))
    expect(
        page.get_by_role("group", name=re.compile(r"^1\. ")).get_by_label("Several days")
    ).to_be_checked()
    screenshot(page, "portal-phq9-phone-error")
    _answer(page, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("status")).to_contain_text("your answers were saved")
    expect(page.get_by_text("Your latest PHQ-9 score is 8 out of 27")).to_be_visible()
    expect(
        page.get_by_text("When you started it was 18: now 10 points lower than that.")
    ).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Chart of your PHQ-9 scores"))).to_be_visible()
    # The chart is drawn by the server (SVG, same host) and actually loads.
    chart = page.locator("img.chart")
    for _ in range(50):
        if chart.evaluate("image => image.complete && image.naturalWidth > 0"):
            break
        page.wait_for_timeout(100)
    assert chart.evaluate("image => image.naturalWidth") > 0
    # Nothing on a phone overflows sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the portal is {width}px wide on a {PHONE['width']}px phone"
    screenshot(page, "portal-home-phone")

    prescriber = browser.new_context(base_url=live_clinic.base_url).new_page()
    sign_in(prescriber, live_clinic.accounts["prescriber"])
    prescriber.goto(f"/patients/{portal_patient}/chart")
    expect(prescriber.get_by_text(re.compile(r"2 scores from .*; latest 8"))).to_be_visible()
    screenshot(prescriber, "chart-after-portal-phq9")
    prescriber.context.close()


def test_a_positive_item_9_shows_crisis_resources(
    phone: Page, live_clinic: LiveClinic, portal_patient: str
) -> None:
    page = phone
    sign_in(page, live_clinic.accounts["patient"])
    page.goto("/portal/questionnaires/phq9")
    _answer(page, [2, 2, 1, 1, 1, 1, 1, 1, 1])
    page.get_by_role("button", name="Send my answers").click()
    crisis = page.get_by_role("alert")
    expect(crisis).to_contain_text("Your care team has been asked to contact you today")
    expect(page.get_by_role("link", name="988")).to_have_attribute("href", "tel:988")
    screenshot(page, "portal-crisis-resources-phone")
