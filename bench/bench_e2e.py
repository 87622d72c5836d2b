"""End to end with real SIP: SIPp callers -> private Asterisk 22 -> `hotline serve` -> agent consoles.

Run: .venv/bin/python bench/bench_e2e.py [--rates 1,5,10,20,50] [--seconds 10] [--max-calls 100]
     [--max-wait 60] [--patience 90] [--answer-after 0.5] [--hangup-after 2]
(as root: Asterisk and SIPp run in the chroot of hotline_cli.pbx_root.)

Set-up (bench/_live.py, LiveRig): a private Asterisk 22 on free ports with agents
1001..1010 in queue `hotline` (wrapup 0, queue max wait --max-wait s); a fresh SQLite
database with users agent1001..1010 (PJSIP/1001..1010) and a supervisor; `hotline serve`
as its own process; ten pyVoIP agent phones that answer --answer-after s after the
INVITE (pyVoIP adds ~1 s of its own) and hang up --hangup-after s after answering; one
WebSocket client per agent plus one supervisor client (logged in through POST
/api/session, cookie + Origin), all reading all the time; an AMI tap (a raw AMI
connection in a thread of this process).

Per rate, one step: SIPp places N = min(--max-calls, rate x --seconds) calls into 5555 at
that rate; each caller waits up to --patience s after 5555 answers (queue wait + talk),
so an answered call ends when the agent hangs up and an unanswered one when Asterisk
gives up (Queue timeout after --max-wait s) or, if --patience is shorter, when the caller
does (abandoned). The step ends when SIPp has finished all its calls and every call that
joined the queue has a call record with an outcome (or 30 s passed); then the phones must
be free again before the next step. Printed per step:
  offered      SIPp's own count (OutgoingCall of its -trace_stat file), and its failed calls
  joined       QueueCallerJoin events the tap saw (callers that entered the queue)
  answered / abandoned / timeout / other   outcome of those calls' records in the database
               ("pending" = record without outcome, "no record" = none) after the step settled
  tickets      tickets in the database for those calls
  AgentCalled  ring attempts Asterisk reported (AgentCalled events), i.e. pops owed
  pops         call.ringing frames the agent clients received (first per linkedid + agent),
               and "calls" = distinct linkedids that popped
  Asterisk part of the pop latency: the tap's receipt of the caller channel's Newchannel
               (stands in for "SIPp sent the INVITE": Asterisk emits it on receipt of the
               INVITE) -> the tap's receipt of the call's first AgentCalled. It includes
               dialplan Answer + Queue join and, once all ten agents are busy, the wait for a
               free agent; "wait" shows the QueueCallerJoin -> AgentCalled part alone.
  our part     tap's receipt of AgentCalled (linkedid, agent) -> that agent's client receiving
               the call.ringing frame for that linkedid: AMI socket -> bridge -> notifier (with
               the customer lookup) -> hub -> WebSocket. Both stamps are time.perf_counter() in
               this process (tap thread and asyncio clients); the tap and `hotline serve` read
               the same AMI events on two separate connections, so the figure is what a person
               at the console would see minus Asterisk's write to two sockets.
  serve CPU    utime+stime of the `hotline serve` process during the step (/proc/<pid>/stat);
               RSS = VmRSS at the end of the step (/proc/<pid>/status); Asterisk's CPU likewise.
Everything shares the machine (Asterisk, SIPp, 10 pyVoIP phones, hotline serve, this
process): the latencies are under that load, not of an idle server. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._live import (
    Feed,
    LiveRig,
    Tally,
    WsClient,
    caller_channel,
    open_clients,
    pct,
    run_rig,
    sigterm_as_interrupt,
    start_rig,
)

SETTLE_TIMEOUT = 30.0


@dataclass
class Step(Tally):
    rate: float
    planned: int
    sipp: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    agent_called: int = 0
    popped_calls: int = 0
    phone_answers: int = 0
    ast_ms: list[float] = field(default_factory=list)
    wait_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    settled: bool = True


async def run_step(rig: LiveRig, feed: Feed, rate: float, count: int, args: argparse.Namespace) -> Step:
    step = Step(rate, count)
    await asyncio.to_thread(rig.wait_members_free, 60)
    mark, pop_mark = rig.tap.mark(), len(feed.pops)
    answers0 = sum(p.answered for p in rig.phones)
    cpu0 = rig.serve_stats.cpu_seconds()
    ast0 = rig.asterisk_stats.cpu_seconds() if rig.asterisk_stats else 0.0
    t0 = time.monotonic()
    run = rig.call(f"+49 30 555{int(rate):04d}", count, rate, args.patience)
    step.sipp = await rig.finish(run)
    events = rig.tap.since(mark)
    joined = {e["Linkedid"] for e in events if e["Event"] == "QueueCallerJoin"}
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        step.outcomes = await asyncio.to_thread(rig.outcomes, joined)
        if step.outcomes.get("pending", 0) == 0 and step.outcomes.get("no record", 0) == 0:
            break
        if time.monotonic() > deadline:
            step.settled = False
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(0.5)  # late frames
    step.seconds = time.monotonic() - t0
    step.serve_cpu = rig.serve_stats.cpu_seconds() - cpu0
    step.serve_rss = rig.serve_stats.rss_mb()
    step.ast_cpu = (rig.asterisk_stats.cpu_seconds() - ast0) if rig.asterisk_stats else float("nan")
    step.tickets = await asyncio.to_thread(rig.tickets, joined)
    step.phone_answers = sum(p.answered for p in rig.phones) - answers0
    step.joined = len(joined)

    events = rig.tap.since(mark)
    newchannel = {e["Linkedid"]: float(e["_t"]) for e in events if e["Event"] == "Newchannel" and caller_channel(e)}
    join_t: dict[str, float] = {}
    first_called: dict[str, float] = {}
    called: dict[tuple[str, str], float] = {}
    for e in events:
        lid = e.get("Linkedid", "")
        if lid not in joined:
            continue
        t = float(e["_t"])
        if e["Event"] == "QueueCallerJoin":
            join_t.setdefault(lid, t)
        elif e["Event"] == "AgentCalled":
            step.agent_called += 1
            first_called.setdefault(lid, t)
            called.setdefault((lid, e.get("Interface", "")), t)
    step.ast_ms = [(t - newchannel[lid]) * 1000 for lid, t in first_called.items() if lid in newchannel]
    step.wait_ms = [(t - join_t[lid]) * 1000 for lid, t in first_called.items() if lid in join_t]
    first_pop: dict[tuple[str, str], float] = {}
    for p in feed.pops[pop_mark:]:
        if p.linkedid in joined:
            first_pop.setdefault((p.linkedid, p.endpoint), p.t)
    step.pops = len(first_pop)
    step.popped_calls = len({lid for lid, _ in first_pop})
    step.ours_ms = [(t - called[key]) * 1000 for key, t in first_pop.items() if key in called]
    return step


def print_tables(steps: list[Step]) -> None:
    print()
    print(f"{'rate/s':>6} {'offered':>7} {'sipp fail':>9} {'joined':>6} {'answered':>8} {'abandon':>7} "
          f"{'timeout':>7} {'other':>5} {'tickets':>7} {'AgentCalled':>11} {'pops':>5} {'calls':>5} "
          f"{'ph.ans':>6} {'step s':>6}")
    for s in steps:
        o = dict(s.outcomes)
        ans, ab, to = o.pop("answered", 0), o.pop("abandoned", 0), o.pop("timeout", 0)
        other = sum(o.values())
        offered = s.sipp.get("OutgoingCall(C)", -1)
        print(f"{s.rate:>6g} {offered:>7} {s.sipp.get('FailedCall(C)', -1):>9} {s.joined:>6} {ans:>8} {ab:>7} "
              f"{to:>7} {other:>5} {s.tickets:>7} {s.agent_called:>11} {s.pops:>5} {s.popped_calls:>5} "
              f"{s.phone_answers:>6} {s.seconds:>6.0f}")
    print()
    print(f"{'rate/s':>6} | {'Asterisk: Newchannel->AgentCalled ms':>36} | {'(of it: join->called)':>21} | "
          f"{'ours: AgentCalled->call.ringing ms':>34} | {'serve CPU s':>11} {'RSS MB':>7} {'ast CPU s':>9}")
    print(f"{'':>6} | {'n':>6} {'p50':>9} {'p99':>9} {'max':>9} | {'p50':>10} {'p99':>10} | "
          f"{'n':>6} {'p50':>8} {'p99':>8} {'max':>8} |")
    for s in steps:
        nan = float("nan")
        print(f"{s.rate:>6g} | {len(s.ast_ms):>6} {pct(s.ast_ms, 50):>9.1f} {pct(s.ast_ms, 99):>9.1f} "
              f"{max(s.ast_ms, default=nan):>9.1f} | {pct(s.wait_ms, 50):>10.1f} {pct(s.wait_ms, 99):>10.1f} | "
              f"{len(s.ours_ms):>6} {pct(s.ours_ms, 50):>8.2f} {pct(s.ours_ms, 99):>8.2f} "
              f"{max(s.ours_ms, default=nan):>8.2f} | {s.serve_cpu:>11.2f} {s.serve_rss:>7.1f} {s.ast_cpu:>9.2f}")
    notes = [f"rate {s.rate:g}: not settled after {SETTLE_TIMEOUT:.0f} s ({s.outcomes})"
             for s in steps if not s.settled]
    for n in notes:
        print("NOTE:", n)


async def run(rig: LiveRig, args: argparse.Namespace) -> list[Step]:
    feed = Feed()
    clients: list[WsClient] = await open_clients(rig.base, 1, feed)
    print(f"{len(clients)} WebSocket clients connected (10 agents, 1 supervisor); serve RSS "
          f"{rig.serve_stats.rss_mb():.1f} MB", flush=True)
    steps: list[Step] = []
    try:
        for rate in args.rates:
            count = max(1, min(args.max_calls, round(rate * args.seconds)))
            step = await run_step(rig, feed, rate, count, args)
            steps.append(step)
            print(f"rate {rate:g}/s: {count} calls done in {step.seconds:.0f} s; joined {step.joined}, "
                  f"outcomes {step.outcomes}, tickets {step.tickets}, pops {step.pops}", flush=True)
    finally:
        dropped = [c.who for c in clients if not c.alive]
        await asyncio.gather(*(c.close() for c in clients))
    print_tables(steps)
    print(f"\nWebSocket clients dropped during the run: {len(dropped)}{' ' + str(dropped) if dropped else ''}; "
          f"serve log 'too slow' lines: {rig.serve_log_drops()}; frames received: {feed.messages}")
    return steps


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[1, 5, 10, 20, 50],
                   help="call rates per second, comma separated")
    p.add_argument("--seconds", type=float, default=10, help="seconds of calls per rate")
    p.add_argument("--max-calls", type=int, default=100, help="at most this many calls per rate")
    args = start_rig(p)
    print(f"rates {args.rates}/s, {args.seconds:g} s each (at most {args.max_calls} calls), queue max wait "
          f"{args.max_wait} s, caller patience {args.patience:g} s, answer after {args.answer_after:g} s "
          f"(+pyVoIP ~1 s), talk {args.hangup_after:g} s, wrapup 0", flush=True)
    with sigterm_as_interrupt(), LiveRig("bench-e2e", max_wait=args.max_wait, answer_after=args.answer_after,
                                         hangup_after=args.hangup_after) as rig:
        return run_rig(rig.log, run(rig, args))


if __name__ == "__main__":
    sys.exit(main())
