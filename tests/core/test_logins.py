"""Login throttling and cookie revocation against real stores, in one process and across two."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.core.helpers import last_json_line, run_python, start_python
from zviz_core import Client
from zviz_core.logins import (
    ADDRESS_FREE_FAILURES,
    FIRST_LOCK_S,
    MAX_LOCK_S,
    USER_FREE_FAILURES,
    LoginGuard,
    Refusal,
    cookie_digest,
    lock_seconds,
)
from zviz_core.store import schema
from zviz_core.store.db import DB_FILE, Database
from zviz_core.store.util import now as utc_now

T0 = datetime(2026, 1, 5, 12, 0, 0)


def fail(guard: LoginGuard, username: str, times: int, at: datetime = T0, **kw: str) -> None:
    """`times` wrong passwords for `username` at `at`, none of them refused."""
    for _ in range(times):
        assert guard.begin_attempt(username, now=at, **kw) is None


def test_five_failures_lock_the_user_and_say_when_to_try_again(zviz_home: Path) -> None:
    guard = Client().logins()
    fail(guard, "alice", USER_FREE_FAILURES)
    refusal = guard.begin_attempt("alice", now=T0 + timedelta(seconds=2))
    assert refusal == Refusal("user", FIRST_LOCK_S - 2)
    assert refusal.message == "Too many failed logins for this user. Try again in 30 seconds."
    # Another user is not affected, and the refused attempt did not count.
    assert guard.begin_attempt("bob", now=T0) is None
    assert guard.failure_count("alice") == USER_FREE_FAILURES


def test_the_lock_doubles_with_each_failure_after_it_and_stops_at_an_hour(
    zviz_home: Path,
) -> None:
    guard = Client().logins()
    fail(guard, "alice", USER_FREE_FAILURES - 1)
    at, waits = T0, []
    while len(waits) < 10:
        assert guard.begin_attempt("alice", now=at) is None  # allowed, and counted as failed
        refusal = guard.begin_attempt("alice", now=at)
        assert refusal is not None and refusal.scope == "user"
        waits.append(refusal.retry_after_s)
        assert guard.begin_attempt("alice", now=at + timedelta(seconds=waits[-1] - 1))
        at += timedelta(seconds=waits[-1])
    assert waits == [32, 64, 128, 256, 512, 1024, 2048, 3600, 3600, 3600]
    assert [lock_seconds(n, 5) for n in (4, 5, 6)] == [0, FIRST_LOCK_S, 2 * FIRST_LOCK_S]
    assert lock_seconds(10_000, 5) == MAX_LOCK_S
    assert Refusal("user", 3600).message.endswith("Try again in 60 minutes.")


def test_a_success_clears_the_users_count(zviz_home: Path) -> None:
    guard = Client().logins()
    fail(guard, "Alice ", USER_FREE_FAILURES - 1)
    assert guard.failure_count("alice") == USER_FREE_FAILURES - 1  # the name as the form reads it
    assert guard.begin_attempt("alice", now=T0) is None
    guard.attempt_succeeded("alice")
    assert guard.failure_count("alice") == 0
    fail(guard, "alice", USER_FREE_FAILURES - 1)
    assert guard.refusal("alice", now=T0) is None


def test_counters_are_forgotten_after_a_quiet_day(zviz_home: Path) -> None:
    guard = Client().logins()
    fail(guard, "alice", USER_FREE_FAILURES - 1)
    later = T0 + timedelta(hours=24, seconds=1)
    assert guard.begin_attempt("alice", now=later) is None
    assert guard.failure_count("alice") == 1


def test_an_address_is_locked_across_usernames_and_a_valid_login_does_not_reset_it(
    zviz_home: Path,
) -> None:
    guard = Client().logins()
    for i in range(ADDRESS_FREE_FAILURES - 1):
        assert guard.begin_attempt(f"guess{i}", "203.0.113.9", now=T0) is None
    # The guesser logs in to an account of its own: its address keeps the earlier failures.
    assert guard.begin_attempt("mallory", "203.0.113.9", now=T0) is None
    guard.attempt_succeeded("mallory", "203.0.113.9")
    assert guard.begin_attempt("guess-last", "203.0.113.9", now=T0) is None
    refusal = guard.begin_attempt("anyone", "203.0.113.9", now=T0)
    assert refusal == Refusal("address", FIRST_LOCK_S)
    assert "from your network address" in refusal.message
    assert guard.begin_attempt("anyone", "198.51.100.7", now=T0) is None


def test_counters_are_shared_by_processes(zviz_home: Path) -> None:
    guard = Client().logins()
    fail(guard, "alice", USER_FREE_FAILURES - 1)
    child = """
        import json
        from datetime import datetime
        from zviz_core import Client
        guard = Client().logins()
        at = datetime(2026, 1, 5, 12, 0, 1)
        first = guard.begin_attempt("alice", now=at)
        second = guard.begin_attempt("alice", now=at)
        for _ in range(5):
            guard.begin_attempt("bob", now=at)
        print(json.dumps([first is None, second.scope, second.retry_after_s]))
    """
    assert last_json_line(run_python(child, zviz_home).stdout) == [True, "user", FIRST_LOCK_S]
    # ... and this process sees what the child counted.
    refusal = guard.begin_attempt("bob", now=T0 + timedelta(seconds=2))
    assert refusal == Refusal("user", FIRST_LOCK_S - 1)


def test_attempts_from_processes_at_once_get_exactly_the_free_ones(zviz_home: Path) -> None:
    Client().logins().failure_count("nobody")  # the children race on attempts, not on the schema
    child = """
        import json, sys
        from datetime import datetime
        from zviz_core import Client
        guard = Client().logins()
        sys.stdin.readline()  # start together
        at = datetime(2026, 1, 5, 12, 0, 0)
        print(json.dumps(sum(guard.begin_attempt("alice", now=at) is None for _ in range(8))))
    """
    children = [start_python(child, zviz_home) for _ in range(3)]
    for proc in children:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    allowed = []
    for proc in children:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        allowed.append(last_json_line(out))
    assert sum(allowed) == USER_FREE_FAILURES, allowed


def test_the_store_keeps_no_username_or_address_in_clear(zviz_home: Path) -> None:
    guard = Client().logins()
    secret = "Hunter2-typed-into-the-username-field"
    guard.begin_attempt(secret, "192.0.2.44", now=T0)
    guard.remember_cookie(cookie_digest("the.jwt.token"), "alice", T0 + timedelta(days=7))
    dumped = repr(
        guard._db.read(
            lambda cur: (
                cur.rows("SELECT * FROM login_failures") + cur.rows("SELECT * FROM login_cookies")
            )
        )
    )
    assert "hunter2" not in dumped.lower() and "192.0.2.44" not in dumped
    assert "the.jwt.token" not in dumped
    assert cookie_digest("the.jwt.token") in dumped


# -- login cookies ----------------------------------------------------------------------------------


def test_a_cookie_is_live_from_issue_until_revoked_and_only_for_its_user(zviz_home: Path) -> None:
    guard = Client().logins()
    digest = cookie_digest("token-a")
    assert not guard.cookie_is_live(digest, "alice"), "never issued"
    guard.remember_cookie(digest, "alice", utc_now() + timedelta(days=7))
    assert guard.cookie_is_live(digest, "alice")
    assert not guard.cookie_is_live(digest, "bob")
    assert guard.revoke_cookie(digest)
    assert not guard.cookie_is_live(digest, "alice")
    assert not guard.revoke_cookie(digest)


def test_an_expired_cookie_is_dead_and_dropped(zviz_home: Path) -> None:
    guard = Client().logins()
    old = cookie_digest("old")
    guard.remember_cookie(old, "alice", utc_now() - timedelta(seconds=1))
    assert not guard.cookie_is_live(old, "alice")
    guard.remember_cookie(cookie_digest("new"), "alice", utc_now() + timedelta(days=1))
    assert not guard.revoke_cookie(old), "dropped when the next cookie was listed"


def test_a_revocation_in_another_process_is_seen_here(zviz_home: Path) -> None:
    guard = Client().logins()
    digest = cookie_digest("shared-token")
    guard.remember_cookie(digest, "alice", utc_now() + timedelta(days=7))
    assert guard.cookie_is_live(digest, "alice")  # now in this process's read cache
    run_python(
        f"from zviz_core import Client; Client().logins().revoke_cookie({digest!r})",
        zviz_home,
    )
    assert not guard.cookie_is_live(digest, "alice")


def test_removed_users_lose_their_cookies_for_good(zviz_home: Path) -> None:
    guard = Client().logins()
    expires = utc_now() + timedelta(days=7)
    for user in ("alice", "bob", "carol"):
        guard.remember_cookie(cookie_digest(user), user, expires)
    assert guard.revoke_users_except(["Alice", "carol"]) == ["bob"]
    assert guard.revoke_users_except(["alice", "carol"]) == []
    # bob comes back: his old cookie does not.
    assert not guard.cookie_is_live(cookie_digest("bob"), "bob")
    assert guard.cookie_is_live(cookie_digest("alice"), "alice")


# -- migration 5 ------------------------------------------------------------------------------------


class _Migrator:
    """schema.migrate's cursor over a raw DuckDB connection, to build a store as an older zviz
    left it (the DuckDB file is the store that existed before migration 5)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: list | None = None) -> _Migrator:
        self.con.execute(sql, params or [])
        return self

    def fetchone(self) -> tuple | None:
        return self.con.fetchone()

    def value(self, sql: str, params: list | None = None) -> object:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]


def test_a_version_4_store_gains_the_login_tables(zviz_home: Path) -> None:
    zviz_home.mkdir(parents=True)
    con = duckdb.connect(str(zviz_home / DB_FILE))
    try:
        assert schema.migrate(_Migrator(con), zviz_home, upto=4) == 4
    finally:
        con.close()
    guard = Client(home=zviz_home).logins()
    fail(guard, "alice", 1)
    assert guard.failure_count("alice") == 1
    Database._forget_all()
    con = duckdb.connect(str(zviz_home / DB_FILE), read_only=True)
    try:
        versions = [
            r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        ]
    finally:
        con.close()
    assert versions == list(range(1, schema.LATEST + 1)) and schema.LATEST >= 5


def test_a_failing_migration_5_leaves_version_4_untouched(zviz_home: Path) -> None:
    zviz_home.mkdir(parents=True)
    con = duckdb.connect(str(zviz_home / DB_FILE))
    try:
        schema.migrate(_Migrator(con), zviz_home, upto=4)
        con.execute("CREATE TABLE login_cookies (x INTEGER)")  # in the way of migration 5
        with pytest.raises(duckdb.Error):
            schema.migrate(_Migrator(con), zviz_home)
        assert schema.current_version(_Migrator(con)) == 4
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert "login_failures" not in tables, "migration 5 is all or nothing"
    finally:
        con.close()
