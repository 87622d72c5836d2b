"""The one i18n catalog (agent_console/static/i18n.js): German and English complete,
every key a page asks for present, every enum value the server sends translated,
every error code the server gives translated."""

from __future__ import annotations

import enum
import json
import re
from pathlib import Path

import pytest

from agent_console.web import render_pages
from cti.actions import WRAP_UP_REASON
from cti.events import AgentState, Outcome
from tickets.lookup import MatchStatus
from tickets.models import Channel, Priority, Role, TicketStatus

STATIC = Path(__file__).resolve().parent.parent / "agent_console" / "static"
ENUMS: dict[str, type[enum.Enum]] = {
    "agent_state": AgentState, "outcome": Outcome, "match_status": MatchStatus, "ticket_status": TicketStatus,
    "priority": Priority, "channel": Channel, "role": Role}
PAUSE_REASONS = {"lunch", "break", "backoffice", WRAP_UP_REASON}
CONNECTION_STATES = {"connecting", "connected", "reconnecting", "offline"}  # live.js: t(`conn.${state}`)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalog() -> dict[str, dict[str, str]]:
    """i18n.js as one table per language (the file holds one {de, en} entry per key)."""
    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    entries: dict[str, dict[str, str]] = json.loads(text[text.index("=") + 1:].strip().rstrip(";"))
    tables: dict[str, dict[str, str]] = {}
    for key, texts in entries.items():
        for lang, value in texts.items():
            tables.setdefault(lang, {})[key] = value
    return tables


def pages() -> list[str]:
    """Every page as the server sends it (rendered from agent_console/templates)."""
    return [*render_pages().values(), *(p.read_text(encoding="utf-8") for p in STATIC.glob("*.html"))]


def used_keys() -> set[str]:
    """Keys named literally in the pages: data-i18n* attributes and t("…") calls."""
    keys: set[str] = set()
    for html in pages():
        keys |= set(re.findall(r'data-i18n(?:-\w+)?="([^"]+)"', html))
    for text in [*(p.read_text(encoding="utf-8") for p in STATIC.glob("*.js")), *pages()]:
        keys |= set(re.findall(r'\bt\(\s*"([\w.\-]+)"', text))
    return keys - {"key"}


def test_german_and_english_have_the_same_keys_and_no_empty_text() -> None:
    cat = catalog()
    assert set(cat) == {"de", "en"}
    assert set(cat["de"]) ^ set(cat["en"]) == set(), "keys in one language only"
    for lang, table in cat.items():
        empty = [k for k, v in table.items() if not isinstance(v, str) or not v.strip()]
        assert empty == [], (lang, empty)


def test_placeholders_agree_between_languages() -> None:
    cat = catalog()
    differ = [k for k in cat["de"] if set(PLACEHOLDER.findall(cat["de"][k])) != set(PLACEHOLDER.findall(cat["en"][k]))]
    assert differ == []


def test_every_key_a_page_uses_is_in_the_catalog() -> None:
    cat, keys = catalog(), used_keys()
    assert len(keys) > 50  # the scan found the pages' keys (it would pass vacuously otherwise)
    plural = {k.rsplit(".", 1)[0] for k in cat["de"] if k.endswith((".one", ".other"))}
    missing = sorted(k for k in keys if k not in cat["de"] and k not in plural)
    assert missing == []


@pytest.mark.parametrize("kind", sorted(ENUMS))
def test_every_enum_value_the_server_sends_has_a_label(kind: str) -> None:
    cat = catalog()
    missing = [f"{kind}.{m.value}" for m in ENUMS[kind] if f"{kind}.{m.value}" not in cat["de"]]
    assert missing == []


def test_pause_reasons_offered_and_connection_states_have_labels() -> None:
    cat = catalog()["de"]
    html = render_pages()["/console"]
    select = re.search(r'<select id="reason">(.*?)</select>', html, re.S)
    assert select, "the console's pause reason chooser moved: update this test"
    offered = set(re.findall(r'<option value="([\w-]+)"', select[1]))
    assert offered and offered <= PAUSE_REASONS
    assert [r for r in PAUSE_REASONS if f"pause_reason.{r}" not in cat] == []
    assert [s for s in CONNECTION_STATES if f"conn.{s}" not in cat] == []


def test_plural_keys_have_an_other_form() -> None:
    cat = catalog()["de"]
    assert [k for k in cat if k.endswith(".one") and k[:-4] + ".other" not in cat] == []


def test_every_error_code_the_server_gives_is_translated() -> None:
    root = STATIC.parent
    codes = set()
    for module in root.glob("*.py"):
        codes |= set(re.findall(r'CodedError\(\s*\d+,\s*"(\w+)"', module.read_text(encoding="utf-8")))
    assert "no_endpoint" in codes
    codes |= {"invalid", "missing", "string_too_short", "string_too_long", "string_pattern_mismatch"}
    cat = catalog()["de"]
    assert sorted(c for c in codes if f"error.{c}" not in cat) == []
