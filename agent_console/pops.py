"""What a screen pop shows beside the call: the match, open tickets, recent calls.

Layer: service glue. PopEnricher is sync (run on a worker thread, never on the
event loop); PopBook is the pure record of the pops now out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from agent_console import views
from agent_console.hub import Client
from cti import events as ev
from cti.callback_events import CallbackRinging
from tickets.lookup import CustomerLookup, LookupResult
from tickets.pop_history import CALLBACKS, CALLS, TICKETS, Histories
from tickets.sites import DEFAULT_SITE
from tickets.visibility import Parties, Viewer, may_see, may_see_call

HISTORY = ("open_tickets", "recent_calls", "callbacks")  # what a pop shows of the caller's past


class Desk(Protocol):
    def open_tickets_for(self, contact_id: int, limit: int = 10) -> list[dict[str, Any]]: ...

    def callbacks(self, status: str | None = "open", limit: int = 200,
                  number: str | None = None) -> list[dict[str, Any]]: ...

    def recent_calls(self, contact_id: int | None = None, number: str | None = None,
                     limit: int = 10) -> list[dict[str, Any]]: ...


class Contacts(Protocol):
    def get(self, contact_id: int) -> dict[str, Any] | None: ...

    def get_many(self, contact_ids: Iterable[int]) -> Mapping[int, dict[str, Any]]: ...


def match_json(result: LookupResult, contact: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "status": result.status.value, "number": result.number, "contact": contact,
        "candidates": [{"contact_id": c.contact_id, "organization_id": c.organisation_id,
                        "name": c.name, "reason": c.reason, "rank": c.rank}
                       for c in result.candidates],
    }


@dataclass
class PopEnricher:
    """A pop's customer data in two phases, each one call on a worker thread:
    `match_pops` (ranked matches and their contacts, for every caller that joined the
    queue since the last call: what the ring shows at once) and
    `history` (open tickets and recent calls: they may follow as `call.enriched`)."""

    lookup: CustomerLookup
    desk: Desk
    contacts: Contacts
    # ticket id -> whose it is, for the open tickets (tickets.visibility.tickets_parties):
    # each agent's pop shows only the tickets that agent may open
    parties: Callable[[Iterable[int]], dict[int, Parties]] | None = None
    # several callers' past in four statements (tickets.pop_history.histories): contacts,
    # callback numbers, numbers whose calls are looked up, now; None: one history at a time
    read_histories: Callable[[Collection[int], Collection[str], Collection[str], datetime], Histories] | None = None

    def match(self, caller_raw: str) -> tuple[LookupResult, dict[str, Any] | None]:
        """The lookup and, when it is known, the contact it names."""
        result = self.lookup.lookup(caller_raw)
        best = result.candidates[0] if result.status.value == "known" else None
        return result, self.contacts.get(best.contact_id) if best and best.contact_id else None

    def match_pops(self, callers_raw: list[str]) -> list[dict[str, Any]]:
        """The matches of several callers, in two statements (numbers, then contacts)."""
        results = self.lookup.lookup_many(callers_raw)
        best = {i: r.candidates[0].contact_id for i, r in enumerate(results)
                if r.status.value == "known" and r.candidates[0].contact_id}
        contacts = self.contacts.get_many(best.values())
        return [match_json(r, contacts.get(best[i]) if i in best else None) for i, r in enumerate(results)]

    def history(self, match: dict[str, Any]) -> dict[str, Any]:
        """Open tickets and recent calls of the matched contact, or of the number, and
        the number's open callback items (the caller tried before and nobody called back)."""
        contact = match.get("contact")
        open_tickets: list[dict[str, Any]] = []
        recent: list[dict[str, Any]] = []
        if contact:
            open_tickets = self.desk.open_tickets_for(contact["id"], limit=TICKETS)
            recent = self.desk.recent_calls(contact_id=contact["id"], limit=CALLS)
        elif match.get("number"):
            recent = self.desk.recent_calls(number=match["number"], limit=CALLS)
        callbacks = self.desk.callbacks(limit=CALLBACKS, number=match["number"]) if match.get("number") else []
        parties = self.parties([t["id"] for t in open_tickets]) if self.parties and open_tickets else {}
        return {"open_tickets": open_tickets, "recent_calls": recent, "callbacks": callbacks, "parties": parties}

    def history_many(self, matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`history` of each match, read for all of them at once (a burst of callers costs
        a few statements, not a few per caller)."""
        if self.read_histories is None:
            return [self.history(m) for m in matches]
        contacts = [m["contact"]["id"] for m in matches if m.get("contact")]
        by_number = [m["number"] for m in matches if not m.get("contact") and m.get("number")]
        found = self.read_histories(contacts, [m["number"] for m in matches if m.get("number")], by_number,
                               datetime.now(UTC))
        ticket_ids = [t["id"] for tickets in found.open_tickets.values() for t in tickets]
        parties = self.parties(ticket_ids) if self.parties and ticket_ids else {}
        out = []
        for m in matches:
            contact, number = m.get("contact"), m.get("number")
            tickets = found.open_tickets.get(contact["id"], []) if contact else []
            recent = (found.calls_of_contact.get(contact["id"], []) if contact
                      else found.calls_from_number.get(number, []) if number else [])
            out.append({"open_tickets": list(tickets), "recent_calls": list(recent),
                        "callbacks": list(found.callbacks.get(number, [])) if number else [],
                        "parties": {t["id"]: parties[t["id"]] for t in tickets if t["id"] in parties}})
        return out


def shown(history: Mapping[str, Any]) -> dict[str, Any]:
    """The part of `history` a pop carries (not the tickets' parties)."""
    return {k: history[k] for k in HISTORY if k in history}


def viewer_of(client: Client, site: str = DEFAULT_SITE) -> Viewer:
    """The visibility rule's viewer for a WebSocket client (its session's user) of the
    instance at `site`: a client's endpoint is a phone at that site (ws.py)."""
    return Viewer(client.username, client.endpoint, client.teams, client.supervisor, site)


def for_viewer(data: dict[str, Any], viewer: Viewer, parties: Mapping[int, Parties]) -> dict[str, Any]:
    """A pop (or call.enriched) as one agent may see it: the open tickets they may open
    and their own recent calls (tickets.visibility); a ticket whose parties are unknown
    is left out. Supervisors and admins see it whole. Pure."""
    if viewer.everything or not (data.get("open_tickets") or data.get("recent_calls")):
        return data
    return {**data,
            "open_tickets": [t for t in data.get("open_tickets", [])
                             if (p := parties.get(t.get("id", -1))) is not None and may_see(viewer, p)],
            "recent_calls": [c for c in data.get("recent_calls", [])
                             if may_see_call(viewer, c.get("agent"), c.get("site"))]}


def callback_linkedid(callback_id: int) -> str:
    """The pop key of a callback's call (its real Linkedid is Asterisk's, unknown here)."""
    return f"callback-{int(callback_id)}"


def callback_pop(e: CallbackRinging, match: dict[str, Any]) -> dict[str, Any]:
    """The call.ringing message of a callback: an ordinary pop's fields, and `callback`."""
    return {"linkedid": callback_linkedid(e.callback_id), "queue": "",
            "caller": views.caller_json(e.caller_number, e.caller_raw, e.caller_name),
            "match": match, "open_tickets": [], "recent_calls": [], "callbacks": [], "enriched": False,
            "ticket_id": e.ticket_id, "entered_at": e.at.isoformat(), "route": None,
            "wait_seconds": 0.0, "position": 0,
            "callback": {"id": e.callback_id, "waited_seconds": e.waited_seconds, "ticket_id": e.ticket_id}}


def callback_call(pop: dict[str, Any], agent: str, answered_at: datetime) -> dict[str, Any]:
    """The call.answered message of a callback the caller picked up: views.call_json of
    the call its pop describes (no registry call exists for it), with `ticket_id` and
    `callback`; call.ended is the same with `ended_at`."""
    caller = pop["caller"]
    call = ev.CallSnapshot(
        linkedid=pop["linkedid"], caller_raw=caller["raw"], caller_number=caller["number"],
        caller_name=caller["name"], queue="", entered_at=datetime.fromisoformat(pop["entered_at"]), position=0,
        ringing_agents=(), answered_at=answered_at, agent=agent, ended_at=None, outcome=None,
        wait_seconds=0.0, ring_seconds=None, talk_seconds=None, duration_seconds=None, transferred_to=None)
    return {**views.call_json(call), "ticket_id": pop["ticket_id"], "callback": pop["callback"]}


@dataclass
class PopBook:
    """The pops of the calls now ringing somewhere: what each shows, which agents got
    it, and the ticket the call got. Written by the notifier, read by the WebSocket
    snapshot (a reloaded console gets its ringing pops and its call's ticket back).

    Layer: pure state (no I/O)."""

    pops: dict[str, dict[str, Any]] = field(default_factory=dict)  # linkedid -> pop data
    popped: dict[str, set[str]] = field(default_factory=dict)  # linkedid -> endpoints that got it
    tickets: dict[str, int] = field(default_factory=dict)  # linkedid -> its ticket, popped here or not
    parties: dict[str, dict[int, Parties]] = field(default_factory=dict)  # linkedid -> its open tickets' parties

    def ringing_for(self, endpoint: str | None, viewer: Viewer | None = None) -> list[dict[str, Any]]:
        """The pops out at `endpoint`, each as `viewer` may see it (for_viewer)."""
        if not endpoint:
            return []
        return [for_viewer(self.pops[lid], viewer, self.parties.get(lid, {})) if viewer else self.pops[lid]
                for lid, eps in self.popped.items() if endpoint in eps and lid in self.pops]

    def set_history(self, linkedid: str, history: Mapping[str, Any]) -> None:
        """The caller's past arrived: the pop shows it (`shown`), the parties stay here."""
        self.pops[linkedid].update(shown(history), enriched=True)
        self.parties[linkedid] = dict(history.get("parties") or {})

    def ticket_for(self, linkedid: str) -> int | None:
        return self.tickets.get(linkedid)

    def set_ticket(self, linkedid: str, ticket_id: int) -> None:
        self.tickets[linkedid] = ticket_id
        if linkedid in self.pops:
            self.pops[linkedid]["ticket_id"] = ticket_id

    def forget(self, linkedid: str) -> None:
        self.pops.pop(linkedid, None)
        self.popped.pop(linkedid, None)
        self.tickets.pop(linkedid, None)
        self.parties.pop(linkedid, None)
