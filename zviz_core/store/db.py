"""Units of work on the DuckDB metadata file: one transaction each; the file is held only while busy.

Several processes share a store (the app and pipeline scripts), and DuckDB lets only one process
write a file at a time. A process ATTACHes the file to a long-lived in-memory connection and keeps
it attached across units of work while it stays busy; it DETACHes (releasing the OS lock) 30 ms
after its last unit, or within a few ms when another process waits, which waiters announce on a
queue file beside the database. Processes take turns fairly at a gate file: a writer cannot take
the store again while a reader waits. A wait that outlasts ZVIZ_LOCK_TIMEOUT is a
`StoreBusyError` naming the process that held the store.

Reads may be served from a per-process cache. Every write replaces a change token file beside the
database before it commits; a cached read is reused only while the token is unchanged, so a write
from any process invalidates every other process's cache, and a missing token trusts nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import errno

try:
    import fcntl
except ImportError:  # Windows: no gate, the ATTACH retry alone arbitrates
    fcntl = None  # type: ignore[assignment]
import logging
import os
import random
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from zviz_core.errors import (
    EntityExistsError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
)
from zviz_core.store.engine import Cursor, Engine, Params, StoreStats
from zviz_core.store.util import pid_alive

__all__ = ["DB_FILE", "TOKEN_FILE", "Cursor", "Database", "DuckCursor", "StoreStats"]

log = logging.getLogger(__name__)

DB_FILE = "zviz.duckdb"
TOKEN_FILE = ".zviz-changes"
GATE_FILE = ".zviz-gate"
QUEUE_FILE = ".zviz-queue"
HOLDER_FILE = ".zviz-holder"
ALIAS = "zviz_store"
_PARKED: list[Any] = []
_LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "database is locked")
_DAMAGE_MARKERS = (
    "Corrupt database",
    "checksum",
    "not a valid DuckDB database",
    "Could not read enough bytes",
    "INTERNAL Error",
)
DAMAGED_FILE = ".zviz-damaged"
# A random id written when a process creates the database. A file's inode is no identity: one
# freed by a deleted store is often given to the file of the store made next in its place.
STORE_ID_FILE = ".zviz-store-id"
# Writes leave their WAL to be checkpointed when this process lets go of the file, and at the
# latest after this many writes or this long since the last checkpoint. The WAL is replayed by
# every attach (issue 11: 200 steps, each attaching anew with an unbounded WAL, took 14 s); a
# held attachment replays nothing, so the bound only keeps the release-time checkpoint short.
WAL_MAX_WRITES = 32
WAL_MAX_AGE_S = 1.0
# A process keeps the file attached between units while it is busy, and lets go this long after
# its last unit, or within RELEASE_POLL_S when another process waits (issue 11).
HOLD_IDLE_S = 0.03
RELEASE_POLL_S = 0.003


_PARSED: dict[str, Any] = {}
_PARSED_MAX = 1024
# Longer texts are batch inserts of many rows (Cursor.insert_rows): rarely run twice, and their
# parse is a small part of their cost.
_PARSED_MAX_CHARS = 8000


def _parsed(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """`sql` parsed once per process. DuckDB parses the text on every execute: 0.12 ms of a
    0.52 ms point read on this project's machines, and more of a write's several statements.
    Executing a parsed statement copies it, so one can be run again, by any connection, with
    new parameters. A script of several statements, or a long text, is passed through as is."""
    found = _PARSED.get(sql)
    if found is None:
        if len(sql) > _PARSED_MAX_CHARS:
            return sql
        statements = con.extract_statements(sql)
        found = statements[0] if len(statements) == 1 else sql
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[sql] = found
    return found


class DuckCursor(Cursor):
    """A cursor on the attached DuckDB file."""

    dialect = "duckdb"
    writers_take_turns = True

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, params: Params = None) -> DuckCursor:
        self._con.execute(_parsed(self._con, sql), params if params is not None else [])
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._con.fetchall()

    def changed(self, sql: str, params: Params = None) -> int:
        self._con.execute(_parsed(self._con, sql), params if params is not None else [])
        row = self._con.fetchone()
        return int(row[0]) if row else 0

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._con.fetchone()

    def columns(self) -> list[str]:
        return [d[0] for d in self._con.description or []]

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        return self._con.execute(_parsed(self._con, sql), params or []).arrow()


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and any(m in str(exc) for m in _LOCK_MARKERS)


def _program() -> str:
    return " ".join(os.path.basename(a) for a in sys.argv[:2]) or "python"


def _is_damage(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(m in str(exc) for m in _DAMAGE_MARKERS)


def _is_disk_error(exc: BaseException) -> bool:
    text = str(exc)
    return any(m in text for m in ("No space left", "Read-only file system", "Permission denied"))


class Database(Engine):
    """The DuckDB metadata file of one store folder, shared by every Client of this process."""

    kind = "duckdb"
    _instances: dict[Path, Database] = {}
    _instances_lock = threading.Lock()

    def __init__(self, home: Path) -> None:
        super().__init__()
        self.home = home
        self.path = home / DB_FILE
        self.token_path = home / TOKEN_FILE
        # Checked before every unit: plain strings spare pathlib's joins and conversions.
        self._path_text = str(self.path)
        self._id_path_text = str(home / STORE_ID_FILE)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self._writing = False
        self._schema_ready = False
        self._gate: int | None = None
        self._queue: int | None = None
        self._identity: tuple[int, int, bytes] | None = None
        self._deferred = 0
        self._checkpointed = time.monotonic()
        self._held: str | None = None
        self._stale = False
        self._closed = False
        self._pid = os.getpid()
        self._used_at = 0.0
        self._releaser: threading.Thread | None = None

    @property
    def location(self) -> str:
        return str(self.path)

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
    def release_all(cls) -> None:
        """Let every Database of this process detach its file now (before forgetting them)."""
        for db in list(cls._instances.values()):
            with db._lock:
                db._release_held()

    @classmethod
    def _forget_all(cls) -> None:
        """Drop every Database of this process (tests; and a forked child, which must start over).

        Connections are parked, never closed: closing a DuckDB connection inherited through
        fork() crashes the child.
        """
        cls._instances_lock = threading.Lock()
        for db in cls._instances.values():
            if db._pid == os.getpid() and db._lock.acquire(timeout=10):
                # Same process (tests): let go of the file (after any unit or release running
                # in another thread), or a new Database for it here would find it attached.
                # After a fork the attachment is the parent's: leave it.
                try:
                    with contextlib.suppress(Exception):
                        db._release_held()
                    db._closed = True
                finally:
                    db._lock.release()
            if db._con is not None:
                _PARKED.append(db._con)
            db._con = None
            db._held, db._releaser = None, None
            db._reset_after_fork()
            db._depth = 0
            for fd in (db._gate, db._queue):
                if fd is not None:
                    # Closing is safe after fork (the parent keeps its own descriptor);
                    # unlocking an inherited flock is not: it would release the parent's lock.
                    with contextlib.suppress(OSError):
                        os.close(fd)
            db._gate = db._queue = None
        cls._instances.clear()

    # -- connection -----------------------------------------------------------------------------

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(":memory:", config={"threads": 1})
            # Checkpoints are explicit (see `unit`): a pipeline's step writes defer theirs.
            self._con.execute("SET checkpoint_on_detach = 'DISABLED'")
        return self._con

    def _open_lock_file(self, name: str) -> int | None:
        if fcntl is None:
            return None
        for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
            try:
                return os.open(self.home / name, flags, 0o644)
            except OSError:
                continue
        return None

    def _gate_fd(self) -> int | None:
        if self._gate is None:
            self._gate = self._open_lock_file(GATE_FILE)
        return self._gate

    def _queue_fd(self) -> int | None:
        if self._queue is None:
            self._queue = self._open_lock_file(QUEUE_FILE)
        return self._queue

    def _take(self, fd: int, mode: int, started: float) -> None:
        """flock `fd` in `mode`, polling until the lock time-out (flock cannot time out)."""
        delay = 0.0002
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= self.lock_timeout_s:
                    raise self._busy(waited) from None
                time.sleep(delay)
                delay = min(delay * 1.5, 0.002)

    def _pass_gate(self, write: bool, started: float) -> None:
        """Take turns fairly at the gate (a flock beside the database), before attaching.

        A writer holds the gate exclusively until it detaches; a reader holds it shared until
        it has attached. Whoever waits announces it on the queue file: a reader holds it shared
        while it waits, and a writer takes it exclusively before the gate, so a writer cannot
        take the gate again while a reader is waiting (readers are served between a
        pipeline's step writes), and readers arriving while a writer waits queue behind it.
        """
        gate, queue = self._gate_fd(), self._queue_fd()
        if gate is None:
            return
        if queue is None:
            self._take(gate, fcntl.LOCK_EX if write else fcntl.LOCK_SH, started)
            return
        if write:
            # The queue stays taken until the writer has attached (`_leave_queue`): that is how
            # a process holding the file attached learns that a writer waits for it.
            self._take(queue, fcntl.LOCK_EX, started)
            try:
                self._take(gate, fcntl.LOCK_EX, started)
            except BaseException:
                fcntl.flock(queue, fcntl.LOCK_UN)
                raise
            self._note_holder()
            return
        self._take(queue, fcntl.LOCK_SH, started)
        try:
            self._take(gate, fcntl.LOCK_SH, started)
        finally:
            fcntl.flock(queue, fcntl.LOCK_UN)

    def _leave_gate(self) -> None:
        if self._gate is not None:
            fcntl.flock(self._gate, fcntl.LOCK_UN)

    def _leave_queue(self) -> None:
        if self._queue is not None:
            fcntl.flock(self._queue, fcntl.LOCK_UN)

    def _someone_waits(self) -> bool:
        """Whether another process waits for the store: waiting readers hold the queue shared,
        a waiting writer holds it exclusively, so it cannot be taken exclusively here."""
        queue = self._queue_fd()
        if queue is None:
            return False
        try:
            fcntl.flock(queue, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(queue, fcntl.LOCK_UN)
        return False

    def _checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        self._deferred, self._checkpointed = 0, time.monotonic()
        try:
            con.execute(f"CHECKPOINT {ALIAS}")
        except duckdb.Error:
            # DuckDB invalidates an attachment whose checkpoint failed (a full disk): the next
            # unit attaches afresh. The WAL keeps what was committed.
            log.warning("zviz: checkpoint failed; the WAL is kept", exc_info=True)
            self._stale = True

    def _release_held(self) -> None:
        """Detach the file this process kept attached (and leave the gate a writer held),
        checkpointing first what its writes left in the WAL."""
        if self._held is None:
            return
        held, self._held = self._held, None
        if held == "rw" and self._deferred and not self._stale:
            self._checkpoint(self._connection())
        self._stale = False
        self._detach()
        if held == "rw":
            self._leave_gate()

    def _ensure_releaser(self) -> None:
        if self._releaser is None or not self._releaser.is_alive():
            self._releaser = threading.Thread(
                target=self._release_loop, name="zviz-store-releaser", daemon=True
            )
            self._releaser.start()

    def _release_loop(self) -> None:
        """Let go of the file within HOLD_IDLE_S of the last unit, and at once (within a few
        ms) when another process waits for it."""
        while not _EXITING and not self._closed:
            time.sleep(RELEASE_POLL_S)
            if self._held is None or _EXITING or self._closed:
                return  # the next unit that keeps the file attached starts a new releaser
            if not self._lock.acquire(blocking=False):
                continue
            try:
                idle = time.monotonic() - self._used_at
                if (
                    self._held is not None
                    and self._depth == 0
                    and (idle >= HOLD_IDLE_S or self._someone_waits())
                ):
                    self._release_held()
            except Exception:
                log.exception("zviz: could not let go of the store")
            finally:
                self._lock.release()

    def _note_holder(self) -> None:
        """Say who holds the gate, so that a process that times out can tell its user."""
        with contextlib.suppress(OSError):
            text = f"{os.getpid()} {socket.gethostname()} {time.time():.3f} {_program()}"
            (self.home / HOLDER_FILE).write_text(text[:300], encoding="utf-8")

    def _holder(self) -> str:
        try:
            pid, host, since, program = (
                (self.home / HOLDER_FILE).read_text(encoding="utf-8").split(" ", 3)
            )
        except (OSError, ValueError):
            return "another zviz process"
        held = max(0.0, time.time() - float(since))
        who = f"process {pid} on {host} ({program.strip()}), which took it {held:.1f} s ago"
        if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
            who += " and has exited since (so something else holds the database file)"
        return who

    def _busy(self, waited: float) -> StoreBusyError:
        return StoreBusyError(
            f"The zviz store at {self.home} could not be used for {waited:.1f} s "
            f"(ZVIZ_LOCK_TIMEOUT): the last zviz writer to take it was {self._holder()}. Try "
            "again, or raise ZVIZ_LOCK_TIMEOUT if such long writes are expected."
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

    def _damaged(self, exc: BaseException) -> StoreCorruptError:
        """Record that the database is damaged (so no process writes to it) and say what to do."""
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        error = StoreCorruptError(
            f"The zviz database {self.path} is damaged ({reason[:200]}). Nothing more is written "
            "to it. Restore it from a backup, or copy what can still be read into a new store: "
            f"python -m zviz_core.store copy {self.home} NEW_FOLDER."
        )
        with contextlib.suppress(OSError):
            inode = self._file_identity()
            (self.home / DAMAGED_FILE).write_text(f"{inode}\n{error}\n", encoding="utf-8")
        return error

    def _refuse_if_damaged(self) -> None:
        """Refuse a write to a database some process found damaged, unless the file has been
        replaced since (a restored backup is a new file)."""
        marker = self.home / DAMAGED_FILE
        try:
            recorded, message = marker.read_text(encoding="utf-8").split("\n", 1)
        except (OSError, ValueError):
            return
        if recorded == str(self._file_identity()):
            raise StoreCorruptError(message.strip())
        with contextlib.suppress(OSError):
            marker.unlink()

    def _refuse_if_read_only(self) -> None:
        """A store on a read-only filesystem reads, and says so for writes, before any attach."""
        try:
            read_only = bool(os.statvfs(self.home).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):
            return
        if read_only:
            raise StoreError(
                f"The zviz store at {self.home} is not writable (Read-only file system). Set "
                "ZVIZ_HOME to a folder this user can write."
            )

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._path_text)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _store_identity(self) -> tuple[int, int, bytes] | None:
        """The database file's inode and the store's id: what tells this store from one made
        in its place (two syscalls and a read of 32 bytes)."""
        inode = self._file_identity()
        if inode is None:
            return None
        try:
            fd = os.open(self._id_path_text, os.O_RDONLY)
        except OSError:
            return (*inode, b"")
        try:
            return (*inode, os.read(fd, 64))
        except OSError:
            return (*inode, b"")
        finally:
            os.close(fd)

    def _write_store_id(self, new_store: bool) -> None:
        """Give the store an id: a new one for a database this process has just created, else
        one only where there is none yet (a store from before ids; the first process wins)."""
        temp = self.home / f"{STORE_ID_FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            temp.write_text(uuid.uuid4().hex, encoding="ascii")
            if new_store:
                os.replace(temp, self._id_path_text)
                return
            with contextlib.suppress(FileExistsError):
                os.link(temp, self._id_path_text)
        except OSError as exc:
            log.debug("could not write the store id in %s: %s", self.home, exc)
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()

    def _translate_open_error(self, exc: BaseException) -> StoreError:
        if _is_damage(exc):
            return self._damaged(exc)
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
        """One unit of work: a transaction on the attached file.

        The file stays attached after the unit while this process is busy, and is let go of
        HOLD_IDLE_S after the last unit or as soon as another process waits for it. Writes
        leave their WAL for the releaser to checkpoint (bounded by WAL_MAX_WRITES and
        WAL_MAX_AGE_S meanwhile); `checkpoint` is kept for callers and changes nothing now.
        Raises StoreBusyError when the lock wait runs out and StoreError when the folder cannot
        be used; any exception inside a write rolls the whole transaction back.
        """
        self._wait_background()
        with self._lock:
            if self._depth:
                if write and not self._writing:
                    raise RuntimeError("a write unit cannot nest inside a read unit")
                self._depth += 1
                try:
                    yield DuckCursor(self._connection())
                finally:
                    self._depth -= 1
                return
            self.check_identity()
            self.ensure_schema()
            if write:
                self._refuse_if_damaged()
                self._refuse_if_read_only()
            # The file stays attached between units while this process is busy (issue 11): a
            # held attachment serves the next unit if its mode allows and nobody waits.
            reuse = self._held == "rw" or (self._held == "ro" and not write)
            if reuse and self._someone_waits():
                reuse = False
            if not reuse:
                self._release_held()
                started = time.monotonic()
                self._pass_gate(write, started)
                try:
                    waited = self._attach(read_only=not write, started=started)
                except BaseException:
                    self._leave_gate()
                    raise
                finally:
                    if write:
                        self._leave_queue()
                if not write:
                    self._leave_gate()  # attached: DuckDB's own file lock keeps writers out
                self._held = "rw" if write else "ro"
                if waited > 0.001:
                    self.stats.lock_waits += 1
                    self.stats.max_lock_wait_s = max(self.stats.max_lock_wait_s, waited)
            self.stats.units += 1
            self._depth, self._writing = 1, write
            con = self._connection()
            try:
                if write:
                    con.execute(_parsed(con, "BEGIN TRANSACTION"))
                try:
                    yield DuckCursor(con)
                except BaseException as exc:
                    if write:
                        with contextlib.suppress(duckdb.Error):
                            con.execute("ROLLBACK")
                    if isinstance(exc, duckdb.Error) and (_is_disk_error(exc) or _is_damage(exc)):
                        raise self._translate_open_error(exc) from exc
                    raise
                if write:
                    # The token changes before the commit, while this process still holds the
                    # file: a reader that sees the new token can only attach after the commit,
                    # and a crash between the two leaves caches invalid, never stale. A token
                    # that cannot be written fails the write before anything is committed.
                    try:
                        self._bump_token()
                    except BaseException:
                        with contextlib.suppress(duckdb.Error):
                            con.execute("ROLLBACK")
                        raise
                    try:
                        con.execute(_parsed(con, "COMMIT"))
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
                    # Checkpoints are deferred to when this process lets go of the file (the
                    # releaser does it, off the caller's path) and bounded meanwhile: every
                    # attach replays the WAL, so an unbounded one makes each unit slower.
                    self._deferred += 1
                    if (
                        self._deferred >= WAL_MAX_WRITES
                        or time.monotonic() - self._checkpointed >= WAL_MAX_AGE_S
                    ):
                        self._checkpoint(con)
            except BaseException:
                self._release_held()  # after any failure, start the next unit afresh
                raise
            finally:
                self._depth, self._writing = 0, False
                self._used_at = time.monotonic()
                if self._stale:
                    self._stale = False
                    with contextlib.suppress(Exception):
                        self._release_held()
                if self._held is not None:
                    self._ensure_releaser()

    # -- change token ---------------------------------------------------------------------------

    def _read_token(self) -> str:
        try:
            with open(self.token_path, encoding="ascii") as fh:
                return fh.read()
        except OSError:
            # Missing or unreadable: a token never seen before, so no cached read is trusted.
            return uuid.uuid4().hex

    def _bump_token(self) -> None:
        token = uuid.uuid4().hex
        self._new_token(token)
        try:
            fd = os.open(self.token_path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.pwrite(fd, token.encode("ascii"), 0)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._translate_open_error(exc) from exc

    # -- schema ---------------------------------------------------------------------------------

    def check_identity(self) -> None:
        """The database file deleted, re-created or restored under this process: its schema,
        projects and cached reads are checked again (a stat and a read of the store's id)."""
        if self._store_identity() != self._identity:
            self._forget_identity()

    def _forget_identity(self) -> None:
        """The database file is not the one this process checked (deleted, re-created,
        restored): its schema, projects and cached reads are checked again."""
        self._release_held()
        self._schema_ready = False
        self.projects.clear()
        with self._lock:
            self._cache.entries.clear()
            self._cache.token = None

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
                version = schema.current_version(DuckCursor(self._connection()))
            finally:
                self._detach()
            schema.check_not_newer(version, self.home)
            if version == schema.LATEST:
                self._schema_ready = True
                self._identity = self._checked_identity()
                return
        started = time.monotonic()
        self._pass_gate(True, started)
        try:
            new_store = not self.path.exists()
            self._attach(read_only=False, started=started)
            try:
                schema.migrate(DuckCursor(self._connection()), self.home)
                self._bump_token()
            except duckdb.IOException as exc:
                raise self._translate_open_error(exc) from exc
            finally:
                self._detach()
            if new_store:
                self._write_store_id(new_store=True)
        finally:
            self._leave_gate()
        self._schema_ready = True
        self._identity = self._checked_identity()

    def _checked_identity(self) -> tuple[int, int, bytes] | None:
        """The identity of the store whose schema was just checked, giving it an id first if
        it has none."""
        identity = self._store_identity()
        if identity is not None and not identity[2]:
            self._write_store_id(new_store=False)
            identity = self._store_identity()
        return identity


_EXITING = False


def _at_exit() -> None:
    """Let go of every attached file before the interpreter stops (the releaser threads are
    daemons and must not be inside DuckDB when it does)."""
    global _EXITING
    _EXITING = True
    with contextlib.suppress(Exception):
        Database.release_all()


atexit.register(_at_exit)
# A forked child must not inherit an attached file (DuckDB would refuse to attach it again in
# the child), so the parent lets go just before forking.
os.register_at_fork(before=Database.release_all, after_in_child=Database._forget_all)
