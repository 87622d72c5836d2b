"""Asterisk's queue_log, parsed: the calls that finished, with Asterisk's own figures.

Layer: domain, pure (no I/O, no clock). Must not import from the rest of the project.

Used to reconcile after the bridge was down: AMI has no replay, but Asterisk
appends one line per queue event to queue_log (`epoch|callid|queue|agent|event|data...`).
Asterisk 22 lines used here (checked against this repository's private Asterisk):
ENTERQUEUE|url|callerid|position (url: the dialplan passes the call's origin,
`<site>:<linkedid>` when another site overflowed it here, cti.origin); CONNECT|holdtime|agent uniqueid|ringtime;
COMPLETECALLER / COMPLETEAGENT|holdtime|calltime|origposition;
ABANDON|position|origposition|waittime; EXITWITHTIMEOUT / EXITEMPTY|position|origposition|waittime;
BLINDTRANSFER|extension|context|holdtime|calltime|origposition;
ATTENDEDTRANSFER|method|data|...|holdtime|calltime|origposition (hold and call time are the
3rd and 2nd fields from the end). The callid is the caller channel's Uniqueid, which is the call's Linkedid for
calls that come in from outside. The agent column is the member's name
(`log_membername_as_agent = yes` in queues.conf); `finished_calls` maps it to the
interface with the names the bridge learnt from QueueStatus. Times are whole seconds.

One line is hotline's own: `CALLBACKRESULT|callback id|DIALSTATUS`, written by the
dialplan ([hotline-callback], QueueLog()) next to the HotlineCallbackResult user event,
so a callback's result that came while the bridge was not listening is not lost (the
reader collects them: `take_callback_results`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from cti.callback_events import CallbackDialed
from cti.events import CallChange, CallSnapshot, CallUpdated, Outcome
from cti.origin import Origin, parse_origin

_FINAL = {"COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY",
          "EXITWITHKEY", "BLINDTRANSFER", "ATTENDEDTRANSFER"}


@dataclass(frozen=True, slots=True)
class LoggedCall:
    linkedid: str
    queue: str
    caller_raw: str
    entered_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    agent: str | None
    wait_seconds: float
    ring_seconds: float | None
    talk_seconds: float | None
    outcome: Outcome
    position: int
    origin: Origin | None = None  # (site, linkedid) another site overflowed it from


@dataclass
class _Open:
    queue: str
    entered_at: datetime
    caller_raw: str = ""
    position: int = 0
    origin: Origin | None = None
    answered_at: datetime | None = None
    agent: str | None = None
    ring: float | None = None
    fields: dict[str, str] = field(default_factory=dict)


def _int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def _when(epoch: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(epoch), UTC)
    except (ValueError, OverflowError, OSError):
        return None


class QueueLogReader:
    """Follows queue_log as it grows: `feed(lines)` returns the calls that finished in
    those lines, remembering the calls still open (entered, not yet finished) for the
    next feed, so a call whose lines fall into two reads is still found. At most
    `max_open` calls are remembered (the oldest entries are forgotten first: a call
    that never finishes, e.g. lines lost to a rotation, must not grow memory)."""

    def __init__(self, max_open: int = 50_000) -> None:
        self.max_open = max_open
        self._open: dict[str, _Open] = {}
        self._results: list[CallbackDialed] = []

    def take_callback_results(self) -> list[CallbackDialed]:
        """The CALLBACKRESULT lines fed since the last take, in order (then forgotten)."""
        taken, self._results = self._results, []
        return taken

    @property
    def open_calls(self) -> int:
        return len(self._open)

    def feed(self, lines: Iterable[str], members: Mapping[str, str] | None = None) -> list[LoggedCall]:
        """The calls that finished in `lines`, in order. Malformed lines are skipped; a
        call without its ENTERQUEUE line is skipped too (the log was rotated in between).
        `members` maps member names to interfaces."""
        names = members or {}
        done: list[LoggedCall] = []
        for line in lines:
            parts = line.rstrip("\r\n").split("|")
            if len(parts) < 5 or (at := _when(parts[0])) is None:
                continue
            callid, agent, event, data = parts[1], parts[3], parts[4], parts[5:]
            if event == "CALLBACKRESULT":
                if data and (callback_id := _int(data[0])) > 0:
                    self._results.append(CallbackDialed(
                        at=at, callback_id=callback_id, dial_status=(data[1] if len(data) > 1 else "")[:20]))
                    del self._results[:-self.max_open]  # never taken (a one-off read): bounded too
            elif event == "ENTERQUEUE":
                self._enter(callid, _Open(parts[2], at, data[1] if len(data) > 1 else "",
                                          _int(data[2]) if len(data) > 2 else 0,
                                          parse_origin(data[0]) if data and data[0] else None))
            elif (call := self._open.get(callid)) is not None:
                if event == "CONNECT":
                    call.answered_at, call.agent = at, names.get(agent, agent)
                    call.ring = float(_int(data[2])) if len(data) > 2 else None
                elif event in _FINAL:
                    done.append(_finish(callid, call, at, agent, event, data))
                    del self._open[callid]
        return done

    def _enter(self, callid: str, call: _Open) -> None:
        self._open.pop(callid, None)
        self._open[callid] = call
        while len(self._open) > self.max_open:
            del self._open[next(iter(self._open))]


def finished_calls(lines: Iterable[str], members: Mapping[str, str] | None = None) -> list[LoggedCall]:
    """Every call that entered a queue and finished in `lines`, in the order it finished."""
    return QueueLogReader().feed(lines, members)


def _finish(callid: str, call: _Open, at: datetime, agent: str, event: str, data: list[str]) -> LoggedCall:
    talk: float | None = None
    if event in ("COMPLETECALLER", "COMPLETEAGENT"):
        outcome, wait, talk = Outcome.ANSWERED, _int(data[0]), _int(data[1]) if len(data) > 1 else 0
    elif event in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
        outcome = Outcome.TRANSFERRED
        wait, talk = (_int(data[-3]), _int(data[-2])) if len(data) >= 3 else (0, 0)
    elif event == "ABANDON":
        outcome, wait = Outcome.ABANDONED, _int(data[2]) if len(data) > 2 else 0
    else:
        outcome, wait = Outcome.TIMEOUT, _int(data[2]) if len(data) > 2 else 0
    return LoggedCall(
        linkedid=callid, queue=call.queue, caller_raw=call.caller_raw, entered_at=call.entered_at,
        answered_at=call.answered_at, ended_at=at, agent=call.agent or (agent if agent != "NONE" else None),
        wait_seconds=float(wait), ring_seconds=call.ring, talk_seconds=None if talk is None else float(talk),
        outcome=outcome, position=call.position, origin=call.origin)


def as_updates(call: LoggedCall, default_region: str = "DE") -> list[CallUpdated]:
    """The registry updates the bridge would have published had it been connected."""
    from cti.callerid import normalize

    duration = (call.ended_at - call.entered_at).total_seconds()
    snapshot = CallSnapshot(
        linkedid=call.linkedid, caller_raw=call.caller_raw,
        caller_number=normalize(call.caller_raw, default_region).e164, caller_name="",
        queue=call.queue, entered_at=call.entered_at, position=call.position, ringing_agents=(),
        answered_at=call.answered_at, agent=call.agent, ended_at=call.ended_at, outcome=call.outcome,
        wait_seconds=call.wait_seconds, ring_seconds=call.ring_seconds, talk_seconds=call.talk_seconds,
        duration_seconds=duration, transferred_to=None, origin=call.origin)
    updates = []
    if call.answered_at is not None:
        updates.append(CallUpdated(call.answered_at, CallChange.ANSWERED,
                                   replace(snapshot, ended_at=None, outcome=None, duration_seconds=None)))
    updates.append(CallUpdated(call.ended_at, CallChange.ENDED, snapshot))
    return updates
