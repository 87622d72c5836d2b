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

import nh3
from markdown_it import MarkdownIt

from tickets.kb_terms import stems

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
_WORD = re.compile(r"\w+")


def plain_text(markdown: str) -> str:
    """The words of an article without Markdown punctuation (for snippets)."""
    return _SPACE.sub(" ", _MARKUP.sub(" ", _EMPHASIS.sub("", markdown))).strip()


def snippet(markdown: str, hits: set[str], width: int = 160) -> str:
    """About `width` characters of the body from shortly before its first word whose
    German or English stem is in `hits`, with an ellipsis where it was cut."""
    text = plain_text(markdown)
    start = 0
    for m in _WORD.finditer(text) if hits else ():
        word = m.group().casefold()
        if any(stem in hits for stem in (stems(word, "de")[:1] + stems(word, "en")[:1])):
            before = text.rfind(" ", 0, max(0, m.start() - width // 3))
            start = before + 1 if before >= 0 else 0
            break
    cut = text[start:start + width]
    if start + width < len(text):
        cut = cut.rsplit(" ", 1)[0] + " …"
    return ("… " if start else "") + cut
