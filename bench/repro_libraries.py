"""Reproduce the asterisk-ami 0.1.7 and panoramisk 1.4 failures cited in cti/README.md ("Why our own client").

Run: .venv/bin/python bench/repro_libraries.py   (about 20 s; exits 0 whatever the verdicts)

Each library talks to a small fake AMI server started in this process (a thread per connection on
127.0.0.1: greeting `Asterisk Call Manager/9.0.0`, answers Login with Success + FullyBooted, Ping with
Pong, Originate with "Originate successfully queued" like Asterisk's manager.c, plus OriginateResponse
when Async is true). Both libraries run with their default settings unless a line says otherwise.
Every claim gets a verdict line, REPRODUCED or NOT REPRODUCED, followed by what actually happened.

asterisk-ami 0.1.7 (blocking socket, reader thread AMIClient.listen, socket timeout 3 s by default):
  1a  connect + login, 8 s without traffic, then one event: is it delivered, is the reader alive?
  1b  the same with AutoReconnect (defaults) while the server answers pings;
  1c  the same with AutoReconnect while the server stalls (ignores pings) for the 8 s, then recovers;
  1d  an event ending in an extra blank line, then an event, then another event;
  1e  a listener that raises, then two events.
panoramisk 1.4 (asyncio.Protocol AMIProtocol.data_received):
  2a  Originate without Async, answered "Originate successfully queued" (control: with Async: true);
  2b  an event whose CallerIDName "Jürgen" has the two bytes of "ü" split across two TCP writes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GREETING = b"Asterisk Call Manager/9.0.0\r\n"
USER, SECRET = "hotline", "s3cret"
SILENCE = 8.0


def frame(*pairs: tuple[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()


def event(name: str, **fields: str) -> bytes:
    return frame(("Event", name), *fields.items())


def verdict(tag: str, claim: str, reproduced: bool, details: list[str]) -> bool:
    print(f"[{tag}] {claim}: {'REPRODUCED' if reproduced else 'NOT REPRODUCED'}")
    for line in details:
        print(f"      {line}")
    sys.stdout.flush()
    return reproduced


def where(exc: BaseException, package: str) -> list[str]:
    """The frames of exc's traceback inside package, outermost first, as file:line function: source."""
    return [f"{Path(f.filename).name}:{f.lineno} {f.name}: {f.line}"
            for f in traceback.extract_tb(exc.__traceback__) if f"{package}/" in f.filename.replace("\\", "/")]


# --------------------------------------------------------------------------- fake AMI server


@dataclass
class Conn:
    number: int
    sock: socket.socket
    opened: float = field(default_factory=time.monotonic)
    actions: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    logged_in: bool = False
    closed_by_client: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, data: bytes) -> None:
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the client went away; what it saw is what the scenario reports

    def names(self, since: float = 0.0) -> list[str]:
        return [a.get("Action", "?") for t, a in self.actions if t >= since]


class FakeAmi:
    """A blocking fake AMI server: one thread accepts, one thread per connection answers actions."""

    def __init__(self) -> None:
        self.answer_pings = True
        self.conns: list[Conn] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # closed
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each write is its own segment
            conn = Conn(len(self.conns) + 1, sock)
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Conn) -> None:
        conn.write(GREETING)
        buf = b""
        while True:
            try:
                data = conn.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                conn.closed_by_client = True
                return
            buf += data
            while b"\r\n\r\n" in buf:
                raw, buf = buf.split(b"\r\n\r\n", 1)
                msg = dict(line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line)
                conn.actions.append((time.monotonic(), msg))
                self._answer(conn, msg)

    def _answer(self, conn: Conn, msg: dict[str, str]) -> None:
        action, aid = msg.get("Action", ""), msg.get("ActionID", "")
        if action == "Login":
            ok = msg.get("Secret") == SECRET
            conn.write(frame(("Response", "Success" if ok else "Error"), ("ActionID", aid),
                             ("Message", "Authentication accepted" if ok else "Authentication failed")))
            if ok:
                conn.logged_in = True
                conn.write(event("FullyBooted", Privilege="system,all", Uptime="100", Status="Fully Booted"))
        elif action == "Ping":
            if self.answer_pings:
                conn.write(frame(("Response", "Success"), ("ActionID", aid), ("Ping", "Pong"),
                                 ("Timestamp", f"{time.time():.6f}")))
        elif action == "Originate":
            # manager.c answers a queued Originate like this, Async or not
            conn.write(frame(("Response", "Success"), ("ActionID", aid), ("Message", "Originate successfully queued")))
            if msg.get("Async", "").lower() in ("true", "yes", "1"):
                conn.write(event("OriginateResponse", ActionID=aid, Response="Success", Channel=msg.get("Channel", ""),
                                 Reason="4", Uniqueid="1700000000.1"))
        elif action == "Logoff":
            conn.write(frame(("Response", "Goodbye"), ("ActionID", aid), ("Message", "Thanks for all the fish.")))
        else:
            conn.write(frame(("Response", "Success"), ("ActionID", aid), ("Message", "ok")))

    def send(self, data: bytes) -> None:
        """Write data to every logged-in connection the client has not closed."""
        for conn in list(self.conns):
            if conn.logged_in and not conn.closed_by_client:
                conn.write(data)

    def close(self) -> None:
        self._listener.close()
        for conn in self.conns:
            try:
                conn.sock.close()
            except OSError:
                pass


def wait_for(cond: Callable[[], object], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


# --------------------------------------------------------------------------- asterisk-ami 0.1.7


@dataclass
class AmiRun:
    """One asterisk-ami client on its own fake server, with everything its callbacks saw."""

    server: FakeAmi
    client: Any
    auto: Any = None
    t0: float = 0.0
    events: list[tuple[float, str]] = field(default_factory=list)
    disconnects: list[tuple[float, BaseException | None]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    reconnects: int = 0
    login_status: str = ""

    def at(self, t: float) -> str:
        return f"{t - self.t0:.1f} s"

    def reader_alive(self) -> bool:
        return bool(self.client._thread and self.client._thread.is_alive())

    def delivered(self, name: str) -> bool:
        return any(n == name for _, n in self.events)

    def death(self) -> str:
        if not self.disconnects:
            return "no on_disconnect"
        t, err = self.disconnects[0]
        return f"on_disconnect(error={err!r}) {self.at(t)} after login"

    def stop(self) -> None:
        if self.auto is not None and self.auto.finished is not None:
            self.auto.finished.set()
        self.client.disconnect()
        self.server.close()


def ami_start(auto_reconnect: bool = False) -> AmiRun:
    from asterisk.ami import AMIClient, AutoReconnect

    server = FakeAmi()
    run = AmiRun(server, AMIClient(address="127.0.0.1", port=server.port))  # library defaults: timeout=3
    run.client.add_listener(
        on_disconnect=lambda source, error=None: run.disconnects.append((time.monotonic(), error)),
        on_unknown=lambda source, pack: run.unknown.append(pack),
    )
    run.client.add_event_listener(lambda event, source: run.events.append((time.monotonic(), event.name)))
    if auto_reconnect:
        def on_reconnect(*_: object) -> None:
            run.reconnects += 1

        run.auto = AutoReconnect(run.client, on_reconnect=on_reconnect)  # default delay 0.5 s
    run.t0 = time.monotonic()
    response = run.client.login(username=USER, secret=SECRET).response
    run.login_status = response.status if response is not None else "no response"
    return run


def ami_silence() -> list[bool]:
    plain = ami_start()
    auto_ok = ami_start(auto_reconnect=True)
    auto_stall = ami_start(auto_reconnect=True)
    auto_stall.server.answer_pings = False  # Asterisk busy/stalled: the TCP connection stays up, nothing comes back
    runs = (plain, auto_ok, auto_stall)
    time.sleep(SILENCE)
    alive_after_silence = [r.reader_alive() for r in runs]
    auto_stall.server.answer_pings = True  # Asterisk is fine again
    t_event = time.monotonic()
    for r in runs:
        r.server.send(event("Newchannel", Channel="PJSIP/100-00000001", CallerIDNum="100", Linkedid="1.1"))
    time.sleep(4.0)  # the delivery itself takes milliseconds; the rest shows what AutoReconnect does next
    results = []

    r = plain
    results.append(verdict(
        "1a", "asterisk-ami: reader thread dies after a few seconds without traffic",
        not alive_after_silence[0] and not r.delivered("Newchannel"),
        [f"login: {r.login_status}; then {SILENCE:.0f} s with no traffic (plain AMIClient, default timeout=3)",
         f"reader thread alive after the silence: {alive_after_silence[0]}; {r.death()}",
         f"Newchannel sent {r.at(t_event)} after login: delivered to the listener: {r.delivered('Newchannel')}",
         f"the client keeps the reader-less socket open: closed by the client: "
         f"{r.server.conns[0].closed_by_client}; server connections: {len(r.server.conns)}"],
    ))

    r = auto_ok
    pings = r.server.conns[0].names().count("Ping")
    results.append(verdict(
        "1b", "asterisk-ami + AutoReconnect, server answering pings: reader dies after silence",
        not alive_after_silence[1],
        [f"AutoReconnect (delay 0.5 s) pinged {pings} times during the run and every Pong was traffic, so the "
         f"3 s socket timeout never fired",
         f"reader thread alive after the silence: {alive_after_silence[1]}; {r.death()}",
         f"Newchannel sent {r.at(t_event)} after login: delivered: {r.delivered('Newchannel')}",
         "=> the silence kills the reader only when nothing at all arrives for 3 s (1a, 1c)"],
    ))

    r = auto_stall
    conn = r.server.conns[0]
    timeline = ", ".join(f"{a.get('Action')}@{r.at(t)}" for t, a in conn.actions)
    logins_after = conn.names(since=r.t0 + 0.01).count("Login")
    results.append(verdict(
        "1c", "asterisk-ami AutoReconnect loops on the dead socket after the reader died",
        not r.reader_alive() and len(r.server.conns) == 1 and logins_after >= 2 and not r.delivered("Newchannel"),
        [f"server ignored pings for the first {SILENCE:.0f} s, then answered everything again",
         f"reader thread alive after the silence: {alive_after_silence[2]}, at the end: {r.reader_alive()}; "
         f"{r.death()}",
         f"actions received on connection 1 (time after login): {timeline}",
         f"re-Logins on the same, reader-less socket: {logins_after} (all answered Success, none read); "
         f"new connections opened: {len(r.server.conns) - 1}; on_reconnect calls: {r.reconnects}",
         f"Newchannel sent {r.at(t_event)} after login, once the server had recovered: "
         f"delivered: {r.delivered('Newchannel')}"],
    ))
    for r in runs:
        r.stop()
    return results


def ami_extra_blank_line() -> bool:
    r = ami_start()
    r.server.send(event("Hangup", Channel="PJSIP/100-00000001", Linkedid="1.1") + b"\r\n")  # one blank line too many
    time.sleep(0.1)
    r.server.send(event("Newchannel", Channel="PJSIP/100-00000002", Linkedid="2.2"))
    time.sleep(0.1)
    r.server.send(event("Newstate", Channel="PJSIP/100-00000002", Linkedid="2.2"))
    wait_for(lambda: len(r.events) >= 3, 1.0)
    got = [n for _, n in r.events]
    r.stop()
    return verdict(
        "1d", "asterisk-ami drops the event that follows a message ending in an extra blank line",
        "Newchannel" not in got,
        ["sent: Hangup + an extra \\r\\n, then Newchannel, then Newstate",
         f"events delivered to the listener: {got}",
         f"on_unknown got: {r.unknown!r} (the pack starts with \\r\\n, so '^Event: ' does not match)"],
    )


def ami_raising_listener() -> bool:
    def boom(event: Any, source: Any) -> None:
        raise RuntimeError(f"listener bug on {event.name}")

    r = ami_start()
    wait_for(lambda: r.delivered("FullyBooted"), 1.0)
    r.client.add_event_listener(boom)  # after login, behind the recording listener
    r.server.send(event("Newchannel", Channel="PJSIP/100-00000001", Linkedid="1.1"))
    time.sleep(0.3)
    r.server.send(event("Newstate", Channel="PJSIP/100-00000001", Linkedid="1.1"))
    time.sleep(0.5)
    got = [n for _, n in r.events]
    alive = r.reader_alive()
    r.stop()
    return verdict(
        "1e", "asterisk-ami: a listener that raises kills the reader thread",
        not alive and "Newstate" not in got,
        ["after login: a recording listener, then one that raises RuntimeError; sent Newchannel, then Newstate",
         f"events the recording listener got: {got}",
         f"reader thread alive: {alive}; {r.death()}"],
    )


# --------------------------------------------------------------------------- panoramisk 1.4


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


async def until(cond: Callable[[], object], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not cond():  # noqa: ASYNC110  (polls state the libraries own; no event to await)
        await asyncio.sleep(0.02)
    return bool(cond())


async def panoramisk_all() -> list[bool]:
    from panoramisk import Manager

    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    log = logging.getLogger("panoramisk")
    capture = Capture()
    log.addHandler(capture)
    log.setLevel(logging.INFO)
    log.propagate = False

    server = FakeAmi()
    logins: list[float] = []
    disconnects: list[object] = []
    names: list[str] = []
    manager = Manager(host="127.0.0.1", port=server.port, username=USER, secret=SECRET, loop=loop,
                      on_login=lambda m: logins.append(time.monotonic()),
                      on_disconnect=lambda m, exc: disconnects.append(exc))  # defaults otherwise
    manager.register_event("Newchannel", lambda m, ev: names.append(ev["CallerIDName"]))
    manager.connect()
    await until(lambda: logins, 3)
    results = []

    # 2a: Originate with Async: true (control), then the same without Async
    base = {"Action": "Originate", "Channel": "PJSIP/100", "Context": "from-internal", "Exten": "200",
            "Priority": "1", "CallerID": "hotline <200>"}
    control = manager.send_action(dict(base, Async="true"))
    try:
        msgs = await asyncio.wait_for(asyncio.shield(control), 2)
        control_result = "resolved: " + ", ".join(m.event or f"Response {m.response} ({m.message})" for m in msgs)
    except TimeoutError:
        control_result = "no result within 2 s"
    t_send = time.monotonic()
    originate = manager.send_action(dict(base))
    await until(lambda: len(logins) >= 2, 5)  # reconnect_timeout is 2 s
    fatal = [c for c in loop_errors if isinstance(c.get("exception"), Exception)]
    exc = fatal[0]["exception"] if fatal else None
    first, new = server.conns[0], server.conns[1:]
    resent = any("Originate" in c.names() for c in new)
    results.append(verdict(
        "2a", "panoramisk: Originate without Async raises inside data_received and drops the connection",
        exc is not None and first.closed_by_client,
        [f"control, Async: true: future {control_result}",
         "without Async, the server answers: Response: Success / Message: Originate successfully queued",
         f"loop exception handler: {fatal[0]['message'] if fatal else 'nothing'}",
         f"exception: {type(exc).__name__}: {exc}" if exc else "exception: none",
         *(["traceback inside panoramisk:"] + [f"  {f}" for f in where(exc, "panoramisk")] if exc else []),
         f"connection 1 closed by the client: {first.closed_by_client}; on_disconnect got: "
         f"{[repr(d) for d in disconnects]}",
         f"reconnected: {len(new)} new connection(s) after {logins[-1] - t_send:.1f} s, actions on it: "
         f"{new[0].names() if new else []}; the Originate re-sent: {resent}",
         f"Originate future {time.monotonic() - t_send:.1f} s after sending: done={originate.done()} "
         "(the caller never learns the call was queued)",
         f"panoramisk log: {capture.lines}"],
    ))

    # 2b: UTF-8 split across reads, on the reconnected connection (an unsplit copy first, as control)
    whole = event("Newchannel", Channel="PJSIP/100-00000001", CallerIDName="Jürgen", Linkedid="1.1")
    server.send(whole)
    await until(lambda: names, 1)
    cut = whole.index("ü".encode()) + 1  # between 0xC3 and 0xBC
    server.send(whole[:cut])
    await asyncio.sleep(0.2)
    server.send(whole[cut:])
    await until(lambda: len(names) >= 2, 1)
    results.append(verdict(
        "2b", "panoramisk: UTF-8 characters split across TCP reads are dropped",
        len(names) == 2 and names[1] != "Jürgen",
        [f"unsplit event: CallerIDName={names[0] if names else None!r}",
         f"same event written as ...{whole[:cut][-3:]!r} | {whole[cut:][:3]!r}... 0.2 s apart: "
         f"CallerIDName={names[1] if len(names) > 1 else None!r}",
         "(data_received decodes each read by itself with errors='ignore', so both halves of 'ü' vanish)"],
    ))
    manager.close()
    server.close()
    return results


def main() -> None:
    from importlib.metadata import version

    print(f"asterisk-ami {version('asterisk-ami')}, panoramisk {version('panoramisk')}, "
          f"Python {sys.version.split()[0]}; fake AMI server on 127.0.0.1\n")
    results = ami_silence()
    results.append(ami_extra_blank_line())
    results.append(ami_raising_listener())
    results += asyncio.run(panoramisk_all())
    print(f"\n{sum(results)} of {len(results)} checks reproduced (1b is the AutoReconnect case whose pings keep "
          "the socket busy; 1a and 1c are the silence failures)")


if __name__ == "__main__":
    main()
