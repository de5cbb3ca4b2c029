"""Migrations behave the same on both engines: an older store upgrades and keeps its data, a
newer one is refused untouched, and processes that open a store at once upgrade it once."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.core.helpers import start_python
from zviz_core import Client
from zviz_core.errors import StoreVersionError
from zviz_core.store import forget_engines, schema
from zviz_core.store.db import DB_FILE, DuckCursor
from zviz_core.store.engine import Cursor


@contextlib.contextmanager
def raw_cursor(engine: str, home: Path) -> Iterator[Cursor]:
    """A cursor on the bare database, outside zviz's units of work (autocommit)."""
    if engine == "postgres":
        import psycopg

        from zviz_core.store.postgres import PgCursor

        with psycopg.connect(os.environ["ZVIZ_STORE_URL"], autocommit=True) as con:
            yield PgCursor(con.cursor())
        return
    home.mkdir(parents=True, exist_ok=True)
    forget_engines()  # this process's engine lets go of the file it may still hold
    con = duckdb.connect(str(home / DB_FILE))
    try:
        yield DuckCursor(con)
    finally:
        con.close()


def _empty(engine: str, home: Path) -> None:
    """Start from an empty database (the PostgreSQL cases get one with the latest schema)."""
    if engine == "postgres":
        with raw_cursor(engine, home) as cur:
            cur.execute("DROP SCHEMA public CASCADE")
            cur.execute("CREATE SCHEMA public")


def _stamp() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_an_older_store_upgrades_and_keeps_its_data(engine: str, zviz_home: Path) -> None:
    _empty(engine, zviz_home)
    with raw_cursor(engine, zviz_home) as cur:
        assert schema.migrate(cur, "test", upto=1) == 1
        project = cur.value("SELECT id FROM projects WHERE name = 'default'")
        model = uuid.uuid4()
        cur.execute(
            "INSERT INTO models VALUES ($id, $p, 'kept', 'from v1', $t)",
            {"id": model, "p": project, "t": _stamp()},
        )
    forget_engines(close=True)
    client = Client()
    assert client.get_model("kept").description == "from v1"
    with raw_cursor(engine, zviz_home) as cur:
        assert cur.value("SELECT max(version) FROM schema_version") == schema.LATEST
        assert cur.value("SELECT count(*) FROM schema_version") == schema.LATEST


def test_a_newer_store_is_refused_untouched(engine: str, zviz_home: Path) -> None:
    _empty(engine, zviz_home)
    with raw_cursor(engine, zviz_home) as cur:
        schema.migrate(cur, "test")
        cur.execute(
            "INSERT INTO schema_version VALUES ($v, $t)", {"v": schema.LATEST + 1, "t": _stamp()}
        )
    forget_engines(close=True)
    with pytest.raises(StoreVersionError) as refused:
        Client().list_models()
    assert str(schema.LATEST + 1) in str(refused.value) and "Upgrade zviz" in str(refused.value)
    with raw_cursor(engine, zviz_home) as cur:
        assert cur.value("SELECT max(version) FROM schema_version") == schema.LATEST + 1


def test_processes_opening_an_empty_store_at_once_migrate_it_once(
    engine: str, zviz_home: Path
) -> None:
    _empty(engine, zviz_home)
    code = """
        import sys
        sys.stdin.readline()
        from zviz_core import Client
        print(Client().list_models().total)
    """
    procs = [start_python(code, zviz_home) for _ in range(3)]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip().splitlines()[-1] == "0"
    with raw_cursor(engine, zviz_home) as cur:
        assert cur.value("SELECT count(*) FROM schema_version") == schema.LATEST
        assert cur.value("SELECT count(*) FROM projects") == 1
