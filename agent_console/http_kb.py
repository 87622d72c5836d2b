"""Knowledge base: articles, versions, preview, search, suggestions, ticket links.

Layer: edge. Plain `def` routes: the sync services (tickets.kb, tickets.kb_links)
run on the thread pool. Everyone logged in reads every article (agents read
internal and customer ones alike). Everyone writes internal articles: first-level
agents find the fixes, and every save keeps the previous version (who, when), so
an edit can be read back and undone; customer-visible articles are written by
supervisors and admins only (403 `kb_customer_article`). An update names the
version it started from (409 `kb_version_conflict` when someone saved in between).
Article HTML is rendered and sanitised on the server (tickets.kb_render); the
page inserts only that as HTML.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, field_validator

from agent_console.access import check_ticket
from agent_console.auth import ANY, SessionUser
from agent_console.errors import CodedError
from agent_console.fields import Notes, OneLine
from agent_console.services import ServicesDep
from tickets.kb import ArticleData, KbConflict, KbError, KbForbidden, KbNotFound
from tickets.kb_models import Visibility
from tickets.kb_render import to_html
from tickets.models import Role

router = APIRouter(tags=["knowledge base"])
MAX_ID = 2**31 - 1
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID)]
Language = Annotated[str, Field(pattern="^(de|en)$")]
Tag = Annotated[OneLine, Field(min_length=1, max_length=50, pattern="^[^,]+$")]
MAX_BODY = 100_000


class ArticleIn(BaseModel):
    title: OneLine = Field(min_length=1, max_length=300)
    body: Notes = Field("", max_length=MAX_BODY)
    language: Language = "de"
    category: OneLine = Field("", max_length=100)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    visibility: Visibility = Visibility.INTERNAL

    @field_validator("title", "category")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()

    def data(self) -> ArticleData:
        return ArticleData(self.title, self.body, self.language, self.category, tuple(self.tags), self.visibility)


class ArticleUpdate(ArticleIn):
    base_version: int = Field(ge=1, le=MAX_ID)  # the version the writer started from


class PreviewIn(BaseModel):
    body: Notes = Field("", max_length=MAX_BODY)


class LinkIn(BaseModel):
    article_id: int = Field(ge=1, le=MAX_ID)


def _may_publish(who: SessionUser) -> bool:
    return who.user.role in (Role.SUPERVISOR, Role.ADMIN)


def _refused(exc: KbError) -> CodedError:
    if isinstance(exc, KbNotFound):
        return CodedError(404, "not_found", str(exc))
    if isinstance(exc, KbConflict):
        return CodedError(409, "kb_version_conflict", str(exc))
    if isinstance(exc, KbForbidden):
        return CodedError(403, "kb_customer_article", str(exc))
    return CodedError(422, "invalid", str(exc))


def _found(value: Any, what: str) -> Any:
    if value is None:
        raise CodedError(404, "not_found", f"no {what}")
    return value


@router.get("/api/kb/articles")
def list_articles(services: ServicesDep, who: Annotated[SessionUser, ANY],
                  language: Annotated[str | None, Query(pattern="^(de|en)$")] = None,
                  category: Annotated[OneLine | None, Query(max_length=100)] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict[str, Any]]:
    return services.kb.articles(language, category, limit)


@router.post("/api/kb/articles", status_code=201)
def create_article(body: ArticleIn, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    try:
        return services.kb.create(body.data(), who.user.username, may_publish=_may_publish(who))
    except KbError as exc:
        raise _refused(exc) from exc


@router.get("/api/kb/articles/{article_id}")
def get_article(article_id: ArticleId, services: ServicesDep,
                who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    return dict(_found(services.kb.article(article_id), f"article {article_id}"))


@router.put("/api/kb/articles/{article_id}")
def update_article(article_id: ArticleId, body: ArticleUpdate, services: ServicesDep,
                   who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    try:
        return services.kb.update(article_id, body.data(), who.user.username, body.base_version,
                                  may_publish=_may_publish(who))
    except KbError as exc:
        raise _refused(exc) from exc


@router.get("/api/kb/articles/{article_id}/versions")
def versions(article_id: ArticleId, services: ServicesDep,
             who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    return list(_found(services.kb.versions(article_id), f"article {article_id}"))


@router.get("/api/kb/articles/{article_id}/versions/{version}")
def version(article_id: ArticleId, version: Annotated[int, Path(ge=1, le=MAX_ID)], services: ServicesDep,
            who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    return dict(_found(services.kb.version(article_id, version), f"version {version} of article {article_id}"))


@router.post("/api/kb/preview")
def preview(body: PreviewIn, who: Annotated[SessionUser, ANY]) -> dict[str, str]:
    return {"html": to_html(body.body)}


@router.get("/api/kb/search")
def search(services: ServicesDep, who: Annotated[SessionUser, ANY],
           q: Annotated[OneLine, Query(max_length=200)] = "",
           language: Annotated[str | None, Query(pattern="^(de|en)$")] = None,
           limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict[str, Any]]:
    return services.kb.search(q, language, limit)


@router.get("/api/kb/suggest")
def suggest(services: ServicesDep, who: Annotated[SessionUser, ANY],
            ticket_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
            contact_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
            q: Annotated[OneLine, Query(max_length=200)] = "",
            limit: Annotated[int, Query(ge=1, le=50)] = 8) -> dict[str, Any]:
    """Articles for a ticket (`ticket_id`, one the user may see) or a caller (`contact_id`)
    and what the agent typed (`q`)."""
    if ticket_id is not None:
        check_ticket(services, who, ticket_id)
    try:
        return services.kb_links.suggest(ticket_id, contact_id, q, limit)
    except KbError as exc:
        raise _refused(exc) from exc


@router.post("/api/tickets/{ticket_id}/kb")
def link(ticket_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: LinkIn, services: ServicesDep,
         who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """Mark the ticket solved with the article (once per ticket: linking again changes nothing)."""
    check_ticket(services, who, ticket_id)
    try:
        return services.kb_links.link(ticket_id, body.article_id, who.user.username)
    except KbError as exc:
        raise _refused(exc) from exc


@router.get("/api/tickets/{ticket_id}/kb")
def links(ticket_id: Annotated[int, Path(ge=1, le=MAX_ID)], services: ServicesDep,
          who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    check_ticket(services, who, ticket_id)
    return list(_found(services.kb_links.links(ticket_id), f"ticket {ticket_id}"))
