"""The prompt catalogue and the key steps, without Asterisk: every prompt the dialplan
plays is in the catalogue in both languages; a text change makes a new file."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from hotline_cli import dtmf, prompts

CONFIG = Path(__file__).resolve().parents[2] / "asterisk-config"


def test_every_prompt_the_dialplan_plays_is_in_the_catalogue() -> None:
    dialplan = "\n".join(p.read_text() for p in CONFIG.glob("extensions*.conf"))
    used = set(re.findall(r"\bhotline/[a-z-]+(?:\$\{HOTLINE_STATUS_STATE\})?", dialplan))
    states = {u for u in used if "${" in u}
    used -= states
    assert used and used <= set(prompts.PROMPTS), used - set(prompts.PROMPTS)
    assert states == {"hotline/state-${HOTLINE_STATUS_STATE}"}
    from tickets.phone_status import STATES
    assert {f"hotline/state-{s}" for s in STATES} <= set(prompts.PROMPTS)


def test_both_languages_for_every_prompt_and_a_file_each() -> None:
    for name, prompt in prompts.PROMPTS.items():
        assert prompt.de.strip() and prompt.en.strip() and prompt.de != prompt.en, name
    jobs = prompts.jobs()
    names = {(j.language, j.name) for j in jobs}
    assert {("de", n) for n in prompts.PROMPTS} | {("en", n) for n in prompts.PROMPTS} <= names
    assert ("de", "digits/7") in names and ("de", "digits/mon-11") in names
    assert not any(lang == "en" and n.startswith("digits/") for lang, n in names)  # Asterisk has those
    choice = next(j for j in jobs if j.name == "hotline/lang-choice" and j.language == "en")
    assert [v for v, _ in choice.parts] == ["de", "en-gb"]  # both questions, each in its own voice


def test_the_cache_key_follows_the_text() -> None:
    a = prompts.Job("de", "hotline/x", (("de", "Hallo"),))
    assert a.key == prompts.Job("de", "hotline/x", (("de", "Hallo"),)).key
    assert a.key != prompts.Job("de", "hotline/x", (("de", "Hallo!"),)).key


def test_in_root_follows_absolute_symlinks_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "usr/share/asterisk/sounds").mkdir(parents=True)
    (tmp_path / "etc/alternatives").mkdir(parents=True)
    (tmp_path / "usr/share/asterisk/sounds/en_US_f_Allison").mkdir()
    (tmp_path / "etc/alternatives/prompt-en").symlink_to("/usr/share/asterisk/sounds/en_US_f_Allison")
    (tmp_path / "usr/share/asterisk/sounds/en").symlink_to("/etc/alternatives/prompt-en")
    assert prompts.in_root(tmp_path, "/usr/share/asterisk/sounds/en") == \
        tmp_path / "usr/share/asterisk/sounds/en_US_f_Allison"


def test_missing_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(prompts.PromptError, match="espeak-ng and sox"):
        prompts.install(tmp_path)


def test_dtmf_groups_and_steps() -> None:
    groups = dtmf.parse("1,2,12#,4@9.5")
    assert groups == [dtmf.KeyGroup("1", 1500), dtmf.KeyGroup("2", 1500), dtmf.KeyGroup("12#", 1500),
                      dtmf.KeyGroup("4", 9500)]
    xml, files = dtmf.steps(groups, "/sipp", "keys-x")
    assert len(files) == 6 and xml.count("play_pcap_audio") == 6 and "<pause" not in xml
    assert 'timeout="9500"' in xml and 'timeout="250"' in xml and 'next="callee_bye"' in xml
    for bad in ("", "a", "1,,2", "1@x", "1" * 21, ",".join("1" * 21)):
        with pytest.raises(ValueError):
            dtmf.parse(bad)


def test_each_key_capture_has_its_own_timestamp() -> None:
    """Asterisk drops an event with the last one's timestamp: the same key twice must differ."""
    def rtp(capture: bytes) -> list[tuple[int, int, int, int]]:
        out, off = [], 24
        while off < len(capture):
            size = struct.unpack("<I", capture[off + 8:off + 12])[0]
            frame = capture[off + 16:off + 16 + size]
            pt, seq, ts = frame[43] & 0x7F, *struct.unpack(">HI", frame[44:50])
            out.append((pt, seq, ts, frame[54]))
            off += 16 + size
        return out

    first, second = rtp(dtmf.capture("2", 0)), rtp(dtmf.capture("2", 1))
    assert len(first) == 10 and {p[0] for p in first} == {101} and {p[3] for p in first} == {2}
    assert len({p[2] for p in first}) == 1 and first[0][2] != second[0][2]
    assert [p[1] for p in first] == list(range(first[0][1], first[0][1] + 10))
    assert rtp(dtmf.capture("#", 2))[0][3] == 11 and rtp(dtmf.capture("*", 3))[0][3] == 10
