"""Article Markdown to safe HTML, and to plain text for snippets.

Layer: pure (no I/O). markdown-it-py renders CommonMark (plus tables and
strikethrough) with raw HTML switched off, so `<script>` or `<img onerror>` in an
article stays visible text; nh3 (the Ammonia sanitiser) then keeps only the tags
and attributes listed here, only http(s) and mailto links, and gives every link
rel="noopener noreferrer". Two independent layers: a bug in one does not let
markup through. No images: the pages' CSP allows this server's files only.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
         "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td"}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
_SCHEMES = {"http", "https", "mailto"}


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"])


_MD = _parser()


def to_html(markdown: str) -> str:
    """Sanitised HTML for an article body; safe to insert as HTML in the page."""
    return nh3.clean(_MD.render(markdown), tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_SCHEMES,
                     link_rel="noopener noreferrer", strip_comments=True)


_EMPHASIS = re.compile(r"[*_`~]+")  # glued to words: dropped, not made a space
_MARKUP = re.compile(r"\]\([^)]*\)|[#>|\[\]]+|^\s*[-+]\s+|^\s*\d+\.\s+", re.MULTILINE)
_SPACE = re.compile(r"\s+")


def plain_text(markdown: str) -> str:
    """The words of an article without Markdown punctuation (for snippets)."""
    return _SPACE.sub(" ", _MARKUP.sub(" ", _EMPHASIS.sub("", markdown))).strip()


_UMLAUTS = {"a": "[aä]", "o": "[oö]", "u": "[uü]"}  # the German stemmer folds ä, ö, ü


def _prefix_pattern(stem: str) -> str:
    return "".join(_UMLAUTS.get(c, re.escape(c)) for c in stem)


@lru_cache(maxsize=256)
def _hits_pattern(hits: frozenset[str]) -> re.Pattern[str] | None:
    """Words starting with any of the stems, longest first; built once per search, not per hit."""
    pattern = "|".join(_prefix_pattern(h) for h in sorted(hits, key=len, reverse=True) if h)
    return re.compile(rf"\b(?:{pattern})", re.IGNORECASE) if pattern else None


def snippet(markdown: str, hits: set[str], width: int = 160) -> str:
    """About `width` characters of plain text from shortly before the body's first word that
    starts with one of the stems in `hits` (the start of the body when none does), with an
    ellipsis where it was cut. One regular-expression search on the raw Markdown, and only a
    window around the match made plain text: this runs for every search hit."""
    pattern = _hits_pattern(frozenset(hits))
    found = pattern.search(markdown) if pattern else None
    start = max(0, found.start() - width // 3) if found else 0
    window = 2 * width  # raw Markdown: enough for `width` characters of text unless half of it is markup
    text = plain_text(markdown[start:start + window])
    if start:
        text = text.split(" ", 1)[-1]  # a word cut by the window
    cut = text[:width]
    if len(text) > width or start + window < len(markdown):
        cut = cut.rsplit(" ", 1)[0] + " …"
    return ("… " if start else "") + cut
