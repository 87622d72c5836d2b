"""Articles and tickets: "solved with KB" links, and suggestions for a caller or ticket.

Layer: service (sync; run it off the event loop). Must not import agent_console.
A link is one row per (ticket, article): linking again changes nothing, so an
article's solved_count counts each ticket once. Each new link writes a
TicketHistory entry (field `kb`). Suggestions come from two sources: the
categories of the caller's organisation's tickets of the last 90 days (most
frequent first; a category matches an article's category or one of its tags,
case-insensitively) and the text typed (or the ticket's subject), searched as in
tickets.kb_search; articles in the caller's language come first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tickets.kb import KbNotFound, KnowledgeBase, summary
from tickets.kb_models import KbArticle, KbTicketLink
from tickets.models import Contact, Ticket, TicketHistory

RECENT = timedelta(days=90)
MAX_CATEGORIES = 5


class KbLinks:
    def __init__(self, sessions: sessionmaker[Session], kb: KnowledgeBase,
                 clock: Callable[[], datetime]) -> None:
        self.sessions, self.kb, self.clock = sessions, kb, clock

    def link(self, ticket_id: int, article_id: int, actor: str) -> dict[str, Any]:
        """Mark the ticket solved with the article; `created` is False when it already was."""
        try:
            with self.sessions.begin() as s:
                ticket, article = s.get(Ticket, ticket_id), s.get(KbArticle, article_id)
                if ticket is None:
                    raise KbNotFound(f"no ticket {ticket_id}")
                if article is None:
                    raise KbNotFound(f"article_id: no article {article_id}")
                if s.scalar(select(KbTicketLink.id).where(KbTicketLink.ticket_id == ticket_id,
                                                          KbTicketLink.article_id == article_id)):
                    return {"ticket_id": ticket_id, "article": summary(article), "created": False}
                now = self.clock()
                s.add(KbTicketLink(ticket_id=ticket_id, article_id=article_id, linked_by=actor, linked_at=now))
                s.execute(update(KbArticle).where(KbArticle.id == article_id)
                          .values(solved_count=KbArticle.solved_count + 1))
                s.add(TicketHistory(ticket_id=ticket_id, at=now, actor=actor, field="kb", old="",
                                    new=str(article_id), note=f"solved with KB: {article.title}"))
                s.flush()
                s.refresh(article)
                return {"ticket_id": ticket_id, "article": summary(article), "created": True}
        except IntegrityError:  # the same link made at the same moment by someone else
            return self.link(ticket_id, article_id, actor)

    def links(self, ticket_id: int) -> list[dict[str, Any]] | None:
        with self.sessions() as s:
            if s.get(Ticket, ticket_id) is None:
                return None
            rows = s.execute(select(KbTicketLink, KbArticle).join(KbArticle, KbArticle.id == KbTicketLink.article_id)
                             .where(KbTicketLink.ticket_id == ticket_id).order_by(KbTicketLink.linked_at))
            return [{"article": summary(a), "linked_by": link.linked_by,
                     "linked_at": link.linked_at.isoformat()} for link, a in rows]

    def suggest(self, ticket_id: int | None = None, contact_id: int | None = None, text: str = "",
                limit: int = 8) -> dict[str, Any]:
        with self.sessions() as s:
            ticket = s.get(Ticket, ticket_id) if ticket_id else None
            if ticket_id and ticket is None:
                raise KbNotFound(f"no ticket {ticket_id}")
            contact_key = ticket.contact_id if ticket else contact_id
            contact = s.get(Contact, contact_key) if contact_key else None
            if contact_id and not ticket and contact is None:
                raise KbNotFound(f"no contact {contact_id}")
            categories = self._recent_categories(s, contact, ticket)
            by_category = self._category_articles(s, categories, limit * 3)
        language = contact.language if contact else None
        query = text or (ticket.subject if ticket else "")
        found = self.kb.search(query, limit=limit) if query else []
        rank = {c.lower(): i for i, c in enumerate(categories)}

        def category_order(a: dict[str, Any]) -> tuple[int, bool, int]:
            best = min((rank[k] for k in [a["category"].lower(), *a["tags"]] if k in rank), default=99)
            return best, a["language"] != language, -a["solved_count"]

        out = [{**a, "reason": "text"} for a in found]
        seen = {a["id"] for a in out}
        for a in sorted(by_category, key=category_order):
            if a["id"] not in seen:
                seen.add(a["id"])
                out.append({**a, "reason": "category"})
        if not text:  # nothing typed: the organisation's history leads
            out.sort(key=lambda a: a["reason"] != "category")
        return {"categories": categories, "articles": out[:limit]}

    def _recent_categories(self, s: Session, contact: Contact | None, ticket: Ticket | None) -> list[str]:
        if contact is None:
            return [ticket.category] if ticket and ticket.category else []
        who = (Contact.organisation_id == contact.organisation_id if contact.organisation_id
               else Contact.id == contact.id)
        rows = s.execute(select(Ticket.category, func.count()).join(Contact, Contact.id == Ticket.contact_id)
                         .where(who, Ticket.created_at >= self.clock() - RECENT, Ticket.category != "")
                         .group_by(Ticket.category))
        counts: dict[str, list[Any]] = {}  # "Drucker" and "drucker" are one category: the commoner spelling
        for name, n in sorted(rows, key=lambda row: (-row[1], row[0])):
            counts.setdefault(name.lower(), [name, 0])[1] += n
        ranked = sorted(counts.values(), key=lambda c: (-c[1], c[0]))[:MAX_CATEGORIES]
        categories = [str(name) for name, _n in ranked]
        if ticket and ticket.category and ticket.category.lower() not in {c.lower() for c in categories}:
            categories.insert(0, ticket.category)
        return categories

    def _category_articles(self, s: Session, categories: list[str], limit: int) -> list[dict[str, Any]]:
        keys = list(dict.fromkeys(c.lower() for c in categories))
        if not keys:
            return []
        tags = literal(",") + KbArticle.tags + literal(",")
        match = or_(func.lower(KbArticle.category).in_(keys),
                    *(tags.contains(f",{k},", autoescape=True) for k in keys))
        rows = s.scalars(select(KbArticle).where(match)
                         .order_by(KbArticle.solved_count.desc(), KbArticle.id).limit(limit))
        return [summary(a) for a in rows]
