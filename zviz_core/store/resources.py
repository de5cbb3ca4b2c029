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
from zviz_core.store import registry
from zviz_core.store.engine import Cursor
from zviz_core.store.util import aware, loads

PROJECT_COLS = "p.id, p.name, p.created"
PIPELINE_COLS = "pl.id, pl.name, pl.project_id, pl.created"
SNAPSHOT_COLS = "s.id, s.project_id, s.pipeline_id, pl.name AS pipeline_name, s.config, s.created"
MODEL_COLS = "m.id, m.name, m.project_id, m.description, m.created"
DEPLOYMENT_COLS = "d.id, d.name, d.project_id, d.snapshot_id, d.created"


def project(row: dict[str, Any]) -> ProjectResponse:
    return ProjectResponse(id=row["id"], name=row["name"], created=aware(row["created"]))


def pipeline(row: dict[str, Any]) -> PipelineResponse:
    return PipelineResponse(
        id=row["id"], name=row["name"], project_id=row["project_id"], created=aware(row["created"])
    )


def snapshot(row: dict[str, Any]) -> SnapshotResponse:
    return SnapshotResponse(
        id=row["id"],
        project_id=row["project_id"],
        pipeline_id=row["pipeline_id"],
        pipeline_name=row["pipeline_name"],
        config=loads(row["config"]),
        created=aware(row["created"]),
    )


def model(row: dict[str, Any]) -> ModelResponse:
    return ModelResponse(
        id=row["id"],
        name=row["name"],
        project_id=row["project_id"],
        description=row["description"],
        created=aware(row["created"]),
    )


def deployment(row: dict[str, Any]) -> DeploymentResponse:
    return DeploymentResponse(
        id=row["id"],
        name=row["name"],
        project_id=row["project_id"],
        snapshot_id=row["snapshot_id"],
        created=aware(row["created"]),
    )


# What a lookup of each kind selects and how a row becomes a model; the table and alias come
# from the registry.
SELECTS: dict[str, tuple[str, str, Any]] = {
    "project": ("", PROJECT_COLS, project),
    "pipeline": ("", PIPELINE_COLS, pipeline),
    "pipeline_snapshot": (" JOIN pipelines pl ON pl.id = s.pipeline_id", SNAPSHOT_COLS, snapshot),
    "model": ("", MODEL_COLS, model),
    "deployment": ("", DEPLOYMENT_COLS, deployment),
}


def _from(kind: str) -> str:
    k = registry.kind(kind)
    return f"{k.table} {k.alias}{SELECTS[kind][0]}"


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
    alias, (_, cols, mapper) = registry.kind(kind).alias, SELECTS[kind]
    where, params = access.sql(kind, alias, mode)
    if key is not None:
        cond, params["key"] = f"{alias}.id = $key", key
    else:
        cond, params["name"] = f"{alias}.name = $name", name
        if project_id is not None and kind != "project":
            cond += f" AND {alias}.project_id = $project_id"
            params["project_id"] = project_id
    row = cur.dict_row(f"SELECT {cols} FROM {_from(kind)} WHERE {cond} AND {where}", params)
    return None if row is None else mapper(row)


def exists(cur: Cursor, kind: str, key: UUID) -> bool:
    """Whether a resource exists at all, whoever may read it."""
    alias = registry.kind(kind).alias
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
    alias, (_, cols, mapper) = registry.kind(kind).alias, SELECTS[kind]
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
    rows = cur.dicts(
        f"SELECT {cols} FROM {_from(kind)} WHERE {sql_where} "
        f"ORDER BY {alias}.created DESC, {alias}.id LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    )
    return [mapper(r) for r in rows], int(total)


def require_write(
    cur: Cursor, access: AccessPolicy, kind: str, key: UUID
) -> tuple[str, UUID, str, bool] | None:
    """For a resource the user may read: (its name, its project id, its project's name,
    whether the user may write it), in one query with both filters; None when it is missing or
    unreadable."""
    k = registry.kind(kind)
    a = k.alias
    read_where, params = access.sql(kind, a)
    write_where, write_params = access.sql(kind, a, "write")
    project = f"{a}.id" if kind == "project" else f"{a}.project_id"
    name = f"{a}.{k.name_column}" if k.name_column else f"CAST({a}.id AS VARCHAR)"
    row = cur.dict_row(
        f"SELECT {name} AS name, {project} AS project_id, ({write_where}) AS writable, "
        f"(SELECT _p.name FROM projects _p WHERE _p.id = {project}) AS project_name "
        f"FROM {k.table} {a} WHERE {a}.id = $key AND {read_where}",
        {**params, **write_params, "key": key},
    )
    if row is None:
        return None
    return row["name"], row["project_id"], row["project_name"], bool(row["writable"])


def writable(cur: Cursor, access: AccessPolicy, kind: str, key: UUID) -> bool:
    """Whether the user may change a resource (and its tiles)."""
    k = registry.kind(kind)
    where, params = access.sql(kind, k.alias, "write")
    return bool(
        cur.value(
            f"SELECT count(*) FROM {k.table} {k.alias} WHERE {k.alias}.id = $key AND {where}",
            {**params, "key": key},
        )
    )


def insert_project(cur: Cursor, key: UUID, name: str, now: Any) -> bool:
    """Create a project; False when the name is taken (by this or a concurrent writer)."""
    if cur.value("SELECT count(*) FROM projects WHERE name = $n", {"n": name}):
        return False
    cur.execute(
        "INSERT INTO projects (id, name, created) VALUES ($id, $n, $t)",
        {"id": key, "n": name, "t": now},
    )
    return True


def insert_named(
    cur: Cursor, kind: str, key: UUID, project_id: UUID, name: str, extra: dict, now: Any
) -> bool:
    """Insert a model or deployment (name unique per project); False when the name is taken."""
    table = registry.kind(kind).table
    if cur.value(
        f"SELECT count(*) FROM {table} WHERE project_id = $p AND name = $n",
        {"p": project_id, "n": name},
    ):
        return False
    columns = ", ".join(["id", "project_id", "name", *extra, "created"])
    values = ", ".join(f"${c}" for c in ["id", "p", "n", *extra, "t"])
    cur.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({values})",
        {"id": key, "p": project_id, "n": name, **extra, "t": now},
    )
    return True
