"""Customers: search, create, lookup by number, CSV import.

Layer: edge. Plain `def` routes: the sync services run on the thread pool.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from agent_console.auth import ANY, SUPERVISOR, SessionUser
from agent_console.errors import CodedError
from agent_console.pops import match_json
from agent_console.services import ServicesDep
from tickets.customers import CustomerError, parse_customer
from tickets.duplicates import duplicate_candidates

router = APIRouter(tags=["customers"])
MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_ID = 2**31 - 1  # ids are INTEGER columns: a larger number is a 422, not an overflow in the driver


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    organization: str = Field("", max_length=200)
    phones: list[str] = Field(default_factory=list, max_length=20)
    email: str = Field("", max_length=254)
    language: str = Field("de", pattern="^(de|en)$")
    team: str = Field("", max_length=100)
    allow_duplicate: bool = False  # create it although it looks like a contact that exists


@router.get("/api/customers")
def search(services: ServicesDep, who: Annotated[SessionUser, ANY],
           q: Annotated[str, Query(max_length=100)] = "",
           limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    return services.customers.search(q, limit)


@router.post("/api/customers", status_code=201)
def create(body: CustomerIn, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """A contact with the name and organisation, or a number, of one that exists is a 409
    `duplicate_contact` naming the `candidates`, unless `allow_duplicate` is true."""
    try:
        row = parse_customer(body.name, body.organization, tuple(body.phones), body.email, body.language,
                             body.team, services.settings.default_region)
        candidates = [] if body.allow_duplicate else duplicate_candidates(services.customers.sessions, row)
        if candidates:
            raise CodedError(409, "duplicate_contact", "a contact with this name and organisation or number "
                             "exists already", extra={"candidates": candidates})
        return services.customers.create(
            body.name, organization=body.organization, phones=tuple(body.phones),
            email=body.email, language=body.language, team=body.team)
    except CustomerError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/api/customers/lookup")
def lookup(services: ServicesDep, who: Annotated[SessionUser, ANY],
           number: Annotated[str, Query(max_length=200)]) -> dict[str, Any]:
    result, contact = services.notifier.enricher.match(number)
    return {**match_json(result, contact), "raw": result.raw}


@router.get("/api/customers/{contact_id}")
def get(contact_id: Annotated[int, Path(ge=1, le=MAX_ID)], services: ServicesDep,
        who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    contact = services.customers.get(contact_id)
    if contact is None:
        raise HTTPException(404, f"no customer {contact_id}")
    return {**contact, "open_tickets": services.desk.open_tickets_for(contact_id),
            "recent_calls": services.desk.recent_calls(contact_id=contact_id)}


@router.post("/api/customers/import")
async def import_csv(request: Request, services: ServicesDep,
                     who: Annotated[SessionUser, SUPERVISOR]) -> dict[str, Any]:
    """Body: the CSV file itself (text/csv, UTF-8), header name,organization,phones,email,language,team."""
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"CSV larger than {MAX_IMPORT_BYTES // 2**20} MB; use hotline customers import")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, f"CSV is not UTF-8 (byte {exc.start})") from exc
    try:
        report = await run_in_threadpool(services.customers.import_csv, io.StringIO(text))
    except CustomerError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"imported": report.imported,
            "errors": [{"line": line, "error": msg} for line, msg in report.errors]}
