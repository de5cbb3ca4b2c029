"""Units of work on a PostgreSQL server: the team store that pipelines on many machines share.

Connections come from a psycopg pool and are held (a new one costs ~3 ms, a query ~0.3 ms).
Concurrent writers are PostgreSQL's job: no file gate, no attach. Each unit of work is one
transaction. A row lock held past ZVIZ_LOCK_TIMEOUT raises StoreBusyError; a server that cannot
be reached is retried with backoff for up to that time, then raises StoreUnavailableError. A
unit whose connection broke before COMMIT is retried whole (the server rolled it back); one
whose COMMIT got no answer is checked against the change token it wrote, so a caller is told
success only for what was committed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import select
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from zviz_core.errors import (
    ConfigError,
    EntityExistsError,
    StoreBusyError,
    StoreError,
    StoreUnavailableError,
)
from zviz_core.store.engine import Cursor, Engine, Params, to_pyformat

log = logging.getLogger(__name__)
# One advisory lock key for schema upgrades, so that processes starting together migrate once.
_MIGRATION_LOCK = 7_305_113_771
# How long one attempt waits for the pool, and how long the pool keeps retrying one failed
# connect. The pool's own retries back off 1, 2, 4, 8 s...: left to it, a process would not
# notice a server that came back after 4 s until 7 or 15 s later. So each attempt is short and
# our loop in `_connection` (backing off to at most 1 s) asks again until ZVIZ_LOCK_TIMEOUT.
_ATTEMPT_S = 1.0
# How long a change token read by check_identity serves the cached read that follows it.
_TOKEN_REUSE_S = 0.1
_POOL_RECONNECT_S = 0.5
_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK: a result with rows (psycopg.pq.ExecStatus.TUPLES_OK)
_IDLE = 0  # libpq's PQTRANS_IDLE: no transaction open (psycopg.pq.TransactionStatus.IDLE)


# When the store was created: a database dropped and made again (or a schema) is another store.
_IDENTITY_SQL = "SELECT CAST(applied AS VARCHAR) FROM schema_version WHERE version = 1"


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "ZVIZ_STORE_URL points at PostgreSQL, which needs psycopg: "
            'pip install "zviz[postgres]".'
        ) from exc
    return psycopg


def redact(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def _quiet(con: Any) -> bool:
    """Whether an idle pooled connection's socket has nothing to read. A server that closed
    the connection (a restart, an idle time-out) leaves its goodbye or EOF there, so a quiet
    socket is live enough to use without a round trip; anything else is checked with one."""
    try:
        fd = con.fileno()
    except Exception:
        return False
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return not poller.poll(0)
    readable, _, _ = select.select([fd], [], [], 0)
    return not readable


@functools.lru_cache(maxsize=4096)
def _pyformat(sql: str, named: bool) -> str:
    """`to_pyformat`'s text, remembered: the same few hundred statements run again and again,
    and the regular expression cost ~10 us a statement."""
    return to_pyformat(sql, {} if named else None)[0]


class PgCursor(Cursor):
    """A cursor on a pooled connection; translates `$name` / `?` into psycopg's placeholders."""

    dialect = "postgres"

    def __init__(self, cur: Any, begin_for_set: str | None = None) -> None:
        self._cur = cur
        # A read unit runs its statements in autocommit (see PostgresDatabase._run_unit) unless
        # its first statement is a SET (a transaction setting): then it opens this first.
        self._begin_for_set = begin_for_set

    def execute(self, sql: str, params: Params = None) -> PgCursor:
        if self._begin_for_set is not None:
            begin, self._begin_for_set = self._begin_for_set, None
            if sql.lstrip()[:4].upper() == "SET ":
                self._cur.execute(begin)
        if params is None or (not isinstance(params, dict) and not params):
            self._cur.execute(sql)
        else:
            self._cur.execute(_pyformat(sql, isinstance(params, dict)), params)
        return self

    def changed(self, sql: str, params: Params = None) -> int:
        self.execute(sql, params)
        return max(self._cur.rowcount, 0)

    def lock_rows(self, table: str, ids: Any, share: bool = False) -> list[Any]:
        mode = "FOR SHARE" if share else "FOR UPDATE"
        found = self.rows(
            f"SELECT id FROM {table} WHERE id = ANY($ids) ORDER BY id {mode}", {"ids": list(ids)}
        )
        return [r[0] for r in found]

    def serialize(self, key: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended($k, 0))", {"k": key})

    # `description` builds a Column object per column on every access: ask the result itself.
    def _rows(self) -> Any:
        result = self._cur.pgresult
        return result if result is not None and result.status == _TUPLES_OK else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall() if self._rows() is not None else []

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone() if self._rows() is not None else None

    def columns(self) -> list[str]:
        result = self._rows()
        if result is None:
            return []
        return [result.fname(i).decode() for i in range(result.nfields)]


class PostgresDatabase(Engine):
    """The metadata database of a team store on PostgreSQL, shared by this process's Clients."""

    kind = "postgres"
    _instances: dict[str, PostgresDatabase] = {}
    _instances_lock = threading.Lock()

    def __init__(self, url: str) -> None:
        super().__init__()
        scheme = urlsplit(url).scheme
        if scheme not in ("postgresql", "postgres"):
            raise ConfigError(
                f"ZVIZ_STORE_URL must start with postgresql://, not {scheme or url!r}."
            )
        self.url = url
        self._pool: Any = None
        self._local = threading.local()
        self._schema_ready = False
        # Which store this process checked (see check_identity), and whether a new connection
        # since then means it must be checked again.
        self._identity: str | None = None
        self._suspect = False

    @property
    def location(self) -> str:
        return redact(self.url)

    @classmethod
    def for_url(cls, url: str) -> PostgresDatabase:
        """Return the process-wide engine of a PostgreSQL URL, creating it on first use."""
        with cls._instances_lock:
            db = cls._instances.get(url)
            if db is None:
                db = cls._instances[url] = cls(url)
            return db

    @classmethod
    def _forget_all(cls) -> None:
        """Drop every engine of this process (tests; and a forked child, which must reconnect)."""
        cls._instances_lock = threading.Lock()
        for db in cls._instances.values():
            db._pool = None  # a forked child must not close its parent's sockets
            db._reset_after_fork()
        cls._instances.clear()

    def close(self) -> None:
        """Close the pool's connections."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # -- connections ----------------------------------------------------------------------------

    def _configure(self, con: Any) -> None:
        # A new connection may reach a database re-created since this process checked it.
        self._suspect = self._identity is not None
        timeout_ms = int(self.lock_timeout_s * 1000)
        con.execute(f"SET lock_timeout = {timeout_ms}")
        con.execute("SET idle_in_transaction_session_timeout = 600000")
        # Read units run in autocommit: this keeps each of their statements read-only, as
        # BEGIN READ ONLY did. Write units say BEGIN READ WRITE; migrations turn it off.
        con.execute("SET default_transaction_read_only = on")

    def _get_pool(self) -> Any:
        if self._pool is None:
            _psycopg()
            from psycopg_pool import ConnectionPool

            with self._instances_lock:
                if self._pool is None:
                    self._pool = ConnectionPool(
                        self.url,
                        min_size=0,
                        max_size=8,
                        kwargs={"autocommit": True, "connect_timeout": 5},
                        configure=self._configure,
                        timeout=self.lock_timeout_s,
                        reconnect_timeout=_POOL_RECONNECT_S,
                        open=True,
                        name="zviz",
                    )
        return self._pool

    def _unavailable(self, exc: BaseException, waited: float) -> StoreUnavailableError:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreUnavailableError(
            f"The zviz store on PostgreSQL ({self.location}) could not be reached for "
            f"{waited:.0f} s ({reason}). Check that the server is up and ZVIZ_STORE_URL is "
            "right; nothing was written."
        )

    def _busy(self, waited: float) -> StoreBusyError:
        return StoreBusyError(
            f"The zviz store on PostgreSQL ({self.location}) kept rows locked by another "
            f"writer for {waited:.0f} s (ZVIZ_LOCK_TIMEOUT); nothing was written. Try again."
        )

    # -- units of work --------------------------------------------------------------------------

    @contextlib.contextmanager
    def unit(self, write: bool = False, checkpoint: bool = True) -> Iterator[Cursor]:
        """One transaction on a pooled connection (see Engine.unit).

        A nested unit on the same thread shares the outer transaction.
        """
        current = getattr(self._local, "cursor", None)
        if current is not None:
            if write and not self._local.writing:
                raise RuntimeError("a write unit cannot nest inside a read unit")
            yield current
            return
        self._wait_background()
        if self._suspect:  # a new connection since the last check
            self.check_identity()
        self.ensure_schema()
        yield from self._run_unit(write)

    def _run_unit(self, write: bool) -> Iterator[Cursor]:
        psycopg = _psycopg()
        started = time.monotonic()
        with self._connection(started) as con:
            self.stats.units += 1
            # A read unit needs no BEGIN and COMMIT, two of a cold get's three round trips:
            # in READ COMMITTED, the isolation a transaction had here, each statement sees the
            # data committed when it starts either way, so its statements run in autocommit
            # (read-only by the session's default). One whose first statement is a SET (the
            # store copy's REPEATABLE READ snapshot) gets its transaction.
            cur = PgCursor(con.cursor(), begin_for_set=None if write else "BEGIN READ ONLY")
            self._local.cursor, self._local.writing = cur, write
            token = uuid.uuid4().hex if write else None
            try:
                try:
                    # Inside the translation: the server may die between the connection's
                    # check and this first statement.
                    if write:
                        cur.execute("BEGIN READ WRITE")
                    yield cur
                    if write:
                        # The store's identity comes back with the token: a write meant for a
                        # store since re-created (its memoised ids dead) is rolled back.
                        found = cur.value(
                            "UPDATE store_changes SET token = $t WHERE id = 1 "
                            f"RETURNING ({_IDENTITY_SQL})",
                            {"t": token},
                        )
                        if self._identity is not None and found != self._identity:
                            self._forget_identity()
                            raise StoreError(
                                f"The PostgreSQL store ({self.location}) was re-created since "
                                "this process last used it, so nothing was written; try again."
                            )
                except BaseException as exc:
                    if con.info.transaction_status != _IDLE:
                        with contextlib.suppress(Exception):
                            cur.execute("ROLLBACK")
                    raise self._translate(exc, time.monotonic() - started) from exc
                if not write and con.info.transaction_status == _IDLE:
                    return  # autocommit: nothing to commit
                try:
                    cur.execute("COMMIT")
                except psycopg.OperationalError as exc:
                    if not write:
                        raise self._translate(exc, time.monotonic() - started) from exc
                    if not self._committed(token):
                        # Not retried: the write may have landed just before the link broke.
                        raise StoreError(
                            f"The PostgreSQL store ({self.location}) did not confirm a write "
                            "and a later write hides whether it landed; reload and check "
                            "before trying again."
                        ) from exc
                if token is not None:
                    self._new_token(token)
            finally:
                self._local.cursor = None

    def _translate(self, exc: BaseException, waited: float) -> BaseException:
        psycopg = _psycopg()
        errors = psycopg.errors
        if isinstance(exc, errors.UniqueViolation):
            detail = getattr(exc.diag, "message_detail", None) or str(exc)
            return EntityExistsError(f"That would duplicate an existing entry: {detail}")
        if isinstance(exc, errors.LockNotAvailable):
            return self._busy(waited)
        if isinstance(exc, errors.ReadOnlySqlTransaction):
            return StoreError(f"The PostgreSQL store ({self.location}) refused a write: {exc}")
        if isinstance(exc, psycopg.OperationalError):
            return self._unavailable(exc, waited)
        return exc

    def _committed(self, token: str | None) -> bool:
        """After a COMMIT that got no answer: did it commit? (Its token is then the current one,
        unless another write came after it, in which case it is reported as not committed.)"""
        try:
            return self._read_token(limit_s=None) == token
        except Exception:
            return False

    @contextlib.contextmanager
    def _connection(self, started: float, limit_s: float | None = None) -> Iterator[Any]:
        """A live pooled connection, retrying while the server cannot be reached, for up to
        `limit_s` (default ZVIZ_LOCK_TIMEOUT) since `started`."""
        psycopg = _psycopg()
        from psycopg_pool import PoolTimeout

        limit = self.lock_timeout_s if limit_s is None else limit_s
        delay = 0.05
        while True:
            remaining = limit - (time.monotonic() - started)
            try:
                pool = self._get_pool()
                con = pool.getconn(timeout=max(0.1, min(remaining, _ATTEMPT_S)))
            except (psycopg.OperationalError, PoolTimeout) as exc:
                error: BaseException = exc
            else:
                try:
                    if _quiet(con):
                        break
                    con.execute("")  # what the pool's check does, without its 1 s+ sleeps
                    break
                except psycopg.Error as exc:
                    # A connection the server dropped (a restart): so are the other idle ones.
                    pool.putconn(con)
                    pool.check()
                    error = exc
            waited = time.monotonic() - started
            if waited >= limit:
                raise self._unavailable(self._reason(error), waited) from error
            self.stats.retries += 1
            time.sleep(min(delay * (0.5 + random.random()), max(0.0, limit - waited)))
            delay = min(delay * 2, 1.0)
        try:
            yield con
        finally:
            pool.putconn(con)  # the pool discards a broken connection itself

    def _reason(self, exc: BaseException) -> BaseException:
        """Why the server could not be reached: a pool time-out says only that it waited, so
        ask the server once directly (refused, unknown host, bad password...)."""
        from psycopg_pool import PoolTimeout

        if not isinstance(exc, PoolTimeout):
            return exc
        psycopg = _psycopg()
        try:
            psycopg.connect(self.url, connect_timeout=2).close()
        except psycopg.Error as direct:
            return direct
        return exc

    def _read_token(self, limit_s: float | None = _ATTEMPT_S) -> str:
        # Only a cache check: when the server is away, "do not trust the cache" at once, and
        # let the unit of work that follows wait for the server.
        stashed = getattr(self._local, "token", None)
        if stashed is not None:
            self._local.token = None
            token, at = stashed
            if time.monotonic() - at < _TOKEN_REUSE_S:
                return token
        try:
            with self._connection(time.monotonic(), limit_s) as con:
                row = con.execute(
                    f"SELECT token, ({_IDENTITY_SQL}) FROM store_changes WHERE id = 1"
                ).fetchone()
        except Exception as exc:
            if isinstance(exc, _psycopg().errors.UndefinedTable):
                self._forget_identity()  # the schema was dropped under this process
            return uuid.uuid4().hex
        if row is None:
            return uuid.uuid4().hex
        if self._identity is not None and row[1] != self._identity:
            self._forget_identity()
            return uuid.uuid4().hex
        return str(row[0])

    def check_identity(self) -> None:
        """Check that the database is still the store this process memoised (its projects, its
        schema), and forget them when it was re-created (dropped and made again, or its schema).

        It reads the change token in the same round trip and keeps it for this thread's next
        cached read, which follows at once (a Client resolves its project, then reads): the
        check costs a cached read nothing.
        """
        self._suspect = False
        self._local.token = None
        if self._identity is None:
            return
        token = self._read_token()
        if self._identity is not None:
            self._local.token = (token, time.monotonic())

    def _forget_identity(self) -> None:
        self._schema_ready = False
        self._identity = None
        self.projects.clear()
        with self._lock:
            self._cache.entries.clear()
            self._cache.token = None

    def read(self, fn: Any, cache_key: Any = None) -> Any:
        """Run `fn` in a read unit, retried once when the connection broke before an answer
        (not after a unit that already waited ZVIZ_LOCK_TIMEOUT for the server)."""
        started = time.monotonic()
        try:
            return super().read(fn, cache_key)
        except StoreUnavailableError:
            if time.monotonic() - started >= self.lock_timeout_s:
                raise
            self.stats.retries += 1
        return super().read(fn, cache_key)

    def write(self, fn: Any, checkpoint: bool = True) -> Any:
        """Run `fn` in one write transaction; retried whole while the server is unreachable
        before its COMMIT, since the server then rolled it back."""
        started = time.monotonic()
        delay = 0.1
        while True:
            try:
                return super().write(fn, checkpoint)
            except StoreUnavailableError:
                if time.monotonic() - started >= self.lock_timeout_s:
                    raise
                self.stats.retries += 1
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    # -- schema ---------------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create or upgrade the schema once per process; raises StoreVersionError if newer."""
        if self._schema_ready:
            return
        from zviz_core.store import schema

        started = time.monotonic()
        with self._connection(started) as con:
            cur = PgCursor(con.cursor())
            try:
                version = schema.current_version(cur)
                schema.check_not_newer(version, self.location)
                if version < schema.LATEST:
                    con.execute("SET default_transaction_read_only = off")
                    try:
                        schema.migrate(
                            cur,
                            self.location,
                            lock_sql=f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})",
                        )
                    finally:
                        with contextlib.suppress(Exception):
                            con.execute("SET default_transaction_read_only = on")
                identity = cur.value(_IDENTITY_SQL)
            except StoreError:
                raise
            except Exception as exc:
                raise self._translate(exc, time.monotonic() - started) from exc
        self._identity, self._suspect = identity, False
        self._schema_ready = True


os.register_at_fork(after_in_child=PostgresDatabase._forget_all)
