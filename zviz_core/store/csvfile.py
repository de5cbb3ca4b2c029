"""DuckDB as a reader of big CSV files (not the metadata store): the first rows and the row count
of a local CSV, read with DuckDB's own reader so that memory stays bounded whatever the size.
Its statements live here with zviz's others."""

from __future__ import annotations

from typing import Any

from zviz_core.errors import ArtifactLoadError, ArtifactStoreUnreachableError

# A private in-memory database per preview: the file never touches the store's connection.
_CONFIG = {"threads": "2", "memory_limit": "256MB", "preserve_insertion_order": "false"}


def _read(con: Any, path: str, rows: int, encoding: str) -> tuple[Any, int | None]:
    # Ragged rows are padded or skipped rather than failing the whole preview.
    source = (
        "read_csv($path, encoding = $enc, null_padding = true, ignore_errors = true, "
        "strict_mode = false)"
    )
    params = {"path": path, "enc": encoding}
    frame = con.execute(f"SELECT * FROM {source} LIMIT {int(rows)}", params).df()
    total = con.execute(f"SELECT count(*) FROM {source}", params).fetchone()
    return frame, None if total is None else int(total[0])


def head_and_count(path: str, rows: int) -> tuple[Any, int | None]:
    """The first `rows` rows of the local CSV at `path` (a pandas DataFrame) and its row count.

    A file that is not UTF-8 is read as latin-1, which maps every byte. Raises
    ArtifactStoreUnreachableError when the file cannot be read, ArtifactLoadError when it is
    not a table.
    """
    import duckdb

    try:
        with duckdb.connect(":memory:", config=_CONFIG) as con:
            try:
                return _read(con, path, rows, "utf-8")
            except duckdb.InvalidInputException:
                return _read(con, path, rows, "latin-1")
    except duckdb.IOException as exc:
        raise ArtifactStoreUnreachableError(
            f"The app cannot read {path} ({str(exc).splitlines()[0]})."
        ) from exc
    except duckdb.Error as exc:
        raise ArtifactLoadError(
            f"This CSV file could not be read as a table: {str(exc).splitlines()[0]}"
        ) from exc
