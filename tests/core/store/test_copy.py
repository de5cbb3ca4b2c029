"""`python -m zviz_core.store copy`: whole stores between DuckDB files and a real PostgreSQL
server, row for row, refusing non-empty destinations, all-or-nothing when killed, and with
their artifact files moved to a new root on request."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.core.helpers import REPO
from zviz_core import Client, pipeline, step
from zviz_core.store import forget_engines, open_engine, schema
from zviz_core.store.copy import (
    COPIED_TABLES,
    SKIPPED_TABLES,
    URI_COLUMNS,
    CopyRefusedError,
    copy_store,
    unhandled_tables,
)
from zviz_core.store.db import DB_FILE, DuckCursor
from zviz_core.store.engine import Engine
from zviz_core.types import HTMLString
from zviz_testing import pg

# Both engines are managed here, so the module runs once (not once per engine).
pytestmark = pytest.mark.duckdb_only

ODD_TEXT = 'a, "quoted"\nline\n\\.\n  spaced  \r\nü ✓'


def _fill_store() -> ModuleType:
    name = "zviz_bench_fill_store"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "fill_store.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@step
def make_report() -> HTMLString:
    print("made the report")
    return HTMLString("<h1>copied</h1>")


@step
def fail_oddly(report: HTMLString) -> int:
    raise RuntimeError(ODD_TEXT)


@pipeline
def report_pipeline() -> None:
    make_report()


@pipeline
def odd_pipeline() -> None:
    fail_oddly(make_report())


def _use(
    monkeypatch: pytest.MonkeyPatch,
    home: Path | None = None,
    url: str | None = None,
    artifacts: Path | None = None,
) -> Client:
    """The owner's Client on a DuckDB store folder or a PostgreSQL database."""
    forget_engines(close=True)
    for name in ("ZVIZ_STORE_URL", "ZVIZ_ARTIFACT_STORE", "ZVIZ_ARTIFACT_STORE_SHARED"):
        monkeypatch.delenv(name, raising=False)
    if home is not None:
        monkeypatch.setenv("ZVIZ_HOME", str(home))
    if url is not None:
        monkeypatch.setenv("ZVIZ_STORE_URL", url)
        monkeypatch.setenv("ZVIZ_ARTIFACT_STORE_SHARED", "1")
    if artifacts is not None:
        monkeypatch.setenv("ZVIZ_ARTIFACT_STORE", str(artifacts))
    return Client()


def _engine(location: Path | str) -> Engine:
    """The engine of a PostgreSQL URL or a store folder."""
    text = str(location)
    return open_engine(url=text) if text.startswith("postgresql://") else open_engine(Path(text))


def _rows_as_text(location: Path | str) -> dict[str, list[tuple[str | None, ...]]]:
    """Every copied table's rows, each value cast to text by its engine, sorted."""
    engine = _engine(location)
    tables: dict[str, list[tuple[str | None, ...]]] = {}
    with engine.unit() as cur:
        for table in COPIED_TABLES:
            cur.execute(f"SELECT * FROM {table} LIMIT 0")
            casts = ", ".join(f"CAST({c} AS VARCHAR)" for c in cur.columns())
            tables[table] = sorted(
                cur.rows(f"SELECT {casts} FROM {table} ORDER BY 1"), key=lambda r: str(r)
            )
    return tables


def _counts(location: Path | str) -> dict[str, int]:
    engine = _engine(location)
    with engine.unit() as cur:
        return {t: int(cur.value(f"SELECT count(*) FROM {t}")) for t in COPIED_TABLES}


def _pg_schema_objects(url: str) -> set[tuple[str, ...]]:
    """Indexes and constraints of a PostgreSQL store, by name and definition."""
    import psycopg

    with psycopg.connect(url) as con:
        indexes = con.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
        constraints = con.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        ).fetchall()
    return {tuple(r) for r in indexes} | {("constraint", *r) for r in constraints}


def _files(root: Path) -> dict[str, tuple[str, int]]:
    """{relative path: (sha256, mtime_ns)} of every file under `root`."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = (digest, path.stat().st_mtime_ns)
    return found


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "zviz_core.store", "copy", *args],
        env=env,
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def database(pg_server: pg.PgServer) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database (no schema yet)."""
    url = pg_server.create_database()
    yield url
    forget_engines(close=True)
    pg_server.drop_database(url)


@pytest.fixture
def second_database(pg_server: pg.PgServer) -> Iterator[str]:
    url = pg_server.create_database()
    yield url
    forget_engines(close=True)
    pg_server.drop_database(url)


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DuckDB store of 300 runs, 1,000 artifact versions and 60 tiles from fill_store, plus a
    real pipeline run and a failed one whose error and a model's description hold text that
    CSV must quote (commas, quotes, newlines, a lone `\\.` line, spaces, non-ASCII)."""
    home = tmp_path / "source"
    _fill_store().fill(home, runs=300, artifact_versions=1_000, tiles=60)
    client = _use(monkeypatch, home=home)
    run = report_pipeline()
    # Run metadata (table run_metadata): a number, and text CSV must quote, in a JSON column.
    client.log_metadata({"score": 0.5, "odd": ODD_TEXT}, run_id_name_or_prefix=run.id)
    with pytest.raises(RuntimeError):
        odd_pipeline()
    client.create_model("odd", description=ODD_TEXT)
    client.create_model("blank", description="")
    forget_engines(close=True)
    return home


def test_copy_knows_every_table_of_a_migrated_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    for location in (tmp_path / "fresh", database):
        engine = _engine(location)
        engine.ensure_schema()
        with engine.unit() as cur:
            tables = {
                str(r[0])
                for r in cur.rows(
                    "SELECT table_name FROM information_schema.tables WHERE "
                    "table_catalog = current_database() AND table_schema = current_schema()"
                )
            }
        assert unhandled_tables(tables) == [], f"copy does not handle these tables of {location}"
        assert set(COPIED_TABLES) | set(SKIPPED_TABLES) == tables
        assert set(URI_COLUMNS) <= set(COPIED_TABLES)


def test_duckdb_to_postgres_and_back_keeps_every_row(
    source: Path,
    tmp_path: Path,
    database: str,
    second_database: str,
    pg_server: pg.PgServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = _rows_as_text(source)
    assert len(original["pipeline_runs"]) == 302
    assert any(ODD_TEXT in (v or "") for row in original["pipeline_runs"] for v in row)
    src_client = _use(monkeypatch, home=source)
    runs = src_client.list_pipeline_runs(size=20)
    run_name = next(
        e.run_name
        for e in src_client.list_artifact_versions(size=50).items
        if e.run_name and any(m.name == "score" for m in src_client.get_run_metadata(e.run_id))
    )
    versions = src_client.list_artifact_versions(size=5).items
    viz = next(v for av in versions for v in src_client.get_artifact_version(av.id).visualizations)
    shown = src_client.load_visualization(viz.id).value
    forget_engines(close=True)

    there = copy_store(str(source), database)
    assert all(a == b for a, b in there.counts.values() if a)
    assert _rows_as_text(database) == original
    back = tmp_path / "back"
    copy_store(database.replace("postgresql://", "postgres://"), f"duckdb://{back}")
    assert _rows_as_text(back) == original
    assert (back / DB_FILE).exists()

    # PostgreSQL -> PostgreSQL (and DuckDB -> DuckDB, in the kill test) work the same way.
    copy_store(database, second_database)
    assert _rows_as_text(second_database) == original

    # The bulk loads dropped and rebuilt the PostgreSQL indexes and constraints: they are the
    # ones a freshly migrated store has.
    fresh = pg_server.create_database()
    try:
        open_engine(url=fresh).ensure_schema()
        assert _pg_schema_objects(database) == _pg_schema_objects(fresh)
        assert _pg_schema_objects(second_database) == _pg_schema_objects(fresh)
    finally:
        forget_engines(close=True)
        pg_server.drop_database(fresh)

    # A Client on the PostgreSQL copy sees the same runs and reads the same files (they stayed
    # in the source's artifact store).
    pg_client = _use(monkeypatch, url=database, artifacts=source / "artifacts")
    copied = pg_client.list_pipeline_runs(size=20)
    assert copied.total == runs.total == 302
    assert [r.name for r in copied.items] == [r.name for r in runs.items]
    assert pg_client.load_visualization(viz.id).value == shown
    assert pg_client.get_model("odd").description == ODD_TEXT
    assert pg_client.get_model("blank").description == ""
    copied_run = pg_client.get_pipeline_run(run_name)
    metadata = {e.name: e for e in pg_client.get_run_metadata(copied_run.id)}
    assert metadata["score"].number == 0.5 and metadata["odd"].value == ODD_TEXT


def test_a_destination_that_is_not_empty_is_refused_and_left_unchanged(
    source: Path, tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy_folder = tmp_path / "busy"
    _use(monkeypatch, home=busy_folder).create_model("mine")
    _use(monkeypatch, url=database, artifacts=tmp_path / "a").create_deployment("serving")
    forget_engines(close=True)
    for busy in (str(busy_folder), database):
        before = _rows_as_text(busy)
        done = _cli(str(source), busy)
        assert done.returncode == 2, done.stderr
        assert "not empty" in done.stderr
        assert "Traceback" not in done.stderr
        assert _rows_as_text(busy) == before


def test_a_source_at_an_older_schema_version_is_refused(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    old = tmp_path / "old"
    old.mkdir()
    con = duckdb.connect(str(old / DB_FILE))
    schema.migrate(DuckCursor(con), old, upto=schema.LATEST - 1)
    con.close()
    done = _cli(str(old), database)
    assert done.returncode == 2
    assert f"schema version {schema.LATEST - 1}" in done.stderr
    assert "Open it once with this zviz" in done.stderr
    with pytest.raises(CopyRefusedError):
        copy_store(str(old), str(tmp_path / "elsewhere"))


@pytest.mark.slow
@pytest.mark.parametrize("to", ["postgres", "duckdb"])
def test_a_copy_killed_while_writing_leaves_the_destination_empty(
    to: str, tmp_path: Path, database: str
) -> None:
    big = tmp_path / "big"
    _fill_store().fill(big, runs=20_000, artifact_versions=200_000, tiles=100)
    destination = database if to == "postgres" else str(tmp_path / "copy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zviz_core.store", "copy", str(big), destination],
        # A killed copy cannot remove its export folder: keep it in this test's folder.
        env={**env, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)},
        cwd=str(REPO),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("copy: writing artifact_versions"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert any(line.startswith("copy: writing step_runs") for line in seen)

    forget_engines(close=True)
    emptied = _counts(destination)
    assert emptied == dict.fromkeys(COPIED_TABLES, 0) | {"projects": 1}

    done = _cli(str(big), destination)
    assert done.returncode == 0, done.stderr
    counts = {
        cells[0]: cells[1:3]
        for line in done.stdout.splitlines()
        if len(cells := [c.strip() for c in line.split("|")]) > 3
    }
    assert counts["artifact_versions"] == ["200,000", "200,000"]
    assert counts["pipeline_runs"] == ["20,000", "20,000"]
    forget_engines(close=True)
    copied = _counts(destination)
    assert copied["artifact_versions"] == 200_000
    assert copied["pipeline_runs"] == 20_000


def test_artifacts_are_copied_to_a_new_root_and_read_from_there(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "source"
    _fill_store().fill(home, runs=20, artifact_versions=80, tiles=5)  # all 4 sample kinds
    client = _use(monkeypatch, home=home)
    run = report_pipeline()
    version = run.steps["make_report"].output
    viz = client.get_artifact_version(version.id).visualizations[0]
    client.create_curated_visualization(viz.id, resource_id=run.id, resource_type="pipeline_run")
    forget_engines(close=True)
    before = _files(home / "artifacts")

    new_root = tmp_path / "moved" / "artifacts"
    # Rows pointing outside the artifact store named as the source's cannot be moved: refused.
    with pytest.raises(CopyRefusedError, match="outside the source artifact store"):
        copy_store(str(home), database, new_root, artifacts_from=str(tmp_path / "elsewhere"))
    forget_engines(close=True)
    assert _counts(database) == dict.fromkeys(COPIED_TABLES, 0) | {"projects": 1}
    assert not new_root.exists()

    done = _cli(str(home), database, "--artifacts", str(new_root))
    assert done.returncode == 0, done.stderr
    assert _files(home / "artifacts") == before
    assert {k: v[0] for k, v in _files(new_root).items()} == {k: v[0] for k, v in before.items()}

    moved = _use(monkeypatch, url=database, artifacts=new_root)
    copied = moved.get_artifact_version(version.id)
    assert copied.uri == str(new_root / str(version.id))
    assert copied.load() == "<h1>copied</h1>"
    assert moved.load_visualization(viz.id).value == "<h1>copied</h1>"
    (tile,) = moved.list_curated_visualizations("pipeline_run", run.id)
    assert tile.artifact_visualization is not None
    assert tile.artifact_visualization.uri == copied.visualizations[0].uri
    assert moved.load_visualization_content(tile.artifact_visualization).value == "<h1>copied</h1>"
    # The run's own folder (its steps' logs) moves too.
    assert moved.get_step_log(run.steps["make_report"].id) == "made the report\n"
    assert moved.step_log_uri(run.steps["make_report"].id).startswith(str(new_root) + os.sep)
    rows = _rows_as_text(database)
    for table in URI_COLUMNS:
        assert rows[table], table
        for row in rows[table]:
            assert any((v or "").startswith(str(new_root) + os.sep) for v in row), (table, row)


def test_help_says_what_is_not_copied_and_how_files_move() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zviz_core.store", "copy", "--help"],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "login_failures, login_cookies" in done.stdout
    assert "--artifacts" in done.stdout
    assert "held for the copy's whole duration" in done.stdout
