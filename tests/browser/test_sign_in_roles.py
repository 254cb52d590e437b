"""In Chromium: every role signs in, sees its own navigation, and signs out; forms and keyboard."""

from __future__ import annotations

import re

import pytest
from browser_support import PASSWORD, ROLES, LiveClinic, screenshot, sign_in
from playwright.sync_api import Browser, Page, expect

ROLE_LABELS = {
    "administrator": "Administrator",
    "prescriber": "Prescriber",
    "nurse": "Nurse",
    "patient": "Patient",
    "researcher": "Researcher",
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_sees_its_pages_and_signs_out(
    role: str, page: Page, live_clinic: LiveClinic
) -> None:
    sign_in(page, live_clinic.accounts[role])
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, Browser {role.title()}")
    expect(page.locator(".who .badge")).to_have_text(ROLE_LABELS[role])
    audit_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail")
    expect(audit_link).to_have_count(1 if role == "administrator" else 0)
    screenshot(page, f"home-{role}")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/"))


def test_a_wrong_password_shows_the_error_and_keeps_the_address(
    page: Page, live_clinic: LiveClinic
) -> None:
    sign_in(page, live_clinic.accounts["nurse"], "not the right one")
    expect(page.get_by_role("alert")).to_contain_text("do not match an active account")
    expect(page.get_by_label("E-mail address")).to_have_value(live_clinic.accounts["nurse"])
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "sign-in-error")


def test_the_keyboard_reaches_the_skip_link_first_and_signs_in(
    page: Page, live_clinic: LiveClinic
) -> None:
    page.goto("/sign-in")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail address")).to_be_focused()
    page.keyboard.type(live_clinic.accounts["prescriber"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Browser Prescriber")


def test_a_researcher_is_refused_the_administration_pages(
    page: Page, live_clinic: LiveClinic
) -> None:
    sign_in(page, live_clinic.accounts["researcher"])
    response = page.goto("/admin/users")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    screenshot(page, "refused-researcher")


def test_the_patient_home_fits_a_phone(browser: Browser, live_clinic: LiveClinic) -> None:
    phone = browser.new_context(
        base_url=live_clinic.base_url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    try:
        page = phone.new_page()
        sign_in(page, live_clinic.accounts["patient"])
        expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Browser Patient")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
        button = page.get_by_role("button", name="Sign out").bounding_box()
        assert button is not None
        assert button["height"] >= 44  # a touch target a thumb can hit
        screenshot(page, "home-patient-phone")
    finally:
        phone.close()
