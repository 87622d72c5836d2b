"""Issue 11 row 8 (and issue 12's "Back after logout"): security headers on every
response, no inline script or style the policy would have to allow.

Today no response had a CSP, frame-ancestors, nosniff or Referrer-Policy (a page
on another port framed the logged-in console), /api/me had no Cache-Control,
and the login page ran an inline <script>.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent_console.settings import Settings
from agent_console.web import render_pages
from tests.console import conftest as console
from tests.security.auth_app import base_settings, login_as

app, client = console.app, console.client  # the console tests' fixtures
STATIC = Path(__file__).resolve().parents[2] / "agent_console" / "static"


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return base_settings(database_url)


def assert_secured(r: Any) -> None:
    csp = r.headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    assert directives.get("default-src") == ["'self'"], csp
    assert directives.get("script-src") == ["'self'"] and directives.get("frame-ancestors") == ["'none'"], csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers.get("x-frame-options") == "DENY"
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("referrer-policy") == "same-origin"


def test_every_kind_of_response_carries_the_headers(client: TestClient) -> None:
    anna = login_as(client, "anna")
    responses = [client.get(p) for p in ("/", "/console", "/wallboard", "/static/common.js", "/static/style.css",
                                          "/no-such-page", "/api/me")]
    responses += [anna.get("/api/me"), anna.get("/api/calls"), anna.get("/api/tickets/999999"),
                  anna.send("POST", "/api/tickets", json={}), anna.get("/healthz"),
                  client.post("/api/session", content=b"x" * 100_000, headers={"Content-Type": "application/json"})]
    assert {r.status_code for r in responses} >= {200, 401, 404, 413, 422}
    for r in responses:
        assert_secured(r)


def test_api_answers_are_never_cached(client: TestClient) -> None:
    anna = login_as(client, "anna")
    for r in (anna.get("/api/me"), anna.get("/api/sessions"), client.get("/api/me"),
              anna.send("POST", "/api/tickets", json={"subject": "cache?"})):
        assert r.headers.get("cache-control") == "no-store", (r.request.url, r.headers)


PAGES = {**render_pages(), **{p.name: p.read_text() for p in STATIC.glob("*.html")}}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_have_no_inline_script_style_or_handlers(page: str) -> None:
    html = PAGES[page]
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts), page
    assert not re.search(r"\sstyle\s*=", html, re.I), page
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), page
    assert "<style" not in html.lower() and "javascript:" not in html.lower(), page
