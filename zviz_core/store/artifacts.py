"""SQL for artifacts, artifact versions and their visualizations, and their row-to-model mappers."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from zviz_core.access import AccessPolicy
from zviz_core.enums import VisualizationType
from zviz_core.models import ArtifactVersionResponse, ArtifactVisualizationResponse
from zviz_core.store.db import Cursor
from zviz_core.store.util import aware, loads

VERSION_COLS = (
    "av.id, a.name, av.version, av.artifact_id, av.project_id, av.uri, av.data_type, "
    "av.materializer, av.run_id, av.step_run_id, av.output_name, av.metadata, av.created, "
    "r.name, s.name, pl.name"
)
VERSION_FROM = (
    "artifact_versions av JOIN artifacts a ON a.id = av.artifact_id "
    "LEFT JOIN pipeline_runs r ON r.id = av.run_id "
    "LEFT JOIN step_runs s ON s.id = av.step_run_id "
    "LEFT JOIN pipelines pl ON pl.id = r.pipeline_id"
)
VIZ_COLS = "v.id, v.type, v.uri, v.artifact_version_id, v.position"


def visualization(row: tuple) -> ArtifactVisualizationResponse:
    return ArtifactVisualizationResponse(
        id=row[0],
        type=VisualizationType(row[1]),
        uri=row[2],
        artifact_version_id=row[3],
        position=row[4],
    )


def _version(row: tuple, vizs: list[ArtifactVisualizationResponse]) -> ArtifactVersionResponse:
    return ArtifactVersionResponse(
        id=row[0],
        name=row[1],
        version=row[2],
        artifact_id=row[3],
        project_id=row[4],
        uri=row[5],
        data_type=row[6],
        materializer=row[7],
        run_id=row[8],
        step_run_id=row[9],
        output_name=row[10],
        metadata=loads(row[11]),
        created=aware(row[12]),
        visualizations=vizs,
        run_name=row[13],
        step_name=row[14],
        pipeline_name=row[15],
    )


def visualizations_for(
    cur: Cursor, version_ids: list[UUID]
) -> dict[UUID, list[ArtifactVisualizationResponse]]:
    """Visualizations of several artifact versions, each list in position order."""
    out: dict[UUID, list[ArtifactVisualizationResponse]] = {}
    if not version_ids:
        return out
    rows = cur.rows(
        f"SELECT {VIZ_COLS} FROM artifact_visualizations v "
        "WHERE v.artifact_version_id IN (SELECT unnest($ids)) ORDER BY v.artifact_version_id, v.position",
        {"ids": version_ids},
    )
    for row in rows:
        out.setdefault(row[3], []).append(visualization(row))
    return out


def versions_where(
    cur: Cursor,
    cond: str,
    params: dict[str, Any],
    order: str = "av.created, av.id",
    limit: int | None = None,
    offset: int = 0,
) -> list[ArtifactVersionResponse]:
    """Artifact versions matching `cond` (over aliases av, a, r, s, pl), with visualizations."""
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = cur.rows(
        f"SELECT {VERSION_COLS} FROM {VERSION_FROM} WHERE {cond} ORDER BY {order}{page}", params
    )
    vizs = visualizations_for(cur, [r[0] for r in rows])
    return [_version(r, vizs.get(r[0], [])) for r in rows]


def get(cur: Cursor, access: AccessPolicy, key: UUID) -> ArtifactVersionResponse | None:
    where, params = access.sql("artifact_version", "av")
    params["key"] = key
    found = versions_where(cur, f"av.id = $key AND {where}", params)
    return found[0] if found else None


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
) -> tuple[list[ArtifactVersionResponse], int]:
    """A page of readable artifact versions, newest first, and the total matching."""
    where, params = access.sql("artifact_version", "av")
    conds = [where]
    if project_id is not None:
        conds.append("av.project_id = $project_id")
        params["project_id"] = project_id
    if run_id is not None:
        conds.append("av.run_id = $run_id")
        params["run_id"] = run_id
    if artifact_name is not None:
        conds.append("a.name = $aname")
        params["aname"] = artifact_name
    if name_contains:
        conds.append("contains(lower(a.name), lower($needle))")
        params["needle"] = name_contains
    cond = " AND ".join(conds)
    total = cur.value(
        "SELECT count(*) FROM artifact_versions av JOIN artifacts a ON a.id = av.artifact_id "
        f"WHERE {cond}",
        params,
    )
    items = versions_where(
        cur, cond, params, order="av.created DESC, av.id", limit=limit, offset=offset
    )
    return items, int(total)


def get_visualization(
    cur: Cursor, access: AccessPolicy, key: UUID
) -> tuple[ArtifactVisualizationResponse, UUID] | None:
    """A visualization the user may read (through its artifact version) and its project id."""
    where, params = access.sql("artifact_version", "av")
    params["key"] = key
    row = cur.row(
        f"SELECT {VIZ_COLS}, av.project_id FROM artifact_visualizations v "
        f"JOIN artifact_versions av ON av.id = v.artifact_version_id WHERE v.id = $key AND {where}",
        params,
    )
    return None if row is None else (visualization(row[:5]), row[5])


def delete_versions(cur: Cursor, version_ids: list[UUID]) -> list[str]:
    """Delete artifact versions with their visualizations and the tiles showing them; returns URIs."""
    if not version_ids:
        return []
    ids = {"ids": version_ids}
    uris = [
        r[0]
        for r in cur.rows(
            "SELECT uri FROM artifact_versions WHERE id IN (SELECT unnest($ids))", ids
        )
    ]
    uris += [
        r[0]
        for r in cur.rows(
            "SELECT uri FROM artifact_visualizations WHERE artifact_version_id IN (SELECT unnest($ids))",
            ids,
        )
    ]
    cur.execute(
        "DELETE FROM curated_visualizations WHERE artifact_version_id IN (SELECT unnest($ids))", ids
    )
    cur.execute(
        "DELETE FROM artifact_visualizations WHERE artifact_version_id IN (SELECT unnest($ids))",
        ids,
    )
    cur.execute("DELETE FROM step_inputs WHERE artifact_version_id IN (SELECT unnest($ids))", ids)
    cur.execute("DELETE FROM artifact_versions WHERE id IN (SELECT unnest($ids))", ids)
    return uris


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
) -> int:
    """Insert the next version of an artifact (created on first use); returns its version number."""
    found = cur.row(
        "SELECT a.id, (SELECT coalesce(max(v.version), 0) + 1 FROM artifact_versions v "
        "WHERE v.artifact_id = a.id) FROM artifacts a WHERE a.project_id = $p AND a.name = $n",
        {"p": project_id, "n": name},
    )
    if found is None:
        artifact_id, version = uuid.uuid4(), 1
        cur.execute(
            "INSERT INTO artifacts VALUES ($id, $p, $n, $t)",
            {"id": artifact_id, "p": project_id, "n": name, "t": now},
        )
    else:
        artifact_id, version = found
    cur.execute(
        "INSERT INTO artifact_versions VALUES ($id, $a, $p, $v, $uri, $dt, $m, $run, $step, $out, $meta, $t)",
        {
            "id": version_id,
            "a": artifact_id,
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
