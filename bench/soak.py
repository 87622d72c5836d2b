"""Soak: a steady call rate for --minutes against real Asterisk with 200 WebSocket clients connected.

Run: .venv/bin/python bench/soak.py [--minutes 10] [--rate 1] [--clients 200] [--max-wait 60]
     [--patience 90] [--answer-after 0.5] [--hangup-after 2]
(as root: Asterisk and SIPp run in the chroot of hotline_cli.pbx_root.)

Set-up: the rig of bench/_live.py (as in bench_e2e.py): a private Asterisk 22 with agents
1001..1010 (wrapup 0), a fresh SQLite database, `hotline serve` as its own process, ten
pyVoIP phones that answer after --answer-after s (+ pyVoIP's ~1 s) and hang up
--hangup-after s after answering, an AMI tap. WebSocket clients: one per agent
(agent1001..1010) plus --clients - 10 clients of one supervisor session, all logged in
through POST /api/session and reading every frame all the time.

One SIPp process places --rate calls/s for --minutes (rate x 60 x minutes calls); each
caller waits up to --patience s after 5555 answered, so calls end when the agent hangs up
(or on Asterisk's queue timeout). Every minute it prints, cumulative since the start:
  offered   caller channels Asterisk created (Newchannel of PJSIP/trunk-*, seen by the tap);
            SIPp's own count comes at the end (its -trace_stat file)
  joined    QueueCallerJoin events
  tickets   tickets in the database
  pops      call.ringing frames received by the agent clients
  RSS       VmRSS of the `hotline serve` process (/proc/<pid>/status), and its CPU seconds
            (utime+stime, /proc/<pid>/stat) used in that minute
  clients   WebSocket clients still open
After the last minute it waits for SIPp's calls to finish and for every call that joined
to have a call record with an outcome (at most 30 s more), waits 5 s, and prints the
outcomes, start RSS (all clients connected, before the first call), end RSS, the
difference, the peak (VmHWM), and whether any WebSocket client was dropped: a client
whose connection ended before we closed it (with the close code, e.g. 4408 = too slow)
and the "too slow" lines in the serve log.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._live import (
    Feed,
    LiveRig,
    caller_channel,
    open_clients,
    run_rig,
    sigterm_as_interrupt,
    start_rig,
)

SETTLE_TIMEOUT = 30.0


def counts(rig: LiveRig) -> tuple[int, int, set[str], int]:
    """(offered, joined, joined linkedids, AgentCalled) from the tap so far."""
    events = rig.tap.since(0)
    offered = sum(1 for e in events if e["Event"] == "Newchannel" and caller_channel(e))
    joined = {e["Linkedid"] for e in events if e["Event"] == "QueueCallerJoin"}
    called = sum(1 for e in events if e["Event"] == "AgentCalled")
    return offered, len(joined), joined, called


async def run(rig: LiveRig, args: argparse.Namespace) -> int:
    feed = Feed()
    t = time.monotonic()
    clients = await open_clients(rig.base, max(0, args.clients - 10), feed)
    print(f"{len(clients)} WebSocket clients connected in {time.monotonic() - t:.1f} s "
          f"(10 agents, {len(clients) - 10} supervisor)", flush=True)
    try:
        await asyncio.sleep(3)
        stats = rig.serve_stats
        rss0, cpu0 = stats.rss_mb(), stats.cpu_seconds()
        print(f"start: serve RSS {rss0:.1f} MB, CPU {cpu0:.1f} s so far", flush=True)
        total = max(1, round(args.rate * 60 * args.minutes))
        started = time.monotonic()
        run = rig.call("+49 30 5559999", total, args.rate, args.patience)
        print(f"\n{'min':>3} {'offered':>7} {'joined':>6} {'tickets':>7} {'AgentCalled':>11} {'pops':>6} "
              f"{'RSS MB':>7} {'CPU s/min':>9} {'clients':>7}", flush=True)
        last_cpu = cpu0
        for minute in range(1, int(args.minutes) + 1):
            await asyncio.sleep(max(0.0, started + 60 * minute - time.monotonic()))
            offered, joined, _, called = counts(rig)
            tickets = await asyncio.to_thread(rig.tickets)
            cpu = stats.cpu_seconds()
            alive = sum(1 for c in clients if c.alive)
            print(f"{minute:>3} {offered:>7} {joined:>6} {tickets:>7} {called:>11} {len(feed.pops):>6} "
                  f"{stats.rss_mb():>7.1f} {cpu - last_cpu:>9.2f} {alive:>7}", flush=True)
            last_cpu = cpu
        sipp = await rig.finish(run)
        _, _, joined_ids, _ = counts(rig)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            outcomes = await asyncio.to_thread(rig.outcomes, joined_ids)
            if outcomes.get("pending", 0) == 0 and outcomes.get("no record", 0) == 0:
                break
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(5)
        offered, joined, _, called = counts(rig)
        tickets = await asyncio.to_thread(rig.tickets)
        rss1, hwm, cpu1 = stats.rss_mb(), stats.hwm_mb(), stats.cpu_seconds()
        alive = sum(1 for c in clients if c.alive)
        print(f"end {offered:>7} {joined:>6} {tickets:>7} {called:>11} {len(feed.pops):>6} {rss1:>7.1f} "
              f"{'':>9} {alive:>7}")
        print(f"\nSIPp: {sipp.get('OutgoingCall(C)', '?')} calls placed, {sipp.get('SuccessfulCall(C)', '?')} "
              f"completed, {sipp.get('FailedCall(C)', '?')} failed; phones answered "
              f"{sum(p.answered for p in rig.phones)}")
        print(f"call records of the {joined} joined calls: {outcomes}")
        print(f"serve RSS: start {rss0:.1f} MB, end {rss1:.1f} MB, difference {rss1 - rss0:+.1f} MB, "
              f"peak (VmHWM) {hwm:.1f} MB; CPU {cpu1 - cpu0:.1f} s over {time.monotonic() - started:.0f} s")
        drops = rig.serve_log_drops()
        dropped = len(clients) - alive
        print(f"WebSocket clients dropped: {'none' if not dropped and not feed.closed_early else dropped} "
              f"({len(clients)} connected, {alive} still open; closed early: {feed.closed_early or 'none'}; "
              f"serve log 'too slow' lines: {drops}); frames received by all clients: {feed.messages}")
        return 1 if dropped or drops else 0
    finally:
        await asyncio.gather(*(c.close() for c in clients))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--minutes", type=float, default=10, help="minutes of calls")
    p.add_argument("--rate", type=float, default=1.0, help="calls per second")
    p.add_argument("--clients", type=int, default=200, help="WebSocket clients in all (10 agents + supervisors)")
    args = start_rig(p)
    print(f"soak: {args.minutes:g} min at {args.rate:g} calls/s, {args.clients} WebSocket clients, queue max wait "
          f"{args.max_wait} s, answer after {args.answer_after:g} s (+pyVoIP ~1 s), talk {args.hangup_after:g} s",
          flush=True)
    with sigterm_as_interrupt(), LiveRig("soak", max_wait=args.max_wait, answer_after=args.answer_after,
                                         hangup_after=args.hangup_after) as rig:
        return run_rig(rig.log, run(rig, args))


if __name__ == "__main__":
    sys.exit(main())
