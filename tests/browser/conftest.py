"""A real `hotline serve` against the private Asterisk, and headless Debian chromium."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.pbx_fixture import Pbx, free_tcp_port
from tests.serve_process import serve
from tickets.customers import CustomerService
from tickets.db import make_engine, session_factory
from tickets.models import Role
from tickets.users import UserService

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "browser-pass-1"


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[str]
    database_url: str
    log: Path  # serve's log, for a failing test to show

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no serve log)"


@pytest.fixture(scope="module")
def server(pbx: Pbx, module_database_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    database_url = module_database_url  # its own database: users and calls of its own
    engine = make_engine(database_url)  # disposed below: a pooled connection left to the collector warns
    db = session_factory(engine)
    users = UserService(db)
    existing = {u.username for u in users.all()}
    for name, role, endpoint in (("anna", Role.AGENT, "PJSIP/1001"), ("bert", Role.AGENT, "PJSIP/1002"),
                                 ("sven", Role.SUPERVISOR, None)):
        if name not in existing:
            users.add(name, PASSWORD, role, endpoint, display_name=name.title())
    customers = CustomerService(db)
    if not customers.search("Erika Browser"):
        customers.create("Erika Browser", organization="Stadtwerke Leipzig",
                         phones=("0341 2538-5588",), team="Kommunen")
    engine.dispose()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    port = free_tcp_port()
    try:
        with serve(pbx, database_url, port, secrets.token_urlsafe(24), log) as proc:
            yield Server(f"http://127.0.0.1:{port}", proc, database_url, log)
    finally:
        print("--- hotline serve log ---\n" + log.read_text(errors="replace")[-5000:])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def logged_in(browser: Any, server: Server, username: str) -> Any:
    """A fresh browser context (own cookies) logged in through the login form."""
    # bypass_csp: Playwright's wait_for_function compiles its predicate with eval, which the
    # pages' Content-Security-Policy refuses now and then; tests/security/test_csp_browser.py
    # checks the pages under the policy
    page = browser.new_context(locale="en-US", bypass_csp=True).new_page()
    page.goto(server.url + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console" if username != "sven" else "**/wallboard")
    page.wait_for_function("document.body.dataset.ws === 'open'")
    return page
