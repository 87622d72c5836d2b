"""Property-based fuzzing of every API operation with schemathesis, as a supervisor and as an agent.

The OpenAPI document is fetched with a session (GET /openapi.json needs one) and loaded from the
dict. Each operation gets positive and negative cases (max 25 each); every request goes through
the Starlette TestClient (no network) with the session cookie, the CSRF header and the Origin a
browser sends. Checks: no 5xx, the status code is documented, the body matches its schema.

The document is checked as the app serves it: its error answers (`{"detail": reason}`, 401/403/422
and `4XX` on every route, 502/503 on the PBX actions) are what the app really sends.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.console.conftest import Browser

MAX_EXAMPLES = 25
BASE_URL = "http://testserver"
PBX = {"/api/agent/pause", "/api/agent/unpause", "/api/agent/queue-login", "/api/agent/queue-logout",
       "/api/agent/dial", "/api/agent/wrap-up", "/api/calls/{linkedid}/transfer"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def documented(raw: dict[str, Any]) -> dict[str, Any]:
    """The app's own document, as served (app.truthful_openapi corrected FastAPI's)."""
    return copy.deepcopy(raw)


def _request(case: Any, browser: Browser) -> Any:
    """Send a schemathesis case through the app's TestClient as `browser`."""
    kw = case.as_transport_kwargs(base_url=BASE_URL, headers=browser.headers())
    method, url = kw.pop("method"), kw.pop("url")
    send: dict[str, Any] = {"headers": kw.pop("headers"), "params": kw.pop("params", None)}
    if "json" in kw:
        send["json"] = kw.pop("json")
    if kw.get("data") is not None:
        send["content"] = kw.pop("data")
    cookies = kw.pop("cookies", None)
    assert not cookies, cookies  # the schema declares no cookie parameters
    browser.client.cookies.clear()
    response = browser.client.request(method, url, **send)
    browser.client.cookies.clear()  # a DELETE /api/session answer must not log the client out for later cases
    if case.method.upper() == "DELETE" and case.path.startswith("/api/session"):
        browser.renew()  # logging out (or ending a session) ends it on the server: go on with a fresh one
    return response


def _fuzz(operation: Any, browser: Browser, statuses: set[int]) -> None:
    pbx = operation.path in PBX
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = _request(case, browser)
        statuses.add(response.status_code)
        # 503 "the PBX is not connected" is the documented answer of the PBX actions here
        assert response.status_code < 500 or (pbx and response.status_code == 503), response.text
        case.validate_response(response, checks=CHECKS[1:] if pbx else CHECKS)

    run()


@pytest.mark.parametrize("user", ["sven", "anna"])
def test_every_operation_survives_fuzzing(login: Any, user: str) -> None:
    browser: Browser = login(user)
    raw = browser.get("/openapi.json")
    assert raw.status_code == 200, raw.text
    schema = schemathesis.openapi.from_dict(documented(raw.json()))
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation's schema loads
        operations.append(result.ok())
    assert len(operations) >= 25
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        try:
            _fuzz(operation, browser, statuses.setdefault(label, set()))
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them together
            failures.append(f"{label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert len(statuses) == len(operations)
    assert all(code < 500 or code == 503 for codes in statuses.values() for code in codes), statuses
    # the fuzzing got through the session checks: most operations answered something besides 401/403
    assert sum(1 for codes in statuses.values() if codes - {401, 403}) >= len(operations) // 2, statuses
