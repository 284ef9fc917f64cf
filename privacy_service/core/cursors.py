"""Opaque page cursors for lists ordered by a timestamp and an id (API.md "Conventions").

A cursor names the last item of a page by its time and id, never by anything
personal, as URL-safe base64 so it travels in a query string as it is.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

MAX_CURSOR_LENGTH = 200


class InvalidCursor(ValueError):
    """The text is not a cursor a list issued."""

    def __init__(self) -> None:
        super().__init__("not a cursor this list issued")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the ordering timestamp and the id of its last item."""

    at: datetime
    id: str


def encode_cursor(position: Position) -> str:
    raw = f"{position.at.isoformat()}|{position.id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> Position:
    """The position ``encode_cursor`` wrote; InvalidCursor for anything else."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        at, separator, item_id = text.partition("|")
        moment = datetime.fromisoformat(at)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None
    if not separator or not item_id or moment.tzinfo is None:
        raise InvalidCursor()
    return Position(at=moment, id=item_id)
