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
    "c.display_order, c.layout_size, c.resource_type, c.resource_id, c.created, c.updated"
)
# Lower display_order first; unset orders last, in creation order. Stated, not left to the engine.
ORDER = "c.display_order ASC NULLS LAST, c.created ASC, c.id"


def tile(row: tuple, details: dict | None = None) -> CuratedVisualizationResponse:
    details = details or {}
    viz = details.get(row[2])
    version = details.get(row[3], (None, None, None, None))
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
        artifact_name=version[0],
        artifact_version=version[1],
        run_id=version[2],
        run_name=version[3],
    )


def _details(cur: Cursor, rows: list[tuple]) -> dict:
    """Visualizations and their sources for tile rows, by indexed lookups (no big-table joins)."""
    if not rows:
        return {}
    details: dict = {}
    for row in cur.rows(
        f"SELECT {artifacts.VIZ_COLS} FROM artifact_visualizations v WHERE list_contains($ids, v.id)",
        {"ids": list({r[2] for r in rows})},
    ):
        details[row[0]] = artifacts.visualization(row)
    versions = cur.rows(
        "SELECT id, artifact_id, version, run_id FROM artifact_versions "
        "WHERE list_contains($ids, id)",
        {"ids": list({r[3] for r in rows})},
    )
    artifact_names = dict(
        cur.rows(
            "SELECT id, name FROM artifacts WHERE list_contains($ids, id)",
            {"ids": list({v[1] for v in versions})},
        )
    )
    names = artifacts.source_names(cur, {v[3] for v in versions}, set())
    for key, artifact_id, number, run_id in versions:
        details[key] = (
            artifact_names.get(artifact_id),
            number,
            run_id,
            names.get(run_id, (None,))[0],
        )
    return details


def get(
    cur: Cursor, access: AccessPolicy, key: UUID, hydrate: bool = True, mode: str = "read"
) -> CuratedVisualizationResponse | None:
    where, params = access.sql("curated", "c", mode)
    params["key"] = key
    row = cur.row(
        f"SELECT {TILE_COLS} FROM curated_visualizations c WHERE c.id = $key AND {where}", params
    )
    if row is None:
        return None
    return tile(row, _details(cur, [row]) if hydrate else None)


def list_for(
    cur: Cursor, access: AccessPolicy, resource_type: str, resource_id: UUID
) -> list[CuratedVisualizationResponse]:
    where, params = access.sql("curated", "c")
    params.update(rtype=resource_type, rid=resource_id)
    rows = cur.rows(
        f"SELECT {TILE_COLS} FROM curated_visualizations c "
        f"WHERE c.resource_id = $rid AND c.resource_type = $rtype AND {where} ORDER BY {ORDER}",
        params,
    )
    details = _details(cur, rows)
    return [tile(r, details) for r in rows]


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
