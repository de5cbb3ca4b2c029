"""The store: the metadata engines (a DuckDB file, or PostgreSQL for a team) and every SQL
statement zviz runs. Nothing outside this package writes SQL."""

from __future__ import annotations

from pathlib import Path

from zviz_core.settings import settings
from zviz_core.store.engine import Engine

STORE_URL_ENV = "ZVIZ_STORE_URL"


def default_home() -> Path:
    """The store folder: $ZVIZ_HOME, else ~/.zviz."""
    return Path(settings().HOME or Path.home() / ".zviz").expanduser()


def store_url() -> str | None:
    """$ZVIZ_STORE_URL when it names a team store, else None (the embedded DuckDB file)."""
    return settings().STORE_URL


def open_engine(home: str | Path | None = None, url: str | None = None) -> Engine:
    """The engine of a store: PostgreSQL when `url` (or $ZVIZ_STORE_URL) is given, else the
    DuckDB file in `home` (or $ZVIZ_HOME). Engines are shared per process.

    Raises ConfigError for a URL that is not postgresql://.
    """
    url = url or (store_url() if home is None else None)
    if url:
        from zviz_core.store.postgres import PostgresDatabase

        return PostgresDatabase.for_url(url)
    from zviz_core.store.db import Database

    return Database.for_home(Path(home).expanduser() if home is not None else default_home())


def forget_engines(close: bool = False) -> None:
    """Drop every engine of this process (tests switch stores between cases); `close` also
    closes PostgreSQL pools (never after a fork: the sockets are the parent's)."""
    import sys

    from zviz_core.store.db import Database

    Database.release_all()
    Database._forget_all()
    if "zviz_core.store.postgres" in sys.modules:
        from zviz_core.store.postgres import PostgresDatabase

        if close:
            for db in list(PostgresDatabase._instances.values()):
                db.close()
        PostgresDatabase._forget_all()
