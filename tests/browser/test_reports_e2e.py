"""/reports in Chromium (issue 18): a supervisor opens the known month
(tests/report_month.py) in German and English, changes the period and the grouping
through the page's controls, sorts a table, and reads the same figures the API gives;
the FCR definition is printed; the print view hides the controls; axe-core finds no
serious violation. Screenshots for the README. Every wait is on a page state
(body[data-ready], the address), never a fixed sleep."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests import report_month
from tests.browser.axe import assert_no_serious_violations
from tests.browser.demo_day import PASSWORD, DemoServer, demo_server, open_as
from tests.browser.shots import shot

pytestmark = [pytest.mark.browser]
MONTH = "/reports?period=month&date=2026-11-15"


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[DemoServer]:
    with demo_server(module_database_url, now=report_month.AS_OF) as server:
        report_month.seed(server.app.state.services.desk.sessions)
        yield server


def open_reports(browser: Any, demo: DemoServer, lang: str, path: str) -> Any:
    return open_as(browser, demo, "sven", lang, path, ready=True)


def show(page: Any, url_pattern: str) -> None:
    """Submit the controls and wait for the new address and for the page to draw it."""
    page.click("#controls button[type=submit]")
    page.wait_for_url(re.compile(url_pattern))
    page.wait_for_selector("body[data-ready='1']")


def api(page: Any, query: str) -> dict[str, Any]:
    body: dict[str, Any] = page.evaluate(
        "async (q) => (await fetch('/api/reports/summary?' + q, {credentials: 'same-origin'})).json()", query)
    return body


def shown(page: Any, selector: str) -> dict[str, str]:
    """data-k -> data-v of the cells under `selector`."""
    found: dict[str, str] = page.evaluate(
        "(sel) => Object.fromEntries([...document.querySelectorAll(sel + ' [data-k]')].map("
        "(n) => [n.dataset.k, n.querySelector('[data-v]') ? n.querySelector('[data-v]').dataset.v : n.dataset.v]))",
        selector)
    return found


def same(page_values: dict[str, str], api_row: dict[str, Any]) -> None:
    assert page_values, "nothing shown"
    for key, text in page_values.items():
        if key == "group":
            continue  # the group's label (translated), not a figure
        want = api_row[key]
        if want is None:
            assert text == "", key
        else:
            assert float(text) == pytest.approx(float(want)), key


def rows(page: Any) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('#groups tbody tr')].map((tr) => [tr.dataset.group,"
        " Object.fromEntries([...tr.querySelectorAll('[data-k]')].map((n) => [n.dataset.k, n.dataset.v]))]))")
    return out


@pytest.mark.parametrize("lang", ["de", "en"])
def test_month_figures_equal_the_api_in_both_languages(demo: DemoServer, browser: Any, lang: str) -> None:
    page = open_reports(browser, demo, lang, MONTH)
    try:
        report = api(page, "period=month&date=2026-11-15")
        same(shown(page, "#kpi-calls"), report["total"])
        same(shown(page, "#kpi-tickets"), report["total"])
        assert len(shown(page, "#kpi-calls")) == 14 and len(shown(page, "#kpi-tickets")) == 13
        sl = page.inner_text("#kpi-calls [data-k=service_level] dd")
        assert sl.replace("\xa0", " ") == ("54,5 %" if lang == "de" else "54.5%")  # 6 / 11
        assert page.inner_text("#fcr-definition") == report["definitions"]["fcr"][lang]
        fcr = page.inner_text("#kpi-tickets [data-k=fcr_rate] dd")
        assert fcr.replace("\xa0", " ") == ("25 %" if lang == "de" else "25%")
        assert page.get_attribute("nav.site a[href='/reports']", "aria-current") == "page"
        assert page.evaluate("hl.missing.size") == 0, page.evaluate("[...hl.missing]")
        assert page.evaluate("JSON.parse(document.getElementById('chart-volume').dataset.offered)") == [
            d["offered"] for d in report["series"]]
        body = page.inner_text("body")
        assert not re.search(r"\b(null|undefined|NaN|rep\.)", body)
        when = page.inner_text("#period-text")
        assert re.search(r"^(01\.11\.2026 bis 30\.11\.2026|1 Nov 2026 to 30 Nov 2026) ", when), when
        assert_no_serious_violations(page, f"reports ({lang})")
        page.screenshot(path=shot(f"reports-{lang}.png"), full_page=True)
    finally:
        page.context.close()


def test_change_period_and_grouping_sort_and_print(demo: DemoServer, browser: Any) -> None:
    page = open_reports(browser, demo, "en", MONTH)
    try:
        assert page.is_hidden("#groups-box")
        page.select_option("#f-period", "week")
        page.fill("#f-date", "2026-11-12")
        page.select_option("#f-group", "queue")
        show(page, r"period=week.*group=queue")
        week = api(page, "period=week&date=2026-11-12&group=queue")
        same(shown(page, "#kpi-calls"), week["total"])
        assert week["total"]["offered"] == 5
        got = rows(page)
        assert set(got) == {r["group"] for r in week["rows"]}
        for r in week["rows"]:
            if not r["suppressed"]:
                same(got[r["group"]], r)
        # by partner (the answering agent's; unanswered calls: none)
        assert page.inner_text("#f-group option[value=site]") == "Site"
        page.select_option("#f-group", "partner")
        show(page, r"period=week.*group=partner")
        by_partner = api(page, "period=week&date=2026-11-12&group=partner")
        got = rows(page)
        assert set(got) == {r["group"] for r in by_partner["rows"]}
        for r in by_partner["rows"]:
            if not r["suppressed"]:
                same(got[r["group"]], r)
        # custom period, grouped by channel (no call agents: nothing suppressed), then sorted by requests
        page.select_option("#f-period", "custom")
        assert page.is_hidden("#f-date") and page.is_visible("#f-from")
        page.fill("#f-from", "2026-11-01")
        page.fill("#f-to", "2026-11-30")
        page.select_option("#f-group", "channel")
        show(page, r"period=custom.*group=channel")
        custom = api(page, "period=custom&from=2026-11-01&to=2026-11-30&group=channel")
        got = rows(page)
        for r in custom["rows"]:
            same(got[r["group"]], r)
        page.click("#groups th button[data-sort=requests]")
        page.wait_for_selector("#groups th[aria-sort=descending] button[data-sort=requests]")
        order = page.eval_on_selector_all("#groups tbody tr", "(trs) => trs.map((tr) => tr.dataset.group)")
        assert order[0] == "phone" and sorted(order) == ["email", "fax", "form", "phone"]
        page.click("#groups th button[data-sort=requests]")
        page.wait_for_selector("#groups th[aria-sort=ascending] button[data-sort=requests]")
        order = page.eval_on_selector_all("#groups tbody tr", "(trs) => trs.map((tr) => tr.dataset.group)")
        assert order[-1] == "phone"
        csv_href = page.get_attribute("#csv", "href")
        assert csv_href is not None and "format=csv" in csv_href and "group=channel" in csv_href
        assert_no_serious_violations(page, "reports grouped")
        page.emulate_media(media="print")
        assert page.is_hidden("#controls") and page.is_hidden("header")
        assert page.is_visible("#fcr-definition") and page.is_visible("#print-title")
        page.screenshot(path=shot("reports-print.png"), full_page=True)
    finally:
        page.context.close()


def test_the_page_works_under_the_content_security_policy(demo: DemoServer, browser: Any) -> None:
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Berlin")  # no bypass_csp here
    page = context.new_page()
    page.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation',"
                         " (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
    try:
        page.goto(demo.url + "/?next=" + MONTH.replace("&", "%26").replace("?", "%3F"))
        page.fill("#username", "sven")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/reports"))
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_selector("#chart-volume canvas")
        assert page.evaluate("window.__violations") == []
        assert page.inner_text("#kpi-calls [data-k=offered] dd") == "13"
    finally:
        context.close()
