"""Issue 11 row 11: request bodies are limited before they are read or parsed.

Today an anonymous 200 MB JSON body to /api/session was read and parsed (752 MB
peak) and a 60 MB CSV was read whole before the 50 MB check. Now an ASGI
middleware answers 413 from Content-Length alone, or stops reading as soon as a
body passes its route's limit: 16 KiB for logging in, 1 MiB (HOTLINE_MAX_BODY_BYTES)
for other JSON, 50 MiB for the CSV import.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from agent_console.settings import Settings
from tests.console import conftest as console
from tests.console.conftest import Browser
from tests.security.auth_app import Served, add_user, base_settings, login_as, raw_http, read_status, serve_without_pbx

app, client = console.app, console.client  # the console tests' fixtures
MB = 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return base_settings(database_url)


class Body:
    """An ASGI `receive` that hands out a body chunk by chunk and counts what was taken."""

    def __init__(self, total: int, chunk: int = CHUNK, give_up_after: int = 64 * MB) -> None:
        self.total, self.chunk, self.give_up_after, self.taken = total, chunk, give_up_after, 0
        self.data = b"[" + b" " * (chunk - 1)

    async def __call__(self) -> dict[str, Any]:
        if self.taken >= self.give_up_after:  # today's code reads on: fail quickly instead of swapping
            raise AssertionError(f"read {self.taken:,} bytes of a body that should have been refused")
        size = min(self.chunk, self.total - self.taken)
        self.taken += size
        return {"type": "http.request", "body": self.data[:size], "more_body": self.taken < self.total}


def call(app: Any, path: str, body: Body, declare: bool, who: Browser | None = None) -> tuple[int, bytes]:
    headers = [(b"content-type", b"application/json"), (b"host", b"testserver")]
    if declare:
        headers.append((b"content-length", str(body.total).encode()))
    if who:
        headers += [(b"cookie", f"hotline_session={who.cookie}".encode()), (b"x-csrf-token", who.csrf.encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, body, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
def test_a_200_mb_anonymous_login_body_is_refused_before_it_is_read(app: Any, declare: bool) -> None:
    body = Body(200 * MB)
    status, answer = call(app, "/api/session", body, declare)
    assert status == 413 and b"larger than" in answer
    assert body.taken <= (0 if declare else 16 * 1024 + CHUNK)  # not a byte, or one chunk past 16 KiB


def test_json_routes_take_at_most_1_mib(app: Any, client: TestClient) -> None:
    anna = login_as(client, "anna")
    body = Body(2 * MB)
    status, _ = call(app, "/api/tickets", body, declare=False, who=anna)
    assert status == 413 and body.taken <= MB + CHUNK
    r = anna.send("POST", "/api/tickets", content=b'{"subject": "' + b"x" * (2 * MB) + b'"}',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_the_csv_import_has_its_own_larger_limit(app: Any, client: TestClient) -> None:
    sven = login_as(client, "sven")
    csv = "name,organization,phones,email,language,team\n" + "Erika Muster,Stadtwerke,,,de,\n" * 70_000
    assert len(csv) > 2 * MB  # over the JSON routes' limit, well under the import's
    r = sven.send("POST", "/api/customers/import", content=csv.encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text[:300]
    body = Body(60 * MB, chunk=MB, give_up_after=58 * MB)
    status, _ = call(app, "/api/customers/import", body, declare=False, who=sven)
    assert status == 413 and body.taken <= 51 * MB  # stopped just past 50 MB, never the whole 60


@pytest.fixture(scope="module")
def served(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    add_user(module_database_url)
    with serve_without_pbx(module_database_url, tmp_path_factory.mktemp("serve") / "serve.log") as server:
        yield server


def test_a_real_server_answers_413_without_waiting_for_the_body(served: Served) -> None:
    head = (f"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {200 * MB}\r\n\r\n").encode()
    with raw_http(served.port, head) as sock:  # headers only: the 200 MB never come
        assert read_status(sock, time.monotonic() + 5) == 413


def test_a_real_server_stops_a_chunked_body_early(served: Served) -> None:
    head = (f"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK)
    sent, reset = 0, False
    with raw_http(served.port, head, timeout=0.5) as sock:
        while sent < 200 * MB:
            try:
                sock.sendall(chunk)
            except TimeoutError:
                break  # the server stopped reading: look at its answer
            except (BrokenPipeError, ConnectionResetError):
                reset = True  # it answered and closed; a reset can cost us the answer itself
                break
            sent += CHUNK
        status = read_status(sock, time.monotonic() + 5)
    assert status == 413 or (status is None and reset), status
    assert sent < 16 * MB, sent  # the server stopped within the first megabytes, not after 200
