"""Small helpers shared by the SQL modules: clock, ids, JSON columns, pagination bounds."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from zviz_core.errors import InvalidInputError

MAX_PAGE_SIZE = 1000


def now() -> datetime:
    """The current UTC time as the naive timestamp the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def aware(value: datetime | None) -> datetime | None:
    """A stored naive UTC timestamp as an aware datetime."""
    return None if value is None else value.replace(tzinfo=UTC)


def new_id() -> UUID:
    return uuid.uuid4()


def as_uuid(value: Any, what: str = "id") -> UUID | None:
    """Parse a UUID; returns None when `value` is not one (so callers can try a name instead)."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def require_uuid(value: Any, what: str) -> UUID:
    """Parse a UUID or raise InvalidInputError naming the argument."""
    parsed = as_uuid(value)
    if parsed is None:
        raise InvalidInputError(f"{what} must be a UUID, got {value!r}.")
    return parsed


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def loads(value: str | None) -> Any:
    return {} if value in (None, "") else json.loads(value)


def page_bounds(page: int, size: int) -> tuple[int, int]:
    """Validate 1-based page and size; return (limit, offset)."""
    if not isinstance(page, int) or page < 1:
        raise InvalidInputError(f"page must be an integer >= 1, got {page!r}.")
    if not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"size must be an integer from 1 to {MAX_PAGE_SIZE}, got {size!r}.")
    return size, (page - 1) * size
