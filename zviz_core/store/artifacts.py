"""SQL for artifacts, artifact versions and their visualizations, and their row-to-model mappers."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from zviz_core.access import AccessPolicy
from zviz_core.enums import VisualizationType
from zviz_core.models import (
    ArtifactUse,
    ArtifactVersionResponse,
    ArtifactVisualizationResponse,
    PipelineResponse,
)
from zviz_core.store.engine import Cursor
from zviz_core.store.util import aware, loads, newest_page

VERSION_COLS = (
    "av.id, a.name, av.version, av.artifact_id, av.project_id, av.uri, av.data_type, "
    "av.materializer, av.run_id, av.step_run_id, av.output_name, av.metadata, av.created, "
    "av.run_name, av.step_name, av.pipeline_name"
)
ORDER = "av.created, av.id"
# Only the small artifacts table is joined: a version keeps its run, step and pipeline names.
VERSION_FROM = "artifact_versions av JOIN artifacts a ON a.id = av.artifact_id"
# `folder` is the artifact version's own folder: the visualization's file must lie inside it.
VIZ_COLS = "v.id, v.type, v.uri, v.artifact_version_id, v.position, av.uri AS folder"


def visualization(row: dict[str, Any]) -> ArtifactVisualizationResponse:
    """A visualization from its VIZ_COLS row (with its artifact version's folder)."""
    viz = ArtifactVisualizationResponse(
        id=row["id"],
        type=VisualizationType(row["type"]),
        uri=row["uri"],
        artifact_version_id=row["artifact_version_id"],
        position=row["position"],
    )
    viz._folder = row["folder"]
    return viz


def _version(
    row: dict[str, Any], vizs: list[ArtifactVisualizationResponse]
) -> ArtifactVersionResponse:
    return ArtifactVersionResponse(
        id=row["id"],
        name=row["name"],
        version=row["version"],
        artifact_id=row["artifact_id"],
        project_id=row["project_id"],
        uri=row["uri"],
        data_type=row["data_type"],
        materializer=row["materializer"],
        run_id=row["run_id"],
        step_run_id=row["step_run_id"],
        output_name=row["output_name"],
        metadata=loads(row["metadata"]),
        created=aware(row["created"]),
        visualizations=vizs,
        run_name=row["run_name"],
        step_name=row["step_name"],
        pipeline_name=row["pipeline_name"],
    )


def visualizations_for(
    cur: Cursor, version_ids: list[UUID]
) -> dict[UUID, list[ArtifactVisualizationResponse]]:
    """Visualizations of several artifact versions, each list in position order."""
    out: dict[UUID, list[ArtifactVisualizationResponse]] = {}
    if not version_ids:
        return out
    rows = cur.dicts(
        f"SELECT {VIZ_COLS} FROM artifact_visualizations v "
        "JOIN artifact_versions av ON av.id = v.artifact_version_id "
        "WHERE v.artifact_version_id = ANY($ids) ORDER BY v.artifact_version_id, v.position, v.id",
        {"ids": version_ids},
    )
    for row in rows:
        out.setdefault(row["artifact_version_id"], []).append(visualization(row))
    return out


def versions_where(
    cur: Cursor,
    cond: str,
    params: dict[str, Any],
    order: str = ORDER,
    limit: int | None = None,
    offset: int = 0,
) -> list[ArtifactVersionResponse]:
    """Artifact versions matching `cond` (over aliases av and a), with visualizations."""
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = cur.dicts(
        f"SELECT {VERSION_COLS} FROM {VERSION_FROM} WHERE {cond} ORDER BY {order}{page}", params
    )
    return _with_details(cur, rows)


def _with_details(cur: Cursor, rows: list[dict[str, Any]]) -> list[ArtifactVersionResponse]:
    vizs = visualizations_for(cur, [r["id"] for r in rows])
    return [_version(r, vizs.get(r["id"], [])) for r in rows]


def get(cur: Cursor, access: AccessPolicy, key: UUID) -> ArtifactVersionResponse | None:
    where, params = access.sql("artifact_version", "av")
    params["key"] = key
    found = versions_where(cur, f"av.id = $key AND {where}", params)
    return found[0] if found else None


SEARCH_CAP = 10_000
# Where a searched word may appear: the artifact's name, or its run's, pipeline's or step's.
_SEARCHED = ("a.name", "av.run_name", "av.pipeline_name", "av.step_name")


def search_words(text: str | None) -> list[str]:
    """The distinct lower-case words of a search, in order (at most 8)."""
    return list(dict.fromkeys((text or "").lower().split()))[:8]


def list_page(
    cur: Cursor,
    access: AccessPolicy,
    *,
    project_id: UUID | None,
    name_contains: str | None,
    run_id: UUID | None,
    artifact_name: str | None,
    limit: int,
    offset: int,
    search: str | None = None,
    pipeline_name: str | None = None,
    visualization_type: str | None = None,
) -> tuple[list[ArtifactVersionResponse], int, bool]:
    """A page of readable artifact versions, newest first, the number matching, and whether
    that number is only a lower bound (a search matching more than SEARCH_CAP versions)."""
    where, params = access.sql("artifact_version", "av")
    conds = [where]
    if project_id is not None:
        conds.append("av.project_id = $project_id")
        params["project_id"] = project_id
    # Conditions on the artifact alone: with every version readable, the kept per-artifact
    # counts answer how many match, without reading the versions.
    named: list[str] = []
    if artifact_name is not None:
        named.append("a.name = $aname")
        params["aname"] = artifact_name
    if name_contains:
        named.append("strpos(lower(a.name), lower($needle)) > 0")
        params["needle"] = name_contains
    conds += named
    scanned = []
    if run_id is not None:
        scanned.append("av.run_id = $run_id")
        params["run_id"] = run_id
    if pipeline_name is not None:
        scanned.append("av.pipeline_name = $pname")
        params["pname"] = pipeline_name
    if visualization_type is not None:
        scanned.append(
            "av.id IN (SELECT _vt.artifact_version_id FROM artifact_visualizations _vt "
            "WHERE _vt.type = $vtype)"
        )
        params["vtype"] = visualization_type
    words = search_words(search)
    for i, word in enumerate(words):
        params[f"w{i}"] = word
        scanned.append(
            "(" + " OR ".join(f"strpos(lower({col}), $w{i}) > 0" for col in _SEARCHED) + ")"
        )
    conds += scanned
    sql_where = " AND ".join(conds)
    span, capped = None, False
    if where == "TRUE" and project_id is not None and not scanned:
        span = cur.row(
            "SELECT coalesce(sum(a.versions), 0), min(a.created), max(a.latest_at) "
            f"FROM artifacts a WHERE {' AND '.join(['a.project_id = $project_id', *named])}",
            params,
        )
    elif words:
        # A search counts its matches up to SEARCH_CAP only: past that, a count would read
        # every version of a big store, and "10,000+" tells the user as much.
        found = int(
            cur.value(
                f"SELECT count(*) FROM (SELECT 1 FROM {VERSION_FROM} WHERE {sql_where} "
                f"LIMIT {SEARCH_CAP + 1}) _m",
                params,
            )
        )
        capped = found > SEARCH_CAP
        bounds_where = "a.project_id = $project_id" if project_id is not None else "TRUE"
        oldest, newest = cur.row(
            f"SELECT min(a.created), max(a.latest_at) FROM artifacts a WHERE {bounds_where}",
            {"project_id": project_id} if project_id is not None else {},
        ) or (None, None)
        span = (min(found, SEARCH_CAP), oldest, newest)
    rows, total = newest_page(
        cur,
        VERSION_COLS,
        VERSION_FROM,
        sql_where,
        params,
        "av",
        limit,
        offset,
        None if named or scanned else "artifact_versions av",
        span=span,
    )
    return _with_details(cur, rows), total, capped


def _of_artifact(
    access: AccessPolicy, artifact_id: UUID, pipeline_id: UUID | None
) -> tuple[str, dict[str, Any]]:
    where, params = access.sql("artifact_version", "av")
    params["artifact"] = artifact_id
    cond = f"av.artifact_id = $artifact AND {where}"
    if pipeline_id is not None:
        cond += " AND av.run_id IN (SELECT id FROM pipeline_runs WHERE pipeline_id = $pipeline)"
        params["pipeline"] = pipeline_id
    return cond, params


def history_page(
    cur: Cursor,
    access: AccessPolicy,
    artifact_id: UUID,
    pipeline_id: UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[ArtifactVersionResponse], int]:
    """A page of the readable versions of one artifact (of one pipeline's runs, if given),
    newest version first, and how many there are."""
    cond, params = _of_artifact(access, artifact_id, pipeline_id)
    total = int(cur.value(f"SELECT count(*) FROM {VERSION_FROM} WHERE {cond}", params))
    page = versions_where(cur, cond, params, "av.version DESC, av.id", limit, offset)
    return page, total


def history_pipelines(
    cur: Cursor, access: AccessPolicy, artifact_id: UUID
) -> list[PipelineResponse]:
    """The pipelines whose runs produced readable versions of one artifact, by name."""
    cond, params = _of_artifact(access, artifact_id, None)
    rows = cur.dicts(
        "SELECT DISTINCT pl.id, pl.name, pl.project_id, pl.created FROM pipelines pl "
        "JOIN pipeline_runs r ON r.pipeline_id = pl.id "
        f"JOIN artifact_versions av ON av.run_id = r.id JOIN artifacts a ON a.id = av.artifact_id "
        f"WHERE {cond} ORDER BY pl.name, pl.id",
        params,
    )
    return [
        PipelineResponse(
            id=r["id"], name=r["name"], project_id=r["project_id"], created=aware(r["created"])
        )
        for r in rows
    ]


def uses(
    cur: Cursor, access: AccessPolicy, version_ids: list[UUID], per_version: int
) -> dict[UUID, tuple[list[ArtifactUse], int]]:
    """{version id: (the latest `per_version` steps that read it, in runs the user may read,
    and how many more there are)}."""
    if not version_ids:
        return {}
    where, params = access.sql("pipeline_run", "r")
    params.update(ids=version_ids, n=per_version)
    rows = cur.dicts(
        "SELECT * FROM (SELECT si.artifact_version_id AS av_id, si.name AS input_name, "
        "s.name AS step_name, r.id AS run_id, r.name AS run_name, pl.name AS pipeline_name, "
        "row_number() OVER (PARTITION BY si.artifact_version_id "
        "ORDER BY r.created DESC, r.id, s.position, si.name) AS n, "
        "count(*) OVER (PARTITION BY si.artifact_version_id) AS total "
        "FROM step_inputs si JOIN step_runs s ON s.id = si.step_run_id "
        "JOIN pipeline_runs r ON r.id = s.run_id JOIN pipelines pl ON pl.id = r.pipeline_id "
        f"WHERE si.artifact_version_id = ANY($ids) AND {where}) used "
        "WHERE n <= $n ORDER BY av_id, n",
        params,
    )
    out: dict[UUID, tuple[list[ArtifactUse], int]] = {}
    for row in rows:
        found, total = out.get(row["av_id"], ([], int(row["total"])))
        found.append(
            ArtifactUse(
                run_id=row["run_id"],
                run_name=row["run_name"],
                pipeline_name=row["pipeline_name"],
                step_name=row["step_name"],
                input_name=row["input_name"],
            )
        )
        out[row["av_id"]] = (found, total)
    return {key: (found, total - len(found)) for key, (found, total) in out.items()}


def get_visualization(
    cur: Cursor, access: AccessPolicy, key: UUID
) -> tuple[ArtifactVisualizationResponse, UUID] | None:
    """A visualization the user may read (through its artifact version) and its project id."""
    where, params = access.sql("artifact_version", "av")
    params["key"] = key
    row = cur.dict_row(
        f"SELECT {VIZ_COLS}, av.project_id FROM artifact_visualizations v "
        f"JOIN artifact_versions av ON av.id = v.artifact_version_id WHERE v.id = $key AND {where}",
        params,
    )
    return None if row is None else (visualization(row), row["project_id"])


def _next_version(cur: Cursor, project_id: UUID, name: str, now: Any) -> tuple[UUID, int]:
    """Count one more version of an artifact, created on first use; returns (its id, the new
    version's number).

    Where writers take turns (DuckDB) a read and a plain write: an upsert or a RETURNING costs
    DuckDB about 2 ms each. Where they overlap (PostgreSQL) the insert waits for a concurrent
    creator, and the increment holds the artifact's row lock until commit.
    """
    if cur.writers_take_turns:
        found = cur.row(
            "SELECT id, latest_version FROM artifacts WHERE project_id = $p AND name = $n",
            {"p": project_id, "n": name},
        )
        if found is None:
            key = uuid.uuid4()
            cur.execute(
                "INSERT INTO artifacts (id, project_id, name, created, latest_version, versions, "
                "latest_at) VALUES ($id, $p, $n, $t, 1, 1, $t)",
                {"id": key, "p": project_id, "n": name, "t": now},
            )
            return key, 1
        key, latest = found[0], (found[1] or 0)
        cur.execute(
            "UPDATE artifacts SET latest_version = $v, versions = versions + 1, latest_at = $t "
            "WHERE id = $id",
            {"v": latest + 1, "t": now, "id": key},
        )
        return key, latest + 1
    cur.execute(
        "INSERT INTO artifacts (id, project_id, name, created, latest_version) "
        "VALUES ($id, $p, $n, $t, 0) ON CONFLICT (project_id, name) DO NOTHING",
        {"id": uuid.uuid4(), "p": project_id, "n": name, "t": now},
    )
    artifact_id, version = cur.row(
        "UPDATE artifacts SET latest_version = latest_version + 1, versions = versions + 1, "
        "latest_at = $t WHERE project_id = $p AND name = $n RETURNING id, latest_version",
        {"p": project_id, "n": name, "t": now},
    )
    return artifact_id, version


def insert_version(
    cur: Cursor,
    *,
    version_id: UUID,
    project_id: UUID,
    name: str,
    uri: str,
    data_type: str,
    materializer: str,
    run_id: UUID | None,
    step_run_id: UUID | None,
    output_name: str | None,
    metadata_json: str,
    now: Any,
    visualizations: list[tuple[str, str]],
    run_name: str | None = None,
    step_name: str | None = None,
    pipeline_name: str | None = None,
) -> int:
    """Insert the next version of an artifact (created on first use); returns its version number.

    Concurrent writers (PostgreSQL) each get their own number: see `_next_version`.
    """
    artifact_id, version = _next_version(cur, project_id, name, now)
    cur.execute(
        "INSERT INTO artifact_versions (id, artifact_id, project_id, version, uri, data_type, "
        "materializer, run_id, step_run_id, output_name, metadata, created, run_name, step_name, "
        "pipeline_name, artifact_name) VALUES ($id, $a, $p, $v, $uri, $dt, $m, $run, $step, $out, "
        "$meta, $t, $rname, $sname, $pname, $name)",
        {
            "id": version_id,
            "a": artifact_id,
            "name": name,
            "p": project_id,
            "v": version,
            "uri": uri,
            "dt": data_type,
            "m": materializer,
            "run": run_id,
            "step": step_run_id,
            "out": output_name,
            "meta": metadata_json,
            "t": now,
            "rname": run_name,
            "sname": step_name,
            "pname": pipeline_name,
        },
    )
    cur.insert_rows(
        "artifact_visualizations",
        [
            (uuid.uuid4(), version_id, i, vtype, vuri)
            for i, (vuri, vtype) in enumerate(visualizations)
        ],
    )
    return int(version)
