"""Reports (issue 18) over a known month: every figure in the JSON and the CSV equals
the figure a person worked out by hand from tests/report_month.py (the sums are
written out below). Runs on SQLite, and on PostgreSQL with HOTLINE_TEST_DATABASE_URL.
Also: who may read reports, the per-agent switch (off by default, admin only,
audited), and that with it off no response carries an agent's figures."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import report_month
from tickets import desk_settings

MONTH = "/api/reports/summary?period=month&date=2026-11-15"
H = 3600.0
# resolved tickets' seconds from creation to their (last) resolution:
# T1 350, T2 210, T3 86380, T4 259195 (3 days less 5 s; reopened, resolved again), T5 140, T6 105,
# T8 155, T9 14400, T11 86400
RESOLVE = [350, 210, 86380, 259195, 140, 105, 155, 14400, 86400]

TOTAL = {
    # 13 calls entered in November local time (L14 is 31 Oct, L15 is 1 Dec local)
    "offered": 13, "answered": 9, "abandoned": 3, "short_abandons": 2, "timeouts": 1,
    # answered within 25 s: L1 10, L3 20, L4 5, L6 15, L11 25 (the limit counts), L13 8 -> 6
    "answered_within": 6,
    "service_level": 6 / (13 - 2), "service_level_asterisk": 6 / 9,
    "service_level_asterisk2": (6 + 2) / (9 + 3),  # L8 and L12 abandoned within 25 s
    "asa_seconds": (10 + 30 + 20 + 5 + 40 + 15 + 26 + 25 + 8) / 9,
    "aht_seconds": (300 + 200 + 100 + 600 + 120 + 60 + 240 + 100 + 90) / 9,  # no wrap-up known
    "abandon_rate": (3 - 2) / 13, "longest_wait_seconds": 300.0,
    "requests": 11, "resolved": 9,
    # FCR: T1 yes; T2 no (C2 called again 2 days later); T3 no (resolved the next day); T4 no
    # (reopened); T5 yes (L12 is a short abandon, L6 is 13 days later); T6 no (the caller wrote);
    # T7 no (unresolved); T8 no (C3 opened ticket 10 on 3 Dec) -> 2 of 8
    "fcr_eligible": 8, "fcr": 2, "fcr_rate": 2 / 8, "fcr_manual": 3, "fcr_manual_rate": 3 / 8,
    "resolve_hours_mean": sum(RESOLVE) / 9 / H,
    "resolve_hours_median": 350 / H,  # sorted: 105 140 155 210 [350] 14400 86380 86400 259195
    "resolve_hours_p90": 259195 / H,  # nearest rank: ceil(0.9 * 9) = 9th
    "solved_level1_share": 7 / 9, "solved_level2_share": 1 / 9, "solved_level3_share": 1 / 9,
    # judged: all 11 (resolved, or past due by 20 Dec); met: T1 T2 T3 T5 T6 T8 T9
    "sla_judged": 11, "sla_met": 7, "sla_attainment": 7 / 11,
    "callbacks_offered": 2, "callbacks_done": 1,
    "csat_count": 3, "csat_average": (5 + 3 + 4) / 3,  # the survey's answers on T1, T2, T5
}

HOTLINE = {  # queue "hotline": every call but L13; five agents answered, so it is shown
    "offered": 12, "answered": 8, "answered_within": 5, "abandoned": 3, "short_abandons": 2,
    "service_level": 5 / 10, "asa_seconds": (179 - 8) / 8, "aht_seconds": (1810 - 90) / 8,
    "requests": 8, "fcr": 2, "fcr_rate": 2 / 8, "callbacks_offered": 2, "callbacks_done": 1,
    "sla_judged": 8, "sla_met": 6,  # T1 T2 T3 T5 T6 T8; not T4 T7
    "csat_count": 3, "csat_average": 4.0,
}

NO_QUEUE = {  # tickets that did not come from a call: T9 (mail), T11 (form), T12 (fax)
    "offered": 0, "requests": 3, "resolved": 2, "sla_judged": 3, "sla_met": 1, "fcr_eligible": 0,
    "fcr_rate": None, "service_level": None, "resolve_hours_mean": (14400 + 86400) / 2 / H,
    "solved_level1_share": 1 / 2, "solved_level3_share": 1 / 2, "csat_count": 0, "csat_average": None,
}


@pytest.fixture()
def month(client: TestClient) -> Any:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.clock = lambda: report_month.AS_OF
    report_month.seed(services.desk.sessions)
    return services


def close(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key, value in want.items():
        assert got[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def csv_rows(text: str) -> dict[str, dict[str, str]]:
    return {r["group"]: r for r in csv.DictReader(io.StringIO(text))}


def csv_close(got: dict[str, str], want: dict[str, Any]) -> None:
    for key, value in want.items():
        expected = "" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))
        assert got[key] == expected, key


def test_known_month_json_and_csv(month: Any, login: Any) -> None:
    sven = login("sven")
    r = sven.get(MONTH + "&group=queue")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == {"kind": "month", "first": "2026-11-01", "last": "2026-11-30",
                              "from": "2026-10-31T23:00:00+00:00", "to": "2026-11-30T23:00:00+00:00",
                              "time_zone": "Europe/Berlin"}
    assert body["definitions"]["fcr_final"] is True and body["definitions"]["fcr_days"] == 7
    assert "7" in body["definitions"]["fcr"]["en"] and "7 Tagen" in body["definitions"]["fcr"]["de"]
    close(body["total"], TOTAL)
    rows = {row["group"]: row for row in body["rows"]}
    assert set(rows) == {"", "hotline", "vip"}
    close(rows["hotline"], HOTLINE)
    close(rows[""], NO_QUEUE)
    # vip: L13 answered by one agent -> its figures would describe that person: suppressed
    assert rows["vip"]["suppressed"] is True and rows["vip"]["offered"] is None
    assert body["channels"] == {"phone": 8, "email": 1, "fax": 1, "form": 1}
    assert body["categories"] == {"": 1, "account": 1, "mail": 3, "network": 2, "printer": 4}
    by_hour = {h["at"]: h for h in body["by_hour"]}
    # local hours (UTC+1): 10 = L2 L8 L12, 11 = L3 L9 L13, 15 = L5 L6, 23 = L11
    assert [by_hour[h]["offered"] for h in ("10", "11", "15", "23", "00")] == [3, 3, 2, 1, 0]
    assert len(body["series"]) == 30 and sum(d["offered"] for d in body["series"]) == 13
    assert body["series"][29] == {"at": "2026-11-29T23:00:00+00:00", "offered": 1, "answered": None,
                                  "service_level": None}  # one agent that day: no SL shown
    resolution = {(x["level"], x["priority"]): x for x in body["resolution"]}
    assert set(resolution) == {(1, "normal"), (1, "high"), (1, "critical"), (1, "low"), (2, "normal"),
                               (3, "high")}
    close(resolution[(1, "normal")], {"tickets": 5, "resolved": 5, "target_hours": 24.0,
                                      "mean_hours": (350 + 86380 + 140 + 155 + 14400) / 5 / H,
                                      "median_hours": 350 / H, "p90_hours": 86380 / H,
                                      "sla_met": 5, "sla_judged": 5})
    close(resolution[(1, "low")], {"tickets": 2, "resolved": 0, "mean_hours": None, "sla_met": 0,
                                   "sla_judged": 2})
    close(resolution[(3, "high")], {"tickets": 1, "mean_hours": 24.0, "target_hours": 8.0, "sla_met": 0})
    orgs = {o["organisation"]: o for o in body["sla_by_organisation"]}
    close(orgs["Stadtwerke"], {"tickets": 5, "sla_judged": 5, "sla_met": 2, "sla_attainment": 2 / 5})
    close(orgs["Schule Nord"], {"tickets": 4, "sla_met": 3, "sla_attainment": 3 / 4})
    close(orgs[""], {"tickets": 2, "sla_met": 2})

    r = sven.get(MONTH + "&group=queue&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="report-2026-11-01-2026-11-30-queue.csv"' in r.headers["content-disposition"]
    table = csv_rows(r.text)
    csv_close(table["total"], TOTAL)
    csv_close(table["hotline"], HOTLINE)
    csv_close(table[""], NO_QUEUE)
    assert table["vip"]["suppressed"] == "yes" and table["vip"]["offered"] == ""


def test_periods_and_groups(month: Any, login: Any) -> None:
    sven = login("sven")
    day = sven.get("/api/reports/summary?period=day&date=2026-11-30").json()
    assert day["total"]["offered"] == 1 and len(day["series"]) == 24  # L11 at 23:30 local
    week = sven.get("/api/reports/summary?period=week&date=2026-11-12").json()  # Mon 9 - Sun 15 Nov
    assert week["period"]["first"] == "2026-11-09" and week["period"]["last"] == "2026-11-15"
    assert week["total"]["offered"] == 5  # L4 L5 L7 L8 L12
    custom = sven.get("/api/reports/summary?from=2026-10-31&to=2026-12-01").json()
    assert custom["period"]["kind"] == "custom" and custom["total"]["offered"] == 15  # L14 and L15 too
    # by language: C1/C3 "de", C2 "en", unknown numbers ""; the ticket-only channels
    channel = {x["group"]: x for x in sven.get(MONTH + "&group=channel").json()["rows"]}
    assert {k: v["requests"] for k, v in channel.items()} == {"phone": 8, "email": 1, "form": 1, "fax": 1}
    level = {x["group"]: x for x in sven.get(MONTH + "&group=level").json()["rows"]}
    assert level["3"]["requests"] == 1 and level["3"]["suppressed"] is False  # T11: no call, no agent
    assert level["2"]["suppressed"] is True  # T4's call L4: one agent
    site = {x["group"]: x for x in sven.get(MONTH + "&group=site").json()["rows"]}
    assert set(site) == {"main"} and site["main"]["offered"] == 13 and site["main"]["requests"] == 11
    weekday = sven.get(MONTH + "&group=weekday").json()["rows"]
    assert all(w["group"] in {str(n) for n in range(7)} for w in weekday)
    for bad in ("period=year", "period=custom&from=2026-11-05&to=2026-11-01", "group=city", "date=2026-13-01",
                "format=xml", "period=custom&from=2020-01-01&to=2026-01-01", "period=month&date=9999-12-15",
                "period=day&date=0001-01-01", "period=custom&from=2999-12-01&to=3000-01-01", "group=PJSIP%2F1001"):
        r = sven.get(f"/api/reports/summary?{bad}")
        assert r.status_code == 422, (bad, r.text)


def test_who_may_read_and_the_per_agent_switch(month: Any, login: Any) -> None:
    anna, sven, admin = login("anna"), login("sven"), login("admin")
    for url in (MONTH, MONTH + "&format=csv", "/api/reports/settings"):
        assert anna.get(url).status_code == 403
    assert sven.get("/api/reports/settings").json() == {"per_agent": False, "fcr_days": 7}
    # off (the default): no agent group, and nothing names an agent or shows a group of < 5 agents
    assert sven.get(MONTH + "&group=agent").status_code == 403
    for group in ("", "queue", "hour", "weekday", "organisation", "team", "language", "category", "level", "site",
                  "partner"):
        for fmt in ("json", "csv"):
            text = sven.get(f"{MONTH}&group={group}&format={fmt}").text
            assert "PJSIP" not in text and "1001" not in text, (group, fmt)
    hours = {x["group"]: x for x in sven.get(MONTH + "&group=hour").json()["rows"]}
    assert hours["09"]["suppressed"] is True and hours["09"]["aht_seconds"] is None  # L1 by one agent
    assert hours["10"]["suppressed"] is True
    # only an admin turns it on, with CSRF; the change is audited
    assert sven.send("PUT", "/api/reports/settings", json={"per_agent": True}).status_code == 403
    assert admin.send("PUT", "/api/reports/settings", json={"per_agent": True}, csrf=False).status_code == 403
    assert admin.send("PUT", "/api/reports/settings", json={"per_agent": "yes please"}).status_code == 422
    r = admin.send("PUT", "/api/reports/settings", json={"per_agent": True})
    assert r.status_code == 200 and r.json()["per_agent"] is True
    audit = admin.get("/api/reports/audit").json()
    assert audit[0]["actor"] == "admin" and audit[0]["action"] == "setting.per_agent_reports"
    assert (audit[0]["old"], audit[0]["new"]) == ("off", "on")
    assert sven.get("/api/reports/audit").status_code == 403
    # on: per agent, but an agent with fewer than 5 answered calls is still suppressed
    agents = {x["group"]: x for x in sven.get(MONTH + "&group=agent").json()["rows"]}
    assert agents["PJSIP/1001"]["suppressed"] is True  # L1 L6 L13: 3 calls
    hours = {x["group"]: x for x in sven.get(MONTH + "&group=hour").json()["rows"]}
    assert hours["09"]["suppressed"] is False and hours["09"]["aht_seconds"] == pytest.approx(300.0)
    admin.send("PUT", "/api/reports/settings", json={"per_agent": False})
    assert not desk_settings.per_agent_reports(month.desk.sessions)
    assert sven.get(MONTH + "&group=agent").status_code == 403
