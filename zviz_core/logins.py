"""Login throttling and login-cookie revocation, kept in the store so that every app process agrees.

The app's login gate (zviz_core/ui/auth.py) asks `LoginGuard` before it checks a password and
tells it the outcome; it lists each login cookie it issues and asks for it on every cookie login.

Throttling: each attempt counts against the username typed (whether or not it exists, so a
refusal says nothing about which users exist) and, when Streamlit knows it, the client address.
After `USER_FREE_FAILURES` consecutive failures for a user (`ADDRESS_FREE_FAILURES` for an
address) further attempts are refused for 32 s, then 64 s, 128 s, ... up to an hour. A success
clears the user's count. Counters nobody failed for a day are forgotten.

An attempt is counted as a failure before the password is checked, in the same transaction as
the check for a lock, so parallel attempts cannot slip past the limit; a success takes it back.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from zviz_core.store import logins as sql
from zviz_core.store.db import Cursor
from zviz_core.store.util import now as utc_now

T = TypeVar("T")

USER_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20  # many people may share one address (an office, a proxy)
FIRST_LOCK_S = 32
MAX_LOCK_S = 3600
FORGET_AFTER = timedelta(hours=24)

USER, ADDRESS = "user", "address"


def lock_seconds(failures: int, free: int) -> int:
    """Return how long a key is locked after its `failures`-th consecutive failure: 0 below
    `free`, then 32 s doubling with each further failure, at most an hour."""
    if failures < free:
        return 0
    return min(FIRST_LOCK_S * 2 ** min(failures - free, 16), MAX_LOCK_S)


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass(frozen=True)
class Refusal:
    """An attempt refused without checking the password: by `scope` ("user" or "address"), for
    `retry_after_s` more seconds."""

    scope: str
    retry_after_s: int

    @property
    def message(self) -> str:
        """What the login form shows: when to try again, never whether the user exists."""
        who = "for this user" if self.scope == USER else "from your network address"
        return f"Too many failed logins {who}. Try again in {_wait_text(self.retry_after_s)}."


def _locked(scope: str, row: sql.FailureRow | None, at: datetime) -> Refusal | None:
    if row is None or row.locked_until is None or row.locked_until <= at:
        return None
    return Refusal(scope, max(math.ceil((row.locked_until - at).total_seconds()), 1))


def _key(scope: str, value: str) -> str:
    # Hashed: people type passwords into the username field, and the table must not keep them.
    return hashlib.sha256(f"zviz-login\0{scope}\0{value}".encode()).hexdigest()


def normalize_username(username: str) -> str:
    """The username as streamlit-authenticator compares it (stripped, lower-cased)."""
    return username.strip().lower()


def cookie_digest(token: str) -> str:
    """Return the SHA-256 of a login cookie token: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Store(Protocol):
    """What the guard needs of a store engine: units of work (zviz_core.store)."""

    def read(self, fn: Callable[[Cursor], T], cache_key: Any = None) -> T: ...

    def write(self, fn: Callable[[Cursor], T], checkpoint: bool = True) -> T: ...


class LoginGuard:
    """Throttling counters and the list of live login cookies of one store.

    Get one with `Client().logins()`, so it uses the same store as the client. Every method runs
    one unit of work on the store and may raise StoreBusyError or StoreError
    (zviz_core.errors) when the store cannot be used.
    """

    def __init__(self, store: Store) -> None:
        self._db = store

    @property
    def location(self) -> str:
        """Where the store is (its folder or URL), to tell stores apart."""
        where = getattr(self._db, "location", None) or getattr(self._db, "home", None)
        return str(where if where is not None else id(self._db))

    def _keys(self, username: str, address: str | None) -> list[tuple[str, str, int]]:
        keys = [(USER, _key(USER, normalize_username(username)), USER_FREE_FAILURES)]
        if address:
            keys.append((ADDRESS, _key(ADDRESS, address), ADDRESS_FREE_FAILURES))
        return keys

    # -- throttling --------------------------------------------------------------------------

    def begin_attempt(
        self, username: str, address: str | None = None, now: datetime | None = None
    ) -> Refusal | None:
        """Start a login attempt: return a Refusal while the user or the address is locked
        (nothing is counted then), else count the attempt as a failure and return None. Call
        `attempt_succeeded` when the password turns out right. `now` is naive UTC."""
        at = now or utc_now()
        keys = self._keys(username, address)

        def run(cur: Cursor) -> Refusal | None:
            # Concurrent attempts (app replicas on PostgreSQL) take turns per key, so each
            # reads the count the previous one wrote.
            for scope, key, _ in sorted(keys):
                cur.serialize(f"login:{scope}:{key}")
            sql.purge_failures(cur, at - FORGET_AFTER, at)
            rows = {scope: sql.failures(cur, scope, key) for scope, key, _ in keys}
            for scope, _, _ in keys:
                if refusal := _locked(scope, rows[scope], at):
                    return refusal
            for scope, key, free in keys:
                count = (rows[scope].failures if rows[scope] else 0) + 1
                lock = lock_seconds(count, free)
                until = at + timedelta(seconds=lock) if lock else None
                sql.save_failures(cur, scope, key, count, at, until)
            return None

        return self._db.write(run)

    def attempt_succeeded(self, username: str, address: str | None = None) -> None:
        """The password was right: clear the user's failures, and take back the failure
        `begin_attempt` counted against the address (an address keeps its earlier ones, so a
        valid account cannot be used to reset the count of an address that guesses)."""
        keys = self._keys(username, address)

        def run(cur: Cursor) -> None:
            for scope, key, _ in sorted(keys):
                cur.serialize(f"login:{scope}:{key}")
            for scope, key, _ in keys:
                if scope == USER:
                    sql.clear_failures(cur, scope, key)
                    continue
                row = sql.failures(cur, scope, key)
                if row is None:
                    continue
                if row.failures <= 1:
                    sql.clear_failures(cur, scope, key)
                else:
                    # This attempt passed the check, so the address was not locked before it.
                    sql.save_failures(cur, scope, key, row.failures - 1, row.last_failure, None)

        self._db.write(run)

    def refusal(
        self, username: str, address: str | None = None, now: datetime | None = None
    ) -> Refusal | None:
        """Return the Refusal an attempt would get now, without counting anything."""
        at = now or utc_now()
        keys = self._keys(username, address)

        def run(cur: Cursor) -> Refusal | None:
            for scope, key, _ in keys:
                if refusal := _locked(scope, sql.failures(cur, scope, key), at):
                    return refusal
            return None

        return self._db.read(run)

    def failure_count(self, username: str) -> int:
        """Return the consecutive failures counted against a username (0 when forgotten)."""
        key = _key(USER, normalize_username(username))
        row = self._db.read(lambda cur: sql.failures(cur, USER, key))
        return 0 if row is None else row.failures

    # -- login cookies -----------------------------------------------------------------------

    def remember_cookie(self, digest: str, username: str, expires: datetime) -> None:
        """List a login cookie just issued to `username` (by its `cookie_digest`) until
        `expires` (naive UTC); expired entries are dropped on the way."""
        at = utc_now()
        user = normalize_username(username)

        def run(cur: Cursor) -> None:
            sql.purge_cookies(cur, at)
            sql.add_cookie(cur, digest, user, at, expires)

        self._db.write(run)

    def cookie_is_live(self, digest: str, username: str) -> bool:
        """Return whether a cookie with this digest was issued to `username`, has not expired
        and was not revoked. Served from the read cache until any process writes."""
        user = normalize_username(username)
        expires = self._db.read(
            lambda cur: sql.cookie_expiry(cur, digest, user),
            cache_key=("login-cookie", digest, user),
        )
        return expires is not None and expires > utc_now()

    def revoke_cookie(self, digest: str) -> bool:
        """Unlist a cookie (logout); return whether it was listed."""
        return bool(self._db.write(lambda cur: sql.delete_cookie(cur, digest)))

    def revoke_users_except(self, usernames: Iterable[str]) -> list[str]:
        """Unlist the cookies of every user not in `usernames` (users removed from the config),
        so that their cookies stay dead even if the name is added again; return those users."""
        keep = {normalize_username(u) for u in usernames}
        listed = self._db.read(sql.cookie_users)
        gone = [u for u in listed if u not in keep]
        if gone:

            def run(cur: Cursor) -> None:
                for user in gone:
                    sql.delete_cookies_of(cur, user)

            self._db.write(run)
        return gone
