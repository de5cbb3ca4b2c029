"""Copy a whole zviz store from one engine to another (DuckDB file or PostgreSQL, either way),
the destination written in one transaction, optionally with its artifact files.

Tables travel as CSV: the source engine writes each table with its own bulk export (DuckDB's
`COPY ... TO file`, PostgreSQL's `COPY ... TO STDOUT`) into a temporary file while the
destination bulk-loads the previous one (PostgreSQL's `COPY ... FROM STDIN`, DuckDB's
`read_csv`), so no row passes through Python one value at a time. Both dialects agree on the
CSV: NULL is an unquoted empty field, an empty string is `""`.

The source is read in one consistent snapshot (a read unit; on DuckDB this holds the file for
the copy's duration). The destination must be new or empty; it is migrated to the source's
schema version, then every row is written in ONE transaction, so a copy that is killed leaves
it empty, never half-filled.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit

from zviz_core.artifacts.store import STORE_ENV, ArtifactStore, is_inside, is_remote, join
from zviz_core.errors import StoreError
from zviz_core.settings import settings
from zviz_core.store import runs as run_sql
from zviz_core.store import schema
from zviz_core.store.engine import Cursor, Engine

# Every table of the schema is either copied (in this order) or skipped for a stated reason; a
# table in neither list makes `copy_store` refuse, and a test compares both lists with the
# tables a migrated store really has.
COPIED_TABLES: tuple[str, ...] = (
    "projects",
    "pipelines",
    "snapshots",
    "pipeline_runs",
    "step_runs",
    "step_inputs",
    "run_metadata",
    "artifacts",
    "artifact_versions",
    "artifact_visualizations",
    "models",
    "deployments",
    "curated_visualizations",
)
SKIPPED_TABLES: dict[str, str] = {
    "schema_version": "the destination gets the schema by migrating to the same version",
    "store_changes": "the destination keeps its own change token; the copy's commit renews it",
    "login_failures": "failed-login counters are short-lived throttling state",
    "login_cookies": "login cookies belong to the old deployment; users log in again",
    "run_counts": "derived from pipeline_runs: the destination rebuilds it after loading",
}
# The columns holding artifact file locations, rewritten by a copy with `artifacts_to`.
URI_COLUMNS: dict[str, tuple[str, ...]] = {
    "artifact_versions": ("uri",),
    "artifact_visualizations": ("uri",),
    "curated_visualizations": ("viz_uri", "viz_folder"),
}
# What a user calls the rows of a table, for the "not empty" message.
_NOUNS = {
    "pipeline_runs": "runs",
    "curated_visualizations": "tiles",
    "artifact_versions": "artifact versions",
    "artifact_visualizations": "artifact visualizations",
    "step_runs": "steps",
    "step_inputs": "step inputs",
}
_CSV_OUT_DUCK = "(FORMAT csv, HEADER false)"
_CSV_PG = "(FORMAT csv)"
_CHUNK = 1 << 20


class CopyRefusedError(StoreError):
    """A copy was refused before anything was written: a source at another schema version, a
    destination that is not empty, the same store on both sides, or artifact locations that
    do not lie in the artifact store."""


@dataclass(frozen=True)
class Location:
    """One side of a copy: a DuckDB store folder or a PostgreSQL URL."""

    kind: Literal["duckdb", "postgres"]
    home: Path | None = None
    url: str | None = None

    def __str__(self) -> str:
        if self.home is not None:
            return str(self.home)
        from zviz_core.store.postgres import redact

        return redact(self.url or "")

    def engine(self) -> Engine:
        """Return the process-wide engine of this location (nothing is opened yet); raises
        ConfigError for a URL PostgreSQL's engine refuses."""
        if self.kind == "postgres":
            from zviz_core.store.postgres import PostgresDatabase

            return PostgresDatabase.for_url(self.url or "")
        from zviz_core.store.db import Database

        return Database.for_home(self.home or Path())


def parse_location(text: str) -> Location:
    """A store location from the command line: `postgresql://…` (or `postgres://…`), else a
    store folder given as a path or `duckdb:///path` (a path to its `zviz.duckdb` file also works).

    Returns the Location; raises CopyRefusedError for another URL scheme.
    """
    from zviz_core.store.db import DB_FILE

    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres"):
        return Location("postgres", url=text)
    if scheme == "duckdb":
        text = text[len("duckdb://") :]
    elif scheme:
        raise CopyRefusedError(
            f"{text!r} is neither a store folder, duckdb:///path, nor a postgresql:// URL."
        )
    path = Path(text).expanduser()
    if path.name == DB_FILE and path.is_file():
        path = path.parent
    return Location("duckdb", home=path.resolve())


@dataclass
class CopyReport:
    """What a copy did: row counts of every table on both sides (skipped tables included),
    artifact files copied, and how long it took."""

    source: str
    destination: str
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    files_copied: int = 0
    folders_missing: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Progress:
    """Progress of a copy on a text stream (stderr in the CLI; None: silent): a line when each
    table starts, then a bar redrawn in place on a terminal, else a plain line at most every
    `every` seconds."""

    def __init__(self, stream: IO[str] | None = None, every: float = 1.0) -> None:
        self.stream = stream
        self.every = every
        self.total = 0
        self.done = 0
        self._last = 0.0
        self._tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def say(self, message: str) -> None:
        """Print one line (ending any bar drawn in place); returns nothing."""
        if self.stream is None:
            return
        prefix = "\n" if self._tty and self._last else ""
        self.stream.write(f"{prefix}copy: {message}\n")
        self.stream.flush()
        self._last = 0.0

    def rows(self, table: str, written: int, rows: int, final: bool = False) -> None:
        """Show that `written` of a table's `rows` are in the destination's open transaction
        (`final`: the table is done); returns nothing."""
        if final:
            self.done += rows
        if self.stream is None or (final and not self._tty):
            return
        now = time.monotonic()
        if not final and now - self._last < (0.2 if self._tty else self.every):
            return
        self._last = now
        overall = self.done if final else self.done + written
        share = overall / self.total if self.total else 1.0
        text = f"writing {table}: {written:,} of {rows:,} rows ({share:4.0%} of all rows)"
        if self._tty:
            bar = "#" * int(share * 30)
            self.stream.write(f"\r[{bar:<30}] {text}   ")
        else:
            self.stream.write(f"copy: {text}\n")
        self.stream.flush()


# -- engine access: the copy needs the drivers' bulk paths, which the Cursor contract hides ---


def _driver(cur: Cursor) -> Any:
    """The driver object under one of this package's cursors (a DuckDB connection or a psycopg
    cursor)."""
    from zviz_core.store.db import DuckCursor

    return cur._con if isinstance(cur, DuckCursor) else cur._cur  # type: ignore[attr-defined]


def _stored_version(engine: Engine) -> int:
    """The schema version in the engine's database without creating or upgrading anything;
    0 when there is no store yet."""
    if engine.kind == "duckdb":
        from zviz_core.store.db import Database, DuckCursor

        assert isinstance(engine, Database)
        if not engine.path.exists():
            return 0
        engine._attach(read_only=True)
        try:
            return schema.current_version(DuckCursor(engine._connection()))
        finally:
            engine._detach()
    from zviz_core.store.postgres import PgCursor, PostgresDatabase

    assert isinstance(engine, PostgresDatabase)
    try:
        with engine._connection(time.monotonic()) as con:
            return schema.current_version(PgCursor(con.cursor()))
    except StoreError:
        raise
    except Exception as exc:
        raise engine._translate(exc, 0.0) from exc


def _tables(cur: Cursor) -> dict[str, list[tuple[str, str]]]:
    """{table: [(column, data type), ...] in column order} of the store behind `cur`."""
    rows = cur.rows(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_catalog = c.table_catalog "
        "AND t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_catalog = current_database() AND c.table_schema = current_schema() "
        "AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position"
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        found.setdefault(str(table), []).append((str(column), str(dtype)))
    return found


def unhandled_tables(tables: set[str] | list[str]) -> list[str]:
    """Return the tables among `tables` that copy neither copies nor knowingly skips, sorted
    (empty when copy handles them all); raises nothing."""
    return sorted(set(tables) - set(COPIED_TABLES) - set(SKIPPED_TABLES))


def _count(cur: Cursor, table: str) -> int:
    return int(cur.value(f"SELECT count(*) FROM {table}") or 0)


def _contents(cur: Cursor) -> dict[str, int]:
    """Rows a user put in a store: every copied table but the default project migration made."""
    found = {t: _count(cur, t) for t in COPIED_TABLES if t != "projects"}
    found["projects"] = int(
        cur.value("SELECT count(*) FROM projects WHERE name <> $n", {"n": schema.DEFAULT_PROJECT})
        or 0
    )
    return {t: n for t, n in found.items() if n}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- artifact files ---------------------------------------------------------------------------


@dataclass
class _ArtifactMove:
    """Where the files go: every URI starts with `old` + separator and becomes `new` + the rest."""

    source: ArtifactStore
    target: ArtifactStore

    @property
    def old(self) -> str:
        return self.source.root.rstrip("/" if is_remote(self.source.root) else os.sep)

    @property
    def new(self) -> str:
        return self.target.root.rstrip("/" if is_remote(self.target.root) else os.sep)

    @property
    def sep(self) -> str:
        return "/" if is_remote(self.source.root) else os.sep

    def moved(self, uri: str) -> str:
        rest = uri[len(self.old) :]
        if is_remote(self.new) != is_remote(self.old):
            rest = rest.replace(self.sep, "/" if is_remote(self.new) else os.sep)
        return self.new + rest

    def select(self, column: str) -> str:
        """SQL for the column's value under the new root (same text on both engines)."""
        return f"{_quote(self.new)} || substr({column}, {len(self.old) + 1}) AS {column}"


def _check_uris(cur: Cursor, move: _ArtifactMove) -> None:
    """Refuse unless every file location lies under the source artifact root, as written."""
    prefix = move.old + move.sep
    for table, column in ((t, c) for t, cols in URI_COLUMNS.items() for c in cols):
        outside, example = cur.row(
            f"SELECT count(*), min({column}) FROM {table} WHERE {column} IS NOT NULL "
            f"AND substr({column}, 1, {len(prefix)}) <> $p",
            {"p": prefix},
        ) or (0, None)
        if outside:
            raise CopyRefusedError(
                f"{outside:,} rows of {table} point outside the source artifact store "
                f"{move.old} (for example {example}), so their files cannot be moved. Give "
                "the artifact store those locations lie in with --artifacts-from."
            )


def _files_to_copy(cur: Cursor, move: _ArtifactMove) -> tuple[list[str], list[str]]:
    """(folders, loose files): every version folder and every run folder that exists, plus any
    visualization or tile file that does not lie inside its own version's folder."""
    folders = sorted(str(r[0]) for r in cur.rows("SELECT DISTINCT uri FROM artifact_versions"))
    sep = _quote(move.sep)
    loose = cur.rows(
        "SELECT DISTINCT v.uri FROM artifact_visualizations v "
        "LEFT JOIN artifact_versions av ON av.id = v.artifact_version_id "
        f"WHERE av.id IS NULL OR substr(v.uri, 1, length(av.uri) + 1) <> av.uri || {sep} "
        "UNION SELECT DISTINCT c.viz_uri FROM curated_visualizations c "
        "LEFT JOIN artifact_versions av ON av.id = c.artifact_version_id "
        "WHERE c.viz_uri IS NOT NULL AND (av.id IS NULL "
        f"OR substr(c.viz_uri, 1, length(av.uri) + 1) <> av.uri || {sep})"
    )
    # Runs' own folders (their steps' logs), those that exist: one listing of the root.
    runs = {str(r[0]) for r in cur.rows("SELECT id FROM pipeline_runs")}
    root = move.source.root
    present = set(move.source.listdir(root)) if runs and move.source.exists(root) else set()
    folders += sorted(move.source.run_folder(name) for name in present & runs)
    return folders, sorted(str(r[0]) for r in loose)


def _copy_files(
    move: _ArtifactMove, folders: list[str], loose: list[str], progress: Progress
) -> tuple[int, list[str]]:
    """Copy every folder (recursively) and loose file to the same place under the new root.
    Returns (files copied, folders that were missing at the source)."""
    src, dst = move.source, move.target
    pairs: list[tuple[str, str]] = []
    missing: list[str] = []
    strip = type(src.fs)._strip_protocol
    for folder in folders:
        src.check(folder, strictly=True, what="The artifact folder")
        base = strip(folder).rstrip("/")
        found = src.fs.find(folder) if src.exists(folder) else []
        if not found:
            missing.append(folder)
        for path in found:
            rel = path[len(base) :].lstrip("/")
            pairs.append((join(folder, *rel.split("/")), move.moved(join(folder, *rel.split("/")))))
    for uri in loose:
        if src.exists(uri):
            pairs.append((uri, move.moved(uri)))
    progress.say(f"copying {len(pairs):,} artifact files to {dst.root}")

    def one(pair: tuple[str, str]) -> None:
        with src.open(pair[0], "rb") as reader, dst.open(pair[1], "wb") as writer:
            shutil.copyfileobj(reader, writer, _CHUNK)

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="zviz-copy-files") as pool:
        for done, _ in enumerate(pool.map(one, pairs), 1):
            if done % 1000 == 0:
                progress.say(f"copied {done:,} of {len(pairs):,} artifact files")
    return len(pairs), missing


# -- moving rows ------------------------------------------------------------------------------


@dataclass
class _Table:
    name: str
    columns: list[str]
    rows: int


def _export(cur: Cursor, kind: str, table: _Table, select: str, path: Path) -> None:
    """Write the source rows of `table` (columns in `select`) to a CSV file at `path`."""
    sql = f"SELECT {select} FROM {table.name}"
    if kind == "duckdb":
        _driver(cur).execute(f"COPY ({sql}) TO {_quote(str(path))} {_CSV_OUT_DUCK}")
        return
    with _driver(cur).copy(f"COPY ({sql}) TO STDOUT {_CSV_PG}") as copy, open(path, "wb") as out:
        for data in copy:
            out.write(data)


def _load(
    cur: Cursor,
    kind: str,
    table: _Table,
    types: dict[str, str],
    path: Path,
    progress: Progress,
) -> int:
    """Append the CSV file at `path` to `table` inside the open transaction; returns the rows
    the engine reports it wrote."""
    columns = ", ".join(table.columns)
    progress.say(f"writing {table.name}: {table.rows:,} rows")
    if kind == "postgres":
        raw = _driver(cur)
        size = max(path.stat().st_size, 1)
        sent = 0
        with (
            raw.copy(f"COPY {table.name} ({columns}) FROM STDIN {_CSV_PG}") as copy,
            open(path, "rb") as src,
        ):
            while chunk := src.read(_CHUNK):
                copy.write(chunk)
                sent += len(chunk)
                progress.rows(table.name, table.rows * sent // size, table.rows)
        return int(raw.rowcount)
    spec = ", ".join(f"{_quote(c)}: {_quote(types[c])}" for c in table.columns)
    row = cur.row(
        f"INSERT INTO {table.name} ({columns}) SELECT * FROM read_csv({_quote(str(path))}, "
        f"columns = {{{spec}}}, header = false, auto_detect = false, "
        "allow_quoted_nulls = false, delim = ',', quote = '\"', escape = '\"')"
    )
    return int(row[0]) if row else 0


@contextlib.contextmanager
def _pg_bulk(cur: Cursor, tables: list[str]) -> Iterator[None]:
    """Inside a PostgreSQL transaction on empty tables: drop their unique constraints and
    indexes, and rebuild them from their own definitions after the load. Building an index once
    is several times faster than updating it row by row; the rebuild (in the same transaction)
    still checks every constraint."""
    cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
    constraints = cur.rows(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relnamespace = current_schema()::regnamespace "
        "AND c.contype IN ('p', 'u') AND t.relname = ANY($t) ORDER BY 1, 2",
        {"t": tables},
    )
    indexes = cur.rows(
        "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.schemaname = current_schema() AND i.tablename = ANY($t) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
        "AND c.connamespace = current_schema()::regnamespace) ORDER BY 1, 2",
        {"t": tables},
    )
    for table, name, _ in constraints:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _, name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    yield
    for table, name, definition in constraints:
        cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _, _, definition in indexes:
        cur.execute(definition)


@contextlib.contextmanager
def _session(cur: Cursor, kind: str, reading: bool) -> Iterator[None]:
    """Settings for a bulk copy inside the unit: all cores for DuckDB, a consistent snapshot
    and fixed text formats for PostgreSQL, and no idle time-out while the other side works."""
    if kind == "duckdb":
        con = _driver(cur)
        con.execute(f"SET threads = {max(1, os.cpu_count() or 1)}")
        try:
            yield
        finally:
            con.execute("SET threads = 1")
        return
    if reading:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cur.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
    cur.execute("SET LOCAL client_encoding = 'UTF8'")
    cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    yield


def _exporter(
    cur: Cursor,
    kind: str,
    plan: list[_Table],
    move: _ArtifactMove | None,
    tmp: Path,
    out: queue.Queue[tuple[_Table, Path] | BaseException | None],
    stop: threading.Event,
) -> None:
    """Export the tables one by one into `out` (then None); an error is put there instead."""
    try:
        for table in plan:
            if stop.is_set():
                return
            rewrite = URI_COLUMNS.get(table.name, ()) if move is not None else ()
            select = ", ".join(
                move.select(c) if move is not None and c in rewrite else c for c in table.columns
            )
            path = tmp / f"{table.name}.csv"
            _export(cur, kind, table, select, path)
            out.put((table, path))
        out.put(None)
    except BaseException as exc:
        out.put(exc)


def copy_store(
    source: str | Location,
    destination: str | Location,
    artifacts_to: str | Path | None = None,
    artifacts_from: str | Path | None = None,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every table of the store at `source` into the new or empty store at `destination`
    (each a store folder, `duckdb:///path` or a `postgresql://` URL), keeping ids and times.

    Artifact files stay where they are unless `artifacts_to` names a new artifact store root:
    then every file under the source's artifact root (`artifacts_from`, default
    $ZVIZ_ARTIFACT_STORE, else the DuckDB store's `artifacts` folder) is copied there first,
    with the same layout, and the copied rows point at the new locations.

    Returns a CopyReport with the row counts of every table on both sides. Raises
    CopyRefusedError (nothing written) for a source at another schema version than this zviz's,
    a destination that is not empty, a table this copy does not know, or file locations outside
    the source's artifact store; StoreVersionError for a destination newer than this zviz;
    StoreError (or a subclass) when a store cannot be used, in which case the destination's
    transaction was rolled back.
    """
    started = time.monotonic()
    progress = progress or Progress(None)
    src_loc = parse_location(source) if isinstance(source, str) else source
    dst_loc = parse_location(destination) if isinstance(destination, str) else destination
    if src_loc == dst_loc:
        raise CopyRefusedError(f"The source and the destination are the same store ({src_loc}).")
    src, dst = src_loc.engine(), dst_loc.engine()
    if src_loc.kind == "duckdb" and not src.path.exists():  # type: ignore[attr-defined]
        raise CopyRefusedError(f"There is no zviz store at {src_loc} to copy.")

    version = _stored_version(src)
    if version != schema.LATEST:
        raise CopyRefusedError(
            f"The source store {src_loc} has schema version {version}, but this zviz copies "
            f"stores at version {schema.LATEST}. "
            + (
                'Open it once with this zviz (for example `zviz` or `python -c "from '
                'zviz_core import Client; Client()"` with ZVIZ_HOME or ZVIZ_STORE_URL set to '
                "it) to upgrade it, then copy again."
                if version < schema.LATEST
                else "Copy it with the newer zviz that wrote it."
            )
        )
    dst_version = _stored_version(dst)
    schema.check_not_newer(dst_version, str(dst_loc))
    if 0 < dst_version < schema.LATEST:
        raise CopyRefusedError(
            f"The destination {dst_loc} holds an older zviz store (schema version "
            f"{dst_version}). Copy into a new, empty store instead."
        )
    dst.ensure_schema()
    _refuse_if_not_empty(dst, dst_loc)

    move = None
    if artifacts_to is not None:
        old_root = str(artifacts_from or settings().ARTIFACT_STORE or "")
        if not old_root:
            if src_loc.home is None:
                raise CopyRefusedError(
                    f"--artifacts needs the source's artifact store: pass --artifacts-from or set "
                    f"{STORE_ENV}."
                )
            old_root = str(src_loc.home / "artifacts")
        move = _ArtifactMove(ArtifactStore(old_root), ArtifactStore(str(artifacts_to)))
        if is_inside(move.new, move.old) or is_inside(move.old, move.new):
            raise CopyRefusedError(
                f"The new artifact store {move.new} and the source's {move.old} overlap; "
                "give a folder or bucket prefix outside it."
            )

    report = CopyReport(str(src_loc), str(dst_loc))
    with (
        src.unit() as scur,
        _session(scur, src_loc.kind, reading=True),
        tempfile.TemporaryDirectory(prefix="zviz-copy-") as tmp_name,
    ):
        found = _tables(scur)
        unknown = unhandled_tables(list(found))
        if unknown:
            raise CopyRefusedError(
                f"The source store has tables this copy does not know: {', '.join(unknown)}. "
                "Nothing was written; use the zviz that made them."
            )
        counts = {t: _count(scur, t) for t in sorted(found)}
        plan = [_Table(t, [c for c, _ in found[t]], counts[t]) for t in COPIED_TABLES]
        if move is not None:
            _check_uris(scur, move)
            folders, loose = _files_to_copy(scur, move)
            report.files_copied, report.folders_missing = _copy_files(
                move, folders, loose, progress
            )
            for folder in report.folders_missing[:5]:
                progress.say(f"warning: artifact folder {folder} is missing at the source")
        progress.total = sum(t.rows for t in plan)
        progress.say(f"copying {progress.total:,} rows from {src_loc} to {dst_loc}")
        written = _write(dst, dst_loc, scur, src_loc.kind, plan, move, Path(tmp_name), progress)
    with dst.unit() as dcur:
        after = {t: _count(dcur, t) for t in counts}
    report.counts = {t: (counts[t], after[t]) for t in counts}
    report.seconds = time.monotonic() - started
    progress.say(f"committed {written:,} rows in {report.seconds:.1f} s")
    return report


def _refuse_if_not_empty(dst: Engine, where: Location) -> None:
    with dst.unit() as cur:
        contents = _contents(cur)
    if contents:
        raise CopyRefusedError(_not_empty_message(where, contents))


def _not_empty_message(where: Location, contents: dict[str, int]) -> str:
    held = ", ".join(f"{n:,} {_NOUNS.get(t, t)}" for t, n in sorted(contents.items()))
    return (
        f"The destination {where} is not empty (it holds {held}); nothing was written. "
        "Copy into a new store folder or an empty PostgreSQL database."
    )


def _write(
    dst: Engine,
    dst_loc: Location,
    scur: Cursor,
    src_kind: str,
    plan: list[_Table],
    move: _ArtifactMove | None,
    tmp: Path,
    progress: Progress,
) -> int:
    """Load every table into the destination in one write unit, while a thread exports the
    next table from the source; returns the rows written. Raises on a row count that differs
    from the source's (the transaction is then rolled back)."""
    files: queue.Queue[tuple[_Table, Path] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()
    worker = threading.Thread(
        target=_exporter,
        args=(scur, src_kind, plan, move, tmp, files, stop),
        name="zviz-copy-export",
        daemon=True,
    )
    written = 0
    with dst.unit(write=True) as cur, _session(cur, dst_loc.kind, reading=False):
        contents = _contents(cur)
        if contents:
            raise CopyRefusedError(_not_empty_message(dst_loc, contents))
        types = {t: dict(cols) for t, cols in _tables(cur).items()}
        for table in plan:
            if set(types.get(table.name, {})) != set(table.columns):
                raise CopyRefusedError(
                    f"The destination's {table.name} table has other columns than the "
                    "source's; nothing was written."
                )
        cur.execute("DELETE FROM projects")  # the default project its migration made
        bulk = (
            _pg_bulk(cur, [t.name for t in plan])
            if dst_loc.kind == "postgres"
            else contextlib.nullcontext()
        )
        worker.start()
        try:
            with bulk:
                while (item := files.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    table, path = item
                    loaded = _load(cur, dst_loc.kind, table, types[table.name], path, progress)
                    path.unlink()
                    if loaded != table.rows:
                        raise StoreError(
                            f"Copying {table.name} wrote {loaded:,} rows instead of the "
                            f"source's {table.rows:,}; nothing was written."
                        )
                    progress.rows(table.name, loaded, table.rows, final=True)
                    written += loaded
            run_sql.rebuild_counts(cur)
            if move is not None:
                # What each tile shows again, from its columns: its files have moved.
                cur.execute(schema.REBUILD_TILE_SHOWN[cur.dialect])
            progress.say("committing")
        finally:
            stop.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    files.get_nowait()
            worker.join()
    return written


def print_counts(report: CopyReport, out: IO[str] | None = None) -> None:
    """Print the row count of every table on both sides to `out` (default stdout), skipped
    tables marked with the reason; returns nothing."""
    out = out or sys.stdout
    width = max(len(t) for t in report.counts) if report.counts else 10
    out.write(f"{'table':<{width}} | {'source':>12} | {'destination':>12} |\n")
    out.write(f"{'-' * width}-|-{'-' * 12}-|-{'-' * 12}-|\n")
    for table, (before, after) in report.counts.items():
        note = f" not copied: {SKIPPED_TABLES[table]}" if table in SKIPPED_TABLES else ""
        out.write(f"{table:<{width}} | {before:>12,} | {after:>12,} |{note}\n")


__all__ = [
    "COPIED_TABLES",
    "SKIPPED_TABLES",
    "URI_COLUMNS",
    "CopyRefusedError",
    "CopyReport",
    "Location",
    "Progress",
    "copy_store",
    "parse_location",
    "print_counts",
    "unhandled_tables",
]
