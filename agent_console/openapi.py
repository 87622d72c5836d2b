"""The OpenAPI document as the app really answers, and its viewer, both behind a session.

Layer: edge. FastAPI generates the document; `truthful_openapi` corrects it:
every refusal is `{"detail": reason}` (422 adds `errors`), 401/403 on every
route, 502/503 where the PBX is involved, and /metrics is Prometheus text. The
viewer is swagger-ui served from this server (static/vendor/swagger-ui, pinned,
with its licence), never from a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse

from agent_console.auth import ANY, SessionUser

STATIC = Path(__file__).resolve().parent / "static"
_ERROR = {"type": "object", "required": ["detail"],
          "properties": {"detail": {"type": "string"}, "code": {"type": "string"},
                         "errors": {"type": "array", "items": {"type": "object"}},
                         # 409 ticket_conflict: the ticket as it is now
                         "ticket": {"type": "object"},
                         # 409 duplicate_contact: the contacts it would duplicate
                         "candidates": {"type": "array", "items": {"type": "object"}}}}
_PBX_ROUTES = ("/api/agent/", "/transfer")


def _answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _refusals(path: str, responses: dict[str, Any]) -> None:
    for code in [c for c in responses if c.startswith("4")]:
        del responses[code]
    responses["401"] = _answer("not logged in (or the session expired)")
    responses["403"] = _answer("wrong role, or the X-CSRF-Token header is missing on a write")
    responses["422"] = _answer("invalid input; `errors` names each field and why")
    responses["4XX"] = _answer("other refusals: unknown id (404), conflict (409: `ticket_conflict` with "
                               "`ticket`, `duplicate_contact` with `candidates`), rate limit (429)")
    if any(marker in path for marker in _PBX_ROUTES):
        responses["502"] = _answer("the PBX refused the action")
        responses["503"] = _answer("the PBX is not connected (or, scaled out, the bridge "
                                   "instance is not reachable over Redis or did not answer in time)")


def truthful_openapi(spec: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's generated document, corrected to what the app answers."""
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation["responses"]
            _refusals(path, responses)
            if path == "/healthz":
                responses["503"] = {"description": "degraded: database, AMI or the Redis bus down "
                                                   "(same body as 200)"}
            if path == "/metrics":
                responses["200"] = {"description": "Prometheus text", "content": {"text/plain": {"schema": {}}}}
    spec.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    return spec


def add_docs(app: FastAPI) -> None:
    """GET /openapi.json and GET /docs, both behind a session like every other route."""

    def openapi(_who: Annotated[SessionUser, ANY]) -> JSONResponse:
        if app.openapi_schema is None:
            app.openapi_schema = truthful_openapi(app.openapi())
        return JSONResponse(app.openapi_schema)

    def docs(_who: Annotated[SessionUser, ANY]) -> FileResponse:
        return FileResponse(STATIC / "docs.html", headers={"Cache-Control": "no-store"})

    app.add_api_route("/openapi.json", openapi, include_in_schema=False, methods=["GET"])
    app.add_api_route("/docs", docs, include_in_schema=False, methods=["GET"])
