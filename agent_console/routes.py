"""The HTTP and WebSocket surface: every router, and the body limits that differ
from the default.

Layer: edge (wiring only). agent_console.app calls `add_routes` once; one router
per concept lives in its http_*.py module.
"""

from __future__ import annotations

from fastapi import FastAPI

from agent_console import (
    http_agent,
    http_appointments,
    http_callbacks,
    http_calls,
    http_customers,
    http_kb,
    http_levels,
    http_messages,
    http_notice_templates,
    http_ops,
    http_queues,
    http_reports,
    http_request,
    http_session,
    http_standard_requests,
    http_ticket_list,
    http_tickets,
    ws,
)
from agent_console.settings import Settings

ROUTERS = (http_session, http_customers, http_calls, http_ticket_list, http_tickets, http_callbacks,
           http_queues, http_reports, http_agent, http_ops, http_kb, http_request, http_messages,
           http_levels, http_appointments, http_standard_requests, http_notice_templates, ws)


def add_routes(app: FastAPI) -> None:
    for module in ROUTERS:
        app.include_router(module.router)


def body_limits(settings: Settings) -> dict[str, int]:
    """Paths whose request bodies may be larger than HOTLINE_MAX_BODY_BYTES."""
    return {"/api/customers/import": http_customers.MAX_IMPORT_BYTES,
            "/api/request": http_request.body_limit(settings)}
