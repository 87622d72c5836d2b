"""`hotline serve`: run the web app (and the AMI bridge inside it) from HOTLINE_* settings.

Layer: edge. Settings come from the environment only, so several instances can
run side by side on other ports and databases.
"""

from __future__ import annotations

import argparse
import sys


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the web console and the AMI bridge (settings from HOTLINE_* environment)",
    )
    p.set_defaults(func=run_serve)


def run_serve(_args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("agent_console.app") is None:
        print("hotline serve: the web console (agent_console.app) is not part of this build yet",
              file=sys.stderr)
        return 2
    import uvicorn
    from agent_console.app import create_app
    from pydantic import ValidationError

    from agent_console.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"hotline serve: bad HOTLINE_* setting:\n{exc}", file=sys.stderr)
        return 2
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
    app = create_app(settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level="info")
    return 0
