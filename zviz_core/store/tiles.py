"""SQL for curated visualizations (tiles): ordered lists per resource, uniqueness, and mappers."""

from __future__ import annotations

from uuid import UUID

from zviz_core.access import AccessPolicy
from zviz_core.enums import CuratedVisualizationSize, VisualizationResourceTypes
from zviz_core.models import CuratedVisualizationResponse
from zviz_core.store import artifacts
from zviz_core.store.db import Cursor
from zviz_core.store.util import aware

TILE_COLS = (
    "c.id, c.project_id, c.artifact_visualization_id, c.artifact_version_id, c.display_name, "
    "c.display_order, c.layout_size, c.resource_type, c.resource_id, c.created, c.updated, "
    "c.viz_type, c.viz_uri, c.viz_position, c.artifact_name, c.artifact_version, c.run_id, "
    "c.run_name, (SELECT av.uri FROM artifact_versions av WHERE av.id = c.artifact_version_id)"
)
# Lower display_order first; unset orders last, in creation order. Stated, not left to the engine.
ORDER = "c.display_order ASC NULLS LAST, c.created ASC, c.id"


def tile(row: tuple, hydrate: bool = True) -> CuratedVisualizationResponse:
    viz = None
    if hydrate and row[11] is not None:
        viz = artifacts.visualization((row[2], row[11], row[12], row[3], row[13]), row[18])
    return CuratedVisualizationResponse(
        id=row[0],
        project_id=row[1],
        artifact_visualization_id=row[2],
        artifact_version_id=row[3],
        display_name=row[4],
        display_order=row[5],
        layout_size=CuratedVisualizationSize(row[6]),
        resource_type=VisualizationResourceTypes(row[7]),
        resource_id=row[8],
        created=aware(row[9]),
        updated=aware(row[10]),
        artifact_visualization=viz,
        artifact_name=row[14] if hydrate else None,
        artifact_version=row[15] if hydrate else None,
        run_id=row[16] if hydrate else None,
        run_name=row[17] if hydrate else None,
    )


def get(
    cur: Cursor, access: AccessPolicy, key: UUID, hydrate: bool = True, mode: str = "read"
) -> CuratedVisualizationResponse | None:
    where, params = access.sql("curated", "c", mode)
    params["key"] = key
    row = cur.row(
        f"SELECT {TILE_COLS} FROM curated_visualizations c WHERE c.id = $key AND {where}", params
    )
    return None if row is None else tile(row, hydrate)


def list_for(
    cur: Cursor, access: AccessPolicy, resource_type: str, resource_id: UUID
) -> list[CuratedVisualizationResponse]:
    """A resource's tiles in display order; each carries its source, copied at creation."""
    where, params = access.sql("curated", "c")
    params.update(rtype=resource_type, rid=resource_id)
    rows = cur.rows(
        f"SELECT {TILE_COLS} FROM curated_visualizations c "
        f"WHERE c.resource_id = $rid AND c.resource_type = $rtype AND {where} ORDER BY {ORDER}",
        params,
    )
    return [tile(r) for r in rows]


def insert(cur: Cursor, values: dict) -> None:
    """Insert a tile, copying what it shows of its source (immutable) into the row."""
    source = cur.row(
        "SELECT a.name, av.version, av.run_id, r.name FROM artifact_versions av "
        "JOIN artifacts a ON a.id = av.artifact_id LEFT JOIN pipeline_runs r ON r.id = av.run_id "
        "WHERE av.id = $av",
        {"av": values["av"]},
    )
    name, version, run_id, run_name = source or (None, None, None, None)
    cur.execute(
        "INSERT INTO curated_visualizations (id, project_id, artifact_visualization_id, "
        "artifact_version_id, resource_type, resource_id, display_name, display_order, "
        "layout_size, created, updated, viz_type, viz_uri, viz_position, artifact_name, "
        "artifact_version, run_id, run_name) VALUES ($id, $p, $v, $av, $rt, $rid, $n, $o, $s, "
        "$t, $t, $vtype, $vuri, $vpos, $aname, $aversion, $run, $rname)",
        {**values, "aname": name, "aversion": version, "run": run_id, "rname": run_name},
    )


def order_taken(
    cur: Cursor, resource_type: str, resource_id: UUID, order: int, except_id: UUID | None = None
) -> bool:
    return (
        cur.value(
            "SELECT count(*) FROM curated_visualizations WHERE resource_id = $rid AND resource_type = $rtype "
            "AND display_order = $o AND id IS DISTINCT FROM $except",
            {"rid": resource_id, "rtype": resource_type, "o": order, "except": except_id},
        )
        > 0
    )


def pair_taken(cur: Cursor, viz_id: UUID, resource_type: str, resource_id: UUID) -> bool:
    return (
        cur.value(
            "SELECT count(*) FROM curated_visualizations WHERE artifact_visualization_id = $v "
            "AND resource_id = $rid AND resource_type = $rtype",
            {"v": viz_id, "rid": resource_id, "rtype": resource_type},
        )
        > 0
    )


def delete_for_resource(cur: Cursor, resource_type: str, resource_ids: list[UUID]) -> None:
    if resource_ids:
        cur.execute(
            "DELETE FROM curated_visualizations WHERE resource_type = $rtype "
            "AND resource_id IN (SELECT unnest($ids))",
            {"rtype": resource_type, "ids": resource_ids},
        )
