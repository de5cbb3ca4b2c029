"""Units of work on the DuckDB metadata file: one transaction each, never holding the file between them.

Several processes share a store (the app and pipeline scripts), and DuckDB lets only one process
open a file at a time. So each unit of work ATTACHes the file to a long-lived in-memory connection,
runs, and DETACHes it, which releases the OS lock (about 1 ms for a read, 3 ms for a write, against
12 ms for a fresh `duckdb.connect`). A lock held by another process is waited out with bounded
exponential backoff and then reported as `StoreBusyError`.

Reads may be served from a per-process cache. Every write replaces a change token file beside the
database before it starts and after it commits; a cached read is reused only while the token is
unchanged, so a write from any process invalidates every other process's cache.
"""

from __future__ import annotations

import contextlib
import errno

try:
    import fcntl
except ImportError:  # Windows: no gate, the ATTACH retry alone arbitrates
    fcntl = None  # type: ignore[assignment]
import logging
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from zviz_core.errors import (
    EntityExistsError,
    StoreBusyError,
    StoreError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
DB_FILE = "zviz.duckdb"
TOKEN_FILE = ".zviz-changes"
GATE_FILE = ".zviz-gate"
ALIAS = "zviz_store"
_WRITER_THREAD = "zviz-background-writer"
_PARKED: list[Any] = []
_LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "database is locked")


@dataclass
class StoreStats:
    """Counters a benchmark or soak test can read: lock waits seen by this process."""

    units: int = 0
    lock_waits: int = 0
    max_lock_wait_s: float = 0.0
    cache_hits: int = 0


@dataclass
class _Cache:
    token: str | None = None
    entries: OrderedDict[Any, Any] = field(default_factory=OrderedDict)
    limit: int = 2048


class Cursor:
    """What a unit of work receives: `execute` with bound parameters, and fetch helpers."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Cursor:
        self._con.execute(sql, params if params is not None else [])
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._con.fetchall()

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._con.fetchone()

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def row(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def value(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Insert several rows in one statement (DuckDB's executemany runs one per row)."""
        if not rows:
            return
        width = len(rows[0])
        group = "(" + ", ".join("?" * width) + ")"
        values = ", ".join([group] * len(rows))
        self._con.execute(f"INSERT INTO {table} VALUES {values}", [v for row in rows for v in row])

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        return self._con.execute(sql, params or []).arrow()


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and any(m in str(exc) for m in _LOCK_MARKERS)


def _is_disk_error(exc: BaseException) -> bool:
    text = str(exc)
    return any(m in text for m in ("No space left", "Read-only file system", "Permission denied"))


class Database:
    """The metadata database of one store folder, shared by every Client of this process."""

    _instances: dict[Path, Database] = {}
    _instances_lock = threading.Lock()

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / DB_FILE
        self.token_path = home / TOKEN_FILE
        self.lock_timeout_s = float(os.environ.get("ZVIZ_LOCK_TIMEOUT", "30"))
        self.cache_enabled = os.environ.get("ZVIZ_READ_CACHE", "1") != "0"
        self.stats = StoreStats()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()
        self._depth = 0
        self._writing = False
        self._schema_ready = False
        self._cache = _Cache()
        self.projects: dict[str, Any] = {}
        self._writer: ThreadPoolExecutor | None = None
        self._pending: list[Future[Any]] = []
        self._background_error: BaseException | None = None
        self._gate: int | None = None

    @classmethod
    def for_home(cls, home: Path) -> Database:
        """Return the process-wide Database of a store folder, creating it on first use."""
        key = home.resolve()
        with cls._instances_lock:
            db = cls._instances.get(key)
            if db is None:
                db = cls._instances[key] = cls(key)
            return db

    @classmethod
    def _forget_all(cls) -> None:
        """Drop every Database of this process (tests; and a forked child, which must start over).

        Connections are parked, never closed: closing a DuckDB connection inherited through
        fork() crashes the child.
        """
        cls._instances_lock = threading.Lock()
        for db in cls._instances.values():
            if db._con is not None:
                _PARKED.append(db._con)
            db._con = None
            db._lock = threading.RLock()
            db._depth = 0
            db._writer = None
            db._pending = []
            if db._gate is not None:
                # Closing is safe after fork (the parent keeps its own descriptor); unlocking an
                # inherited flock is not: it would release the parent's lock.
                with contextlib.suppress(OSError):
                    os.close(db._gate)
            db._gate = None
        cls._instances.clear()

    # -- connection -----------------------------------------------------------------------------

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(":memory:", config={"threads": 1})
            # Checkpoints are explicit (see `unit`): a pipeline's step writes defer theirs.
            self._con.execute("SET checkpoint_on_detach = 'DISABLED'")
        return self._con

    def _gate_fd(self) -> int | None:
        if self._gate is None and fcntl is not None:
            path = self.home / GATE_FILE
            for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
                try:
                    self._gate = os.open(path, flags, 0o644)
                    break
                except OSError:
                    continue
        return self._gate

    def _pass_gate(self, write: bool, started: float) -> None:
        """Writer preference: a writer holds the gate exclusively from before it attaches until
        it detaches; a reader only passes through it. So readers that keep overlapping cannot
        starve a writer: new readers queue at the gate while the current ones drain."""
        fd = self._gate_fd()
        if fd is None:
            return
        mode = fcntl.LOCK_EX if write else fcntl.LOCK_SH
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - started >= self.lock_timeout_s:
                    raise self._busy(time.monotonic() - started) from None
                time.sleep(delay)
                delay = min(delay * 1.5, 0.005)
        if not write:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _leave_gate(self) -> None:
        if self._gate is not None:
            fcntl.flock(self._gate, fcntl.LOCK_UN)

    def _busy(self, waited: float) -> StoreBusyError:
        return StoreBusyError(
            f"The zviz store at {self.home} stayed locked by another process for "
            f"{waited:.0f} s. Another zviz process is holding it; try again, or raise "
            "ZVIZ_LOCK_TIMEOUT if long writes are expected."
        )

    def _attach(self, read_only: bool, started: float | None = None) -> float:
        """ATTACH the file, retrying while another process holds it; returns the time waited
        since `started` (default: now)."""
        con = self._connection()
        quoted = str(self.path).replace("'", "''")
        options = " (READ_ONLY)" if read_only else ""
        started = time.monotonic() if started is None else started
        delay = 0.002
        while True:
            try:
                con.execute(f"ATTACH '{quoted}' AS {ALIAS}{options}")
                con.execute(f"USE {ALIAS}")
                return time.monotonic() - started
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise self._translate_open_error(exc) from exc
                waited = time.monotonic() - started
                if waited >= self.lock_timeout_s:
                    raise self._busy(waited) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 1.6, 0.1)

    def _detach(self) -> None:
        con = self._connection()
        try:
            con.execute("USE memory")
            con.execute(f"DETACH {ALIAS}")
        except duckdb.Error:
            log.exception("could not detach the zviz store; dropping the connection")
            with contextlib.suppress(Exception):
                con.close()
            self._con = None

    def _translate_open_error(self, exc: BaseException) -> StoreError:
        text = str(exc)
        if "Permission denied" in text or "Read-only file system" in text:
            return StoreError(
                f"The zviz store at {self.home} is not writable ({text.splitlines()[0]}). "
                "Set ZVIZ_HOME to a folder this user can write."
            )
        if "No space left" in text:
            return StoreError(
                f"The disk holding the zviz store at {self.home} is full; nothing was written. "
                "Free some space and try again."
            )
        if not self.path.exists() and (
            "No such file or directory" in text or not os.access(self.home, os.W_OK | os.X_OK)
        ):
            return StoreError(
                f"The zviz store cannot create its database in {self.home} ({text.splitlines()[0]}). "
                "Set ZVIZ_HOME to a folder this user can write."
            )
        return StoreError(f"The zviz store at {self.home} could not be opened: {text}")

    # -- units of work --------------------------------------------------------------------------

    @contextlib.contextmanager
    def unit(self, write: bool = False, checkpoint: bool = True) -> Iterator[Cursor]:
        """One unit of work: a transaction on the attached file, detached when it ends.

        A write checkpoints its WAL into the file unless `checkpoint` is False (a pipeline's
        steps defer it to the run's last write: readers then replay a few WAL entries).
        Raises StoreBusyError when the lock wait runs out and StoreError when the folder cannot
        be used; any exception inside a write rolls the whole transaction back.
        """
        if self._pending and not threading.current_thread().name.startswith(_WRITER_THREAD):
            self.flush_background()
        with self._lock:
            if self._depth:
                if write and not self._writing:
                    raise RuntimeError("a write unit cannot nest inside a read unit")
                self._depth += 1
                try:
                    yield Cursor(self._connection())
                finally:
                    self._depth -= 1
                return
            self.ensure_schema()
            started = time.monotonic()
            self._pass_gate(write, started)
            try:
                waited = self._attach(read_only=not write, started=started)
            except BaseException:
                if write:
                    self._leave_gate()
                raise
            self.stats.units += 1
            if waited > 0.001:
                self.stats.lock_waits += 1
                self.stats.max_lock_wait_s = max(self.stats.max_lock_wait_s, waited)
            self._depth, self._writing = 1, write
            con = self._connection()
            try:
                if write:
                    con.execute("BEGIN TRANSACTION")
                try:
                    yield Cursor(con)
                except BaseException as exc:
                    if write:
                        with contextlib.suppress(duckdb.Error):
                            con.execute("ROLLBACK")
                    if isinstance(exc, duckdb.Error) and _is_disk_error(exc):
                        raise self._translate_open_error(exc) from exc
                    raise
                if write:
                    try:
                        con.execute("COMMIT")
                    except duckdb.ConstraintException as exc:
                        with contextlib.suppress(duckdb.Error):
                            con.execute("ROLLBACK")
                        raise EntityExistsError(
                            f"That would duplicate an existing entry: {exc}"
                        ) from exc
                    except duckdb.Error as exc:
                        with contextlib.suppress(duckdb.Error):
                            con.execute("ROLLBACK")
                        raise self._translate_open_error(exc) from exc
                    # Still holding the file lock: a reader that sees the new token can only
                    # attach after this commit, so it never caches older data under it.
                    self._bump_token()
                    if checkpoint:
                        try:
                            con.execute(f"CHECKPOINT {ALIAS}")
                        except duckdb.Error:
                            log.warning("zviz: checkpoint failed; the WAL is kept", exc_info=True)
            finally:
                self._depth, self._writing = 0, False
                self._detach()
                if write:
                    self._leave_gate()

    def read(self, fn: Callable[[Cursor], T], cache_key: Any = None) -> T:
        """Run `fn` in a read unit; with a cache key, reuse its result until any process writes."""
        if cache_key is None or not self.cache_enabled:
            with self.unit() as cur:
                return fn(cur)
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
            if cache.token == token:
                cache.entries[cache_key] = result
                if len(cache.entries) > cache.limit:
                    cache.entries.popitem(last=False)
            return result

    def write(self, fn: Callable[[Cursor], T], checkpoint: bool = True) -> T:
        """Run `fn` in one write transaction and return its result."""
        with self.unit(write=True, checkpoint=checkpoint) as cur:
            return fn(cur)

    def write_in_background(
        self,
        fn: Callable[[Cursor], Any],
        checkpoint: bool = False,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        """Queue a write to run after the queued ones, on this process's writer thread.

        Any later unit of work from another thread first waits for the queue, so this process
        still reads its own writes. After a failed write the rest of the queue is skipped and
        `flush_background` raises the failure.
        """
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_WRITER_THREAD)

        def run() -> None:
            try:
                if self._background_error is None:
                    self.write(fn, checkpoint=checkpoint)
                    return
            except BaseException as exc:
                self._background_error = exc
            if on_error is not None:
                try:
                    on_error()
                except Exception:
                    log.exception("zviz: cleaning up after a failed background write failed")

        self._pending.append(self._writer.submit(run))

    def flush_background(self) -> None:
        """Wait for queued background writes; raise the first one's error, if any."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()
        error, self._background_error = self._background_error, None
        if error is not None:
            raise error

    # -- change token ---------------------------------------------------------------------------

    def _read_token(self) -> str:
        try:
            with open(self.token_path, encoding="ascii") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""
        except OSError:
            return uuid.uuid4().hex

    def remember(self, cache_key: Any, value: Any) -> None:
        """Cache the result of this process's own latest write (write-through), unless another
        process has written since."""
        if not self.cache_enabled:
            return
        token = self._read_token()
        with self._lock:
            if self._cache.token == token:
                self._cache.entries[cache_key] = value

    def _bump_token(self) -> None:
        token = uuid.uuid4().hex
        self._cache.entries.clear()
        self._cache.token = token
        try:
            fd = os.open(self.token_path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.pwrite(fd, token.encode("ascii"), 0)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._translate_open_error(exc) from exc

    # -- schema ---------------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create or upgrade the schema once per process; raises StoreVersionError if newer."""
        if self._schema_ready:
            return
        from zviz_core.store import schema

        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            hint = "" if exc.errno != errno.ENOSPC else " The disk is full."
            raise StoreError(
                f"Cannot create the zviz store folder {self.home}: {reason}.{hint} "
                "Set ZVIZ_HOME to a folder this user can write."
            ) from exc
        if self.path.exists():
            self._attach(read_only=True)
            try:
                version = schema.current_version(self._connection())
            finally:
                self._detach()
            schema.check_not_newer(version, self.home)
            if version == schema.LATEST:
                self._schema_ready = True
                return
        started = time.monotonic()
        self._pass_gate(True, started)
        try:
            self._attach(read_only=False, started=started)
            try:
                schema.migrate(self._connection(), self.home)
                self._bump_token()
            except duckdb.IOException as exc:
                raise self._translate_open_error(exc) from exc
            finally:
                self._detach()
        finally:
            self._leave_gate()
        self._schema_ready = True


os.register_at_fork(after_in_child=Database._forget_all)
