"""What both metadata engines share: the unit-of-work contract, the read cache and the
background writer. `db.py` implements it on a DuckDB file, `postgres.py` on a PostgreSQL server.

A unit of work is one transaction. `read(fn, cache_key)` may answer from a per-process cache,
which is trusted only while the store's change token is the one seen when the entry was made;
every write changes the token in the same unit of work, so a write from any process (or machine)
invalidates every cache. A token that cannot be read means "do not trust the cache".

SQL is written once for both engines: named parameters as `$name` (or `?` in order), arrays
compared with `x = ANY($list)`, substrings with `strpos`, and no engine defaults relied upon.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from zviz_core.settings import settings

log = logging.getLogger(__name__)
T = TypeVar("T")
WRITER_THREAD = "zviz-background-writer"
MAX_BATCH = 8
Params = Sequence[Any] | dict[str, Any] | None


@dataclass
class StoreStats:
    """Counters a benchmark or soak test can read: units of work and waits seen by this process."""

    units: int = 0
    lock_waits: int = 0
    max_lock_wait_s: float = 0.0
    cache_hits: int = 0
    retries: int = 0


@dataclass
class _Cache:
    token: str | None = None
    entries: OrderedDict[Any, Any] = field(default_factory=OrderedDict)
    limit: int = 2048


class Cursor(ABC):
    """What a unit of work receives: `execute` with bound parameters, and fetch helpers."""

    dialect: str = ""
    # Whether write transactions never overlap (DuckDB's take turns at the store's gate), so a
    # check and the write it guards may share one statement without a lock.
    writers_take_turns: bool = False

    @abstractmethod
    def execute(self, sql: str, params: Params = None) -> Cursor: ...

    @abstractmethod
    def fetchall(self) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def fetchone(self) -> tuple[Any, ...] | None: ...

    @abstractmethod
    def columns(self) -> list[str]:
        """The column names of the last result."""

    def serialize(self, key: str) -> None:
        """Hold `key` until this transaction ends, so concurrent writers that check and then
        insert (a free display order, an existing snapshot) take turns. DuckDB's writers
        already take turns at the store's gate, so there it does nothing."""
        return None

    def lock_rows(self, table: str, ids: Sequence[Any], share: bool = False) -> list[Any]:
        """Lock rows of `table` until this transaction ends (`share`: against deletes and
        updates only) and return the ids that exist. A check followed by a write then cannot
        race a concurrent delete. DuckDB's writers take turns at the gate, so there it only
        reads."""
        if len(ids) == 1:  # a point read: a list parameter costs DuckDB a scan
            return [
                r[0] for r in self.rows(f"SELECT id FROM {table} WHERE id = $id", {"id": ids[0]})
            ]
        return [
            r[0]
            for r in self.rows(f"SELECT id FROM {table} WHERE id = ANY($ids)", {"ids": list(ids)})
        ]

    @abstractmethod
    def changed(self, sql: str, params: Params = None) -> int:
        """Run an INSERT, UPDATE or DELETE and return how many rows it changed (cheaper than
        RETURNING, which costs DuckDB about 2 ms a statement)."""

    def rows(self, sql: str, params: Params = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def row(self, sql: str, params: Params = None) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def value(self, sql: str, params: Params = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def dicts(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Rows as {column name: value}, so mappers never depend on column positions."""
        rows = self.execute(sql, params).fetchall()
        names = self.columns()
        return [dict(zip(names, row, strict=True)) for row in rows]

    def dict_row(self, sql: str, params: Params = None) -> dict[str, Any] | None:
        """The first row as {column name: value}, or None (one fetchone: on DuckDB, 0.06 ms
        less than a fetchall of the same row)."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else dict(zip(self.columns(), row, strict=True))

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Insert several rows in one statement (executemany runs one statement per row)."""
        if not rows:
            return
        width = len(rows[0])
        group = "(" + ", ".join("?" * width) + ")"
        values = ", ".join([group] * len(rows))
        self.execute(f"INSERT INTO {table} VALUES {values}", [v for row in rows for v in row])


class Engine(ABC):
    """One store's metadata database, shared by every Client of this process."""

    kind: str = ""

    def __init__(self) -> None:
        config = settings()
        self.lock_timeout_s = config.LOCK_TIMEOUT
        self.cache_enabled = config.READ_CACHE
        self.stats = StoreStats()
        self._lock = threading.RLock()
        self._cache = _Cache()
        self._written = threading.local()  # the token of each thread's latest write
        self.projects: dict[str, Any] = {}
        self._writer: ThreadPoolExecutor | None = None
        self._pending: list[Future[Any]] = []
        # Background writes belong to the thread that queued them: its failure is raised to
        # that thread alone, and skips only that thread's later writes.
        self._background_errors: dict[object, BaseException] = {}
        self._owners = threading.local()
        self._batch: list[_Queued] = []
        self._batch_lock = threading.Lock()
        self._drain_scheduled = False

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the metadata lives, safe to show (no password)."""

    @abstractmethod
    def unit(
        self, write: bool = False, checkpoint: bool = True
    ) -> contextlib.AbstractContextManager[Cursor]:
        """One unit of work: a transaction, committed when the block ends without error.

        Raises StoreBusyError when the store stayed locked past the time-out, StoreError (or a
        subclass) when it cannot be used; any exception inside a write rolls it back whole.
        """

    @abstractmethod
    def _read_token(self) -> str:
        """The store's current change token; a fresh random one when it cannot be read."""

    def change_token(self) -> str:
        """The store's current change token (see `_read_token`), for pollers: cheap to read,
        and different after every committed write of any process."""
        self._wait_background()
        return self._read_token()

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create or upgrade the schema; raises StoreVersionError for a newer store."""

    def check_identity(self) -> None:
        """Forget what this process memoised about the store (its projects, schema, cached
        reads) when the database is no longer the one it checked. Engines that can tell do."""
        return None

    def _wait_background(self) -> None:
        if self._pending and not threading.current_thread().name.startswith(WRITER_THREAD):
            self.flush_background()

    def read(self, fn: Callable[[Cursor], T], cache_key: Any = None) -> T:
        """Run `fn` in a read unit; with a cache key, reuse its result until any process writes."""
        if cache_key is None or not self.cache_enabled:
            with self.unit() as cur:
                return fn(cur)
        self._wait_background()
        token = self._read_token()
        with self._lock:
            cache = self._cache
            if cache.token != token:
                cache.entries.clear()
                cache.token = token
            elif cache_key in cache.entries:
                cache.entries.move_to_end(cache_key)
                self.stats.cache_hits += 1
                return cache.entries[cache_key]
        with self.unit() as cur:
            result = fn(cur)
        with self._lock:
            if cache.token == token:
                cache.entries[cache_key] = result
                if len(cache.entries) > cache.limit:
                    cache.entries.popitem(last=False)
        return result

    def write(self, fn: Callable[[Cursor], T], checkpoint: bool = True) -> T:
        """Run `fn` in one write transaction and return its result."""
        with self.unit(write=True, checkpoint=checkpoint) as cur:
            return fn(cur)

    def _new_token(self, token: str) -> None:
        """This process wrote: its cache starts over under the token it wrote."""
        with self._lock:
            self._cache.entries.clear()
            self._cache.token = token
            self._written.token = token

    def remember(self, cache_key: Any, value: Any) -> None:
        """Cache the result of this thread's latest write (write-through), unless another
        thread of this process has written since.

        No need to ask the store whether another process wrote since: the entry is kept under
        the token this write made, and every cached read first compares the store's current
        token with it, so a later write anywhere still empties the cache before it is read.
        """
        if not self.cache_enabled:
            return
        with self._lock:
            written = getattr(self._written, "token", None)
            if written is not None and self._cache.token == written:
                self._cache.entries[cache_key] = value

    def write_in_background(
        self,
        fn: Callable[[Cursor], Any],
        checkpoint: bool = False,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        """Queue a write to run after the queued ones, on this process's writer thread.

        Writes queued while the writer is busy are committed together in its next unit of
        work (one commit for several of a pipeline's steps). Any later unit of work from
        another thread first waits for the queue, so this process still reads its own writes.
        After a failed write, the rest of the queuing thread's writes are skipped (their
        `on_error` runs) and that thread's next `flush_background` raises the failure; other
        threads' writes are not affected.
        """
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=WRITER_THREAD)
        with self._batch_lock:
            self._batch.append(_Queued(fn, on_error, self._owner()))
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
            self._pending.append(self._writer.submit(self._drain, checkpoint))

    def _drain(self, checkpoint: bool) -> None:
        with self._batch_lock:
            # A bounded batch: one unit of work stays short, so other processes waiting for the
            # store get their turn between batches (a 400-step pipeline queues hundreds).
            batch, self._batch = self._batch[:MAX_BATCH], self._batch[MAX_BATCH:]
            if self._batch and self._writer is not None:
                self._pending.append(self._writer.submit(self._drain, checkpoint))
            else:
                self._drain_scheduled = False
        with self._batch_lock:
            failed = set(self._background_errors)
        self._given_up([q for q in batch if q.owner in failed])
        batch = [q for q in batch if q.owner not in failed]
        owners = list(dict.fromkeys(q.owner for q in batch))
        if not owners:
            return
        try:
            self._write_all(batch, checkpoint)
            return
        except BaseException as exc:
            if len(owners) == 1:
                self._failed(owners[0], exc, batch)
                return
        # Several threads' writes shared the failed unit: each thread's again, alone, so that
        # one thread's failure neither undoes nor skips another's writes.
        for owner in owners:
            mine = [q for q in batch if q.owner is owner]
            try:
                self._write_all(mine, checkpoint)
            except BaseException as exc:
                self._failed(owner, exc, mine)

    def _write_all(self, batch: list[_Queued], checkpoint: bool) -> None:
        def run_all(cur: Cursor) -> None:
            for queued in batch:
                queued.fn(cur)

        self.write(run_all, checkpoint=checkpoint)

    def _failed(self, owner: object, exc: BaseException, batch: list[_Queued]) -> None:
        with self._batch_lock:
            self._background_errors.setdefault(owner, exc)
        self._given_up(batch)

    @staticmethod
    def _given_up(batch: list[_Queued]) -> None:
        for queued in batch:
            if queued.on_error is not None:
                try:
                    queued.on_error()
                except Exception:
                    log.exception("zviz: cleaning up after a failed background write failed")

    def _owner(self) -> object:
        """This thread's token for its background writes (an object, never reused as thread
        ids are)."""
        owner = getattr(self._owners, "token", None)
        if owner is None:
            owner = self._owners.token = object()
        return owner

    def flush_background(self) -> None:
        """Wait until every background write queued so far (by any thread) has run; raise the
        first failure of this thread's own writes, if any."""
        while True:
            with self._batch_lock:
                self._pending = [f for f in self._pending if not f.done()]
                pending = list(self._pending)
            if not pending:
                break
            for future in pending:
                future.result()  # a drain may queue the rest of its batch: loop until none
        with self._batch_lock:
            error = self._background_errors.pop(self._owner(), None)
        if error is not None:
            raise error

    def _reset_after_fork(self) -> None:
        self._lock = threading.RLock()
        self._writer = None
        self._pending = []
        self._batch, self._batch_lock, self._drain_scheduled = [], threading.Lock(), False
        self._background_errors = {}


class _Queued(NamedTuple):
    """A background write, with what to run if it is given up and the thread that queued it."""

    fn: Callable[[Cursor], Any]
    on_error: Callable[[], None] | None
    owner: object


_NAMED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def to_pyformat(sql: str, params: Params) -> tuple[str, Params]:
    """SQL written for DuckDB (`$name` or `?`) as psycopg's `%(name)s` / `%s`."""
    sql = sql.replace("%", "%%")
    if isinstance(params, dict):
        return _NAMED.sub(r"%(\1)s", sql), params
    return sql.replace("?", "%s"), params
