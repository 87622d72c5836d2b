"""The error the ticket services raise for one bad field: the routes answer 4xx with both.

Layer: domain (no I/O).
"""

from __future__ import annotations


class FieldError(ValueError):
    """`field` is what was wrong, `message` why (shown beside the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message
