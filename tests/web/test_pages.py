"""Every page: one h1, labelled fields, a skip link, the clinical notice, no other host."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from ketaclinic import CLINICAL_DISCLAIMER
from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.access import User
from ketaclinic.storage.tables.planning import TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from ketaclinic.web.app import STATIC_DIR
from ketaclinic.web.deps import api_routes
from ketaclinic.web.templating import nav_for
from support.treated_course import treated_patient

EXTRA_PAGES = {"administrator": ["/api-reference"]}


def _pages_for(role: str) -> list[str]:
    # Every page in the role's navigation, so pages added later are checked too.
    return [item.href for item in nav_for(role)] + EXTRA_PAGES.get(role, [])


class PageAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.h1 = 0
        self.labels: set[str] = set()
        self.inputs: list[str] = []
        self.external: list[str] = []
        self.skip_link = False
        self.lang = None
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "label" and values.get("for"):
            self.labels.add(str(values["for"]))
        if tag in ("input", "select", "textarea") and values.get("type") != "hidden":
            self.inputs.append(str(values.get("id")))
        if tag == "a" and values.get("href") == "#main":
            self.skip_link = True
        for attribute in ("src", "href", "action"):
            target = values.get(attribute) or ""
            if re.match(r"^(https?:)?//", target) and "/set-password/" not in target:
                self.external.append(target)


@pytest.mark.parametrize("role", ["administrator", "nurse", "patient", "prescriber", "researcher"])
def test_pages_are_accessible_and_self_contained(
    role: str, signed_in: dict[str, TestClient]
) -> None:
    pages = _pages_for(role)
    assert "/" in pages
    for path in pages:
        response = signed_in[role].get(path)
        assert response.status_code == 200, path
        audit = PageAudit()
        audit.feed(response.text)
        assert audit.lang == "en"
        assert audit.h1 == 1, path
        assert audit.skip_link, path
        assert [i for i in audit.inputs if i not in audit.labels] == [], path
        assert duplicate_ids(audit) == [], path
        assert audit.external == [], path
        assert CLINICAL_DISCLAIMER in response.text
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert response.headers["cache-control"] == "no-store"


def test_sign_in_page_is_accessible(app: FastAPI) -> None:
    audit = PageAudit()
    audit.feed(TestClient(app).get("/sign-in").text)
    assert audit.h1 == 1
    assert sorted(audit.inputs) == ["f-email", "f-password"]
    assert set(audit.inputs) <= audit.labels


def test_the_navigation_shows_each_role_only_its_pages(signed_in: dict[str, TestClient]) -> None:
    assert 'href="/admin/audit"' in signed_in["administrator"].get("/").text
    for role in ("prescriber", "nurse", "patient", "researcher"):
        assert 'href="/admin/audit"' not in signed_in[role].get("/").text


def test_static_files_reference_no_other_host() -> None:
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in (".css", ".html"):
            assert not re.search(r"url\((['\"])?(https?:)?//", path.read_text()), path
    stylesheet = (STATIC_DIR / "app.css").read_text()
    assert "@import" not in stylesheet


def test_htmx_is_vendored_with_its_licence(app: FastAPI) -> None:
    response = TestClient(app).get("/static/vendor/htmx.min.js")
    assert response.status_code == 200
    assert "htmx" in response.text[:200]
    assert (STATIC_DIR / "vendor" / "htmx.LICENSE.txt").read_text().startswith("Zero-Clause BSD")


def test_the_api_reference_lists_the_api_from_this_host(signed_in: dict[str, TestClient]) -> None:
    page = signed_in["nurse"].get("/api-reference")
    assert page.status_code == 200
    assert "/api/audit/verify" in page.text
    assert "/api/me" in page.text
    # FastAPI's own /docs would load Swagger UI from a CDN, so it is switched off.
    assert signed_in["nurse"].get("/docs").status_code == 404
    assert signed_in["nurse"].get("/openapi.json").json()["info"]["title"] == "ketaclinic"


def duplicate_ids(audit: PageAudit) -> list[str]:
    """Ids used more than once: a label, an error link or aria-describedby would point at the
    first of them, whichever form it belongs to."""
    return sorted({i for i in audit.ids if audit.ids.count(i) > 1})


# Files and data, not pages; the set-password page is reached from a token, not signed in.
_NOT_PAGES = (".png", ".pdf", ".svg", ".zip", "/export", "/session/status", "/healthz",
              "/set-password/", "/api-reference")  # fmt: skip


@pytest.fixture
def every_page(
    session_factory: SessionFactory, accounts: dict[str, str], app: FastAPI
) -> list[str]:
    """Every GET page of the app with its path filled from a treated patient's records (plan,
    session), the web tests' patient account and an instrument, so a page added later is seen."""
    with session_factory() as db:
        patient_id = treated_patient(db)
        plan_id = db.scalars(select(TreatmentPlanRow.id).where(
            TreatmentPlanRow.patient_id == patient_id)).first()  # fmt: skip
        session_id = db.scalars(select(SupervisedSessionRow.id).where(
            SupervisedSessionRow.patient_id == patient_id)).first()  # fmt: skip
        user_id = db.scalars(select(User.id).where(User.role == "patient")).one()
    values = {"patient_id": patient_id, "plan_id": plan_id, "session_id": session_id,
              "user_id": user_id, "instrument_id": "phq9"}  # fmt: skip
    pages = []
    for route in api_routes(app):
        path = route.path
        if route.method != "GET" or path.startswith(("/api/", "/fhir", "/static")):
            continue
        if any(part in path for part in _NOT_PAGES):
            continue
        names = re.findall(r"\{(\w+)\}", path)
        assert set(names) <= set(values), f"no test value for {names} in {path}"
        pages.append(re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path))
    return pages


def test_no_page_repeats_an_element_id(
    every_page: list[str], signed_in: dict[str, TestClient]
) -> None:
    seen = 0
    problems: list[str] = []
    for role, client in signed_in.items():
        for path in every_page:
            response = client.get(path)
            if response.status_code != 200 or "text/html" not in response.headers["content-type"]:
                continue
            audit = PageAudit()
            audit.feed(response.text)
            seen += 1
            if duplicate_ids(audit):
                problems.append(f"{path} as {role}: {duplicate_ids(audit)}")
    assert problems == []
    assert seen >= 25, "the pages must really have been opened"
