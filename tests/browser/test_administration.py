"""In Chromium: the administrator adds a nurse, the nurse sets a password and signs in; the audit
trail shows it all and verifies."""

from __future__ import annotations

from browser_support import LiveClinic, screenshot, sign_in
from playwright.sync_api import Browser, Page, expect


def test_adding_a_nurse_who_then_sets_a_password_and_signs_in(
    page: Page, browser: Browser, live_clinic: LiveClinic
) -> None:
    sign_in(page, live_clinic.accounts["administrator"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users and roles")
    staff = page.get_by_role("region", name="Add a staff account")
    staff.get_by_label("Name").fill("Nadia Nightshift")
    staff.get_by_label("E-mail address").fill("nadia-at-clinic")
    staff.get_by_label("Role").select_option("nurse")
    staff.get_by_role("button", name="Add account").click()
    # The error sits beside the field, and what was typed is still there.
    staff = page.get_by_role("region", name="Add a staff account")
    expect(staff.locator("#f-email-error")).to_contain_text("write it as name@example.org")
    expect(staff.get_by_label("Name")).to_have_value("Nadia Nightshift")
    expect(staff.get_by_label("Role")).to_have_value("nurse")
    screenshot(page, "admin-users-error")
    staff.get_by_label("E-mail address").fill("nadia@clinic.example.org")
    staff.get_by_role("button", name="Add account").click()
    link = page.locator("#new-link")
    expect(link).to_be_visible()
    screenshot(page, "admin-users")
    invitation = link.get_attribute("href")
    assert invitation is not None

    newcomer = browser.new_context(base_url=live_clinic.base_url)
    try:
        tab = newcomer.new_page()
        tab.goto(invitation)
        expect(tab.get_by_role("heading", level=1)).to_have_text("Set your password")
        tab.get_by_label("New password").fill("night shift is quiet tonight")
        tab.get_by_label("Type it again").fill("night shift is quiet tonight")
        screenshot(tab, "set-password")
        tab.get_by_role("button", name="Set password").click()
        expect(tab.get_by_text("Your password is set.")).to_be_visible()
        sign_in(tab, "nadia@clinic.example.org", "night shift is quiet tonight")
        expect(tab.get_by_role("heading", level=1)).to_have_text("Welcome, Nadia Nightshift")
    finally:
        newcomer.close()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("status")).to_contain_text("Chain verified")
    expect(page.get_by_role("cell", name="user.password_set")).to_have_count(1)
    screenshot(page, "admin-audit")
