"""Fill a zviz store fast with synthetic runs, steps, artifact versions, visualizations and tiles by bulk SQL."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from zviz_core.store import runs as run_sql  # noqa: E402
from zviz_core.store import schema  # noqa: E402
from zviz_core.store.db import DB_FILE, TOKEN_FILE, DuckCursor  # noqa: E402

SAMPLES_DIR = "_bench_samples"
MODELS = 20
DEPLOYMENTS = 20
PROJECT_TILES = 12
# One kind of step output per step position (position % 4), each backed by one real sample
# artifact folder written by zviz's own materializer, so that load() and every visualization
# of a generated version read real files.
STEP_KINDS = ("load_data", "report", "plot", "score")


@dataclass(frozen=True)
class FillResult:
    """What `fill` wrote and how long it took."""

    home: Path
    runs: int
    artifact_versions: int
    visualizations: int
    tiles: int
    pipelines: int
    seconds: float


def _sample_values() -> list[Any]:
    import numpy as np
    import pandas as pd
    from PIL import Image

    from zviz_core.types import HTMLString

    df = pd.DataFrame(np.random.default_rng(0).random((1000, 5)), columns=list("abcde"))
    report = HTMLString(f"<h1>Report</h1><p>{len(df)} rows</p>{df.describe().to_html()}")
    image = Image.new("RGB", (64, 64), color=(200, 80, 40))
    return [df, report, image, 0.93]


def _write_samples(home: Path) -> tuple[list[tuple], list[tuple]]:
    """Save one real artifact per step kind; return (kind rows, visualization rows) for SQL."""
    from zviz_core.artifacts.store import ArtifactStore, join
    from zviz_core.materializers.base import materializer_for, qualified_name

    root = os.environ.get("ZVIZ_ARTIFACT_STORE") or str(home / "artifacts")
    store = ArtifactStore(root)
    kinds: list[tuple] = []
    vizs: list[tuple] = []
    for kind, (step, value) in enumerate(zip(STEP_KINDS, _sample_values(), strict=True)):
        cls = materializer_for(type(value))
        # One shared folder per step kind stands in for the million versions' own folders, so
        # zviz reads these files but never deletes them (the folder is not named by an id).
        uri = join(store.root, SAMPLES_DIR, step, "output")
        store.makedirs(uri)
        materializer = cls(uri, store)
        materializer.save(value)
        produced = materializer.save_visualizations(value) or {}
        metadata = json.dumps(materializer.extract_metadata(value) or {}, sort_keys=True)
        kinds.append((kind, step, qualified_name(type(value)), qualified_name(cls), uri, metadata))
        for position, (viz_uri, vtype) in enumerate(produced.items()):
            vizs.append((kind, position, getattr(vtype, "value", str(vtype)), str(viz_uri)))
    return kinds, vizs


def _stride(versions: int, tiles: int) -> int:
    """A step through the versions, about versions/tiles, coprime with versions (so distinct)."""
    stride = max(1, versions // max(tiles, 1))
    while math.gcd(stride, max(versions, 1)) != 1:
        stride += 1
    return stride


def _sql_steps(runs: int, versions: int, tiles: int, pipelines: int) -> list[str]:
    """The bulk statements, in order; `$`-parameters are bound by `fill`."""
    n, m = runs, versions
    return [
        # pipelines, each with one snapshot of its resolved configuration
        f"""CREATE TEMP TABLE g_pipes AS
            SELECT p, uuid() AS id, uuid() AS snap_id, printf('bench_pipeline_%02d', p) AS name,
                   $base - INTERVAL 1 DAY + to_seconds(p) AS created
            FROM range({pipelines}) t(p)""",
        """INSERT INTO pipelines (id, project_id, name, created)
        SELECT id, $project, name, created FROM g_pipes""",
        """INSERT INTO snapshots
            SELECT snap_id, $project, id, sha256(cfg), cfg, created FROM (
                SELECT snap_id, id, created,
                       '{"enable_artifact_visualization": null, "parameters": {}, "pipeline": "'
                       || name || '", "steps": {}}' AS cfg
                FROM g_pipes)""",
        # runs: one a minute; run i holds artifact versions i, i + N, i + 2N, ... (one per step).
        # Rows go in in time order, as a store's writers append them: the physical order decides
        # how far a scan reads before it finds the newest rows or a search's first matches.
        f"""CREATE TEMP TABLE g_runs AS
            SELECT i, uuid() AS id, i % {pipelines} AS p,
                   $base + to_seconds(i * 60) + to_microseconds((random() * 5e6)::BIGINT) AS start,
                   CASE WHEN i < {m} THEN ({m} - 1 - i) // {n} + 1 ELSE 0 END AS nsteps,
                   i % 97 = 13 AS failed
            FROM range({n}) t(i)""",
        """INSERT INTO pipeline_runs (id, project_id, pipeline_id, snapshot_id, name, status,
                start_time, end_time, error, created, host, pid)
            SELECT r.id, $project, pp.id, pp.snap_id,
                   pp.name || '-' || strftime(r.start, '%Y_%m_%d-%H_%M_%S_%f'),
                   CASE WHEN r.failed THEN 'failed' ELSE 'completed' END,
                   r.start, r.start + to_seconds(r.nsteps * 3 + 1),
                   CASE WHEN r.failed THEN 'RuntimeError: synthetic failure after the last step'
                   END,
                   r.start, NULL, NULL
            FROM g_runs r JOIN g_pipes pp ON pp.p = r.p ORDER BY r.start""",
        # one step per artifact version
        f"""CREATE TEMP TABLE g_av AS
            SELECT j, j % {n} AS i, j // {n} AS pos, (j // {n}) % 4 AS kind,
                   uuid() AS id, uuid() AS step_id
            FROM range({m}) t(j)""",
        """CREATE TEMP TABLE g_steps AS
            SELECT a.*, r.id AS run_id, r.p, r.start + to_seconds(a.pos * 3) + INTERVAL 500 MILLISECOND
                   AS step_start,
                   k.step || CASE WHEN a.pos >= 4 THEN '_' || (a.pos // 4 + 1) ELSE '' END AS step
            FROM g_av a JOIN g_runs r ON r.i = a.i JOIN g_kinds k ON k.kind = a.kind""",
        """INSERT INTO step_runs
            SELECT step_id, run_id, step, pos, 'completed', step_start,
                   step_start + to_microseconds((1e6 + random() * 1.5e6)::BIGINT), NULL,
                   '{"enable_artifact_visualization": true, "parameters": {}}'
            FROM g_steps ORDER BY step_start, j""",
        f"""INSERT INTO step_inputs
            SELECT a.step_id, 'data', b.id FROM g_av a JOIN g_av b ON b.j = a.j - {n}
            WHERE a.pos > 0""",
        """CREATE TEMP TABLE g_arts AS
            SELECT p, pos, step, uuid() AS id FROM (SELECT DISTINCT p, pos, step FROM g_steps)""",
        """INSERT INTO artifacts (id, project_id, name, created)
            SELECT ga.id, $project, pp.name || '::' || ga.step || '::output',
                   $base - INTERVAL 1 DAY + to_seconds(ga.pos)
            FROM g_arts ga JOIN g_pipes pp ON pp.p = ga.p""",
        f"""INSERT INTO artifact_versions (id, artifact_id, project_id, version, uri, data_type,
            materializer, run_id, step_run_id, output_name, metadata, created)
            SELECT s.id, ga.id, $project, s.i // {pipelines} + 1, k.uri, k.data_type,
                   k.materializer, s.run_id, s.step_id, 'output', k.metadata,
                   s.step_start + INTERVAL 2 SECOND
            FROM g_steps s JOIN g_arts ga ON ga.p = s.p AND ga.pos = s.pos
            JOIN g_kinds k ON k.kind = s.kind
            ORDER BY s.step_start, s.j""",
        """UPDATE artifacts SET latest_version = v.n
            FROM (SELECT artifact_id, max(version) AS n FROM artifact_versions GROUP BY 1) v
            WHERE v.artifact_id = artifacts.id""",
        """CREATE TEMP TABLE g_viz AS
            SELECT uuid() AS id, a.j, a.id AS av_id, v.position, v.type, v.uri
            FROM g_av a JOIN g_sviz v ON v.kind = a.kind""",
        """INSERT INTO artifact_visualizations SELECT v.id, v.av_id, v.position, v.type, v.uri
            FROM g_viz v JOIN g_steps s ON s.j = v.j ORDER BY s.step_start, v.j, v.position""",
        # models and deployments, so that every tile target type has rows
        f"""CREATE TEMP TABLE g_models AS
            SELECT m, uuid() AS id FROM range({MODELS}) t(m)""",
        """INSERT INTO models SELECT id, $project, printf('bench_model_%02d', m),
            'synthetic model ' || m, $base FROM g_models""",
        f"""CREATE TEMP TABLE g_deps AS
            SELECT d, uuid() AS id, d % {pipelines} AS p FROM range({DEPLOYMENTS}) t(d)""",
        """INSERT INTO deployments SELECT d.id, $project, printf('bench_deployment_%02d', d.d),
            pp.snap_id, $base FROM g_deps d JOIN g_pipes pp ON pp.p = d.p""",
        # tiles: spread over the versions (a distinct visualization each) and six target types:
        # 40% on runs, 25% on pipelines, 10% each on snapshots, models and deployments, and a
        # dozen on the project
        f"""CREATE TEMP TABLE g_tiles AS
            SELECT t, uuid() AS id, v.id AS viz_id, v.av_id, s.run_id, s.step_start, s.p,
                   CASE WHEN b < 8 THEN 'pipeline_run'
                        WHEN b < 13 THEN 'pipeline'
                        WHEN b < 15 THEN 'pipeline_snapshot'
                        WHEN b < 17 THEN 'model'
                        WHEN b < 19 THEN 'deployment'
                        WHEN t < {20 * PROJECT_TILES} THEN 'project'
                        ELSE 'pipeline_run' END AS rtype
            FROM (SELECT t, (hash(t) % 20)::INTEGER AS b FROM range({tiles}) g(t))
            JOIN g_viz v ON v.j = (t * {_stride(m, tiles)}) % {max(m, 1)} AND v.position = 0
            JOIN g_steps s ON s.j = v.j""",
        f"""CREATE TEMP TABLE g_targets AS
            SELECT t.*, CASE t.rtype
                   WHEN 'pipeline_run' THEN t.run_id
                   WHEN 'pipeline' THEN pp.id
                   WHEN 'pipeline_snapshot' THEN pp.snap_id
                   WHEN 'project' THEN $project
                   WHEN 'model' THEN (SELECT id FROM g_models WHERE m = (t.t // 20) % {MODELS})
                   ELSE (SELECT id FROM g_deps WHERE d = (t.t // 20) % {DEPLOYMENTS}) END AS rid
            FROM g_tiles t JOIN g_pipes pp ON pp.p = t.p""",
        """INSERT INTO curated_visualizations (id, project_id, artifact_visualization_id,
            artifact_version_id, resource_type, resource_id, display_name, display_order,
            layout_size, created, updated)
            SELECT id, $project, viz_id, av_id, rtype, rid,
                   CASE WHEN t % 5 = 4 THEN NULL ELSE 'Tile ' || t END,
                   CASE WHEN t % 7 = 3 THEN NULL
                        ELSE (row_number() OVER (PARTITION BY rtype, rid ORDER BY t) - 1)::INTEGER
                   END,
                   CASE WHEN t % 3 = 1 THEN 'half_width' ELSE 'full_width' END,
                   step_start + INTERVAL 1 HOUR, step_start + INTERVAL 1 HOUR
            FROM g_targets""",
        schema.BACKFILL_TILE_SOURCES,
        schema.BACKFILL_TILE_FOLDERS,
        schema.REBUILD_TILE_SHOWN["duckdb"],
        *schema.BACKFILL_VERSION_NAMES.strip().rstrip(";").split(";"),
        schema.BACKFILL_VERSION_ARTIFACT_NAMES,
        *schema.REBUILD_ARTIFACT_COUNTS.strip().rstrip(";").split(";"),
    ]


def _bump_token(home: Path) -> None:
    """Tell every zviz process that the store changed, so no cached read survives the fill."""
    tmp = home / f"{TOKEN_FILE}.fill.{os.getpid()}"
    tmp.write_text(uuid.uuid4().hex, encoding="ascii")
    os.replace(tmp, home / TOKEN_FILE)


def fill(
    home: str | Path,
    runs: int,
    artifact_versions: int,
    tiles: int,
    pipelines: int | None = None,
) -> FillResult:
    """Fill an empty (or new) store folder; raises ValueError for a store that already has runs.

    Runs are one minute apart, ending about now; run i gets the artifact versions i, i + runs,
    i + 2 runs, ... each produced by its own step, so every run with i < artifact_versions has
    steps with outputs. Every version points at a real sample artifact of its kind (a shared
    folder under `<artifact store>/_bench_samples`): deleting a generated version also removes
    that shared sample, so use a filled store for reading benchmarks.
    """
    started = time.perf_counter()
    home = Path(home).expanduser().resolve()
    if runs < 1 or artifact_versions < 0 or tiles < 0:
        raise ValueError("runs must be >= 1 and the other counts >= 0")
    if tiles > artifact_versions:
        raise ValueError("tiles cannot exceed artifact_versions (each tile shows its own version)")
    if pipelines is None:
        pipelines = max(1, min(50, runs // 2000 + 1))
    home.mkdir(parents=True, exist_ok=True)
    kinds, sample_vizs = _write_samples(home)
    now = datetime.now(UTC).replace(tzinfo=None)
    base = now - timedelta(minutes=runs + 1)
    con = duckdb.connect(str(home / DB_FILE))
    try:
        schema.migrate(DuckCursor(con), home)
        existing = con.execute("SELECT count(*) FROM pipeline_runs").fetchone()
        if existing and existing[0]:
            raise ValueError(
                f"The store at {home} already has {existing[0]} runs; use a new folder."
            )
        project_row = con.execute(
            "SELECT id FROM projects WHERE name = ?", [schema.DEFAULT_PROJECT]
        ).fetchone()
        if project_row is None:
            raise ValueError(f"The store at {home} has no '{schema.DEFAULT_PROJECT}' project.")
        con.execute(
            "CREATE TEMP TABLE g_kinds (kind INTEGER, step VARCHAR, data_type VARCHAR, "
            "materializer VARCHAR, uri VARCHAR, metadata VARCHAR)"
        )
        con.executemany("INSERT INTO g_kinds VALUES (?, ?, ?, ?, ?, ?)", kinds)
        con.execute(
            "CREATE TEMP TABLE g_sviz (kind INTEGER, position INTEGER, type VARCHAR, uri VARCHAR)"
        )
        con.executemany("INSERT INTO g_sviz VALUES (?, ?, ?, ?)", sample_vizs)
        params = {"project": project_row[0], "base": base}
        con.execute("BEGIN TRANSACTION")
        try:
            for sql in _sql_steps(runs, artifact_versions, tiles, pipelines):
                used = {k: v for k, v in params.items() if f"${k}" in sql}
                con.execute(sql, used)
            run_sql.rebuild_counts(DuckCursor(con))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        vizs = con.execute("SELECT count(*) FROM artifact_visualizations").fetchone()
        con.execute("CHECKPOINT")
    finally:
        con.close()
    _bump_token(home)
    return FillResult(
        home=home,
        runs=runs,
        artifact_versions=artifact_versions,
        visualizations=int(vizs[0]) if vizs else 0,
        tiles=tiles,
        pipelines=pipelines,
        seconds=time.perf_counter() - started,
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, fill the store, print what was written."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True, help="store folder (new or empty)")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--artifact-versions", type=int, default=1_000_000)
    parser.add_argument("--tiles", type=int, default=10_000)
    parser.add_argument("--pipelines", type=int, default=None, help="default: runs/2000+1, <= 50")
    args = parser.parse_args(argv)
    try:
        result = fill(args.home, args.runs, args.artifact_versions, args.tiles, args.pipelines)
    except ValueError as exc:
        print(f"fill_store: {exc}", file=sys.stderr)
        return 2
    print(
        f"filled {result.home}: {result.runs:,} runs in {result.pipelines} pipelines, "
        f"{result.artifact_versions:,} artifact versions, {result.visualizations:,} "
        f"visualizations, {result.tiles:,} tiles in {result.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
