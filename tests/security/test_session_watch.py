"""Issue 13: every open console's session is checked in one round, not a thread each.

Each WebSocket re-checked its own session every HOTLINE_WS_SESSION_CHECK_SECONDS:
with the cache's entry gone that was a worker thread and a query per socket (200
consoles: 40 thread hops a second beside the pops). Now one round reads every
session the cache cannot answer in one statement and records their activity in
one more; an ended session still ends its sockets, and a database that cannot be
read still leaves every socket open. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from agent_console.session_watch import SessionWatch
from agent_console.sessions import Sessions
from agent_console.settings import Settings
from tests.console import conftest as console
from tests.db_fixture import db_sessions
from tests.security.auth_app import Clock, base_settings, login_as
from tests.security.test_sessions import clock, no_sessions, timed  # noqa: F401 (the same fixtures, on these settings)
from tickets.models import UserSession

app = console.app  # makes the users


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return base_settings(database_url, session_cache_seconds=1)


def sessions_of(client: TestClient) -> Sessions:
    return client.app.state.services.sessions  # type: ignore[attr-defined,no-any-return]


class Statements:
    """The SQL statements the sessions' engine runs while counting."""

    def __init__(self, sessions: Sessions) -> None:
        self.engine = sessions.store.sessions.kw["bind"]
        self.seen: list[str] = []

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement.split()[0].upper())


async def watching(watch: SessionWatch, tokens: list[str]) -> list[asyncio.Task[None]]:
    """A socket's wait on each token; they are watched once they have run a step."""
    waits = [asyncio.create_task(watch.until_over(token)) for token in tokens]
    await asyncio.sleep(0)
    assert watch.watched == len(tokens)
    return waits


def test_one_round_reads_every_session_the_cache_lacks_in_one_statement(timed: TestClient, clock: Clock) -> None:  # noqa: F811
    sessions = sessions_of(timed)
    logins = [login_as(timed, name) for name in ("anna", "anna", "bert", "sven", "sven", "anna")]
    tokens = [b.cookie for b in logins]
    clock.advance(minutes=2)  # the cache's entries are old, and the sessions' activity due to be recorded

    async def round_of_six() -> tuple[list[str], list[bool], int]:
        watch = SessionWatch(sessions, every=3600)  # the test runs the rounds
        waits = await watching(watch, tokens)
        with Statements(sessions) as sql:
            await watch.check()
        await asyncio.sleep(0)
        done = [wait.done() for wait in waits]
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        return sql.seen, done, watch.reads

    seen, done, reads = timed.portal.call(round_of_six)  # type: ignore[union-attr]
    assert seen == ["SELECT", "UPDATE"], seen  # one read of all six, one write of their activity
    assert done == [False] * 6 and reads == 1
    with db_sessions(timed.app.state.services.settings.database_url) as db, db() as s:  # type: ignore[attr-defined]
        seen_at = set(s.scalars(select(UserSession.last_seen_at)))
    assert len(seen_at) == 1  # all six touched at the same moment: the round's
    with Statements(sessions) as sql:  # now cached: a request asks nothing
        assert sessions.read(tokens[0]) is not None
    assert sql.seen == []


def test_an_ended_session_ends_only_its_own_sockets(timed: TestClient, clock: Clock) -> None:  # noqa: F811
    sessions = sessions_of(timed)
    anna, anna_too, bert = login_as(timed, "anna"), login_as(timed, "anna"), login_as(timed, "bert")
    tokens = [anna.cookie, anna.cookie, anna_too.cookie, bert.cookie]  # anna has two tabs on one session

    async def scenario() -> tuple[list[bool], list[bool], bool]:
        watch = SessionWatch(sessions, every=3600)
        waits = await watching(watch, tokens)
        ended = await asyncio.to_thread(sessions.store.end, sessions.read(anna.cookie).session_id)  # type: ignore[union-attr]
        assert ended
        clock.advance(seconds=2)  # past the cache
        await watch.check()
        await asyncio.sleep(0)
        first = [w.done() for w in waits]
        await asyncio.to_thread(sessions.end_all, bert.user_id)  # ended here: the cache knows at once
        await watch.check()
        await asyncio.sleep(0)
        second = [w.done() for w in waits]
        waits[2].cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        return first, second, watch._rounds is None

    first, second, stopped = timed.portal.call(scenario)  # type: ignore[union-attr]
    assert first == [True, True, False, False]
    assert second == [True, True, False, True]
    assert stopped  # no socket watched: no round runs


def test_a_database_that_cannot_be_read_leaves_every_socket_open(
        timed: TestClient, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    sessions = sessions_of(timed)
    anna, bert = login_as(timed, "anna"), login_as(timed, "bert")
    real = sessions.read_many

    def down(tokens: Any) -> Any:
        raise OSError("database unreachable")

    async def scenario() -> tuple[list[bool], list[bool]]:
        watch = SessionWatch(sessions, every=3600)
        waits = await watching(watch, [anna.cookie, bert.cookie])
        await asyncio.to_thread(sessions.store.end, sessions.read(anna.cookie).session_id)  # type: ignore[union-attr]
        clock.advance(seconds=2)
        monkeypatch.setattr(sessions, "read_many", down)
        await watch.check()
        await asyncio.sleep(0)
        during = [w.done() for w in waits]
        monkeypatch.setattr(sessions, "read_many", real)
        await watch.check()  # back: the next round ends what is over
        await asyncio.sleep(0)
        after = [w.done() for w in waits]
        for w in waits:
            w.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        return during, after

    during, after = timed.portal.call(scenario)  # type: ignore[union-attr]
    assert during == [False, False]
    assert after == [True, False]


def test_the_rounds_run_by_themselves_while_sockets_are_watched(timed: TestClient) -> None:  # noqa: F811
    sessions = sessions_of(timed)
    anna = login_as(timed, "anna")

    async def scenario() -> int:
        watch = SessionWatch(sessions, every=0.05)
        wait = asyncio.create_task(watch.until_over(anna.cookie))
        await asyncio.to_thread(sessions.end, sessions.read(anna.cookie).session_id)  # type: ignore[union-attr]
        await asyncio.wait_for(wait, 10)  # no round run by hand: the watcher's own ended it
        assert watch._rounds is None
        return watch.checks

    assert timed.portal.call(scenario) >= 1  # type: ignore[union-attr]
