"""Every page: one h1, labelled fields, a skip link, the clinical notice, no other host."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ketaclinic import CLINICAL_DISCLAIMER
from ketaclinic.web.app import STATIC_DIR
from ketaclinic.web.templating import nav_for

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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
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
