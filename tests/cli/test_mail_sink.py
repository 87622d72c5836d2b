"""`hotline mail-sink` (the demo's outgoing mail, `hotline up` points HOTLINE_SMTP_URL at it):
a real SMTP session, one private .eml file per mail."""

from __future__ import annotations

import asyncio
import smtplib
import stat
from pathlib import Path

from hotline_cli.mail_sink import serve


async def test_each_mail_becomes_a_private_eml_file(tmp_path: Path) -> None:
    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve("127.0.0.1", 0, tmp_path, stop, ready))
    port = await ready

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.sendmail("desk@hotline.invalid", ["erika@stadt.example"],
                          b"Subject: [#2026-000001] Test\r\n\r\nHallo\r\n")

    await asyncio.to_thread(send)
    stop.set()
    await task
    check(tmp_path)


def check(folder: Path) -> None:
    [eml] = folder.glob("*.eml")
    assert b"Subject: [#2026-000001] Test" in eml.read_bytes()
    assert stat.S_IMODE(eml.stat().st_mode) == 0o600
