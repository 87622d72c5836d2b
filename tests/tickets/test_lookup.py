"""Caller lookup: ranking direct > main number > number block (longest), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.db_fixture import Sessions
from tickets.db import make_engine
from tickets.lookup import CustomerLookup, MatchStatus
from tickets.models import Contact, Organisation, Phone, PhoneKind

Directory = tuple[CustomerLookup, dict[str, int]]


@pytest.fixture
def directory(sessions: Sessions) -> Directory:
    with sessions.begin() as s:
        stadt = Organisation(name="Stadtwerke Leipzig", team="Kommunen")
        amt = Organisation(name="Bürgeramt", team="Kommunen")
        s.add_all([stadt, amt])
        s.flush()
        erika = Contact(name="Erika Muster", organisation_id=stadt.id)
        a, b = Contact(name="Anna"), Contact(name="Bernd")
        s.add_all([erika, a, b])
        s.flush()
        s.add_all([
            Phone(raw="0341 2538-5555", normalized="+4934125385555", kind=PhoneKind.DIRECT,
                  contact_id=erika.id),
            Phone(raw="0341 2538-0", normalized="+493412538", kind=PhoneKind.MAIN,
                  organisation_id=stadt.id),
            Phone(raw="0341 2538-", normalized="+493412538", kind=PhoneKind.BLOCK,
                  organisation_id=stadt.id),
            Phone(raw="0341 25", normalized="+4934125", kind=PhoneKind.BLOCK, organisation_id=amt.id),
            Phone(raw="030 777", normalized="+4930777", kind=PhoneKind.DIRECT, contact_id=a.id),
            Phone(raw="030 777", normalized="+4930777", kind=PhoneKind.DIRECT, contact_id=b.id),
        ])
        ids = {"erika": erika.id, "stadt": stadt.id, "amt": amt.id}
    return CustomerLookup(sessions), ids  # `sessions` empties the tables afterwards


def test_direct_number_in_any_format_is_known(directory: Directory) -> None:
    lookup, ids = directory
    for raw in ("+49 (0)341 2538-5555", "0341/2538-5555", "0049 341 25385555"):
        r = lookup.lookup(raw)
        assert r.status is MatchStatus.KNOWN and r.number == "+4934125385555"
        assert r.candidates[0].contact_id == ids["erika"] and r.candidates[0].reason == "direct"


def test_longest_number_block_wins(directory: Directory) -> None:
    lookup, ids = directory
    r = lookup.lookup("0341 2538-4711")  # in both blocks; Stadtwerke's is longer
    assert r.status is MatchStatus.KNOWN
    assert [c.organisation_id for c in r.candidates] == [ids["stadt"]]
    assert r.candidates[0].reason == "block" and r.candidates[0].contact_id is None


def test_shared_direct_number_is_ambiguous_with_both_candidates(directory: Directory) -> None:
    lookup, _ = directory
    r = lookup.lookup("030 777")
    assert r.status is MatchStatus.AMBIGUOUS and [c.name for c in r.candidates] == ["Anna", "Bernd"]


@pytest.mark.parametrize(("raw", "status"), [("anonymous", "withheld"), ("", "withheld"),
                                             ("+44 20 7946 0018", "unknown"), ("garbage", "unknown"),
                                             ("0341\r\n2538", "unknown")])
def test_withheld_unknown_and_garbage(directory: Directory, raw: str, status: str) -> None:
    lookup, _ = directory
    r = lookup.lookup(raw)
    assert r.status == status and r.candidates == ()


def test_many_callers_in_one_lookup_rank_as_one_at_a_time(directory) -> None:  # type: ignore[no-untyped-def]
    lookup, _ = directory
    raws = ["0341 2538-5555", "0341 2538-4711", "030 777", "0341 2599 99", "anonymous", "040 1234567", "0341 2538-0"]
    assert lookup.lookup_many(raws) == [lookup.lookup(r) for r in raws]
    assert [r.status.value for r in lookup.lookup_many(raws)] == [
        "known", "known", "ambiguous", "known", "withheld", "unknown", "known"]
    assert lookup.lookup_many([]) == []


def test_a_lookup_survives_the_server_ending_its_pooled_connection(directory: Directory, sessions: Sessions) -> None:
    """PostgreSQL's lookup runs on psycopg directly through a ping-less pool: a connection the
    server closed is found on use, dropped from the pool, and the lookup runs once more.
    SQLite has no server to end it and keeps the SQLAlchemy path: a pooled connection
    invalidated under it is replaced the same way."""
    bind = sessions.kw["bind"]
    engine = make_engine(bind.url.render_as_string(hide_password=False), ping=False)
    try:
        lookup = CustomerLookup(sessions, engine=engine)
        assert lookup.lookup("0341 2538-5555").status is MatchStatus.KNOWN
        if bind.dialect.name == "postgresql":
            assert lookup._raw_sql
            with engine.connect() as conn:  # the same pooled connection (one thread, one connection)
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with bind.connect() as admin:
                assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        else:
            assert not lookup._raw_sql
            with engine.connect() as conn:
                conn.invalidate()
        r = lookup.lookup("030 777")
        assert r.status is MatchStatus.AMBIGUOUS and {c.name for c in r.candidates} == {"Anna", "Bernd"}
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


def test_the_lookup_runs_one_generic_plan_on_postgresql_and_prepares_it_again_when_gone(
        directory: Directory, sessions: Sessions) -> None:
    """The lookup's own engine (generic_plans=True, as the app builds it): PostgreSQL runs the
    prepared lookup's cached plan instead of planning it anew each time, also after the pool
    reset the connection. A connection whose prepared statements were deallocated (psycopg
    does so after some rollbacks) prepares the lookup again. SQLite has no plans to choose:
    the option leaves its lookup as it is (the SQLAlchemy path, the same answers)."""
    bind = sessions.kw["bind"]
    engine = make_engine(bind.url.render_as_string(hide_password=False), ping=False, generic_plans=True)
    try:
        lookup = CustomerLookup(sessions, engine=engine)
        for _ in range(8):
            assert lookup.lookup("0341 2538-5555").status is MatchStatus.KNOWN
        if bind.dialect.name == "postgresql":
            with engine.connect() as conn:  # the same pooled connection (one thread, one connection)
                assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_generic_plan"
                plans = conn.execute(text("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                                          "WHERE name = 'hotline_lookup'")).one()
                assert tuple(plans) == (8, 0)
                conn.execute(text("DEALLOCATE ALL"))
        else:
            assert not lookup._raw_sql
        r = lookup.lookup("030 777")
        assert r.status is MatchStatus.AMBIGUOUS and [c.name for c in r.candidates] == ["Anna", "Bernd"]
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()
