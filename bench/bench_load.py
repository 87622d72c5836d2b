"""Sustained load with real SIP: SIPp callers at a steady rate -> private Asterisk 22 with
200 agents (a SIPp UAS answering for all of them) -> `hotline serve` -> 200 agent consoles.

Run: .venv/bin/python bench/bench_load.py [--rate 50] [--minutes 5] [--agents 200]
     [--answer-after 0.5] [--talk 3] [--max-wait 60] [--patience 120]
(as root: Asterisk and SIPp run in the chroot of hotline_cli.pbx_root.)
`--minutes 0.5 --rate 5` is a quick run. Long runs stay here, never in tests/.

Set-up: a private Asterisk on free ports (tests.pbx_fixture's ports and secrets, wrapup
0, queue max wait --max-wait s) whose pjsip.conf gets, after the project's own
endpoints, --agents more (2001, 2002, ...) with a static contact: every one is reached at
ONE SIPp UAS process (sip:2001@127.0.0.1:<uas port>, ...), which rings --answer-after s,
answers, talks --talk s and hangs up (BYE). They are "registered" by static contact, not
by REGISTER: SIPp has no per-user registration, and Asterisk treats a static contact like
a registered one (device state Not in use, so the queue rings it). All are queue members.
A fresh SQLite database with users agent2001... (PJSIP/2001...); `hotline serve` as its
own process (its writer in a process of its own, as always); one WebSocket client per
agent, logged in like a browser, reading all the time; an AMI tap in this process
(bench/_live.TimedTap) stamps every event with perf_counter on receipt. Callers: one
SIPp process placing rate x minutes x 60 calls into 5555 at --rate/s, all from one
number, waiting up to --patience s after 5555 answered.

Printed per minute of the run (and after it, while the last calls finish):
  offered    caller channels Asterisk created (Newchannel of PJSIP/trunk-*, Uniqueid=Linkedid)
  joined     QueueCallerJoin    answered  AgentConnect
  tickets    tickets in the database created in that minute  records  call records with an
             outcome whose call ended in that minute (database clock: ended_at)
  pops       first call.ringing per (linkedid, agent) at the agents' clients
  ours p50/p99  AgentCalled (tap receipt) -> that agent's call.ringing (client receipt), ms
  serve CPU % of one core, serve RSS MB, Asterisk CPU % of one core
Totals at the end: SIPp's own counts (callers and the UAS), calls without a record, a
ticket or a pop, and duplicates (two tickets or records for one call, two pops of one
call at one agent). Everything shares this machine (Asterisk, two SIPp, hotline serve and
its writer, this process): if the rate cannot be held here, the table shows where it
broke (offered falls behind, answered lags, SIPp failures). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import func, insert, select

from bench._live import (
    PASSWORD,
    RTP_RANGE,
    Feed,
    ProcStats,
    Rig,
    SippRun,
    Tally,
    TimedTap,
    WsClient,
    caller_channel,
    login,
    machine,
    open_client,
    pct,
    raise_nofile,
    run_rig,
    sigterm_as_interrupt,
)
from hotline_cli import phones as sip_phones
from hotline_cli.asterisk import PbxConfig, PrivateAsterisk, new_agent_passwords
from hotline_cli.phones import free_udp_port
from tests.pbx_fixture import Pbx, free_tcp_port
from tests.serve_process import serve
from tickets.db import make_engine, session_factory
from tickets.migrate import upgrade
from tickets.models import CallRecord, Role, Ticket, User
from tickets.users import hash_password

FIRST_AGENT = 2001
SETTLE_TIMEOUT = 60.0

# the headers of the agent's replies to the INVITE (180, then 200)
_ANSWER_HEADERS = """\
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>"""
UAS_XML = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Every agent at once: ring, answer after [answer_ms] ms, talk [talk_ms] ms, hang up. -->
<scenario name="hotline agents">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" check_it="true" assign_to="their"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="To:" check_it="true" assign_to="ours"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
{_ANSWER_HEADERS}
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="[answer_ms]"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
{_ANSWER_HEADERS}
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK" rtd="true" crlf="true"/>
  <pause milliseconds="[talk_ms]"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$ours];tag=[pid]SIPpTag01[call_number]
      To: [$their]
      [last_Call-ID:]
      CSeq: 2 BYE
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""


def _remove(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern):
        path.unlink(missing_ok=True)


def agents(n: int) -> list[str]:
    return [str(FIRST_AGENT + i) for i in range(n)]


class LoadAsterisk(PrivateAsterisk):
    """The project's Asterisk config plus `extensions` endpoints reached at one SIPp UAS."""

    def __init__(self, config: PbxConfig, extensions: list[str], uas_port: int) -> None:
        super().__init__(config)
        self.extensions, self.uas_port = extensions, uas_port

    def render(self) -> None:
        super().render()
        blocks = [f"\n[{ext}](endpoint-common)\ncontext = agents\naors = {ext}\ncallerid = \"Agent {ext}\" <{ext}>\n"
                  f"\n[{ext}]\ntype = aor\ncontact = sip:{ext}@127.0.0.1:{self.uas_port}\nmax_contacts = 1\n"
                  "qualify_frequency = 0\n" for ext in self.extensions]
        with (self.outer / "etc" / "pjsip.conf").open("a", encoding="utf-8") as f:
            f.write("\n; bench/bench_load.py: agents answered by one SIPp UAS (static contacts)\n" + "".join(blocks))


@dataclass
class Minute(Tally):
    label: str
    offered: int = 0
    answered: int = 0
    records: int = 0


class LoadRig(Rig):
    """Asterisk, the UAS, the database, `hotline serve`; `with LoadRig(...) as rig:` stops all."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.extensions = args, agents(args.agents)
        super().__init__("bench-load")
        self.uas: SippRun | None = None
        self.callers: SippRun | None = None

    def _start(self) -> None:
        a = self.args
        t = time.monotonic()
        uas_port = free_udp_port()
        config = PbxConfig(name=f"bench-load-{os.getpid()}", ami_port=free_tcp_port(), sip_port=free_udp_port(),
                           rtp_start=RTP_RANGE[0], rtp_end=RTP_RANGE[1], trunk_peer_port=free_udp_port(),
                           ami_secret=secrets.token_urlsafe(12), agent_passwords=new_agent_passwords(),
                           queue_max_wait=a.max_wait, wrapup_time=0, members=tuple(self.extensions))
        self.asterisk = LoadAsterisk(config, self.extensions, uas_port)
        self.stack.callback(shutil.rmtree, self.asterisk.outer, True)
        self.stack.callback(self.asterisk.stop)
        self.asterisk.start(timeout=60)
        self.tap = TimedTap(config.ami_port, config.ami_secret)
        self.stack.callback(self.tap.close)
        self.tap.wait_for(lambda e: e.get("Event") == "FullyBooted", timeout=10)
        upgrade(self.url)
        pw = hash_password(PASSWORD)  # one argon2 hash for all: fast set-up
        with session_factory(make_engine(self.url)).begin() as s:
            s.execute(insert(User), [{"username": f"agent{e}", "password_hash": pw, "role": Role.AGENT,
                                      "endpoint": f"PJSIP/{e}"} for e in self.extensions])
        self.db = session_factory(make_engine(self.url))
        self.serve_proc = self.stack.enter_context(serve(
            Pbx(self.asterisk, self.tap), self.url, self.port, secrets.token_urlsafe(24), self.log,
            HOTLINE_LOGIN_RATE_LIMIT_PER_MINUTE="100000"))
        self.serve_stats = ProcStats(self.serve_proc.pid)
        ast_pid = self.asterisk.pid()
        self.asterisk_stats = ProcStats(ast_pid) if ast_pid else None
        self.stack.callback(self._stop_sipp)
        self.uas = self._start_uas(uas_port)
        self.wait_members_free(60)
        print(f"rig up in {time.monotonic() - t:.1f} s: Asterisk pid {ast_pid} (AMI {config.ami_port}, SIP "
              f"{config.sip_port}), {len(self.extensions)} agents at one SIPp UAS (port {uas_port}), hotline serve "
              f"pid {self.serve_proc.pid} on {self.base}; work folder {self.tmp}", flush=True)

    def _start_uas(self, port: int) -> SippRun:
        prefix, outer, inner = sip_phones._sipp_prefix()
        tag = f"{os.getpid()}-{port}"
        xml = UAS_XML.replace("[answer_ms]", str(int(self.args.answer_after * 1000))).replace(
            "[talk_ms]", str(int(self.args.talk * 1000)))
        (outer / f"uas-{tag}.xml").write_text(xml)
        cmd = [*prefix, "-sf", str(inner / f"uas-{tag}.xml"), "-i", "127.0.0.1", "-p", str(port),
               "-mi", "127.0.0.1", "-mp", str(free_udp_port()), "-nostdin", "-trace_stat",
               "-stf", str(inner / f"stat-uas-{tag}.csv"), "-fd", "5"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.stack.callback(_remove, outer, f"*-{tag}*")
        return SippRun(proc, outer / f"stat-uas-{tag}.csv")

    def wait_members_free(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (out := self.asterisk.cli("queue show hotline")).count("(Not in use)") < len(self.extensions):
            if time.monotonic() > deadline:
                raise RuntimeError(f"queue members not all free:\n{out[-3000:]}")
            time.sleep(0.5)

    def call(self) -> SippRun:
        a = self.args
        outer = sip_phones._sipp_prefix()[1]
        before = set(outer.glob(f"stat-{os.getpid()}-*.csv"))
        total = round(a.rate * a.minutes * 60)
        proc = sip_phones.place_calls("+49 30 5550050", name="Load Caller", sip_port=self.asterisk.config.sip_port,
                                      count=total, rate=a.rate, duration=a.patience, background=True)
        assert isinstance(proc, subprocess.Popen)
        run = SippRun(proc, None)
        for _ in range(50):
            new = set(outer.glob(f"stat-{os.getpid()}-*.csv")) - before
            if new:
                run.stat = max(new, key=lambda p: p.stat().st_mtime)
                break
            time.sleep(0.1)
        self.callers = run
        return run

    def _stop_sipp(self) -> None:
        for run in (self.callers, self.uas):
            if run is not None and run.proc.poll() is None:
                run.proc.kill()
                with contextlib.suppress(Exception):
                    run.proc.communicate(timeout=5)

    # --- database -----------------------------------------------------------------------------
    def tickets_between(self, start: datetime, end: datetime) -> int:
        with self.db() as s:
            return int(s.scalar(select(func.count()).select_from(Ticket)
                                .where(Ticket.created_at >= start, Ticket.created_at < end)) or 0)

    def records_between(self, start: datetime, end: datetime) -> int:
        with self.db() as s:
            return int(s.scalar(select(func.count()).select_from(CallRecord).where(
                CallRecord.outcome.is_not(None), CallRecord.ended_at >= start, CallRecord.ended_at < end)) or 0)

    def per_call(self, linkedids: set[str]) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """(tickets per linkedid, records with an outcome per linkedid, outcomes) of these calls."""
        with self.db() as s:
            tickets = Counter(lid for (lid,) in s.execute(select(Ticket.linkedid)) if lid in linkedids)
            rows = s.execute(select(CallRecord.linkedid, CallRecord.outcome)).all()
        records = Counter(lid for lid, outcome in rows if lid in linkedids and outcome)
        outcomes = Counter(outcome or "pending" for lid, outcome in rows if lid in linkedids)
        return tickets, records, outcomes


async def open_agents(rig: LoadRig, feed: Feed) -> list[WsClient]:
    sem = asyncio.Semaphore(2)  # hotline serve checks 2 passwords at once (HOTLINE_LOGIN_WORKERS); more: 503
    async with httpx.AsyncClient(base_url=rig.base, timeout=120) as http:

        async def one(ext: str) -> WsClient:
            async with sem:
                cookie = await login(http, rig.base, f"agent{ext}")
                return await open_client(rig.base, cookie, f"agent{ext}", f"PJSIP/{ext}", feed)

        return list(await asyncio.gather(*(one(e) for e in rig.extensions)))


class Meter:
    """Cuts the run into minutes: what the tap, the clients and the database saw in each."""

    def __init__(self, rig: LoadRig, feed: Feed) -> None:
        self.rig, self.feed = rig, feed
        self.mark, self.pop_mark = rig.tap.mark(), 0
        self.called: dict[tuple[str, str], float] = {}
        self.popped: set[tuple[str, str]] = set()
        self.duplicate_pops = 0
        self.joined: set[str] = set()
        self.cpu = rig.serve_stats.cpu_seconds()
        self.ast = rig.asterisk_stats.cpu_seconds() if rig.asterisk_stats else 0.0
        self.since, self.t = datetime.now(UTC), time.monotonic()

    async def minute(self, label: str) -> Minute:
        rig, m = self.rig, Minute(label)
        events = rig.tap.since(self.mark)
        self.mark += len(events)
        for e in events:
            kind, lid = e["Event"], e.get("Linkedid", "")
            if kind == "Newchannel" and caller_channel(e):
                m.offered += 1
            elif kind == "QueueCallerJoin":
                m.joined += 1
                self.joined.add(lid)
            elif kind == "AgentConnect":
                m.answered += 1
            elif kind == "AgentCalled":
                self.called.setdefault((lid, e.get("Interface", "")), float(e["_t"]))
        pops = self.feed.pops[self.pop_mark:]
        self.pop_mark += len(pops)
        for p in pops:
            key = (p.linkedid, p.endpoint)
            if key in self.popped:
                self.duplicate_pops += 1
                continue
            self.popped.add(key)
            m.pops += 1
            if key in self.called:
                m.ours_ms.append((p.t - self.called[key]) * 1000)
        now, t = datetime.now(UTC), time.monotonic()
        m.tickets = await asyncio.to_thread(rig.tickets_between, self.since, now)
        m.records = await asyncio.to_thread(rig.records_between, self.since, now)
        cpu = rig.serve_stats.cpu_seconds()
        ast = rig.asterisk_stats.cpu_seconds() if rig.asterisk_stats else 0.0
        m.serve_cpu, m.ast_cpu = 100 * (cpu - self.cpu) / (t - self.t), 100 * (ast - self.ast) / (t - self.t)
        m.serve_rss = rig.serve_stats.rss_mb()
        self.cpu, self.ast, self.since, self.t = cpu, ast, now, t
        return m


def print_minute(m: Minute, header: bool = False) -> None:
    if header:
        print(f"{'min':>5} {'offered':>7} {'joined':>6} {'answered':>8} {'tickets':>7} {'records':>7} {'pops':>5} "
              f"{'ours p50':>8} {'p99 ms':>7} {'max':>7} {'serve CPU%':>10} {'RSS MB':>7} {'ast CPU%':>8}", flush=True)
    print(f"{m.label:>5} {m.offered:>7} {m.joined:>6} {m.answered:>8} {m.tickets:>7} {m.records:>7} {m.pops:>5} "
          f"{pct(m.ours_ms, 50):>8.2f} {pct(m.ours_ms, 99):>7.2f} {max(m.ours_ms, default=float('nan')):>7.2f} "
          f"{m.serve_cpu:>10.0f} {m.serve_rss:>7.1f} {m.ast_cpu:>8.0f}", flush=True)


async def run(rig: LoadRig, args: argparse.Namespace) -> int:
    feed = Feed()
    t = time.monotonic()
    clients = await open_agents(rig, feed)
    print(f"{len(clients)} agent WebSocket clients connected in {time.monotonic() - t:.1f} s; serve RSS "
          f"{rig.serve_stats.rss_mb():.1f} MB", flush=True)
    meter = Meter(rig, feed)
    minutes: list[Minute] = []
    callers = rig.call()
    try:
        start, k = time.monotonic(), 0
        while callers.proc.poll() is None:
            k += 1
            await asyncio.sleep(max(0.0, start + 60 * k - time.monotonic()))
            minutes.append(await meter.minute(str(k)))
            print_minute(minutes[-1], header=k == 1)
        out, _ = await asyncio.to_thread(callers.proc.communicate)
        callers.output = out or ""
        ended = await settle(rig, meter)
        minutes.append(await meter.minute("end"))
        print_minute(minutes[-1], header=not minutes[:-1])
        return report(rig, meter, minutes, clients, ended)
    finally:
        dropped = [c.who for c in clients if not c.alive]
        if dropped:
            print(f"WebSocket clients closed during the run: {len(dropped)}: {feed.closed_early[:5]}")
        await asyncio.gather(*(c.close() for c in clients))


async def settle(rig: LoadRig, meter: Meter) -> bool:
    """Until every call that joined has a ticket-or-outcome record (or SETTLE_TIMEOUT passed)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        meter.joined |= {e.get("Linkedid", "") for e in rig.tap.since(meter.mark) if e["Event"] == "QueueCallerJoin"}
        _, records, _ = await asyncio.to_thread(rig.per_call, meter.joined)
        if len(records) >= len(meter.joined):
            return True
        await asyncio.sleep(1)
    return False


def report(rig: LoadRig, meter: Meter, minutes: list[Minute], clients: list[WsClient], settled: bool) -> int:
    assert rig.callers is not None and rig.uas is not None
    callers, uas = rig.callers.counts(), rig.uas.counts()
    tickets, records, outcomes = rig.per_call(meter.joined)
    answered = {e.get("Linkedid", "") for e in rig.tap.since(0) if e["Event"] == "AgentConnect"}
    popped_calls = {lid for lid, _ in meter.popped}
    ours = [x for m in minutes for x in m.ours_ms]
    print()
    print(f"SIPp callers: {callers.get('OutgoingCall(C)', '?')} placed, {callers.get('SuccessfulCall(C)', '?')} "
          f"completed, {callers.get('FailedCall(C)', '?')} failed; SIPp agents (UAS): "
          f"{uas.get('SuccessfulCall(C)', '?')} answered and hung up, {uas.get('FailedCall(C)', '?')} failed")
    print(f"calls that joined the queue: {len(meter.joined)}; answered (AgentConnect): {len(answered)}; "
          f"outcomes {dict(outcomes)}")
    print(f"records with an outcome: {len(records)} (missing {len(meter.joined - set(records))}, duplicated "
          f"{sum(1 for n in records.values() if n > 1)}); tickets: {sum(tickets.values())} (answered calls "
          f"without one {len(answered - set(tickets))}, duplicated {sum(1 for n in tickets.values() if n > 1)})")
    print(f"pops: {len(meter.popped)} (calls popped {len(popped_calls)}, answered calls never popped "
          f"{len(answered - popped_calls)}, duplicated {meter.duplicate_pops}); our part over the run: "
          f"p50 {pct(ours, 50):.2f} ms, p99 {pct(ours, 99):.2f} ms, max {max(ours, default=float('nan')):.2f} ms")
    print(f"settled: {settled}; serve RSS peak {rig.serve_stats.hwm_mb():.1f} MB; WebSocket clients still open "
          f"{sum(c.alive for c in clients)}/{len(clients)}; serve log 'too slow' lines "
          f"{rig.log.read_text(errors='replace').count('too slow') if rig.log.exists() else 0}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rate", type=float, default=50, help="calls per second")
    p.add_argument("--minutes", type=float, default=5, help="minutes of calls")
    p.add_argument("--agents", type=int, default=200, help="agents (endpoints answered by the SIPp UAS)")
    p.add_argument("--answer-after", type=float, default=0.5, help="an agent's phone rings this long")
    p.add_argument("--talk", type=float, default=3, help="an agent hangs up this long after answering")
    p.add_argument("--max-wait", type=int, default=60, help="queue max wait (Asterisk times the caller out)")
    p.add_argument("--patience", type=float, default=120, help="caller hangs up this long after 5555 answered")
    args = p.parse_args()
    raise_nofile(8192)
    print(machine())
    print(f"{args.rate:g} calls/s for {args.minutes:g} min ({round(args.rate * args.minutes * 60)} calls) into "
          f"{args.agents} agents; ring {args.answer_after:g} s, talk {args.talk:g} s, wrap-up 0, queue max wait "
          f"{args.max_wait} s", flush=True)
    with sigterm_as_interrupt(), LoadRig(args) as rig:
        return run_rig(rig.log, run(rig, args))


if __name__ == "__main__":
    sys.exit(main())
