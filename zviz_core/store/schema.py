"""The schema as an append-only list of migrations; each runs in one transaction with its version row.

Never edit a released migration: add a new one. A store written by a newer zviz is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from zviz_core.errors import StoreVersionError

if TYPE_CHECKING:
    from zviz_core.store.engine import Cursor

DEFAULT_PROJECT = "default"

_V1 = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied TIMESTAMP NOT NULL);
CREATE TABLE projects (
    id UUID PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, created TIMESTAMP NOT NULL
);
CREATE TABLE pipelines (
    id UUID PRIMARY KEY, project_id UUID NOT NULL, name VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL, UNIQUE (project_id, name)
);
CREATE TABLE snapshots (
    id UUID PRIMARY KEY, project_id UUID NOT NULL, pipeline_id UUID NOT NULL,
    config_hash VARCHAR NOT NULL, config JSON NOT NULL, created TIMESTAMP NOT NULL
);
CREATE INDEX snapshots_pipeline ON snapshots (pipeline_id, config_hash);
CREATE TABLE pipeline_runs (
    id UUID PRIMARY KEY, project_id UUID NOT NULL, pipeline_id UUID NOT NULL,
    snapshot_id UUID NOT NULL, name VARCHAR NOT NULL UNIQUE, status VARCHAR NOT NULL,
    start_time TIMESTAMP NOT NULL, end_time TIMESTAMP, error VARCHAR, created TIMESTAMP NOT NULL
);
CREATE INDEX runs_pipeline ON pipeline_runs (pipeline_id);
CREATE TABLE step_runs (
    id UUID PRIMARY KEY, run_id UUID NOT NULL, name VARCHAR NOT NULL, position INTEGER NOT NULL,
    status VARCHAR NOT NULL, start_time TIMESTAMP NOT NULL, end_time TIMESTAMP, error VARCHAR,
    config JSON
);
CREATE INDEX step_runs_run ON step_runs (run_id);
CREATE TABLE step_inputs (
    step_run_id UUID NOT NULL, name VARCHAR NOT NULL, artifact_version_id UUID NOT NULL
);
CREATE INDEX step_inputs_step ON step_inputs (step_run_id);
CREATE TABLE artifacts (
    id UUID PRIMARY KEY, project_id UUID NOT NULL, name VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL, UNIQUE (project_id, name)
);
CREATE TABLE artifact_versions (
    id UUID PRIMARY KEY, artifact_id UUID NOT NULL, project_id UUID NOT NULL,
    version INTEGER NOT NULL, uri VARCHAR NOT NULL, data_type VARCHAR NOT NULL,
    materializer VARCHAR NOT NULL, run_id UUID, step_run_id UUID, output_name VARCHAR,
    metadata JSON, created TIMESTAMP NOT NULL
);
CREATE INDEX artifact_versions_step ON artifact_versions (step_run_id);
CREATE INDEX artifact_versions_artifact ON artifact_versions (artifact_id);
CREATE TABLE artifact_visualizations (
    id UUID PRIMARY KEY, artifact_version_id UUID NOT NULL, position INTEGER NOT NULL,
    type VARCHAR NOT NULL, uri VARCHAR NOT NULL
);
CREATE INDEX visualizations_version ON artifact_visualizations (artifact_version_id);
CREATE TABLE models (
    id UUID PRIMARY KEY, project_id UUID NOT NULL, name VARCHAR NOT NULL,
    description VARCHAR, created TIMESTAMP NOT NULL, UNIQUE (project_id, name)
);
CREATE TABLE deployments (
    id UUID PRIMARY KEY, project_id UUID NOT NULL, name VARCHAR NOT NULL, snapshot_id UUID,
    created TIMESTAMP NOT NULL, UNIQUE (project_id, name)
);
CREATE TABLE curated_visualizations (
    id UUID PRIMARY KEY, project_id UUID NOT NULL, artifact_visualization_id UUID NOT NULL,
    artifact_version_id UUID NOT NULL, resource_type VARCHAR NOT NULL, resource_id UUID NOT NULL,
    display_name VARCHAR, display_order INTEGER, layout_size VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL, updated TIMESTAMP NOT NULL
);
CREATE INDEX curated_resource ON curated_visualizations (resource_id);
"""

# v2: remember which process runs a pipeline, so that a run whose process died can be told apart
# from one still running.
_V2 = """
ALTER TABLE pipeline_runs ADD COLUMN host VARCHAR;
ALTER TABLE pipeline_runs ADD COLUMN pid INTEGER;
"""

# v3: stores of 100,000 runs. A run's outputs are found by run id (an index, not a scan), and
# each artifact keeps its latest version number instead of asking max() over every version.
_V3 = """
CREATE INDEX artifact_versions_run ON artifact_versions (run_id);
ALTER TABLE artifacts ADD COLUMN latest_version INTEGER DEFAULT 0;
UPDATE artifacts SET latest_version = coalesce(
    (SELECT max(v.version) FROM artifact_versions v WHERE v.artifact_id = artifacts.id), 0
);
"""

BACKFILL_TILE_SOURCES = """
UPDATE curated_visualizations SET
    viz_type = src.type, viz_uri = src.uri, viz_position = src.position,
    artifact_name = src.artifact_name, artifact_version = src.version,
    run_id = src.run_id, run_name = src.run_name
FROM (
    SELECT v.id AS viz_id, v.type, v.uri, v.position, a.name AS artifact_name, av.version,
           av.run_id, r.name AS run_name
    FROM artifact_visualizations v
    JOIN artifact_versions av ON av.id = v.artifact_version_id
    JOIN artifacts a ON a.id = av.artifact_id
    LEFT JOIN pipeline_runs r ON r.id = av.run_id
    WHERE v.id IN (SELECT artifact_visualization_id FROM curated_visualizations)
) src
WHERE curated_visualizations.artifact_visualization_id = src.viz_id AND viz_type IS NULL
"""

# v4: a dashboard reads only its tile rows. What a tile shows of its source (the visualization's
# type, file and position, the artifact's name and version, the run) never changes after the tile
# is created, so it is copied into the tile instead of being looked up in the big tables on
# every render.
_V4 = (
    """
ALTER TABLE curated_visualizations ADD COLUMN viz_type VARCHAR;
ALTER TABLE curated_visualizations ADD COLUMN viz_uri VARCHAR;
ALTER TABLE curated_visualizations ADD COLUMN viz_position INTEGER;
ALTER TABLE curated_visualizations ADD COLUMN artifact_name VARCHAR;
ALTER TABLE curated_visualizations ADD COLUMN artifact_version INTEGER;
ALTER TABLE curated_visualizations ADD COLUMN run_id UUID;
ALTER TABLE curated_visualizations ADD COLUMN run_name VARCHAR;
"""
    + BACKFILL_TILE_SOURCES
    + ";"
)

# v5: logins. Failed-login counters live here so that every app process (and replica) throttles
# the same user and address; keys are hashes, so a username typed by mistake (often a password)
# is not kept in clear. Login cookies are accepted only while their hash is listed: logging out or
# removing the user deletes the row, and a copied cookie stops working. Rows expire with the
# cookie.
_V5 = """
CREATE TABLE login_failures (
    scope VARCHAR NOT NULL, key_hash VARCHAR NOT NULL, failures INTEGER NOT NULL,
    last_failure TIMESTAMP NOT NULL, locked_until TIMESTAMP, PRIMARY KEY (scope, key_hash)
);
CREATE TABLE login_cookies (
    token_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, issued TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);
CREATE INDEX login_cookies_user ON login_cookies (username);
"""

# v6: the change token inside the database, written in the same transaction as every write. The
# DuckDB engine keeps its token in a file beside the database (cheaper to poll); on PostgreSQL,
# where processes on many machines share no file, this row is the token.
_V6 = """
CREATE TABLE store_changes (id INTEGER PRIMARY KEY, token VARCHAR NOT NULL);
INSERT INTO store_changes VALUES (1, 'initial');
"""

# v7: what a pipeline function returned, as [[output name, artifact version id], ...] in the
# order returned, written when the run completes (ZenML's `run.outputs`). Runs are shared by snapshot config, so this belongs to
# the run row, not to the snapshot; NULL for runs before v7 and for runs that returned nothing.
_V7 = """
ALTER TABLE pipeline_runs ADD COLUMN outputs JSON;
"""

# v8: pages of 100,000 runs on PostgreSQL. The newest runs of a project are read through an
# index on (project_id, created), and the number of runs per project is kept by the writes
# that add and delete runs, instead of counting every row for each page (rebuilt by `copy`).
_V8 = """
CREATE INDEX pipeline_runs_project_created ON pipeline_runs (project_id, created);
CREATE TABLE run_counts (project_id UUID PRIMARY KEY, runs BIGINT NOT NULL);
INSERT INTO run_counts SELECT project_id, count(*) FROM pipeline_runs GROUP BY project_id;
"""

# v9 (issue 11), reads that no longer grow with the store:
# - a tile keeps its source version's folder, as it keeps the rest of what it shows: reading it
#   was a correlated lookup in artifact_versions, 9x the cost of the tile's own row;
# - an artifact version keeps the names of its run, step and pipeline (immutable), so a page of
#   versions is one query, and a search by those names scans one table;
# - an artifact keeps how many versions it has and when the newest was made, so counting the
#   versions of a project or of a name searched for reads the small artifacts table.
BACKFILL_TILE_FOLDERS = """
UPDATE curated_visualizations SET viz_folder = src.uri
FROM (SELECT id, uri FROM artifact_versions) src
WHERE src.id = curated_visualizations.artifact_version_id
"""
BACKFILL_VERSION_NAMES = """
UPDATE artifact_versions SET run_name = src.rname, pipeline_name = src.pname
FROM (
    SELECT r.id, r.name AS rname, p.name AS pname
    FROM pipeline_runs r JOIN pipelines p ON p.id = r.pipeline_id
) src
WHERE src.id = artifact_versions.run_id;
UPDATE artifact_versions SET step_name = src.name
FROM (SELECT id, name FROM step_runs) src
WHERE src.id = artifact_versions.step_run_id;
"""
REBUILD_ARTIFACT_COUNTS = """
UPDATE artifacts SET versions = 0, latest_at = NULL;
UPDATE artifacts SET versions = src.n, latest_at = src.newest
FROM (
    SELECT artifact_id, count(*) AS n, max(created) AS newest
    FROM artifact_versions GROUP BY artifact_id
) src
WHERE src.artifact_id = artifacts.id;
"""
_V9 = f"""
ALTER TABLE curated_visualizations ADD COLUMN viz_folder VARCHAR;
ALTER TABLE artifact_versions ADD COLUMN run_name VARCHAR;
ALTER TABLE artifact_versions ADD COLUMN step_name VARCHAR;
ALTER TABLE artifact_versions ADD COLUMN pipeline_name VARCHAR;
ALTER TABLE artifacts ADD COLUMN versions BIGINT DEFAULT 0;
ALTER TABLE artifacts ADD COLUMN latest_at TIMESTAMP;
{BACKFILL_TILE_FOLDERS};
{BACKFILL_VERSION_NAMES}
{REBUILD_ARTIFACT_COUNTS}
"""

# v10: run metrics and metadata. The numeric leaves of a step's JSON outputs and whatever
# `log_metadata` logs, one row per run and name (`evaluate.metrics.accuracy`); `number` holds the
# value of numeric ones, so runs can be sorted by a metric (the index serves "runs of a pipeline
# by metric") and metrics plotted across runs. `pipeline_id` is copied from the run for that index.
_V10 = """
CREATE TABLE run_metadata (
    run_id UUID NOT NULL, pipeline_id UUID NOT NULL, step_name VARCHAR, name VARCHAR NOT NULL,
    number FLOAT8, value JSON, source VARCHAR NOT NULL, created TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX run_metadata_pipeline_name ON run_metadata (pipeline_id, name, number);
"""

# v11: tiles that follow the latest version. A following tile names what it follows (an artifact,
# or an output of a step in a pipeline) instead of one version; the version it shows is looked up
# on every read among completed runs. Its artifact_visualization_id and artifact_version_id are
# the nil UUID, so deleting versions never deletes it; viz_type and viz_position say which of the
# version's visualizations it shows.
_V11 = """
ALTER TABLE curated_visualizations ADD COLUMN follow_kind VARCHAR;
ALTER TABLE curated_visualizations ADD COLUMN follow_artifact_id UUID;
ALTER TABLE curated_visualizations ADD COLUMN follow_pipeline_id UUID;
ALTER TABLE curated_visualizations ADD COLUMN follow_step VARCHAR;
ALTER TABLE curated_visualizations ADD COLUMN follow_output VARCHAR;
"""

# v12: short automatic run names ("training #6"). Each pipeline counts the runs started for it
# (a row lock on PostgreSQL hands concurrent starts distinct numbers), and each run keeps its
# number; runs before v12 have none, and the counters start after them.
_V12 = """
ALTER TABLE pipelines ADD COLUMN run_counter INTEGER;
ALTER TABLE pipeline_runs ADD COLUMN run_number INTEGER;
UPDATE pipelines SET run_counter = (
    SELECT count(*) FROM pipeline_runs r WHERE r.pipeline_id = pipelines.id
);
"""

# v13: PostgreSQL pages artifact versions newest first by reading an index backwards (see
# util.newest_page); without one it sorted every version of the store for each page (0.3 s at
# 1M versions). DuckDB pages by time slices instead, and an index there would only slow inserts.
_V13 = {
    "postgres": "CREATE INDEX artifact_versions_project_created "
    "ON artifact_versions (project_id, created);",
    "duckdb": "",
}

# v14: a tile is read from one column. DuckDB charges about 0.01 ms per column a statement
# reads: the 24-column read of a tile cost 0.49 ms, one column 0.29 ms. So every field of a tile
# is also kept in one JSON text, `shown`, written with the columns by every insert and update
# and rebuilt from them by this migration and after a copy that moves files. The columns stay
# the record: queries filter and sort on them, and a copy rewrites their locations.
_V14_SHOWN = (
    ("id", "id"),
    ("project_id", "project_id"),
    ("artifact_visualization_id", "artifact_visualization_id"),
    ("artifact_version_id", "artifact_version_id"),
    ("resource_type", "resource_type"),
    ("resource_id", "resource_id"),
    ("display_name", "display_name"),
    ("display_order", "display_order"),
    ("layout_size", "layout_size"),
    ("created", "created"),
    ("updated", "updated"),
    ("viz_type", "viz_type"),
    ("viz_uri", "viz_uri"),
    ("viz_position", "viz_position"),
    ("folder", "viz_folder"),
    ("artifact_name", "artifact_name"),
    ("artifact_version", "artifact_version"),
    ("run_id", "run_id"),
    ("run_name", "run_name"),
    ("follow_kind", "follow_kind"),
    ("follow_artifact_id", "follow_artifact_id"),
    ("follow_pipeline_id", "follow_pipeline_id"),
    ("follow_step", "follow_step"),
    ("follow_output", "follow_output"),
)


def _shown_sql(function: str, fields: Iterable[tuple[str, str]]) -> str:
    pairs = ", ".join(f"'{key}', {column}" for key, column in fields)
    return f"UPDATE curated_visualizations SET shown = CAST({function}({pairs}) AS VARCHAR)"


_JSON_OBJECT = {"duckdb": "json_object", "postgres": "json_build_object"}
# What `shown` holds now (its key, and the column it copies), and the SQL that rebuilds it from
# the columns (after a copy that moves files, after a reorder). v14 keeps its own list: a field
# added here needs its column first, and a migration that rebuilds `shown` once it exists.
TILE_SHOWN: dict[str, str] = dict(_V14_SHOWN)
REBUILD_TILE_SHOWN = {
    dialect: _shown_sql(function, TILE_SHOWN.items()) for dialect, function in _JSON_OBJECT.items()
}
# Also in v14: an artifact version keeps its artifact's name (immutable), as it keeps its run's
# since v9, so that what a new tile copies of its source is read from two tables, not three (a
# join costs DuckDB 0.2 ms of a tile's create).
BACKFILL_VERSION_ARTIFACT_NAMES = """
UPDATE artifact_versions SET artifact_name = src.name
FROM (SELECT id, name FROM artifacts) src
WHERE src.id = artifact_versions.artifact_id
"""
_V14 = {
    dialect: "ALTER TABLE curated_visualizations ADD COLUMN shown VARCHAR;\n"
    f"{_shown_sql(function, _V14_SHOWN)};\n"
    "ALTER TABLE artifact_versions ADD COLUMN artifact_name VARCHAR;\n"
    f"{BACKFILL_VERSION_ARTIFACT_NAMES};"
    for dialect, function in _JSON_OBJECT.items()
}

# A migration is SQL for every engine, or {dialect: SQL} when the engines need different things.
MIGRATIONS: list[tuple[int, str | dict[str, str]]] = [
    (1, _V1),
    (2, _V2),
    (3, _V3),
    (4, _V4),
    (5, _V5),
    (6, _V6),
    (7, _V7),
    (8, _V8),
    (9, _V9),
    (10, _V10),
    (11, _V11),
    (12, _V12),
    (13, _V13),
    (14, _V14),
]
LATEST = MIGRATIONS[-1][0]


def current_version(cur: Cursor) -> int:
    """Return the schema version of the current database, 0 when it is empty."""
    exists = cur.value(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = current_schema() AND table_name = 'schema_version'"
    )
    if not exists:
        return 0
    return int(cur.value("SELECT max(version) FROM schema_version") or 0)


def check_not_newer(version: int, location: str | Path) -> None:
    """Raise StoreVersionError if the store was written by a newer zviz."""
    if version > LATEST:
        raise StoreVersionError(
            f"The zviz store at {location} has schema version {version}, newer than this zviz "
            f"understands ({LATEST}). Upgrade zviz (pip install -U zviz) or point zviz at "
            "another store."
        )


def migrate(
    cur: Cursor, location: str | Path, upto: int | None = None, lock_sql: str | None = None
) -> int:
    """Apply every pending migration (up to `upto`), each in its own transaction with its
    version row; return the version reached.

    `lock_sql` runs first in each transaction (PostgreSQL: an advisory lock), so processes that
    upgrade the same store at once apply each migration exactly once.
    """
    version = current_version(cur)
    check_not_newer(version, location)
    for number, script in MIGRATIONS:
        if number <= version or (upto is not None and number > upto):
            continue
        cur.execute("BEGIN TRANSACTION")
        try:
            if lock_sql:
                cur.execute(lock_sql)
                if current_version(cur) >= number:
                    cur.execute("COMMIT")
                    continue
            sql = script[cur.dialect] if isinstance(script, dict) else script
            if sql:
                cur.execute(sql)
            now = datetime.now(UTC).replace(tzinfo=None)
            if number == 1:
                cur.execute(
                    "INSERT INTO projects VALUES (?, ?, ?)", [uuid.uuid4(), DEFAULT_PROJECT, now]
                )
            cur.execute("INSERT INTO schema_version VALUES (?, ?)", [number, now])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        version = number
    return max(version, current_version(cur))
