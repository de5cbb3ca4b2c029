"""Shared fixtures: every test gets its own store; nothing touches ~/.zviz.

The core and access suites run once per engine: on a DuckDB file, and on a fresh database of a
real PostgreSQL server that the session starts (zviz_testing/pg.py). A test that is about DuckDB's file
itself is marked `duckdb_only`; one about PostgreSQL's plans, `postgres_only`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zviz_core import Client
from zviz_core.store import forget_engines
from zviz_testing import pg

TESTS = Path(__file__).resolve().parent
# Suites that run once per engine, by their top folder under tests/ (subfolders included).
BOTH_ENGINES = ("core", "access")
# Always `slow` (left out of the `-m "not slow"` loop): real browsers, soak and failure tests.
SLOW_FOLDERS = ("browser", "reliability")


def _top_folder(path: object) -> str:
    parts = Path(str(path)).resolve().relative_to(TESTS).parts
    return parts[0] if len(parts) > 1 else ""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("postgres_only") is not None:
        metafunc.parametrize("engine", ["postgres"], indirect=True)
        return
    in_suite = _top_folder(metafunc.definition.fspath) in BOTH_ENGINES
    if in_suite and metafunc.definition.get_closest_marker("duckdb_only") is None:
        metafunc.parametrize("engine", ["duckdb", "postgres"], indirect=True)


# What the code under test and its subprocesses name their folders in the system's temp folder.
_TEMP_PREFIXES = ("zviz-", "zenml-bench-")
_TEMP_BEFORE = pytest.StashKey[set[str]]()


def _temp_folders() -> set[str]:
    return {
        p.name for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith(_TEMP_PREFIXES)
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_TEMP_BEFORE] = _temp_folders()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a finished run that left folders in the system's temp folder: runs share a machine,
    and leftovers of gigabytes once filled its disk."""
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    left = sorted(_temp_folders() - session.config.stash.get(_TEMP_BEFORE, set()))
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"\nthis run left {len(left)} folder(s) in {tempfile.gettempdir()}: "
            f"{', '.join(left[:10])}; a test or the code it runs does not clean up after "
            "itself (unless another process working beside this run made them)",
            red=True,
        )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        bench = Path(str(item.fspath)).name.startswith("test_bench")
        if bench or item.get_closest_marker("browser") or _top_folder(item.fspath) in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """Which metadata engine this test's store uses: "duckdb" or "postgres"."""
    return getattr(request, "param", "duckdb")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer]:
    """A PostgreSQL server for the session; skips (or fails under ZVIZ_REQUIRE_POSTGRES=1)
    when the binaries are missing."""
    try:
        server = pg.start_server()
    except (RuntimeError, OSError) as exc:
        if os.environ.get(pg.REQUIRE_ENV) == "1":
            pytest.fail(f"PostgreSQL is required here ({pg.REQUIRE_ENV}=1): {exc}")
        pytest.skip(f"no PostgreSQL server for these cases: {exc}")
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def pg_template(pg_server: pg.PgServer) -> str:
    """A database holding the latest schema, copied for each test (faster than migrating)."""
    from zviz_core.store.postgres import PostgresDatabase

    url = pg_server.create_database()
    db = PostgresDatabase(url)
    db.ensure_schema()
    db.close()
    return url.rsplit("/", 1)[1]


@contextlib.contextmanager
def _store_at(
    home: Path, engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point the environment at an empty store in `home` (plus a fresh database on PostgreSQL
    cases) for the block, and drop it afterwards."""
    monkeypatch.setenv("ZVIZ_HOME", str(home))
    url = None
    if engine == "postgres":
        server: pg.PgServer = request.getfixturevalue("pg_server")
        url = server.create_database(template=request.getfixturevalue("pg_template"))
        monkeypatch.setenv("ZVIZ_STORE_URL", url)
        # The artifacts stay in a local folder here: every "machine" of a test shares this disk.
        monkeypatch.setenv("ZVIZ_ARTIFACT_STORE", str(home / "artifacts"))
        monkeypatch.setenv("ZVIZ_ARTIFACT_STORE_SHARED", "1")
    try:
        yield home
    finally:
        forget_engines(close=True)
        if url is not None:
            request.getfixturevalue("pg_server").drop_database(url)


@pytest.fixture(autouse=True)
def zviz_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """A fresh, empty store (folder in ZVIZ_HOME, plus a database on PostgreSQL cases), with no
    access config and no demo."""
    monkeypatch.setenv("ZVIZ_DEMO", "0")
    for name in (
        "ZVIZ_ARTIFACT_STORE",
        "ZVIZ_ARTIFACT_STORE_SHARED",
        "ZVIZ_AUTH_CONFIG",
        "ZVIZ_PROJECT",
        "ZVIZ_COOKIE_KEY",
        "ZVIZ_STORE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    with _store_at(tmp_path / "store", engine, request, monkeypatch) as home:
        yield home


@pytest.fixture
def fresh_store(
    engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], contextlib.AbstractContextManager[Path]]:
    """Make another empty store on this test's engine, for tests (such as hypothesis
    examples) that need one per case: `with fresh_store() as home: ...`."""

    @contextlib.contextmanager
    def make() -> Iterator[Path]:
        with tempfile.TemporaryDirectory() as tmp:
            forget_engines(close=True)
            with _store_at(Path(tmp) / "store", engine, request, monkeypatch) as home:
                yield home

    return make


@pytest.fixture
def client(zviz_home: Path) -> Client:
    """The local owner's client on the test's store."""
    return Client()


# -- a real S3-compatible server (moto in server mode) on 127.0.0.1 ----------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a local S3 server that lives for the test session."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_store(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    """A fresh bucket, with ZVIZ_ARTIFACT_STORE and AWS_* pointing at it; returns the store URL."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"zviz-{abs(hash(request.node.nodeid)) % 10**8}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    url = f"s3://{bucket}/artifacts"
    monkeypatch.setenv("ZVIZ_ARTIFACT_STORE", url)
    return url
