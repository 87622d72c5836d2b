"""The texts of the callers' mails (created, escalated, resolved; German and English):
list, change, preview, reset. Admins only (403 for everyone else).

Layer: edge. Plain `def` routes (tickets.notice_templates is sync). A text that
cannot be used (a placeholder its mail does not have, a stray `$`, a subject
without `[#$number]`, a line break in the subject) is a 422 with code
`template_invalid`, the field, the problem (a code), the reason (English) and the
unknown placeholders' names; nothing is stored then.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from agent_console.auth import ADMIN, SessionUser
from agent_console.errors import CodedError
from agent_console.services import ServicesDep
from tickets.notice_templates import Key
from tickets.notice_text import MAX_BODY, MAX_SUBJECT, NoticeText, TemplateProblem

router = APIRouter(tags=["notice templates"])
Kind = Annotated[str, Path(pattern="^(created|escalated|resolved)$")]
Lang = Annotated[str, Path(pattern="^(de|en)$")]
BASE = "/api/admin/notice-templates"


class TextIn(BaseModel):
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    body: str = Field(min_length=1, max_length=MAX_BODY)

    def text(self) -> NoticeText:
        return NoticeText(self.subject, self.body)


def _key(kind: str, language: str) -> Key:
    key = Key.of(kind, language)
    if key is None:  # the path patterns let nothing else through; kept for the type
        raise CodedError(404, "not_found", f"no notice template {kind}/{language}")
    return key


def _invalid(exc: TemplateProblem) -> CodedError:
    return CodedError(422, "template_invalid", str(exc), {"field": exc.field, "problem": exc.problem,
                                                           "reason": exc.message, "names": list(exc.names)})


@router.get(BASE)
def list_templates(services: ServicesDep, who: Annotated[SessionUser, ADMIN]) -> list[dict[str, Any]]:
    """Every kind in every language: its text (the admin's, or the default), its placeholders."""
    return services.notice_templates.all()


@router.put(BASE + "/{kind}/{language}")
def save_template(kind: Kind, language: Lang, body: TextIn, services: ServicesDep,
                  who: Annotated[SessionUser, ADMIN]) -> dict[str, Any]:
    key = _key(kind, language)
    try:
        services.notice_templates.save(key, body.text(), who.user.username, services.clock())
    except TemplateProblem as exc:
        raise _invalid(exc) from None
    return next(t for t in services.notice_templates.all() if (t["kind"], t["language"]) == (kind, language))


@router.delete(BASE + "/{kind}/{language}", status_code=204)
def reset_template(kind: Kind, language: Lang, services: ServicesDep, who: Annotated[SessionUser, ADMIN]) -> None:
    """Back to the built-in text."""
    services.notice_templates.reset(_key(kind, language))


@router.post(BASE + "/{kind}/{language}/preview")
def preview_template(kind: Kind, language: Lang, body: TextIn, services: ServicesDep,
                     who: Annotated[SessionUser, ADMIN]) -> dict[str, str]:
    """`{"subject", "body"}` of the mail this text makes for a made-up sample ticket (plain text)."""
    try:
        subject, text = services.notice_templates.preview(_key(kind, language), body.text(),
                                                          services.settings.timezone)
    except TemplateProblem as exc:
        raise _invalid(exc) from None
    return {"subject": subject, "body": text}
