"""SQL for logins: failed-attempt counters per user and per client address, and live login cookies.

Keys and cookie tokens arrive here already hashed (see zviz_core/logins.py); nothing in these
tables can be replayed or read back as a username someone typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from zviz_core.store.db import Cursor


@dataclass(frozen=True)
class FailureRow:
    """The consecutive failures of one key (a user or an address), and its lock, if any."""

    failures: int
    last_failure: datetime
    locked_until: datetime | None


def failures(cur: Cursor, scope: str, key_hash: str) -> FailureRow | None:
    row = cur.dict_row(
        "SELECT failures, last_failure, locked_until FROM login_failures "
        "WHERE scope = ? AND key_hash = ?",
        [scope, key_hash],
    )
    if row is None:
        return None
    return FailureRow(int(row["failures"]), row["last_failure"], row["locked_until"])


def save_failures(
    cur: Cursor,
    scope: str,
    key_hash: str,
    count: int,
    last_failure: datetime,
    locked_until: datetime | None,
) -> None:
    # An upsert, not delete + insert: DuckDB refuses to re-insert a deleted key in one transaction.
    cur.execute(
        "INSERT INTO login_failures (scope, key_hash, failures, last_failure, locked_until) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key_hash) DO UPDATE SET "
        "failures = excluded.failures, last_failure = excluded.last_failure, "
        "locked_until = excluded.locked_until",
        [scope, key_hash, count, last_failure, locked_until],
    )


def clear_failures(cur: Cursor, scope: str, key_hash: str) -> None:
    cur.execute("DELETE FROM login_failures WHERE scope = ? AND key_hash = ?", [scope, key_hash])


def purge_failures(cur: Cursor, quiet_since: datetime, now: datetime) -> None:
    """Forget counters with no failure since `quiet_since` whose lock (if any) has ended."""
    cur.execute(
        "DELETE FROM login_failures WHERE last_failure < ? "
        "AND (locked_until IS NULL OR locked_until <= ?)",
        [quiet_since, now],
    )


def add_cookie(
    cur: Cursor, token_hash: str, username: str, issued: datetime, expires: datetime
) -> None:
    cur.execute(
        "INSERT INTO login_cookies (token_hash, username, issued, expires) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (token_hash) DO UPDATE SET username = excluded.username, "
        "issued = excluded.issued, expires = excluded.expires",
        [token_hash, username, issued, expires],
    )


def cookie_expiry(cur: Cursor, token_hash: str, username: str) -> datetime | None:
    """When the listed cookie expires, or None when it is not listed for this user."""
    return cur.value(
        "SELECT expires FROM login_cookies WHERE token_hash = ? AND username = ?",
        [token_hash, username],
    )


def delete_cookie(cur: Cursor, token_hash: str) -> int:
    return len(
        cur.rows(
            "DELETE FROM login_cookies WHERE token_hash = ? RETURNING token_hash", [token_hash]
        )
    )


def cookie_users(cur: Cursor) -> list[str]:
    return [str(r[0]) for r in cur.rows("SELECT DISTINCT username FROM login_cookies ORDER BY 1")]


def delete_cookies_of(cur: Cursor, username: str) -> None:
    cur.execute("DELETE FROM login_cookies WHERE username = ?", [username])


def purge_cookies(cur: Cursor, now: datetime) -> None:
    cur.execute("DELETE FROM login_cookies WHERE expires <= ?", [now])
