"""Helpers the web tests share: the roles, a movable clock, reading CSRF tokens, signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

ROLES = ("administrator", "prescriber", "nurse", "patient", "researcher")
PASSWORD = "correct horse battery staple"
PATIENT_ID = "7d1f8a34-5a0c-4a53-9d7e-0c2d1f3b9e11"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "the page carries no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> tuple[int, str]:
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_from(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )
    return response.status_code, response.text
