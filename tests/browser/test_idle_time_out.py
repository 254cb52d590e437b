"""In Chromium: the page warns before the idle time-out, "Stay signed in" works, and once the
session has ended the page goes to the sign-in page saying why. Both clocks are moved: the
browser's (Playwright's clock) and the server's (the app's clock), by the same amount."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from browser_support import LiveClinic, screenshot, sign_in
from playwright.sync_api import Page, expect


@pytest.fixture
def shifted(live_clinic: LiveClinic) -> Iterator[LiveClinic]:
    yield live_clinic
    live_clinic.clock.offset = timedelta(0)


def _advance(page: Page, clinic: LiveClinic, minutes: float) -> None:
    clinic.clock.offset += timedelta(minutes=minutes)
    page.clock.fast_forward(int(minutes * 60 * 1000))


def test_warning_then_stay_signed_in_then_signed_out(page: Page, shifted: LiveClinic) -> None:
    page.clock.install()
    sign_in(page, shifted.accounts["nurse"])
    warning = page.get_by_role("alertdialog", name="Still there?")
    expect(warning).to_be_hidden()

    _advance(page, shifted, 13.5)  # 15-minute time-out, warned 2 minutes before
    expect(warning).to_be_visible()
    expect(page.get_by_role("button", name="Stay signed in")).to_be_focused()
    screenshot(page, "idle-warning")
    page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()

    _advance(page, shifted, 10)  # activity restarted the 15 minutes: still signed in
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Browser Nurse")

    _advance(page, shifted, 6)
    expect(page).to_have_url(re.compile(r"/sign-in\?expired=1"), timeout=10_000)
    expect(page.get_by_text("signed out after a period without activity")).to_be_visible()


def test_an_unattended_today_board_still_signs_out(page: Page, shifted: LiveClinic) -> None:
    """The board refreshes itself every 30 seconds; that is not activity, so after 15 minutes
    nobody touched the screen it goes to the sign-in page saying why."""
    page.clock.install()
    sign_in(page, shifted.accounts["nurse"])
    page.goto("/today")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today")
    polled_at: list[timedelta] = []  # server-clock offsets at which the board polled
    page.on(
        "response",
        lambda r: polled_at.append(shifted.clock.offset) if "/today/board" in r.url else None,
    )
    for _ in range(6):  # 12 minutes in 2-minute steps; the board's timer fires in each
        _advance(page, shifted, 2)
        page.wait_for_timeout(300)  # real time for the poll's round trip
        expect(page).to_have_url(re.compile(r"/today$"))
    # Polls late in the 12 minutes: had they counted as activity, 4 more minutes would not
    # reach the 15-minute time-out.
    assert len(polled_at) >= 3
    assert max(polled_at) >= timedelta(minutes=10)
    _advance(page, shifted, 4)  # 16 minutes without a click or a key
    expect(page).to_have_url(re.compile(r"/sign-in\?.*expired=1"), timeout=10_000)
    expect(page.get_by_text("signed out after a period without activity")).to_be_visible()
