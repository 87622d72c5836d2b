"""TicketService: every answered call becomes exactly one ticket and one call record.

Layer: service. Sync methods run on the DbWriter's thread (never on the event
loop); idempotent per Linkedid through unique indexes and insert-or-ignore, so
replaying the same events creates nothing twice, on SQLite and PostgreSQL.
Must not import agent_console: the SLA policy and callback rules come in as values.

Callers who gave up (abandoned after the short-abandon threshold, timed out, or
called after hours) with a callable number get a callback work item; repeated
calls from one number within the callback window fold into one item (attempts).
A call record points at its callback, so a replayed ENDED counts nothing twice.
Everything it writes is at its `site` (one bridge instance, one site): a Linkedid
another site's Asterisk also produced is another call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from cti import events as ev
from tickets import call_join
from tickets.escalation import apply_targets
from tickets.events import TicketCreated
from tickets.lookup import direct_contact
from tickets.models import Callback, CallbackStatus, CallRecord, Contact, Priority, Ticket
from tickets.outbox import NoticeConfig, enqueue
from tickets.report_agg_marks import static
from tickets.sites import DEFAULT_SITE
from tickets.sla import SlaPolicy
from tickets.subjects import call_subject

_RECORD_FIELDS = ("caller_number", "caller_raw", "caller_name", "queue", "entered_at",
                  "answered_at", "ended_at", "wait_seconds", "ring_seconds", "talk_seconds",
                  "duration_seconds", "position", "agent")
_CALLBACK_OUTCOMES = (ev.Outcome.ABANDONED, ev.Outcome.TIMEOUT, ev.Outcome.AFTER_HOURS)
RECORDED = frozenset({ev.CallChange.ANSWERED, ev.CallChange.ENDED, ev.CallChange.OVERFLOWED})
_UNANSWERED = (ev.Outcome.ABANDONED.value, ev.Outcome.TIMEOUT.value)


def recorded(update: ev.CallUpdated) -> bool:
    """The updates that write something: an answered call makes its ticket, an ended one
    finishes its record (and maybe a callback), an overflowed one marks its entry leg
    (tickets.call_join). The writer is sent only these."""
    return update.change in RECORDED


# The statements of every call, built once: one built anew costs SQLAlchemy several times
# what running it costs (bench/bench_writes.py). Run with parameters on the session's
# connection; the UPDATE through the session, where tickets.report_agg_marks sees it.
_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}
_UPSERT_RECORD = {name: d.insert(CallRecord).on_conflict_do_nothing(index_elements=["site", "linkedid"])
                  for name, d in _DIALECTS.items()}
_NEW_TICKET = {name: d.insert(Ticket).on_conflict_do_nothing(index_elements=["site", "linkedid"])
               .returning(Ticket.id) for name, d in _DIALECTS.items()}
_LOCK_RECORD = (select(CallRecord.id).where(CallRecord.site == bindparam("site"),
                                            CallRecord.linkedid == bindparam("linkedid")).with_for_update())
_LANGUAGE = select(Contact.language).where(Contact.id == bindparam("contact"))


@lru_cache(maxsize=128)
def _set_record(columns: tuple[str, ...], keep_overflowed: bool) -> Any:
    """UPDATE the record `record_id`: these columns from `v_<column>`; with `keep_overflowed`
    an entry leg another site took stays overflowed whatever outcome is given."""
    values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns}
    if keep_overflowed:
        values["outcome"] = case((CallRecord.overflow_site.is_not(None), call_join.OVERFLOWED),
                                 else_=values["outcome"])
    # no session object holds the row being written (synchronising would evaluate unbound parameters)
    return static(update(CallRecord).where(CallRecord.id == bindparam("record_id")).values(values)
                  .execution_options(synchronize_session=False))


def _set(session: Session, record_id: int, values: dict[str, Any], keep_overflowed: bool = False) -> None:
    session.execute(_set_record(tuple(sorted(values)), keep_overflowed),
                    {"record_id": record_id, **{f"v_{k}": v for k, v in values.items()}})


class TicketService:
    def __init__(self, sessions: sessionmaker[Session], policy: SlaPolicy | None = None,
                 callback_window: timedelta = timedelta(minutes=60),
                 short_abandon_seconds: float = 5, notices: NoticeConfig | None = None,
                 site: str = DEFAULT_SITE) -> None:
        self.sessions, self.policy, self.notices, self.site = sessions, policy, notices, site
        self.callback_window, self.short_abandon_seconds = callback_window, short_abandon_seconds

    def handle(self, update_: ev.CallUpdated) -> TicketCreated | None:
        if update_.change == ev.CallChange.ANSWERED:
            return self._answered(update_.call)
        if update_.change == ev.CallChange.ENDED:
            self._ended(update_.call, update_.at)
        if update_.change == ev.CallChange.OVERFLOWED:
            with self.sessions.begin() as session:
                self._upsert_record(session, update_.call, outcome=call_join.OVERFLOWED)
                self._join(session, update_.call)
        return None

    def _values(self, call: ev.CallSnapshot) -> dict[str, Any]:
        values = {f: getattr(call, f) for f in _RECORD_FIELDS}
        if call.route is not None:
            values["route_reason"], values["route_team"] = call.route.reason[:20], call.route.team[:100]
            values["route_language"] = call.route.language[:10]
            values["route_priority_reason"] = call.route.priority_reason[:20]
        values["caller_raw"] = (call.caller_raw or "")[:64]
        values["caller_name"] = (call.caller_name or "")[:200]
        if call.overflow_site is not None:
            values["overflow_site"] = call.overflow_site[:32]
        return values

    def _origin(self, call: ev.CallSnapshot) -> ev.Origin | None:
        """The entry leg of a call another site overflowed here (never this site itself)."""
        return call.origin if call.origin is not None and call.origin[0] != self.site else None

    def _answering(self, session: Session, call: ev.CallSnapshot) -> dict[str, Any]:
        """First in an answering leg's transaction: lock the entry leg (tickets.call_join);
        the values that make this record the joined call."""
        origin = self._origin(call)
        if origin is None:
            return {}
        entry = call_join.lock_entry(session, origin, self.site, call)
        if not entry.joinable:
            return {}
        return {"entry_site": origin[0], "entry_linkedid": origin[1],
                **call_join.answering_values(call.wait_seconds, entry.wait_seconds)}

    def _join(self, session: Session, call: ev.CallSnapshot, joined: dict[str, Any] | None = None) -> None:
        """After writing a leg: the entry leg names the answering one (and its wait goes into its total)."""
        if joined:
            call_join.mark_entry(session, (joined["entry_site"], joined["entry_linkedid"]), self.site, call.linkedid)
        elif call.overflow_site is not None or (call.outcome is not None and call.outcome.value in _UNANSWERED):
            # unanswered here: maybe an entry leg whose overflow this bridge missed (the other site knew)
            answering = call_join.join_answering(session, self.site, call.linkedid, call.wait_seconds)
            if answering is not None:
                self._late_callback(session, answering)

    def _late_callback(self, session: Session, leg: tuple[str, str]) -> None:
        """The answering leg written before this entry leg: a caller who gave up there after
        a wait too short for a callback had waited here too; with the total wait now known
        the abandon may not be short (the decision `_ended` makes when the entry leg is first)."""
        record = self._locked(session, *leg)
        if record.outcome != ev.Outcome.ABANDONED.value or record.callback_id is not None:
            return
        if record.caller_number and not self._short_abandon(record.wait_seconds):
            called_at = record.entered_at or record.ended_at
            if called_at is not None:
                self._fold_callback(session, record, ev.Outcome.ABANDONED.value, called_at)

    @staticmethod
    def _locked(session: Session, site: str, linkedid: str) -> CallRecord:
        return session.scalars(select(CallRecord).where(CallRecord.site == site, CallRecord.linkedid == linkedid)
                               .with_for_update().execution_options(populate_existing=True)).one()

    def _upsert_record(self, session: Session, call: ev.CallSnapshot, **extra: Any) -> int:
        """The call's record inserted or updated with what is known of it; its id."""
        values = {**self._values(call), **extra}
        conn, key = session.connection(), {"site": self.site, "linkedid": call.linkedid}
        conn.execute(_UPSERT_RECORD[conn.dialect.name], {**key, **values})
        # the row locked before the update marks report hours (tickets.report_agg_marks): a
        # joined call's two writers take its entry row first, then the hours, never the reverse
        record_id: int = conn.execute(_LOCK_RECORD, key).scalar_one()
        present: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        # an entry leg another site took stays overflowed
        _set(session, record_id, present, keep_overflowed=present.get("outcome") in _UNANSWERED)
        return record_id

    def _answered(self, call: ev.CallSnapshot) -> TicketCreated | None:
        with self.sessions.begin() as session:
            joined = self._answering(session, call)
            contact = direct_contact(session, call.caller_number)
            record_id = self._upsert_record(session, call, contact_id=contact, **joined)
            self._join(session, call, joined)
            now = datetime.now(UTC)
            conn = session.connection()
            language = conn.execute(_LANGUAGE, {"contact": contact}).scalar() if contact else None
            new_id = conn.execute(_NEW_TICKET[conn.dialect.name], {
                "number": f"pending-{call.linkedid}"[:20], "linkedid": call.linkedid, "site": self.site,
                "subject": call_subject(call.caller_raw, call.caller_number, language),
                "contact_id": contact, "created_at": now, "updated_at": now,
                "due_at": self.policy.due(now, Priority.NORMAL) if self.policy else None}).scalar_one_or_none()
            if new_id is None:
                return None  # already created: a replayed event
            ticket = session.get_one(Ticket, new_id)
            ticket.number = f"{now.year}-{ticket.id:06d}"
            if self.policy is not None:
                apply_targets(session, ticket, self.policy, now)
            _set(session, record_id, {"ticket_id": ticket.id})
            enqueue(session, ticket, "created", now, self.notices)
            return TicketCreated(call.linkedid, ticket.id, ticket.number, contact, call.agent, self.site)

    def _ended(self, call: ev.CallSnapshot, at: datetime) -> None:
        with self.sessions.begin() as session:
            joined = self._answering(session, call)
            contact = direct_contact(session, call.caller_number)
            outcome = call.outcome.value if call.outcome else None
            self._upsert_record(session, call, contact_id=contact, outcome=outcome, **joined)
            self._join(session, call, joined)
            reason = self._callback_reason(call, joined.get("wait_seconds"))
            if reason and call.caller_number:
                self._fold_callback(session, self._locked(session, self.site, call.linkedid), reason,
                                    call.entered_at or call.ended_at or at)

    def _callback_reason(self, call: ev.CallSnapshot, total_wait: float | None = None) -> str | None:
        """abandoned | timeout | after_hours when the caller should be called back, else None.
        `total_wait`: a joined call's wait across both sites (call_join), which decides
        whether an abandon was short, not the few seconds at the answering site alone."""
        if call.caller_number is None or call.outcome not in _CALLBACK_OUTCOMES:
            return None  # withheld callers cannot be called back; answered ones need not be
        if call.outcome == ev.Outcome.ABANDONED:
            waited = total_wait if total_wait is not None else (
                call.wait_seconds if call.wait_seconds is not None else call.duration_seconds)
            if self._short_abandon(waited):
                return None
        return call.outcome.value

    def _short_abandon(self, waited: float | None) -> bool:
        """A misdial or an instant change of mind: no callback."""
        return (waited or 0.0) < self.short_abandon_seconds

    def _fold_callback(self, session: Session, record: CallRecord, reason: str, called_at: datetime) -> None:
        """The record's call into the caller's open callback item (a new one when none is
        recent), at the record's site."""
        number, contact = record.caller_number, record.contact_id
        if record.callback_id is not None or record.overflow_site is not None:
            return  # already counted (a replayed ENDED), or another site took the call
        item = session.scalars(
            select(Callback).where(Callback.caller_number == number,
                                   Callback.status == CallbackStatus.OPEN,
                                   Callback.last_call_at >= called_at - self.callback_window)
            .order_by(Callback.last_call_at.desc(), Callback.id.desc()).limit(1)
            .with_for_update()).first()
        if item is None:
            item = Callback(caller_number=number, caller_raw=record.caller_raw,
                            caller_name=record.caller_name, contact_id=contact, queue=record.queue,
                            reason=reason, attempts=1, first_call_at=called_at, last_call_at=called_at,
                            site=record.site)
            session.add(item)
            session.flush()
        else:
            item.attempts += 1
            item.last_call_at = max(item.last_call_at, called_at)
            item.contact_id = item.contact_id or contact
        record.callback_id = item.id
