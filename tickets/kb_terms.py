"""Words to index and to search: tokenising and Snowball stemming, German and English.

Layer: pure (no I/O). SQLite's FTS5 only stems English (porter), so the knowledge
base stems itself: an article's words with its own language's stemmer (what FTS5
indexes), a query's words with both, since an agent's query has no language tag.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

import snowballstemmer

LANGUAGES = {"de": "german", "en": "english"}
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 12  # a query longer than that is a paste, not a search
# words a query drops, as PostgreSQL's german and english configurations do: "Zurücksetzen des
# Passworts" must not require "des" (the common ones of Snowball's lists)
STOP_WORDS = frozenset("""
aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dein dem den der des dich
die dir doch du durch ein eine einem einen einer eines er es für hat hatte ich ihr ihre im in ist ja kann
kein mein mich mir mit nach nicht noch nur ob oder sein sich sie sind so über um und uns unter vom von
vor war was weil wenn wer wie wir wird wo zu zum zur
a an and are as at be but by can do does for from has have how i if in into is it its my no not of on
or our so than that the their then there these this to was we what when where which who why will with
you your
""".split())


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...  # snowballstemmer's name


@lru_cache(maxsize=2)
def _stemmer(language: str) -> _Stemmer:
    stemmer: _Stemmer = snowballstemmer.stemmer(LANGUAGES[language])
    return stemmer


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text) if not w.isdigit() or len(w) > 1]


@lru_cache(maxsize=100_000)
def stem(word: str, language: str) -> str:
    """One word's stem (Snowball is pure Python, ~20 µs a word: a help desk's vocabulary is cached)."""
    return _stemmer(language).stemWord(word)


def stems(text: str, language: str) -> list[str]:
    return [stem(w, language) for w in words(text)]


def index_text(text: str, language: str) -> str:
    """What FTS5 stores for `text` in an article of `language`."""
    return " ".join(stems(text, language))


def query_terms(query: str, languages: tuple[str, ...] = ("de", "en")) -> list[tuple[str, ...]]:
    """One tuple per query word: its distinct stems in `languages` (any of them may match)."""
    out: list[tuple[str, ...]] = []
    for word in [w for w in words(query) if w not in STOP_WORDS][:MAX_QUERY_WORDS]:
        forms = tuple(dict.fromkeys(stem(word, lang) for lang in languages))
        if forms not in out:
            out.append(forms)
    return out


def fts5_match(terms: list[tuple[str, ...]]) -> str:
    """An FTS5 MATCH expression: every word must match, in any of its stems. Each stem is
    a quoted string (FTS5 syntax characters in it are text), so no query is an FTS5 error."""
    def quoted(stem: str) -> str:
        return '"' + stem.replace('"', '""') + '"'

    return " AND ".join("(" + " OR ".join(quoted(s) for s in forms) + ")" for forms in terms)
