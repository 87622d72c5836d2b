"""Refusals with a machine-readable `code` beside the human `detail`.

Layer: edge (HTTP). The browser translates a refusal by its `code` (static/i18n.js:
`error.<code>`) and never shows `detail` to users: a detail may name a command-line
step meant for an administrator. Imports nothing of the project.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

# what a 422 item may carry from pydantic's error context (the rest is not JSON)
_CTX_KEYS = ("min_length", "max_length", "pattern", "ge", "le", "gt", "lt", "expected")


class CodedError(HTTPException):
    """`extra`: more JSON members of the body beside detail and code (e.g. the current
    ticket of a conflict, the candidates of a duplicate)."""

    def __init__(self, status_code: int, code: str, detail: str, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, detail, headers)
        self.code, self.extra = code, extra or {}


def error_body(exc: HTTPException) -> dict[str, Any]:
    """The JSON body of a refusal: `{"detail"}`, plus `code` when the route gave one."""
    out: dict[str, Any] = {"detail": exc.detail}
    code = getattr(exc, "code", None)
    if code:
        out["code"] = code
    out.update(getattr(exc, "extra", None) or {})
    return out


def field_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """pydantic's errors as `{"field", "error", "code", "params"}`: `code` is pydantic's
    error type (e.g. string_too_long), `params` its limits (e.g. max_length)."""
    out = []
    for e in errors:
        ctx = e.get("ctx") or {}
        params = {k: ctx[k] for k in _CTX_KEYS if isinstance(ctx.get(k), (int, float, str))}
        out.append({"field": ".".join(str(p) for p in e.get("loc", ())), "error": e.get("msg", ""),
                    "code": e.get("type", ""), "params": params})
    return out
