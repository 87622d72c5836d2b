"""The caller dialogue's FastAGI scripts: `status` (a ticket's status by phone) and
`survey` (the answer after the call), beside `route` (agent_console/agi_routes.py).

Layer: edge (a thin async shell). The database work runs on a small thread pool
of its own; tickets.phone_status decides; the answer is channel variables for
asterisk-config/extensions_ivr.conf. Late or failing, the fallback answers
(status: nothing to read, the caller holds for an agent; survey: not saved) and
the caller still reaches the queue or a goodbye. Logs name the Linkedid and the
ticket, never the caller's number unless HOTLINE_MASK_CALLER_NUMBERS is off.

Arguments from the dialplan: status `linkedid[,keys]`, survey `linkedid,key`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from agent_console.views import mask_number
from cti.agi import AgiRequest
from cti.agi_server import AgiScript, Variables
from tickets import phone_status_db as db
from tickets.events import SurveyAnswered, TicketUpdated
from tickets.lookup import CustomerLookup, MatchStatus
from tickets.phone_status import StatusAnswer, StatusResult, for_keyed, for_known, parse_csat, parse_keys
from tickets.sites import DEFAULT_SITE

log = logging.getLogger(__name__)
T = TypeVar("T")
Publish = Callable[[object], Awaitable[None]]


class IvrScripts:
    def __init__(self, sessions: sessionmaker[Session], lookup: CustomerLookup, timezone: str,
                 clock: Callable[[], datetime], publish: Publish | None = None,
                 mask_numbers: bool = True, workers: int = 2, site: str = DEFAULT_SITE) -> None:
        self.sessions, self.lookup, self.timezone, self.clock = sessions, lookup, timezone, clock
        self.site = site  # the bridge's site: a survey answer goes on this site's call's ticket
        self.publish, self.mask_numbers = publish, mask_numbers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="agi-ivr")
        self._tasks: set[asyncio.Task[None]] = set()  # pushes after a survey answer (a few at most)

    def scripts(self) -> dict[str, AgiScript]:
        return {"status": AgiScript(self.status, self.status_fallback),
                "survey": AgiScript(self.survey, self.survey_fallback)}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _who(self, number: str | None) -> str:
        return (mask_number(number) if self.mask_numbers else number) or "-"

    # --- status --------------------------------------------------------------
    async def status(self, request: AgiRequest) -> Variables:
        answer, number = await self._off_loop(self._status, request)
        keyed = "keyed" if len(request.args) > 1 else "own"
        ticket = answer.ticket.number if answer.ticket else "-"
        log.info("AGI status for %s (%s, caller %s): %s, ticket %s", _linkedid(request), keyed,
                 self._who(number), answer.result.value, ticket)
        return answer.variables(self.timezone)

    def _status(self, request: AgiRequest) -> tuple[StatusAnswer, str | None]:
        match = self.lookup.lookup(request.callerid)
        number = match.number
        if len(request.args) > 1:  # keyed in: only the ticket's own contact may hear it
            ref = parse_keys(request.args[1])
            if ref is None or match.status is MatchStatus.WITHHELD:
                return StatusAnswer(StatusResult.INVALID), number
            return for_keyed(number, db.keyed_ticket(self.lookup.engine, ref)), number
        best = match.candidates[0] if match.status is MatchStatus.KNOWN else None
        if best is None or best.contact_id is None:
            return StatusAnswer(StatusResult.NONE), number
        return for_known(db.newest_open(self.lookup.engine, best.contact_id)), number

    def status_fallback(self, request: AgiRequest, reason: str) -> Variables:
        log.warning("AGI status for %s: %s; the caller holds for an agent", _linkedid(request), reason)
        return StatusAnswer(StatusResult.NONE).variables(self.timezone)

    # --- survey --------------------------------------------------------------
    async def survey(self, request: AgiRequest) -> Variables:
        linkedid = _linkedid(request)
        csat = parse_csat(request.args[1]) if len(request.args) > 1 else None
        if csat is None or not linkedid:
            log.info("AGI survey for %s: no answer 1-5", linkedid)
            return [("HOTLINE_SURVEY", "invalid")]
        now = self.clock()
        ticket = await self._off_loop(db.save_csat, self.sessions, linkedid, csat, now, self.site)
        if ticket is None:
            log.warning("AGI survey for %s: the call has no ticket; answer %d not kept", linkedid, csat)
            return [("HOTLINE_SURVEY", "no_ticket")]
        log.info("AGI survey for %s: csat %d on ticket %s", linkedid, csat, ticket["number"])
        task = asyncio.get_running_loop().create_task(self._tell(ticket, csat, now), name="agi-survey-push")
        self._tasks.add(task)  # after the answer: the pushes are not the caller's wait
        task.add_done_callback(self._tasks.discard)
        return [("HOTLINE_SURVEY", "saved")]

    async def _tell(self, ticket: dict[str, Any], csat: int, now: datetime) -> None:
        """On the bus: the console's ticket.updated, and the answer with today's CSAT for
        the wallboards (agent_console.wallboard; relayed to web-only instances)."""
        if self.publish is None:
            return
        await self.publish(TicketUpdated.of(ticket))
        mean, count = await self._off_loop(db.csat_since, self.lookup.engine, self.start_of_day(now))
        await self.publish(SurveyAnswered(ticket["id"], csat, mean, count))

    def start_of_day(self, now: datetime) -> datetime:
        zone = ZoneInfo(self.timezone)
        return datetime.combine(now.astimezone(zone).date(), time(0), zone)

    async def today(self) -> tuple[float | None, int]:
        """Today's mean survey answer and count (the wallboard's CSAT tile)."""
        return await self._off_loop(db.csat_since, self.lookup.engine, self.start_of_day(self.clock()))

    def survey_fallback(self, request: AgiRequest, reason: str) -> Variables:
        log.warning("AGI survey for %s: %s; the answer is not kept", _linkedid(request), reason)
        return [("HOTLINE_SURVEY", "failed")]


def _linkedid(request: AgiRequest) -> str:
    """The dialplan passes ${CHANNEL(linkedid)} as the first argument."""
    return (request.args[0] if request.args else request.uniqueid)[:64]
