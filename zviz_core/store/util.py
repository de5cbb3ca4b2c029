"""Small helpers shared by the SQL modules: clock, ids, JSON columns, pagination bounds."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from zviz_core.errors import InvalidInputError

MAX_PAGE_SIZE = 1000


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def loads(value: Any) -> Any:
    """A JSON column's value: DuckDB hands over the text, psycopg the parsed value."""
    if value is None or value == "":
        return {}
    return json.loads(value) if isinstance(value, str | bytes) else value


def page_bounds(page: int, size: int) -> tuple[int, int]:
    """Validate 1-based page and size; return (limit, offset)."""
    if not isinstance(page, int) or page < 1:
        raise InvalidInputError(f"page must be an integer >= 1, got {page!r}.")
    if not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"size must be an integer from 1 to {MAX_PAGE_SIZE}, got {size!r}.")
    return size, (page - 1) * size


def newest_page(
    cur: Any,
    columns: str,
    source: str,
    where: str,
    params: dict[str, Any],
    alias: str,
    limit: int,
    offset: int,
    count_source: str | None = None,
    total: int | None = None,
    span: tuple[int, Any, Any] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of rows (by column name) newest first (by `alias.created`, then id) and the number matching.

    A plain ORDER BY ... LIMIT sorts every matching row, so its cost grows with the store. This
    first reads the count and the time span of the matches, then asks only for rows created in
    the newest slice of that span large enough to hold the page (assuming rows spread evenly),
    and widens the slice eightfold whenever it held too few. Rows outside a slice are older than
    every row inside it, so a full page from a slice is the true page. `count_source` is a
    narrower FROM clause for the count when the filters need none of `source`'s joins; `total`
    the count when the caller knows it (a counter kept by the writes), and `span` the count with
    bounds on the oldest and newest match's `created` (the slices are then estimated from them).

    PostgreSQL reads the newest rows through an index on `created` directly, so there the page
    is one ordered query.
    """
    if span is not None:
        total = span[0]
    if cur.dialect == "postgres":
        if total is None:
            total = int(
                cur.value(f"SELECT count(*) FROM {count_source or source} WHERE {where}", params)
            )
        if not total:
            return [], 0
        rows = cur.dicts(
            f"SELECT {columns} FROM {source} WHERE {where} ORDER BY {alias}.created DESC, "
            f"{alias}.id LIMIT {int(limit)} OFFSET {int(offset)}",
            params,
        )
        return rows, total
    total, oldest, newest = span or cur.row(
        f"SELECT count(*), min({alias}.created), max({alias}.created) "
        f"FROM {count_source or source} WHERE {where}",
        params,
    )
    if not total:
        return [], 0
    if oldest is None or newest is None:
        oldest = newest = None
    need = offset + limit
    fraction = 4.0 * need / total
    while True:
        cond, window = where, dict(params)
        if fraction < 1.0 and newest is not None:
            cond = f"{where} AND {alias}.created >= $zviz_window_start"
            window["zviz_window_start"] = newest - (newest - oldest) * fraction
        rows = cur.dicts(
            f"SELECT {columns} FROM {source} WHERE {cond} ORDER BY {alias}.created DESC, "
            f"{alias}.id LIMIT {int(limit)} OFFSET {int(offset)}",
            window,
        )
        if len(rows) == limit or fraction >= 1.0 or newest is None:
            return rows, int(total)
        fraction *= 8.0
