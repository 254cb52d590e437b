"""The real app served by uvicorn on a free loopback port; Debian's Chromium driven by Playwright.

One server and one browser per test process; each test gets a fresh browser context (no shared
cookies). No browser is downloaded: Playwright launches /usr/bin/chromium by path. Every test here
is marked ``browser`` and grouped into one xdist worker, so the server and browser start once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HERE,
    PASSWORD,
    PATIENT_ID,
    ROLES,
    LiveClinic,
    ShiftableClock,
)
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from ketaclinic.services.context import SYSTEM
from ketaclinic.services.users import create_user
from ketaclinic.settings import Settings
from ketaclinic.storage.database import make_engine, make_session_factory, transaction
from ketaclinic.storage.migrate import upgrade
from ketaclinic.web.app import create_app


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClinic]:
    data_dir = tmp_path_factory.mktemp("browser-clinic")
    url = f"sqlite:///{data_dir / 'clinic.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    accounts: dict[str, str] = {}
    with transaction(factory) as db:
        for role in ROLES:
            email = f"{role}@browser.example.org"
            create_user(
                db, SYSTEM, email=email, display_name=f"Browser {role.title()}", role=role,
                password=PASSWORD, patient_id=PATIENT_ID if role == "patient" else None,
                now=datetime.now(UTC),
            )  # fmt: skip
            accounts[role] = email
    port = _free_port()
    settings = Settings(data_dir=data_dir, database_url=url, secret_key="browser-test-secret")
    clock = ShiftableClock()
    app = create_app(settings, factory, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the ketaclinic test server did not start")
        time.sleep(0.05)
    yield LiveClinic(f"http://127.0.0.1:{port}", accounts, clock)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser, live_clinic: LiveClinic) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        base_url=live_clinic.base_url, viewport={"width": 1280, "height": 900}
    )
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, live_clinic: LiveClinic) -> Iterator[Page]:
    """A page that records every request and console error, so a test can check that nothing
    came from another host and the Content-Security-Policy never had to block anything."""
    tab = context.new_page()
    requested: list[str] = []
    console_errors: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))
    tab.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    yield tab
    base = live_clinic.base_url
    foreign = [u for u in requested if not u.startswith(base) and not u.startswith("data:")]
    assert foreign == [], f"pages loaded something from another host: {foreign}"
    blocked = [m for m in console_errors if "Content Security Policy" in m]
    assert blocked == [], f"the Content-Security-Policy blocked something: {blocked}"
