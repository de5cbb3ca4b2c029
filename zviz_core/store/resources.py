"""SQL for projects, pipelines, snapshots, models and deployments, and their row-to-model mappers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from zviz_core.access import AccessPolicy
from zviz_core.models import (
    DeploymentResponse,
    ModelResponse,
    PipelineResponse,
    ProjectResponse,
    SnapshotResponse,
)
from zviz_core.store.db import Cursor
from zviz_core.store.util import aware, loads

PROJECT_COLS = "p.id, p.name, p.created"
PIPELINE_COLS = "pl.id, pl.name, pl.project_id, pl.created"
SNAPSHOT_COLS = "s.id, s.project_id, s.pipeline_id, pl.name, s.config, s.created"
MODEL_COLS = "m.id, m.name, m.project_id, m.description, m.created"
DEPLOYMENT_COLS = "d.id, d.name, d.project_id, d.snapshot_id, d.created"


def project(row: tuple) -> ProjectResponse:
    return ProjectResponse(id=row[0], name=row[1], created=aware(row[2]))


def pipeline(row: tuple) -> PipelineResponse:
    return PipelineResponse(id=row[0], name=row[1], project_id=row[2], created=aware(row[3]))


def snapshot(row: tuple) -> SnapshotResponse:
    return SnapshotResponse(
        id=row[0],
        project_id=row[1],
        pipeline_id=row[2],
        pipeline_name=row[3],
        config=loads(row[4]),
        created=aware(row[5]),
    )


def model(row: tuple) -> ModelResponse:
    return ModelResponse(
        id=row[0], name=row[1], project_id=row[2], description=row[3], created=aware(row[4])
    )


def deployment(row: tuple) -> DeploymentResponse:
    return DeploymentResponse(
        id=row[0], name=row[1], project_id=row[2], snapshot_id=row[3], created=aware(row[4])
    )


# table, alias, columns, mapper, access kind
KINDS: dict[str, tuple[str, str, str, Any]] = {
    "project": ("projects", "p", PROJECT_COLS, project),
    "pipeline": ("pipelines", "pl", PIPELINE_COLS, pipeline),
    "pipeline_snapshot": (
        "snapshots s JOIN pipelines pl ON pl.id = s.pipeline_id",
        "s",
        SNAPSHOT_COLS,
        snapshot,
    ),
    "model": ("models", "m", MODEL_COLS, model),
    "deployment": ("deployments", "d", DEPLOYMENT_COLS, deployment),
}


def _from(kind: str) -> str:
    table, alias, _, _ = KINDS[kind]
    return table if " " in table else f"{table} {alias}"


def get(
    cur: Cursor,
    access: AccessPolicy,
    kind: str,
    key: UUID | None,
    name: str | None,
    project_id: UUID | None = None,
    mode: str = "read",
) -> Any | None:
    """One resource by id (or by name within a project), if the policy lets the user see it."""
    _, alias, cols, mapper = KINDS[kind]
    where, params = access.sql(kind, alias, mode)
    if key is not None:
        cond, params["key"] = f"{alias}.id = $key", key
    else:
        cond, params["name"] = f"{alias}.name = $name", name
        if project_id is not None and kind != "project":
            cond += f" AND {alias}.project_id = $project_id"
            params["project_id"] = project_id
    row = cur.row(f"SELECT {cols} FROM {_from(kind)} WHERE {cond} AND {where}", params)
    return None if row is None else mapper(row)


def exists(cur: Cursor, kind: str, key: UUID) -> bool:
    """Whether a resource exists at all, whoever may read it."""
    _, alias, _, _ = KINDS[kind]
    return (
        cur.value(f"SELECT count(*) FROM {_from(kind)} WHERE {alias}.id = $key", {"key": key}) > 0
    )


def list_page(
    cur: Cursor,
    access: AccessPolicy,
    kind: str,
    project_id: UUID | None,
    limit: int,
    offset: int,
    name_contains: str | None = None,
    extra: str = "",
    extra_params: dict | None = None,
) -> tuple[list[Any], int]:
    """A page of resources the user may read, newest first, and the total count."""
    _, alias, cols, mapper = KINDS[kind]
    where, params = access.sql(kind, alias)
    conds = [where]
    if project_id is not None and kind != "project":
        conds.append(f"{alias}.project_id = $project_id")
        params["project_id"] = project_id
    if name_contains:
        name_col = "pl.name" if kind == "pipeline_snapshot" else f"{alias}.name"
        conds.append(f"strpos(lower({name_col}), lower($needle)) > 0")
        params["needle"] = name_contains
    if extra:
        conds.append(extra)
        params.update(extra_params or {})
    sql_where = " AND ".join(conds)
    total = cur.value(f"SELECT count(*) FROM {_from(kind)} WHERE {sql_where}", params)
    rows = cur.rows(
        f"SELECT {cols} FROM {_from(kind)} WHERE {sql_where} "
        f"ORDER BY {alias}.created DESC, {alias}.id LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    )
    return [mapper(r) for r in rows], int(total)
