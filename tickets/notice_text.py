"""The mails callers get, in German and English.

Layer: pure (no I/O, no clock). `render(kind, language, facts)` -> (subject, body).
Every subject carries `[#<ticket number>]`, so a reply lands on the same ticket
(tickets.intake). Times are shown in the desk's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

KINDS = ("created", "escalated", "resolved")
LANGUAGES = ("de", "en")

_SUBJECTS = {
    ("created", "de"): "[#{number}] Ihre Anfrage ist eingegangen: {subject}",
    ("created", "en"): "[#{number}] We have received your request: {subject}",
    ("escalated", "de"): "[#{number}] Ihre Anfrage wurde weitergegeben: {subject}",
    ("escalated", "en"): "[#{number}] Your request has been passed on: {subject}",
    ("resolved", "de"): "[#{number}] Ihre Anfrage ist erledigt: {subject}",
    ("resolved", "en"): "[#{number}] Your request has been resolved: {subject}",
}
_BODIES = {
    ("created", "de"): "Guten Tag {name},\n\nwir haben Ihre Anfrage „{subject}“ unter der Ticketnummer {number} "
                       "aufgenommen.\n{due}\nBitte nennen Sie die Nummer, wenn Sie uns dazu anrufen; auf diese "
                       "E-Mail können Sie antworten, um etwas zu ergänzen.\n\nIhr Service-Desk",
    ("created", "en"): "Hello {name},\n\nwe have recorded your request \"{subject}\" as ticket {number}.\n{due}\n"
                       "Please quote the number when you call us about it; reply to this e-mail to add "
                       "anything.\n\nYour service desk",
    ("escalated", "de"): "Guten Tag {name},\n\nIhre Anfrage {number} „{subject}“ wird jetzt vom {level}. Level "
                         "bearbeitet{team}.\n{due}\n\nIhr Service-Desk",
    ("escalated", "en"): "Hello {name},\n\nyour request {number} \"{subject}\" is now handled by level {level} "
                         "support{team}.\n{due}\n\nYour service desk",
    ("resolved", "de"): "Guten Tag {name},\n\nIhre Anfrage {number} „{subject}“ ist erledigt.\n\nWas wir getan "
                        "haben:\n{done}\n\nWenn das Problem wieder auftritt, antworten Sie einfach auf diese "
                        "E-Mail.\n\nIhr Service-Desk",
    ("resolved", "en"): "Hello {name},\n\nyour request {number} \"{subject}\" has been resolved.\n\nWhat we did:\n"
                        "{done}\n\nIf the problem comes back, simply reply to this e-mail.\n\nYour service desk",
}
_DUE = {"de": "Wir erwarten, sie bis {when} zu lösen.", "en": "We expect to resolve it by {when}."}
_NO_DUE = {"de": "", "en": ""}
_TEAM = {"de": " (Team {team})", "en": " (team {team})"}
_NOTHING_NOTED = {"de": "(keine Angaben)", "en": "(nothing noted)"}
_TIME = {"de": "%d.%m.%Y, %H:%M Uhr", "en": "%d %b %Y, %H:%M"}


@dataclass(frozen=True, slots=True)
class Facts:
    number: str
    subject: str
    name: str
    due_at: datetime | None
    level: int = 1
    team: str = ""
    done: str = ""  # what was done (the ticket's notes), for `resolved`
    timezone: str = "Europe/Berlin"


def language_of(value: str) -> str:
    lang = (value or "").lower()[:2]
    return lang if lang in LANGUAGES else "de"


def render(kind: str, language: str, f: Facts) -> tuple[str, str]:
    lang = language_of(language)
    tz = ZoneInfo(f.timezone)
    due = _DUE[lang].format(when=f.due_at.astimezone(tz).strftime(_TIME[lang])) if f.due_at else _NO_DUE[lang]
    values = {"number": f.number, "subject": f.subject, "name": f.name or "", "due": due, "level": f.level,
              "team": _TEAM[lang].format(team=f.team) if f.team else "",
              "done": f.done.strip()[:2000] or _NOTHING_NOTED[lang]}
    subject = _SUBJECTS[(kind, lang)].format(**values)
    return subject[:400], _BODIES[(kind, lang)].format(**values)
