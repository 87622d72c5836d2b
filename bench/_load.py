"""What the sustained-load benches share (bench_load.py: one site; bench_sites.py: three):
a private Asterisk whose agents are answered by one SIPp UAS, its callers, what the
database holds of the calls, and the Meter that cuts a run into minutes.

Not a benchmark itself. `LoadPbx` is one private Asterisk on free ports (tests.pbx_fixture's
ports and secrets, wrap-up 0, queue max wait --max-wait s) whose pjsip.conf gets, after the
project's own endpoints, one endpoint per extension (2001, 2002, ...) with a static contact:
every one is reached at ONE SIPp UAS process (sip:2001@127.0.0.1:<uas port>, ...), which
rings --answer-after s, answers, talks --talk s and hangs up (BYE). They are "registered"
by static contact, not by REGISTER: SIPp has no per-user registration, and Asterisk treats
a static contact like a registered one (device state Not in use, so the queue rings it).
All are queue members. Its AMI tap (bench/_live.TimedTap) stamps every event with
perf_counter on receipt; its callers are one SIPp process placing calls into 5555 at a
steady rate, all from one number, each waiting up to --patience s after 5555 answered.

`Meter` reads one such Asterisk's tap, the agents' pops and the database per minute:
  offered    caller channels Asterisk created (Newchannel of PJSIP/trunk-*, Uniqueid=Linkedid)
  joined     QueueCallerJoin    answered  AgentConnect
  tickets    tickets in the database created in that minute  records  call records that got
             their outcome in that minute (records with an outcome now, minus a minute ago: a
             record written late counts when it was written, as tickets do)
  pops       first call.ringing per (linkedid, agent) at these agents' clients
  ours p50/p99  AgentCalled (tap receipt) -> that agent's call.ringing (client receipt), ms
  serve CPU % of one core (its main process; + writer: its child processes), serve RSS MB,
  Asterisk CPU % of one core
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench._live import (
    Feed,
    ProcStats,
    SippRun,
    Tally,
    TimedTap,
    WsClient,
    caller_channel,
    login,
    open_client,
    pct,
    start_callers,
    stop_sipp,
    wait_members_free,
)
from hotline_cli import phones as sip_phones
from hotline_cli.asterisk import PbxConfig, PrivateAsterisk, new_agent_passwords
from hotline_cli.phones import free_udp_port
from tests.pbx_fixture import Pbx, free_tcp_port
from tickets.db import make_engine, session_factory
from tickets.models import CallRecord, Ticket

FIRST_AGENT = 2001
SETTLE_QUIET = 60.0  # seconds without a new record after which what is missing counts as lost
SETTLE_MOST = 600.0  # seconds the settling waits at the most, progress or not

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


def agents(n: int, first: int = FIRST_AGENT) -> list[str]:
    return [str(first + i) for i in range(n)]


def load_arguments(p: argparse.ArgumentParser, *, rate: float, minutes: float, agents: int, talk: float) -> None:
    """The options of a sustained-load bench, with its own defaults for the first four."""
    p.add_argument("--rate", type=float, default=rate, help="calls per second")
    p.add_argument("--minutes", type=float, default=minutes, help="minutes of calls")
    p.add_argument("--agents", type=int, default=agents, help="agents (endpoints answered by the SIPp UAS)")
    p.add_argument("--answer-after", type=float, default=0.5, help="an agent's phone rings this long")
    p.add_argument("--talk", type=float, default=talk, help="an agent hangs up this long after answering")
    p.add_argument("--max-wait", type=int, default=60, help="queue max wait (Asterisk times the caller out)")
    p.add_argument("--patience", type=float, default=120, help="caller hangs up this long after 5555 answered")


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
            f.write("\n; bench/_load.py: agents answered by one SIPp UAS (static contacts)\n" + "".join(blocks))


class LoadPbx:
    """One private Asterisk (site `site`) with `extensions` at one SIPp UAS, its AMI tap and,
    once `call` ran, its SIPp callers. `start(stack)` puts every stop on `stack`."""

    def __init__(self, args: argparse.Namespace, name: str, extensions: list[str], rtp: tuple[int, int],
                 site: str = "main") -> None:
        self.args, self.name, self.extensions, self.rtp, self.site = args, name, extensions, rtp, site
        self.uas: SippRun | None = None
        self.callers: SippRun | None = None
        self.stats: ProcStats | None = None

    def start(self, stack: ExitStack) -> None:
        a, uas_port = self.args, free_udp_port()
        config = PbxConfig(name=f"{self.name}-{os.getpid()}", ami_port=free_tcp_port(), sip_port=free_udp_port(),
                           rtp_start=self.rtp[0], rtp_end=self.rtp[1], trunk_peer_port=free_udp_port(),
                           ami_secret=secrets.token_urlsafe(12), agent_passwords=new_agent_passwords(),
                           queue_max_wait=a.max_wait, wrapup_time=0, members=tuple(self.extensions),
                           agi_port=free_tcp_port(), site=self.site)
        self.asterisk = LoadAsterisk(config, self.extensions, uas_port)
        stack.callback(shutil.rmtree, self.asterisk.outer, True)
        stack.callback(self.asterisk.stop)
        self.asterisk.start(timeout=60)
        self.tap = TimedTap(config.ami_port, config.ami_secret)
        stack.callback(self.tap.close)
        self.tap.wait_for(lambda e: e.get("Event") == "FullyBooted", timeout=10)
        pid = self.asterisk.pid()
        self.stats = ProcStats(pid) if pid else None
        stack.callback(self._stop_sipp)
        self.uas = self._start_uas(stack, uas_port)

    def _stop_sipp(self) -> None:
        stop_sipp([self.callers, self.uas])
        if self.callers is not None:
            self.callers.remove()

    @property
    def pbx(self) -> Pbx:
        """What tests.serve_process.serve needs to make `hotline serve` this Asterisk's bridge."""
        return Pbx(self.asterisk, self.tap)

    def describe(self) -> str:
        c = self.asterisk.config
        return (f"Asterisk pid {self.asterisk.pid()} (AMI {c.ami_port}, SIP {c.sip_port}), {len(self.extensions)} "
                f"agents {self.extensions[0]}-{self.extensions[-1]} at one SIPp UAS (port {self.asterisk.uas_port})")

    def _start_uas(self, stack: ExitStack, port: int) -> SippRun:
        prefix, outer, inner = sip_phones._sipp_prefix()
        tag = f"{os.getpid()}-{port}"
        xml = UAS_XML.replace("[answer_ms]", str(int(self.args.answer_after * 1000))).replace(
            "[talk_ms]", str(int(self.args.talk * 1000)))
        (outer / f"uas-{tag}.xml").write_text(xml)
        cmd = [*prefix, "-sf", str(inner / f"uas-{tag}.xml"), "-i", "127.0.0.1", "-p", str(port),
               "-mi", "127.0.0.1", "-mp", str(free_udp_port()), "-nostdin", "-trace_stat",
               "-stf", str(inner / f"stat-uas-{tag}.csv"), "-fd", "5"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        stack.callback(_remove, outer, f"*-{tag}*")
        return SippRun(proc, outer / f"stat-uas-{tag}.csv")

    def wait_members_free(self, timeout: float) -> None:
        wait_members_free(self.asterisk, len(self.extensions), timeout)

    def call(self, number: str) -> SippRun:
        """rate x minutes x 60 calls from `number` into 5555 at --rate/s."""
        a = self.args
        self.callers = start_callers(number, "Load Caller", self.asterisk.config.sip_port,
                                     round(a.rate * a.minutes * 60), a.rate, a.patience)
        return self.callers


class Counts:
    """What the database holds of a run's calls; with `site`, of that site's calls only."""

    def __init__(self, url: str, site: str | None = None) -> None:
        self.engine, self.site = make_engine(url), site
        self.db = session_factory(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def tickets_between(self, start: datetime, end: datetime) -> int:
        q = select(func.count()).select_from(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
        with self.db() as s:
            return int(s.scalar(q if self.site is None else q.where(Ticket.site == self.site)) or 0)

    def records(self) -> int:
        """Call records with an outcome (the call has ended and is written)."""
        q = select(func.count()).select_from(CallRecord).where(CallRecord.outcome.is_not(None))
        with self.db() as s:
            return int(s.scalar(q if self.site is None else q.where(CallRecord.site == self.site)) or 0)

    def per_call(self, linkedids: set[str]) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """(tickets per linkedid, records with an outcome per linkedid, outcomes) of these calls."""
        tq, rq = select(Ticket.linkedid), select(CallRecord.linkedid, CallRecord.outcome)
        if self.site is not None:
            tq, rq = tq.where(Ticket.site == self.site), rq.where(CallRecord.site == self.site)
        with self.db() as s:
            tickets = Counter(lid for (lid,) in s.execute(tq) if lid in linkedids)
            rows = s.execute(rq).all()
        records = Counter(lid for lid, outcome in rows if lid in linkedids and outcome)
        outcomes = Counter(outcome or "pending" for lid, outcome in rows if lid in linkedids)
        return tickets, records, outcomes


async def open_agents(base: str, extensions: list[str], feed: Feed) -> list[WsClient]:
    """One WebSocket client per agent (user agent<ext>) at `base`, logged in 2 at a time."""
    sem = asyncio.Semaphore(2)  # hotline serve checks 2 passwords at once (HOTLINE_LOGIN_WORKERS); more: 503
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:

        async def one(ext: str) -> WsClient:
            async with sem:
                cookie = await login(http, base, f"agent{ext}")
                return await open_client(base, cookie, f"agent{ext}", f"PJSIP/{ext}", feed)

        return list(await asyncio.gather(*(one(e) for e in extensions)))


@dataclass
class Minute(Tally):
    label: str
    offered: int = 0
    answered: int = 0
    records: int = 0

    @classmethod
    def total(cls, label: str, parts: list[Minute]) -> Minute:
        """Every count and CPU share summed, the latencies pooled, the RSS summed."""
        m = cls(label)
        for p in parts:
            m.offered, m.joined, m.answered = m.offered + p.offered, m.joined + p.joined, m.answered + p.answered
            m.tickets, m.records, m.pops = m.tickets + p.tickets, m.records + p.records, m.pops + p.pops
            m.ours_ms += p.ours_ms
            m.serve_cpu, m.writer_cpu = m.serve_cpu + p.serve_cpu, m.writer_cpu + p.writer_cpu
            m.serve_rss, m.ast_cpu = m.serve_rss + p.serve_rss, m.ast_cpu + p.ast_cpu
        return m


class Meter:
    """Cuts a run into minutes: what one Asterisk's tap, its agents' clients (those of the
    shared feed whose endpoint is one of `pbx`'s) and the database saw in each; `serve` is
    the bridge following that Asterisk."""

    def __init__(self, pbx: LoadPbx, counts: Counts, feed: Feed, serve: ProcStats) -> None:
        self.pbx, self.counts, self.feed, self.serve = pbx, counts, feed, serve
        self.endpoints = {f"PJSIP/{e}" for e in pbx.extensions}
        self.mark, self.pop_mark = pbx.tap.mark(), 0
        self.called: dict[tuple[str, str], float] = {}
        self.popped: set[tuple[str, str]] = set()
        self.duplicate_pops = 0
        self.wrong_site_pops = 0  # pops whose frame names another site than this Asterisk's
        self.joined: set[str] = set()
        self.ours_ms: list[float] = []  # every pop's, over the run
        self.records = counts.records()
        self.cpu, self.writer, self.ast = self._cpu()
        self.since, self.t = datetime.now(UTC), time.monotonic()

    def _cpu(self) -> tuple[float, float, float]:
        ast = self.pbx.stats.cpu_seconds() if self.pbx.stats else 0.0
        return self.serve.cpu_seconds(), self.serve.children_cpu_seconds(), ast

    def _events(self, m: Minute) -> None:
        events = self.pbx.tap.since(self.mark)
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

    def _pops(self, m: Minute) -> None:
        pops = self.feed.pops[self.pop_mark:]
        self.pop_mark += len(pops)
        for p in pops:
            key = (p.linkedid, p.endpoint)
            if p.endpoint not in self.endpoints:
                continue
            if key in self.popped:
                self.duplicate_pops += 1
                continue
            self.popped.add(key)
            self.wrong_site_pops += p.site != self.pbx.site
            m.pops += 1
            if key in self.called:
                m.ours_ms.append((p.t - self.called[key]) * 1000)
                self.ours_ms.append(m.ours_ms[-1])

    async def minute(self, label: str) -> Minute:
        m = Minute(label)
        self._events(m)
        self._pops(m)
        now, t = datetime.now(UTC), time.monotonic()
        m.tickets = await asyncio.to_thread(self.counts.tickets_between, self.since, now)
        records = await asyncio.to_thread(self.counts.records)
        m.records, self.records = records - self.records, records
        cpu, writer, ast = self._cpu()
        span = t - self.t
        m.serve_cpu, m.writer_cpu, m.ast_cpu = (100 * (cpu - self.cpu) / span, 100 * (writer - self.writer) / span,
                                                100 * (ast - self.ast) / span)
        m.serve_rss = self.serve.rss_mb()
        self.cpu, self.writer, self.ast, self.since, self.t = cpu, writer, ast, now, t
        return m

    async def unrecorded(self) -> int:
        """How many calls that joined so far have no record with an outcome yet."""
        self.joined |= {e.get("Linkedid", "") for e in self.pbx.tap.since(self.mark)
                        if e["Event"] == "QueueCallerJoin"}
        _, records, _ = await asyncio.to_thread(self.counts.per_call, self.joined)
        return len(self.joined - set(records))

    def totals(self, prefix: str = "") -> list[str]:
        """SIPp's own counts and, of the calls that joined, those without a record, a ticket
        or a pop and those with two: the report's lines (each led by `prefix`)."""
        assert self.pbx.callers is not None and self.pbx.uas is not None
        callers, uas = self.pbx.callers.counts(), self.pbx.uas.counts()
        tickets, records, outcomes = self.counts.per_call(self.joined)
        answered = {e.get("Linkedid", "") for e in self.pbx.tap.since(0) if e["Event"] == "AgentConnect"}
        popped_calls = {lid for lid, _ in self.popped}
        ours = self.ours_ms
        return [prefix + line for line in (
            f"SIPp callers: {callers.get('OutgoingCall(C)', '?')} placed, {callers.get('SuccessfulCall(C)', '?')} "
            f"completed, {callers.get('FailedCall(C)', '?')} failed; SIPp agents (UAS): "
            f"{uas.get('SuccessfulCall(C)', '?')} answered and hung up, {uas.get('FailedCall(C)', '?')} failed",
            f"calls that joined the queue: {len(self.joined)}; answered (AgentConnect): {len(answered)}; "
            f"outcomes {dict(outcomes)}",
            f"records with an outcome: {len(records)} (missing {len(self.joined - set(records))}, duplicated "
            f"{sum(1 for n in records.values() if n > 1)}); tickets: {sum(tickets.values())} (answered calls "
            f"without one {len(answered - set(tickets))}, duplicated {sum(1 for n in tickets.values() if n > 1)})",
            f"pops: {len(self.popped)} (calls popped {len(popped_calls)}, answered calls never popped "
            f"{len(answered - popped_calls)}, duplicated {self.duplicate_pops}, naming another site "
            f"{self.wrong_site_pops}); our part over the run: p50 {pct(ours, 50):.2f} ms, "
            f"p99 {pct(ours, 99):.2f} ms, max {max(ours, default=float('nan')):.2f} ms")]


async def settle(meters: list[Meter]) -> bool:
    """Until every call that joined at any meter's Asterisk has a record with an outcome:
    True. False once SETTLE_QUIET s passed without a new record (what is missing then is
    lost, not late) or SETTLE_MOST s in all (still coming: late, perhaps lost)."""
    start = progress = time.monotonic()
    least: int | None = None
    while True:
        left = sum([await m.unrecorded() for m in meters])
        now = time.monotonic()
        if left == 0:
            return True
        if least is None or left < least:
            least, progress = left, now
        if now - progress > SETTLE_QUIET or now - start > SETTLE_MOST:
            print(f"not settled after {now - start:.0f} s: {left} call(s) without a record, the last new one "
                  f"{now - progress:.0f} s ago", flush=True)
            return False
        await asyncio.sleep(1)


MINUTE_HEADER = (f"{'min':>7} {'offered':>7} {'joined':>6} {'answered':>8} {'tickets':>7} {'records':>7} {'pops':>5} "
                 f"{'ours p50':>8} {'p99 ms':>7} {'max':>7} {'serve CPU%':>10} {'+writer':>7} {'RSS MB':>7} "
                 f"{'ast CPU%':>8}")


def print_minute(m: Minute, header: bool = False) -> None:
    if header:
        print(MINUTE_HEADER, flush=True)
    print(f"{m.label:>7} {m.offered:>7} {m.joined:>6} {m.answered:>8} {m.tickets:>7} {m.records:>7} {m.pops:>5} "
          f"{pct(m.ours_ms, 50):>8.2f} {pct(m.ours_ms, 99):>7.2f} {max(m.ours_ms, default=float('nan')):>7.2f} "
          f"{m.serve_cpu:>10.0f} {m.writer_cpu:>7.0f} {m.serve_rss:>7.1f} {m.ast_cpu:>8.0f}", flush=True)
