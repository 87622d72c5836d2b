"""The mails callers get, in German and English: the default texts, checking an
admin's own texts, and rendering.

Layer: pure (no I/O, no clock). `render(kind, language, facts, text)` -> (subject,
body), where `text` is an admin's NoticeText (tickets.notice_templates) or None for
the default. Texts use `string.Template` placeholders (`$number`, `${name}`): a
placeholder is replaced by its value and nothing else happens (no attribute
access, no expressions, no code: no template injection). `check` refuses a text
with a placeholder its kind does not have, a stray `$`, a subject without
`[#$number]` (a reply must land on the same ticket, tickets.intake) or a line
break in the subject. Times are shown in the desk's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from string import Template
from zoneinfo import ZoneInfo

KINDS = ("created", "escalated", "resolved")
LANGUAGES = ("de", "en")
_COMMON = ("number", "subject", "name")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "created": (*_COMMON, "due"),
    "escalated": (*_COMMON, "level", "team", "due"),
    "resolved": (*_COMMON, "done"),
}
MAX_SUBJECT, MAX_BODY = 400, 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class NoticeText:
    subject: str
    body: str


# every default mail: the subject tagged with the ticket's number, then greeting, text, signature
_FRAME = {"de": ("Guten Tag $name,\n\n", "\n\nIhr Service-Desk"), "en": ("Hello $name,\n\n", "\n\nYour service desk")}


def _default(language: str, subject: str, text: str) -> NoticeText:
    hello, signature = _FRAME[language]
    return NoticeText(f"[#$number] {subject}: $subject", hello + text + signature)


# (kind, language): (subject, what stands between greeting and signature)
_TEXTS: dict[tuple[str, str], tuple[str, str]] = {
    ("created", "de"): ("Ihre Anfrage ist eingegangen",
        "wir haben Ihre Anfrage „$subject“ unter der Ticketnummer $number aufgenommen.\n"
        "$due\nBitte nennen Sie die Nummer, wenn Sie uns dazu anrufen; auf diese E-Mail können Sie antworten, "
        "um etwas zu ergänzen."),
    ("created", "en"): ("We have received your request",
        "we have recorded your request \"$subject\" as ticket $number.\n$due\n"
        "Please quote the number when you call us about it; reply to this e-mail to add anything."),
    ("escalated", "de"): ("Ihre Anfrage wurde weitergegeben",
        "Ihre Anfrage $number „$subject“ wird jetzt vom $level. Level bearbeitet$team.\n$due"),
    ("escalated", "en"): ("Your request has been passed on",
        "your request $number \"$subject\" is now handled by level $level support$team.\n$due"),
    ("resolved", "de"): ("Ihre Anfrage ist erledigt",
        "Ihre Anfrage $number „$subject“ ist erledigt.\n\nWas wir getan haben:\n$done\n\n"
        "Wenn das Problem wieder auftritt, antworten Sie einfach auf diese E-Mail."),
    ("resolved", "en"): ("Your request has been resolved",
        "your request $number \"$subject\" has been resolved.\n\nWhat we did:\n$done\n\n"
        "If the problem comes back, simply reply to this e-mail."),
}
DEFAULTS: dict[tuple[str, str], NoticeText] = {key: _default(key[1], *text) for key, text in _TEXTS.items()}
_DUE = {"de": "Wir erwarten, sie bis {when} zu lösen.", "en": "We expect to resolve it by {when}."}
_TEAM = {"de": " (Team {team})", "en": " (team {team})"}
_NOTHING_NOTED = {"de": "(keine Angaben)", "en": "(nothing noted)"}
_TIME = {"de": "%d.%m.%Y, %H:%M Uhr", "en": "%d %b %Y, %H:%M"}


class TemplateProblem(ValueError):
    """An admin's text that cannot be used: `field` (subject | body), `problem` (a code the
    page translates: empty, too_long, stray_dollar, unknown_placeholder, one_line,
    needs_number, control), `names` (the unknown placeholders), `message` (English)."""

    def __init__(self, field: str, problem: str, message: str, names: tuple[str, ...] = ()) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.problem, self.message, self.names = field, problem, message, names


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


def check(kind: str, text: NoticeText) -> None:
    """Raise TemplateProblem unless `text` can be used for `kind`'s mails."""
    allowed = PLACEHOLDERS[kind]
    for field, value, limit in (("subject", text.subject, MAX_SUBJECT), ("body", text.body, MAX_BODY)):
        if not value.strip():
            raise TemplateProblem(field, "empty", "is empty")
        if len(value) > limit:
            raise TemplateProblem(field, "too_long", f"is longer than {limit} characters")
        template = Template(value)
        if not template.is_valid():
            raise TemplateProblem(field, "stray_dollar",
                                  "has a `$` that starts no placeholder (write `$$` for a dollar sign)")
        unknown = sorted(set(template.get_identifiers()) - set(allowed))
        if unknown:
            raise TemplateProblem(field, "unknown_placeholder",
                                  f"unknown placeholder {', '.join('$' + u for u in unknown)}; "
                                  f"this mail has {', '.join('$' + a for a in allowed)}", tuple(unknown))
    if _CONTROL.search(text.subject):
        raise TemplateProblem("subject", "one_line", "must be one line")
    if "[#$number]" not in text.subject and "[#${number}]" not in text.subject:
        raise TemplateProblem("subject", "needs_number", "must contain [#$number], so that a reply lands on the ticket")
    if _CONTROL.search(text.body.replace("\n", "").replace("\t", "")):
        raise TemplateProblem("body", "control", "holds control characters")


def render(kind: str, language: str, f: Facts, text: NoticeText | None = None) -> tuple[str, str]:
    lang = language_of(language)
    tz = ZoneInfo(f.timezone)
    due = _DUE[lang].format(when=f.due_at.astimezone(tz).strftime(_TIME[lang])) if f.due_at else ""
    values = {"number": f.number, "subject": f.subject, "name": f.name or "", "due": due, "level": str(f.level),
              "team": _TEAM[lang].format(team=f.team) if f.team else "",
              "done": f.done.strip()[:2000] or _NOTHING_NOTED[lang]}
    chosen = text or DEFAULTS[(kind, lang)]
    # safe_substitute: a text stored before a placeholder was withdrawn still renders (it shows `$x`)
    subject = _CONTROL.sub(" ", Template(chosen.subject).safe_substitute(values))
    return subject[:MAX_SUBJECT], Template(chosen.body).safe_substitute(values)
