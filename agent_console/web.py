"""The pages, the static files, the liveness probe and the shape of every error answer.

Layer: edge. Pages are HTML made once at start-up from templates/ (Jinja2): every
page extends base.html, so the <head>, the header and the site nav are written
once. They carry no data: the browser code under static/ fetches it, and sends a
browser without a session to the login page. Each is sent with
`Cache-Control: no-store`. `/tickets/{id}` and `/customers/{id}` are one page
each, the page reads the id from its address. `GET /livez` answers
without a session and without details (for load balancers, systemd and
Kubernetes probes: the process serves HTTP); the detailed `/healthz` needs a
session. Every refusal is `{"detail": reason}`; a 422 adds `errors`, one
`{field, error}` per problem.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from agent_console.errors import error_body, field_errors

STATIC = Path(__file__).resolve().parent / "static"
TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGES = {"/": "index.html", "/console": "console.html", "/wallboard": "wallboard.html", "/kb": "kb.html",
         "/request": "request.html",
         "/tickets": "tickets.html", "/tickets/{ticket_id:int}": "ticket.html",
         "/customers": "customers.html", "/customers/{contact_id:int}": "customer.html",
         "/calls": "calls.html", "/reports": "reports.html", "/admin/templates": "admin-templates.html"}
# what a template may leave unset (base.html's parameters)
PAGE_DEFAULTS: dict[str, object] = {"title": "hotline", "title_i18n": None, "title_key": None, "body_class": None,
                                    "before_styles": [], "styles": [], "scripts": [], "extra_scripts": []}


def _section(route: str) -> str:
    """The site nav's link a page belongs to: its first path segment ("/tickets/{id}" is
    under "/tickets"), an admin page itself ("/admin/templates")."""
    return route if route.startswith("/admin/") else "/" + route.split("/")[1]


def render_pages() -> dict[str, str]:
    """Every page's HTML by route; the site nav marks the page's own section as current."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      keep_trailing_newline=True)
    env.globals.update(PAGE_DEFAULTS)
    return {route: env.get_template(filename).render(nav_current=_section(route))
            for route, filename in PAGES.items()}


def add_pages(app: FastAPI) -> None:
    for route, html in render_pages().items():
        def page(html: str = html) -> HTMLResponse:
            return HTMLResponse(html, headers={"Cache-Control": "no-store"})

        app.add_api_route(route, page, include_in_schema=False, methods=["GET"])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def livez() -> JSONResponse:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    app.add_api_route("/livez", livez, include_in_schema=False, methods=["GET", "HEAD"])


def add_error_shapes(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": "invalid request", "code": "invalid",
                             "errors": field_errors(list(exc.errors()))}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=exc.status_code, headers=exc.headers)
