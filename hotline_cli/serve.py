"""`hotline serve`: run the web app (and the AMI bridge inside it) from HOTLINE_* settings.

Layer: edge. Settings come from the environment only, so several instances can
run side by side on other ports and databases.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_console.settings import Settings


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the web console and the AMI bridge (settings from HOTLINE_* environment)",
    )
    p.set_defaults(func=run_serve)


def stopped(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (`kill`, systemd, `hotline up` stopping): uvicorn catches it, shuts down
    gracefully (open requests, the writer's drain) and then raises it again with the handler
    it found, this one. Without it the default action ended the process there, before the
    interpreter's own clean-up: exit status -15 and "leaked semaphore objects" from the
    worker processes' pools on every stop. Now the process ends as any other: status 0."""
    raise SystemExit(0)


def serve_defaults(settings: Settings) -> Settings:
    """What `hotline serve` has on where the environment says nothing: the garbage
    collector's full passes at a quiet moment (agent_console/gc_quiet.py), which a test
    process building many apps keeps off."""
    if "gc_full_every" not in settings.model_fields_set:
        from agent_console.gc_quiet import FULL_EVERY

        return settings.model_copy(update={"gc_full_every": FULL_EVERY})
    return settings


def run_serve(_args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from agent_console.app import ConfigError, create_app
    from agent_console.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"hotline serve: bad HOTLINE_* setting:\n{exc}", file=sys.stderr)
        return 2
    settings = serve_defaults(settings)
    missing = [
        name
        for name, value in (
            ("HOTLINE_SESSION_SECRET", settings.session_secret),
            ("HOTLINE_AMI_SECRET", settings.ami_secret if settings.ami_enabled else "off"),
        )
        if not value
    ]
    if missing:
        print(
            "hotline serve: no secret has a default; set " + ", ".join(missing)
            + " (or set HOTLINE_AMI_ENABLED=false to run without a PBX)",
            file=sys.stderr,
        )
        return 2
    try:
        app = create_app(settings)
    except (ConfigError, ValueError) as exc:
        print(f"hotline serve: {exc}", file=sys.stderr)
        return 2
    from tickets.writer import GIL_SWITCH_INTERVAL

    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    # everything built so far lives as long as the process: keep it out of the
    # collector's full passes, which otherwise walk it and pause the loop
    gc.freeze()
    print(f"hotline serving on http://{settings.http_host}:{settings.http_port}/", flush=True)
    if settings.mail_listen and not settings.web_only:
        print(f"hotline mail intake on {settings.mail_listen}", flush=True)
    # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default, so any local
    # client could pick its address (and dodge the login throttle): proxies are
    # trusted only through HOTLINE_TRUSTED_PROXIES, in the app (agent_console/middleware.py).
    # No WebSocket message we read is larger than a few bytes.
    # No permessage-deflate: each socket compresses on its own (zlib keeps a context per
    # socket), so one broadcast to 1,000 consoles was 1,000 compressions of the same small
    # JSON on the loop; console messages are a few hundred bytes on a LAN.
    signal.signal(signal.SIGTERM, stopped)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level="warning",
                proxy_headers=False, ws_max_size=64 * 1024, ws_per_message_deflate=False)
    return 0
