"""Knowledge base service: safe Markdown, stemmed ranked search on both databases, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from tests.db_fixture import Sessions
from tickets import kb_search
from tickets.kb import ArticleData, KbConflict, KbForbidden, KnowledgeBase
from tickets.kb_models import Visibility
from tickets.kb_render import to_html
from tickets.kb_terms import fts5_match, query_terms

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

DE_PASSWORD = ArticleData(
    "Passwort zurücksetzen", "Um Ihr **Passwort** zurückzusetzen, öffnen Sie das Self-Service-Portal "
    "und wählen Sie *Kennwort vergessen*.", "de", "Konto", ("passwort", "konto"))
EN_PASSWORD = ArticleData(
    "How to reset your password", "Open the self-service portal and choose *Forgot password*. "
    "Resetting takes a minute.", "en", "Account", ("password", "account"))
DE_PRINTER = ArticleData("Drucker druckt nicht", "Prüfen Sie die Druckerwarteschlange und starten Sie "
                         "den Druckerspooler neu.", "de", "Drucker", ("drucker", "printer"))
EN_VPN = ArticleData("VPN does not connect", "Check that the VPN client is up to date and your password "
                     "has not expired.", "en", "Network", ("vpn",))


@pytest.fixture
def kb(sessions: Sessions) -> KnowledgeBase:
    base = KnowledgeBase(sessions, lambda: NOW)
    for data in (DE_PASSWORD, EN_PASSWORD, DE_PRINTER, EN_VPN):
        base.create(data, "admin")
    return base


class _Tags(HTMLParser):
    """The tags and attributes a browser would build from the HTML (the text does not matter:
    "<script>" shown as text is harmless)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)
        self.attributes += attrs


def _titles(hits: list[dict[str, object]]) -> list[object]:
    return [h["title"] for h in hits]


@pytest.mark.parametrize("payload", [
    "<script>alert(1)</script>", "[click](javascript:alert(1))", "[c](JaVaScRiPt:alert(1))",
    "<img src=x onerror=alert(1)>", "<div onclick='alert(1)'>raw block</div>\n\ntext",
    "<a href=\"javascript:alert(1)\">x</a>", "[d](data:text/html;base64,PHNjcmlwdD4=)",
    "<svg onload=alert(1)>", "`<script>`", "<iframe src=//evil></iframe>", "![i](x \"a onerror=alert(1)\")",
])
def test_markdown_never_lets_markup_or_script_links_through(payload: str) -> None:
    html = to_html(payload)
    tags = _Tags()
    tags.feed(html)
    assert tags.seen <= {"p", "a", "code"}, (payload, html)
    for name, value in tags.attributes:
        assert not name.startswith("on"), (payload, html)
        assert name != "href" or (value or "").startswith(("http:", "https:", "mailto:")), (payload, html)


def test_markdown_renders_and_links_get_noopener() -> None:
    html = to_html("# Title\n\n**bold** and [portal](https://portal.example.org)\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<table>" in html
    assert '<a href="https://portal.example.org" rel="noopener noreferrer">portal</a>' in html


def test_query_terms_are_quoted_for_fts5() -> None:
    assert fts5_match(query_terms('Passwort "AND* NEAR(')) == '("passwort") AND ("near")'  # stop word gone
    assert fts5_match([('a"b',)]) == '("a""b")'
    assert query_terms("!!! ...") == []


@pytest.mark.parametrize(("query", "title"), [
    ("Passwort zurücksetzen", "Passwort zurücksetzen"),
    ("Zurücksetzen des Passworts", "Passwort zurücksetzen"),
    ("passwörter", "Passwort zurücksetzen"),
    ("reset password", "How to reset your password"),
    ("resetting passwords", "How to reset your password"),
    ("Drucker", "Drucker druckt nicht"),
    ("druckerspooler", "Drucker druckt nicht"),
])
def test_search_finds_by_stem_on_this_database(kb: KnowledgeBase, query: str, title: str) -> None:
    hits = kb.search(query)
    assert hits and hits[0]["title"] == title, (query, _titles(hits))


def test_search_ranks_title_matches_first_and_filters_language(kb: KnowledgeBase) -> None:
    # "password" is in the English reset article's title and only in the VPN article's body
    hits = kb.search("password", language="en")
    assert _titles(hits) == ["How to reset your password", "VPN does not connect"]
    assert hits[0]["score"] > hits[1]["score"]
    assert kb.search("password", language="de") == [] or all(h["language"] == "de" for h in kb.search(
        "password", language="de"))
    assert kb.search("zzzxq") == [] and kb.search("  ") == [] and kb.search('"*(^') == []


def test_snippet_starts_near_the_match_and_is_plain_text(kb: KnowledgeBase) -> None:
    long_body = "Einleitung. " * 40 + "Der **Scanner** braucht einen Neustart."
    kb.create(ArticleData("Scanner", long_body, "de"), "admin")
    hit = kb.search("scanner neustart")[0]
    assert hit["snippet"].startswith("… ") and "Scanner braucht" in hit["snippet"] and "**" not in hit["snippet"]


def test_every_save_keeps_a_version_and_a_stale_base_is_refused(kb: KnowledgeBase) -> None:
    a = kb.create(ArticleData("Outlook startet nicht", "alt", "de", "E-Mail"), "anna")
    b = kb.update(a["id"], ArticleData("Outlook startet nicht", "neu: Profil reparieren", "de", "E-Mail"),
                  "sven", base_version=1)
    assert (b["version"], b["author"], b["updated_by"]) == (2, "anna", "sven")
    with pytest.raises(KbConflict):
        kb.update(a["id"], ArticleData("x", "y", "de"), "bert", base_version=1)
    versions = kb.versions(a["id"])
    assert [(v["version"], v["saved_by"]) for v in versions or []] == [(2, "sven"), (1, "anna")]
    old = kb.version(a["id"], 1)
    assert old is not None and old["body"] == "alt" and old["html"] == "<p>alt</p>\n"
    assert _titles(kb.search("Profil reparieren")) == ["Outlook startet nicht"]
    assert kb.search("alt") == []  # the index follows the update, not the old text


def test_agents_may_not_write_customer_articles(kb: KnowledgeBase) -> None:
    with pytest.raises(KbForbidden):
        kb.create(ArticleData("x", "y", "de", visibility=Visibility.CUSTOMER), "anna", may_publish=False)
    a = kb.create(ArticleData("x", "y", "de", visibility=Visibility.CUSTOMER), "sven")
    with pytest.raises(KbForbidden):
        kb.update(a["id"], ArticleData("x", "z", "de"), "anna", base_version=1, may_publish=False)


def test_title_matches_rank_first_and_only_a_bounded_set_is_scored(
        kb: KnowledgeBase, sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        kb.create(ArticleData(f"Notes {n}", "scanner " * (20 * (n + 1)), "en"), "admin")  # body only
    kb.create(ArticleData("Scanner jams", "Open the tray.", "en", tags=("hardware",)), "admin")
    titles = _titles(kb.search("scanner"))
    assert titles[0] == "Scanner jams" and sorted(titles[1:]) == ["Notes 0", "Notes 1", "Notes 2"]
    with sessions() as s:
        assert kb_search.count(s, "scanner") == 4 and kb_search.count(s, "scanner", cap=2) == 2
        assert kb_search.count(s, "the of") == 0  # stop words only: nothing to search for
    monkeypatch.setattr(kb_search, "CANDIDATES", 1)  # one body candidate: the title match and one other
    titles = _titles(kb.search("scanner"))
    assert titles[0] == "Scanner jams" and len(titles) == 2, titles
    assert _titles(kb.search("scanner hardware")) == ["Scanner jams"]  # a tag counts as the head
