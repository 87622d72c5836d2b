"""The caller's prompts: ONE catalogue (name -> German and English text) and what
makes them sound files, at set-up time, on this machine.

Layer: edge (subprocess: espeak-ng and sox from Debian; files). Nothing is ever
downloaded: `hotline asterisk up` (and every test Asterisk) calls `install()`,
which speaks each text with espeak-ng, converts it with sox to what Asterisk
plays natively (8 kHz, 16-bit mono WAV: format_wav) and writes it to
`<sounds>/<language>/<name>.wav`, where Asterisk's own lookup finds it by the
channel's language (`Playback(hotline/survey)` plays `sounds/de/hotline/survey.wav`
on a German channel). A manifest beside the files keeps each text's hash: a
prompt is spoken again only when its text (or the voice settings) changed.

Asterisk ships English sounds only. SayDigits, SayNumber and SayUnixTime in
German look for `sounds/de/digits/...`, so the German words they ask for are in
the catalogue too (`GERMAN_DIGITS`); English uses Asterisk's own recordings.

To add a prompt: one line in PROMPTS (both languages), use it in the dialplan
as `hotline/<name>`. The live tests check that Asterisk finds every file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

VOICES = {"de": "de", "en": "en-gb"}  # espeak-ng voice per language
SPEED = 150  # words a minute: a little slower than espeak's 175, clearer on a phone
VERSION = "1"  # bump to regenerate everything (e.g. other conversion settings)


@dataclass(frozen=True, slots=True)
class Prompt:
    de: str
    en: str
    bilingual: bool = False  # both texts, each in its own voice, in one file for both languages


PROMPTS: dict[str, Prompt] = {
    # language choice for callers hotline does not know (before the queue)
    "hotline/lang-choice": Prompt("Für Deutsch drücken Sie die 1.", "For English, press 2.", bilingual=True),
    # status by phone
    "hotline/status-offer": Prompt(
        "Für den Stand Ihres Tickets drücken Sie die 2. Oder bleiben Sie am Apparat.",
        "For the status of your ticket, press 2. Or stay on the line."),
    # closed (service hours, public holiday): a caller with an open ticket may still hear its status
    "hotline/closed": Prompt("Sie rufen außerhalb unserer Servicezeiten an.",
                             "You are calling outside our service hours."),
    "hotline/status-offer-closed": Prompt("Für den Stand Ihres Tickets drücken Sie die 2.",
                                          "For the status of your ticket, press 2."),
    "hotline/status-ask": Prompt(
        "Wenn Sie den Stand eines Tickets hören möchten, drücken Sie die 2. Oder bleiben Sie am Apparat.",
        "To hear the status of a ticket, press 2. Or stay on the line."),
    "hotline/enter-ticket": Prompt(
        "Bitte geben Sie Ihre Ticketnummer ein, und drücken Sie die Raute-Taste.",
        "Please key in your ticket number, followed by the hash key."),
    "hotline/ticket": Prompt("Ihr Ticket Nummer", "Your ticket number"),
    "hotline/has-status": Prompt("hat den Status", "has the status"),
    "hotline/state-new": Prompt("neu, noch nicht bearbeitet.", "new, not yet started."),
    "hotline/state-open": Prompt("in Bearbeitung.", "in progress."),
    "hotline/state-pending": Prompt("wartet auf eine Rückmeldung.", "waiting for a reply."),
    "hotline/state-resolved": Prompt("gelöst.", "resolved."),
    "hotline/state-closed": Prompt("geschlossen.", "closed."),
    "hotline/due": Prompt("Voraussichtlich gelöst bis", "Expected resolution by"),
    "hotline/no-due": Prompt("Ein Termin für die Lösung steht noch nicht fest.",
                             "There is no expected resolution time yet."),
    "hotline/continue": Prompt(
        "Um mit einem Mitarbeiter zu sprechen, bleiben Sie bitte am Apparat. Sonst können Sie jetzt auflegen.",
        "To speak to an agent, please stay on the line. Otherwise you may hang up now."),
    "hotline/hold-for-agent": Prompt("Bitte bleiben Sie am Apparat, ein Mitarbeiter ist gleich für Sie da.",
                                     "Please hold for an agent."),
    # the callback before the 25-s promise breaks ([hotline-wait], [hotline-queue-keys]); position
    # and wait use Asterisk's stock sounds (queue-thereare, queue-callswaiting, queue-holdtime ...)
    "hotline/callback-offer": Prompt(
        "Wenn wir Sie zurückrufen sollen, drücken Sie die 1. Ihr Platz in der Warteschlange bleibt erhalten.",
        "To be called back, press 1. You keep your place in the queue."),
    "hotline/callback-confirm": Prompt(
        "Danke. Wir rufen Sie zurück, sobald Sie an der Reihe sind. Sie können jetzt auflegen.",
        "Thank you. We will call you back when it is your turn. You may hang up now."),
    # post-call survey
    "hotline/survey": Prompt(
        "Wie zufrieden waren Sie mit diesem Gespräch? Drücken Sie eine Zahl von 1, gar nicht zufrieden, "
        "bis 5, sehr zufrieden.",
        "How satisfied were you with this call? Press a number from 1, not at all satisfied, "
        "to 5, very satisfied."),
    "hotline/thanks": Prompt("Vielen Dank für Ihre Bewertung. Auf Wiederhören.",
                             "Thank you for your rating. Goodbye."),
}

# The German words Asterisk's say.c asks for (sounds/de/digits/<name>) when it says
# digits and dates on a German channel: SayDigits (0-9), and the date/time format
# the dialplan uses for the expected resolution (weekday, day, month, hour, minute).
_ONES = ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn",
         "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn")
_TENS = {20: "zwanzig", 30: "dreißig", 40: "vierzig", 50: "fünfzig"}
# ordinals as in "am zweiten Dezember" (say.c: 21st = digits/1-and + digits/h-20)
_ORDINALS = {1: "ersten", 2: "zweiten", 3: "dritten", 4: "vierten", 5: "fünften", 6: "sechsten",
             7: "siebten", 8: "achten", 9: "neunten", 10: "zehnten", 11: "elften", 12: "zwölften",
             13: "dreizehnten", 14: "vierzehnten", 15: "fünfzehnten", 16: "sechzehnten",
             17: "siebzehnten", 18: "achtzehnten", 19: "neunzehnten", 20: "zwanzigsten", 30: "dreißigsten"}
_DAYS = ("Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag")
_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember")


def _german_digits() -> dict[str, str]:
    words = {f"digits/{n}": w for n, w in enumerate(_ONES)}
    words.update({f"digits/{n}": w for n, w in _TENS.items()})
    words.update({f"digits/{n}-and": f"{_ONES[n]}und".replace("einsund", "einund") for n in range(1, 10)})
    words.update({f"digits/day-{n}": d for n, d in enumerate(_DAYS)})
    words.update({f"digits/mon-{n}": m for n, m in enumerate(_MONTHS)})
    words.update({f"digits/h-{n}": w for n, w in _ORDINALS.items()})
    words.update({"digits/1N": "ein", "digits/1F": "eine", "digits/hundred": "hundert",
                  "digits/thousand": "tausend", "digits/at": "um", "digits/oclock": "Uhr"})
    return words


GERMAN_DIGITS: dict[str, str] = _german_digits()


@dataclass(frozen=True, slots=True)
class Job:
    """One file to make: `parts` are (voice, text) spoken one after the other."""

    language: str
    name: str
    parts: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        spoken = json.dumps([VERSION, SPEED, self.parts], ensure_ascii=False)
        return hashlib.sha256(spoken.encode()).hexdigest()[:16]


def jobs() -> list[Job]:
    """Every file the catalogue needs, both languages (pure: no I/O)."""
    out: list[Job] = []
    for name, p in PROMPTS.items():
        both = ((VOICES["de"], p.de), (VOICES["en"], p.en))
        for lang in ("de", "en"):
            parts = both if p.bilingual else ((VOICES[lang], p.de if lang == "de" else p.en),)
            out.append(Job(lang, name, parts))
    out.extend(Job("de", name, ((VOICES["de"], text),)) for name, text in GERMAN_DIGITS.items())
    return out


class PromptError(RuntimeError):
    """The prompts cannot be made (espeak-ng or sox missing or failing)."""


SOUNDS = "/usr/share/asterisk/sounds"  # astdatadir (asterisk.conf) + /sounds


def in_root(root: Path, path: str, hops: int = 40) -> Path:
    """`path` as Asterisk inside `root` sees it, followed through symlinks whose
    targets are absolute inside the root (Debian's sounds/en -> /etc/alternatives/...)."""
    done = root
    todo = [p for p in path.split("/") if p]
    while todo:
        part = todo.pop(0)
        step = done / part
        if step.is_symlink():
            hops -= 1
            if hops < 0:
                raise PromptError(f"too many symlinks under {root}{path}")
            target = os.readlink(step)
            todo = [p for p in target.split("/") if p] + todo
            done = root if target.startswith("/") else done
            continue
        done = step
    return done


def install(root: Path) -> int:
    """Make every missing or changed prompt in the sounds folder of the Asterisk in
    `root` (`/` for a system Asterisk); the number made. A lock keeps two Asterisks
    starting at once from writing the same file."""
    sounds = in_root(root, SOUNDS)
    sounds.mkdir(parents=True, exist_ok=True)
    with _locked(sounds / ".hotline-prompts.lock"):
        manifest_path = sounds / ".hotline-prompts.json"
        try:
            manifest: dict[str, str] = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            manifest = {}
        todo = [j for j in jobs() if manifest.get(f"{j.language}/{j.name}") != j.key
                or not (in_root(root, f"{SOUNDS}/{j.language}") / f"{j.name}.wav").is_file()]
        if todo:
            _check_tools()
        for job in todo:
            _make(job, in_root(root, f"{SOUNDS}/{job.language}") / f"{job.name}.wav")
            manifest[f"{job.language}/{job.name}"] = job.key
        if todo:
            tmp = manifest_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False))
            os.replace(tmp, manifest_path)
        return len(todo)


def _check_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise PromptError(f"{' and '.join(missing)} not found: the German and English prompts are made "
                          "with them at set-up time (Debian: apt-get install espeak-ng sox; ./hotline.sh does)")


def _make(job: Job, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hotline-prompt-") as tmp:
        spoken = []
        for i, (voice, text) in enumerate(job.parts):
            raw = Path(tmp) / f"{i}.wav"
            _run(["espeak-ng", "-v", voice, "-s", str(SPEED), "-w", str(raw), "--", text])
            spoken.append(str(raw))
        out = Path(tmp) / "out.wav"
        # 8 kHz 16-bit mono: Asterisk's slin, no transcoding beyond the phone's codec
        _run(["sox", *spoken, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(out)])
        partial = target.with_suffix(".wav.part")
        shutil.copyfile(out, partial)
        os.replace(partial, target)


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise PromptError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()[:200]}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
