"""Issue 11 row 4: sessions live on the server.

Today's cookie was a signed, self-contained token: logout only deleted it in the
browser, a copy stayed valid for 12 h, and nothing could end it. Now the cookie
is a random token for a row in user_sessions; logout, revoking, a password
change and the per-user cap end sessions at once; idle and absolute expiry
are tested with the app's clock moved forward. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from agent_console.app import create_app
from agent_console.settings import Settings
from tests.console import conftest as console
from tests.console.conftest import PASSWORD, Browser
from tests.security.auth_app import Clock, base_settings, login_as, post_login
from tickets.db import make_engine, session_factory
from tickets.models import UserSession

app, client = console.app, console.client  # the console tests' fixtures


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return base_settings(database_url, session_idle_minutes=30, session_lifetime_hours=12, sessions_per_user=3)


@pytest.fixture(autouse=True)
def no_sessions(settings: Settings) -> None:
    """Each test starts with nobody logged in (the database lives for the whole run)."""
    with session_factory(make_engine(settings.database_url)).begin() as db:
        db.execute(delete(UserSession))


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def timed(app: Any, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """An app on `clock` (the `app` fixture has made the users)."""
    with TestClient(create_app(settings, clock)) as c:
        yield c


def works(browser: Browser) -> bool:
    return bool(browser.get("/api/me").status_code == 200)


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    anna = login_as(client, "anna")
    assert works(anna)
    assert anna.send("DELETE", "/api/session").status_code == 200
    # the copied cookie is worth nothing now, for reading and for writing
    assert anna.get("/api/me").status_code == 401
    assert anna.send("POST", "/api/tickets", json={"subject": "after logout"}).status_code == 401


def test_the_cookie_is_only_a_random_token(client: TestClient, settings: Settings) -> None:
    first, second = login_as(client, "anna"), login_as(client, "anna")
    assert first.cookie != second.cookie and len(first.cookie) >= 40
    assert "." not in first.cookie  # not a signed payload
    with session_factory(make_engine(settings.database_url))() as db:
        stored = set(db.scalars(select(UserSession.token_hash)))
    assert first.cookie not in stored and second.cookie not in stored  # only a keyed hash is kept


def test_a_password_change_ends_every_session_of_the_user(client: TestClient) -> None:
    desk, laptop, bert = login_as(client, "anna"), login_as(client, "anna"), login_as(client, "bert")
    wrong = desk.send("POST", "/api/me/password", json={"current_password": "not-it-at-all",
                                                        "new_password": "a-new-password-2"})
    assert wrong.status_code == 403 and works(desk) and works(laptop)
    r = desk.send("POST", "/api/me/password", json={"current_password": PASSWORD,
                                                    "new_password": "a-new-password-2"})
    assert r.status_code == 200, r.text
    assert not works(desk) and not works(laptop)  # both old sessions ended
    assert works(bert)  # nobody else's
    fresh = Browser(client, r.cookies["hotline_session"], r.json()["csrf_token"], r.json()["id"])
    assert works(fresh)  # the browser that changed it goes on with a new session
    assert post_login(client, "anna", PASSWORD).status_code == 401
    assert post_login(client, "anna", "a-new-password-2").status_code == 200
    client.app.state.services.users.set_password(fresh.user_id, PASSWORD)  # type: ignore[attr-defined]


def test_sessions_are_listed_and_one_can_be_ended(client: TestClient) -> None:
    desk, laptop, bert = login_as(client, "anna", "192.0.2.1"), login_as(client, "anna", "192.0.2.2"), \
        login_as(client, "bert")
    listed = desk.get("/api/sessions").json()
    assert len(listed) == 2 and {s["address"] for s in listed} == {"192.0.2.1", "192.0.2.2"}
    assert [s["current"] for s in listed] == [False, True]  # newest first: the laptop's, then this one
    laptop_id = next(s["id"] for s in listed if not s["current"])
    bert_id = bert.get("/api/sessions").json()[0]["id"]
    assert desk.send("DELETE", f"/api/sessions/{bert_id}").status_code == 404  # not anna's to end
    assert works(bert)
    assert desk.send("DELETE", f"/api/sessions/{laptop_id}", csrf=False).status_code == 403
    assert desk.send("DELETE", f"/api/sessions/{laptop_id}").status_code == 200
    assert not works(laptop) and works(desk)
    assert [s["id"] for s in desk.get("/api/sessions").json()] != [laptop_id]


def test_at_most_n_sessions_per_user_the_oldest_ends(client: TestClient) -> None:
    logins = [login_as(client, "anna") for _ in range(4)]  # the cap is 3 here
    assert [works(b) for b in logins] == [False, True, True, True]
    assert len(logins[-1].get("/api/sessions").json()) == 3


def test_an_idle_session_expires(timed: TestClient, clock: Clock) -> None:
    anna = login_as(timed, "anna")
    for _ in range(5):  # activity keeps it going
        clock.advance(minutes=20)
        assert works(anna)
    clock.advance(minutes=31)
    assert not works(anna)


def test_a_session_ends_after_its_lifetime_however_busy(timed: TestClient, clock: Clock) -> None:
    anna = login_as(timed, "anna")
    for _ in range(11 * 4 + 3):  # busy every 15 minutes, up to 11 h 45 min
        clock.advance(minutes=15)
        assert works(anna)
    clock.advance(minutes=16)
    assert not works(anna)
    assert timed.post("/api/session", json={"username": "anna", "password": PASSWORD},
                      headers={"Origin": console.ORIGIN}).status_code == 200  # log in again: fine


def test_ending_a_session_is_effective_at_once_despite_the_cache(client: TestClient) -> None:
    anna, other = login_as(client, "anna"), login_as(client, "anna")
    assert works(anna) and works(other)  # both now cached
    listed = other.get("/api/sessions").json()
    assert [s["current"] for s in listed] == [True, False]
    sid = listed[1]["id"]  # newest first: anna's is the older one
    assert other.send("DELETE", f"/api/sessions/{sid}").status_code == 200
    assert not works(anna)
