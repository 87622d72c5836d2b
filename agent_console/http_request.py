"""The public request form's API: `GET /api/request/token`, `POST /api/request`.

Layer: edge. No session: callers are not users. What protects it instead:
- CSRF, double-submit and signed: the token call sets a random nonce in an
  HttpOnly, SameSite=Strict cookie (path /api/request) and returns that nonce
  signed with the session secret and a time stamp (itsdangerous, 2 h). A post
  needs both, matching; a cross-site post carries no such cookie.
- a honeypot field (`website`) people never see or fill: a post with it is refused;
- a per-address rate limit counted before anything else is looked at
  (agent_console/login_limits, the login throttle's sliding window; the address is
  the TCP peer or, from HOTLINE_TRUSTED_PROXIES, X-Forwarded-For's client);
- size limits: the body is capped by the middleware before it is read (the
  attachment's limit in base64 plus 64 KiB); the attachment by its decoded size
  and by its file type (the mail intake's allow-list).
The answer is the new ticket's number and nothing else: no one's data is shown.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from itsdangerous import BadData, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from agent_console.errors import CodedError
from agent_console.fields import Notes, OneLine
from agent_console.login_limits import LoginLimiter, LoginPolicy, Refused
from agent_console.mail_in import limits_of
from agent_console.services import ServicesDep
from agent_console.settings import Settings
from tickets.intake import Entry, IntakeService
from tickets.mail_parse import AttachmentIn, MailLimits
from tickets.models import Channel

router = APIRouter(tags=["request form"])
COOKIE, PATH, TOKEN_AGE = "hl_form", "/api/request", 2 * 3600
_EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
_PHONE = r"^[0-9+()\-./ ]*$"


def body_limit(settings: Settings) -> int:
    return settings.mail_max_attachment_bytes * 4 // 3 + 64 * 1024


class AttachmentField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: OneLine = Field(min_length=1, max_length=255)
    data: str = Field(min_length=1)  # base64


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: OneLine = Field(min_length=1, max_length=200)
    email: OneLine = Field(max_length=254, pattern=_EMAIL)
    phone: OneLine = Field("", max_length=64, pattern=_PHONE)
    organisation: OneLine = Field("", max_length=200)
    subject: OneLine = Field(min_length=1, max_length=300)
    description: Notes = Field(min_length=1, max_length=20_000)
    attachment: AttachmentField | None = None
    website: str = Field("", max_length=500)  # the honeypot: empty from people
    csrf_token: str = Field(max_length=500)


@dataclass
class RequestDesk:
    """What the form's routes need, built once by create_app."""

    intake: IntakeService
    signer: URLSafeTimedSerializer
    limiter: LoginLimiter
    limits: MailLimits
    secure_cookie: bool

    @classmethod
    def from_settings(cls, s: Settings, intake: IntakeService) -> RequestDesk:
        secret = s.session_secret.get_secret_value() if s.session_secret else secrets.token_hex(32)
        per_minute = s.form_limit_per_minute
        return cls(intake, URLSafeTimedSerializer(secret, salt="hotline.request-form"),
                   LoginLimiter(LoginPolicy(per_pair=per_minute, per_address=per_minute, free_failures=10**9)),
                   limits_of(s.mail_max_attachment_bytes, s.mail_attachment_types, s.mail_domain),
                   s.cookie_secure)

    def check_token(self, token: str, cookie: str | None) -> None:
        try:
            nonce = self.signer.loads(token, max_age=TOKEN_AGE)
        except BadData:
            nonce = None
        if not cookie or not isinstance(nonce, str) or not secrets.compare_digest(nonce, cookie):
            raise CodedError(403, "form_expired", "missing, expired or mismatched form token: GET /api/request/token")

    def attachment(self, field: AttachmentField | None) -> tuple[AttachmentIn, ...]:
        if field is None:
            return ()
        limit = self.limits.max_attachment_bytes
        if len(field.data) > (limit + 2) // 3 * 4 + 4:
            raise CodedError(413, "attachment_too_large", f"the attachment is larger than {limit:,} bytes")
        try:
            data = base64.b64decode(field.data, validate=True)
        except (binascii.Error, ValueError):
            raise CodedError(422, "attachment_invalid", "the attachment's data is not base64") from None
        if len(data) > limit:
            raise CodedError(413, "attachment_too_large", f"the attachment is larger than {limit:,} bytes")
        kind = mimetypes.guess_type(field.filename, strict=False)[0] or "application/octet-stream"
        if kind not in self.limits.attachment_types:
            raise CodedError(415, "attachment_type", f"files of type {kind} are not accepted")
        return (AttachmentIn(field.filename.replace("/", "_").replace("\\", "_"), kind, data),)


def _entry(form: RequestIn, attachments: tuple[AttachmentIn, ...]) -> Entry:
    details = [f"name: {form.name}", f"e-mail: {form.email}"]
    details += [f"phone: {form.phone}"] if form.phone else []
    details += [f"organisation: {form.organisation}"] if form.organisation else []
    text = f"{form.description}\n\n--\n" + "\n".join(details)
    return Entry(Channel.FORM, form.email, form.name, form.subject, text, attachments=attachments)


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.get("/api/request/token")
def token(services: ServicesDep) -> JSONResponse:
    """A form token (and its cookie) plus the attachment limits the page shows."""
    desk = services.request_desk
    nonce = secrets.token_urlsafe(18)
    answer = JSONResponse({"csrf_token": desk.signer.dumps(nonce),
                           "max_attachment_bytes": desk.limits.max_attachment_bytes,
                           "attachment_types": sorted(desk.limits.attachment_types)})
    answer.set_cookie(COOKIE, nonce, max_age=TOKEN_AGE, path=PATH, httponly=True, samesite="strict",
                      secure=desk.secure_cookie)
    return answer


@router.post("/api/request", status_code=201)
async def submit(request: Request, services: ServicesDep) -> dict[str, Any]:
    """A caller's request: a new `form` ticket. The answer is its number only."""
    desk = services.request_desk
    allowed = desk.limiter.begin("request-form", _address(request), time.monotonic())
    if isinstance(allowed, Refused):
        refusal = CodedError(429, "rate_limited", "too many requests from this address")
        refusal.headers = {"Retry-After": str(int(allowed.retry_after + 0.999))}
        raise refusal
    try:
        form = RequestIn.model_validate_json(await request.body())
    except ValidationError as exc:
        # the same 422 as a body FastAPI validated: {"errors": [{"field": "body.email", ...}]}
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    desk.check_token(form.csrf_token, request.cookies.get(COOKIE))
    if form.website:
        raise CodedError(400, "refused", "this request was refused")
    entry = _entry(form, desk.attachment(form.attachment))
    try:
        stored = await asyncio.to_thread(desk.intake.store, entry, services.clock())
    except SQLAlchemyError:
        raise HTTPException(503, "the request could not be stored now; try again later") from None
    return {"number": stored.ticket_number}

