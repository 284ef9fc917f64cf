"""Pages of lists, as API.md "Conventions" fixes them: ``limit`` (50 by default, at most 500), ``cursor``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from privacy_service.core.cursors import MAX_CURSOR_LENGTH, InvalidCursor, Position, decode_cursor

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR_LENGTH)]


def invalid_query(field: str, message: str) -> RequestValidationError:
    """A query parameter the read side refused, answered as any other 422 naming the field."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": f"Value error, {message}", "input": None}]
    )


def page_position(cursor: str) -> Position:
    """The position a time-and-id cursor names; a 422 on ``cursor`` for anything else."""
    try:
        return decode_cursor(cursor)
    except InvalidCursor as error:
        raise invalid_query("cursor", str(error)) from None
