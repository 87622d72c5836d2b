"""`hotline mail-sink`: a local SMTP server that keeps every mail it gets as an .eml file.

Layer: edge. For the demo (`hotline up` points HOTLINE_SMTP_URL at it, so the
callers' mails can be read without a real mail server) and for trying a site's
templates. Loopback by default; each file is readable by its owner only (the
mails hold callers' names and addresses).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from hotline_cli.state import state_dir


def add_mail_sink_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mail-sink", help="a local SMTP server that keeps every mail as an .eml file (demo)")
    p.add_argument("--listen", default="127.0.0.1:2526", help="host:port (default %(default)s)")
    p.add_argument("--folder", type=Path, default=None, help="where the .eml files go (default: state folder/mail)")
    p.set_defaults(func=run_mail_sink)


class FolderSink:
    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{self.count:05d}.eml"
        await asyncio.to_thread(_write_private, path, envelope.original_content or b"")
        return "250 2.0.0 kept"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


async def serve(host: str, port: int, folder: Path, stop: asyncio.Event | None = None,
                on_ready: asyncio.Future[int] | None = None) -> None:
    """Until SIGTERM/SIGINT (or `stop`, in tests); `on_ready` gets the port."""
    sink = FolderSink(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="hotline-sink", ident="hotline mail-sink"),
                                      host, port)
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    port = server.sockets[0].getsockname()[1]
    print(f"mail sink on {host}:{port}, keeping mails in {folder}", flush=True)
    if on_ready is not None:
        on_ready.set_result(port)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


def run_mail_sink(args: argparse.Namespace) -> int:
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"hotline mail-sink: --listen must be host:port, not {args.listen!r}")
        return 2
    folder: Path = args.folder or state_dir() / "mail"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    asyncio.run(serve(host, int(port), folder))
    return 0
