"""`hotline up`: bring the whole hotline up — Asterisk, demo agents' phones,
database with demo data when empty, and the web server — and say how to use it.

Layer: edge (the one place that starts everything for a person at a terminal).
Secrets are generated once into the state folder; nothing has a default, and
none is printed: the screen shows the logins' names and roles and the path of
the 0600 file that holds their passwords.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

from sqlalchemy import select

from hotline_cli.asterisk import AMI_USERNAME, PrivateAsterisk
from hotline_cli.demo import logins_overview, write_demo_logins
from hotline_cli.pbx_root import PbxSetupError
from hotline_cli.sites import DEMO_SITES, site_pbx
from hotline_cli.state import load_or_create_secret, state_dir
from tickets.demo import DEMO_FOCUS_TEAMS

DEMO_PHONES = ("1001", "1002", "1003")
MAIL_LISTEN = "127.0.0.1:2525"
MAIL_SINK = "127.0.0.1:2526"  # `hotline mail-sink`: the demo's callers' mails, as .eml files
SITES_REDIS = "redis://127.0.0.1:6379/0"  # `--sites N` without HOTLINE_REDIS_URL: the local Redis


def add_up_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help="bring everything up: Asterisk, demo phones, database, server")
    p.add_argument("--http-port", type=int, default=int(os.environ.get("HOTLINE_HTTP_PORT", 8000)))
    p.add_argument("--no-phones", action="store_true", help="do not start demo softphones")
    p.add_argument("--sites", type=int, default=1, choices=range(1, len(DEMO_SITES) + 1),
                   help="sites main, b, c: each its own Asterisk (trunked), phones and bridge (default 1)")
    p.add_argument("--answer-after", type=float, default=4.0,
                   help="seconds the demo phones ring before answering")
    p.set_defaults(func=run_up)


@contextlib.contextmanager
def demo_phones(agents: tuple[str, ...], sip_port: int, passwords: dict[str, str],
                answer_after: float) -> Iterator[list[subprocess.Popen[str]]]:
    """One softphone per agent, each registering with that agent's own SIP password."""
    procs: list[subprocess.Popen[str]] = []
    try:
        for agent in agents:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hotline_cli.main", "phone", "--agent", agent,
                 "--sip-port", str(sip_port), "--answer-after", str(answer_after)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            assert proc.stdin and proc.stdout
            proc.stdin.write(passwords[agent] + "\n")
            proc.stdin.close()
            print(f"  {proc.stdout.readline().strip()}")
            procs.append(proc)
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # e.g. unregistering from an Asterisk already stopped
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


@contextlib.contextmanager
def mail_sink() -> Iterator[None]:
    """The local sink for the demo's callers' mails, unless a real HOTLINE_SMTP_URL is set."""
    if "HOTLINE_SMTP_URL" in os.environ:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-m", "hotline_cli.main", "mail-sink", "--listen", MAIL_SINK],
                            stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _server_env(http_port: int, ami_port: int, ami_secret: str, queue_log: str) -> dict[str, str]:
    folder = state_dir()
    env = dict(os.environ)
    env.setdefault("HOTLINE_DATABASE_URL", f"sqlite:///{folder / 'hotline.db'}")
    env.setdefault("HOTLINE_MAIL_LISTEN", MAIL_LISTEN)  # mail in, on loopback (a site's MTA forwards to it)
    env.setdefault("HOTLINE_SMTP_URL", f"smtp://{MAIL_SINK}")  # callers' mails into the local sink
    env.update(
        HOTLINE_AMI_HOST="127.0.0.1", HOTLINE_AMI_PORT=str(ami_port),
        HOTLINE_AMI_USERNAME=AMI_USERNAME, HOTLINE_AMI_SECRET=ami_secret,
        HOTLINE_HTTP_PORT=str(http_port), HOTLINE_QUEUE_LOG=queue_log,
        HOTLINE_SESSION_SECRET=load_or_create_secret("session_secret", folder),
    )
    env.setdefault("HOTLINE_FOCUS_TEAMS", DEMO_FOCUS_TEAMS)
    return env


def _member_penalties(pbx: PrivateAsterisk, env: dict[str, str]) -> None:
    """The demo agents Asterisk logged in get their focus-team penalty (what a queue
    login from the console sets), so routing shows in the demo at once."""
    from tickets.db import make_engine, session_factory
    from tickets.models import User
    from tickets.routing import member_penalty, parse_teams
    from tickets.users import user_view

    engine = make_engine(env["HOTLINE_DATABASE_URL"])
    try:
        with session_factory(engine)() as s:
            here = select(User).where(User.endpoint.is_not(None), User.site == pbx.config.site)  # its phones
            users = [user_view(u) for u in s.scalars(here)]
    finally:
        engine.dispose()
    teams = parse_teams(env.get("HOTLINE_FOCUS_TEAMS", ""))
    for user in users:
        if user.extension in pbx.config.members:
            penalty = member_penalty(user.teams, user.languages, teams)
            pbx.cli(f"queue set penalty {penalty} on {user.endpoint} in hotline")


def sites_bus(sites: int) -> str | None:
    """Several sites are one hotline only over one Redis: every site's bridge and page
    shares its live state there (without it each page shows the other sites as down).
    Sets HOTLINE_REDIS_URL for the servers (the local Redis unless set); the problem, or None."""
    if sites < 2:
        return None
    import redis

    url = os.environ.get("HOTLINE_REDIS_URL") or SITES_REDIS
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except (redis.RedisError, ValueError) as exc:
        return (f"several sites share their live state over Redis, and none answers at {url} ({exc}); "
                "start one (Debian: apt-get install redis-server) or set HOTLINE_REDIS_URL")
    os.environ["HOTLINE_REDIS_URL"] = url
    return None


def run_up(args: argparse.Namespace) -> int:
    problem = sites_bus(args.sites)
    if problem:
        print(f"hotline up: {problem}", file=sys.stderr)
        return 1
    try:
        pbx, *others = (site_pbx(name, args.sites) for name in DEMO_SITES[: args.sites])
        for each in (pbx, *others):
            each.start()
    except (PbxSetupError, ValueError) as exc:  # ValueError: a HOTLINE_* setting
        print(f"hotline up: {exc}", file=sys.stderr)
        return 1
    c = pbx.config
    print(f"Asterisk 22 up: dial 5555 on SIP 127.0.0.1:{c.sip_port}, AMI 127.0.0.1:{c.ami_port}")
    phones = () if args.no_phones else DEMO_PHONES
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with demo_phones(phones, c.sip_port, c.agent_passwords, args.answer_after), mail_sink(), \
            contextlib.ExitStack() as sites:
        sites_up = DEMO_SITES[: args.sites]
        server = _start_server(args.http_port, c.ami_port, c.ami_secret, str(pbx.queue_log), pbx, sites_up)
        for index, other in enumerate(others, 1):
            _start_site(sites, other, args.http_port + index, phones, args.answer_after, server is not None)
        _print_howto(args.http_port, phones, server is not None, os.environ.get("HOTLINE_MAIL_LISTEN", MAIL_LISTEN),
                     sites_up)
        try:  # until Ctrl-C, SIGTERM (`kill`, systemd) or the server's own end
            while not stop.wait(0.5):
                if server is not None and server.poll() is not None:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None:
                stop_server(server)
    print("stopped the phones and the server; Asterisk keeps running (`hotline asterisk down`)")
    return 0


def _start_site(stack: contextlib.ExitStack, pbx: PrivateAsterisk, http_port: int, phones: tuple[str, ...],
                answer_after: float, serving: bool) -> None:
    """Another site (`--sites N`): its phones and its own bridge (`hotline serve` with
    HOTLINE_SITE and this site's AMI, FastAGI and HTTP ports) on the one database."""
    c = pbx.config
    print(f"Site {c.site}: dial 5555 on SIP 127.0.0.1:{c.sip_port}, AMI 127.0.0.1:{c.ami_port}"
          + (f", web http://127.0.0.1:{http_port}/" if serving else ""))
    stack.enter_context(demo_phones(phones, c.sip_port, c.agent_passwords, answer_after))
    if not serving:
        return
    env = _server_env(http_port, c.ami_port, c.ami_secret, str(pbx.queue_log))
    env.update(HOTLINE_SITE=c.site, HOTLINE_AGI_PORT=str(c.agi_port), HOTLINE_MAIL_LISTEN="",
               HOTLINE_FAX_SPOOL=str(pbx.fax_spool))
    proc = stack.enter_context(subprocess.Popen([sys.executable, "-m", "hotline_cli.main", "serve"], env=env))
    stack.callback(stop_server, proc)


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM, then wait for its graceful shutdown (the writer drains what it holds) before
    the phones and Asterisk go; killed only if it has not ended within `timeout` s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"hotline up: the server (pid {proc.pid}) did not stop within {timeout:.0f} s; killed it",
              file=sys.stderr)
        proc.kill()
        proc.wait()


def _start_server(http_port: int, ami_port: int, secret: str, queue_log: str,
                  pbx: PrivateAsterisk, sites: tuple[str, ...] = ("main",)) -> subprocess.Popen[bytes] | None:
    env = _server_env(http_port, ami_port, secret, queue_log)
    env.setdefault("HOTLINE_FAX_SPOOL", str(pbx.fax_spool))  # faxes to the fax number become tickets
    for step in (["db", "upgrade"], ["demo", "seed", "--no-logins", "--sites", ",".join(sites)]):
        done = subprocess.run([sys.executable, "-m", "hotline_cli.main", *step], env=env, check=False)
        if done.returncode != 0:
            print(f"hotline up: `hotline {' '.join(step)}` failed; not starting the server", file=sys.stderr)
            return None
    _member_penalties(pbx, env)
    proc = subprocess.Popen([sys.executable, "-m", "hotline_cli.main", "serve"], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", http_port)) == 0:
                return proc
        time.sleep(0.2)
    print("hotline up: the server did not start (see above)", file=sys.stderr)
    stop_server(proc)
    return None


def _print_howto(http_port: int, phones: tuple[str, ...], serving: bool, mail_listen: str = "",
                 sites: tuple[str, ...] = ("main",)) -> None:
    print()
    if serving:
        logins = write_demo_logins(sites=sites)
        print(f"Open http://127.0.0.1:{http_port}/ and log in as one of the demo users;")
        print(f"their passwords are in {logins} (readable only by you):")
        for line in logins_overview(sites):
            print(f"  {line}")
        if len(sites) > 1:
            print(f"An agent of site b or c logs in at that site's page (port {http_port + 1} for b, and so on);"
                  " supervisors see every site on any page.")
    if phones:
        print(f"Demo agents' phones {', '.join(phones)} answer after a few seconds of ringing.")
    print('Place a call:  .venv/bin/hotline call --from "0341 2538-5555" --name "Erika Mustermann"')
    if serving and mail_listen:
        print(f"Mail to the desk: SMTP {mail_listen} (any recipient) makes an e-mail ticket, e.g.")
        print(f"  swaks --server {mail_listen} --from you@example.org --to desk@example.org")
    if serving and "HOTLINE_SMTP_URL" not in os.environ:
        print(f"Mails to callers are not sent out: they are kept as .eml files in {state_dir() / 'mail'}")
    if serving:
        print(f"Faxes to {os.environ.get('HOTLINE_FAX_NUMBER', '5556')} on the trunk become fax tickets (PDF).")
        print(f"The web form for callers (no login): http://127.0.0.1:{http_port}/request")
    print("Stop with Ctrl-C.")
