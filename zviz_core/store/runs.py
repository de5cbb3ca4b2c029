"""SQL for pipeline runs, step runs and step inputs, and their row-to-model mappers."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from zviz_core.access import AccessPolicy
from zviz_core.enums import ExecutionStatus
from zviz_core.models import (
    ArtifactVersionResponse,
    PipelineResponse,
    PipelineRunResponse,
    StepRunResponse,
)
from zviz_core.store import artifacts
from zviz_core.store.db import Cursor
from zviz_core.store.util import aware, loads, newest_page

RUN_COLS = (
    "r.id, r.name, r.status, r.project_id, pl.id, pl.name, pl.project_id, pl.created, "
    "r.snapshot_id, r.start_time, r.end_time, r.error, r.created, r.host, r.pid"
)
RUN_FROM = "pipeline_runs r JOIN pipelines pl ON pl.id = r.pipeline_id"
HOST = socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_status(status: str, host: str | None, pid: int | None) -> ExecutionStatus:
    """A run still marked running whose process on this host is gone was interrupted."""
    value = ExecutionStatus(status)
    if value is ExecutionStatus.RUNNING and host == HOST and pid and not _pid_alive(pid):
        return ExecutionStatus.INTERRUPTED
    return value


def run(row: tuple) -> PipelineRunResponse:
    return PipelineRunResponse(
        id=row[0],
        name=row[1],
        status=effective_status(row[2], row[13], row[14]),
        project_id=row[3],
        pipeline=PipelineResponse(id=row[4], name=row[5], project_id=row[6], created=aware(row[7])),
        snapshot_id=row[8],
        start_time=aware(row[9]),
        end_time=aware(row[10]),
        error=row[11],
        created=aware(row[12]),
    )


def get(
    cur: Cursor, access: AccessPolicy, key: UUID | None, name: str | None, mode: str = "read"
) -> PipelineRunResponse | None:
    where, params = access.sql("pipeline_run", "r", mode)
    if key is not None:
        cond, params["key"] = "r.id = $key", key
    else:
        cond, params["name"] = "r.name = $name", name
    row = cur.row(f"SELECT {RUN_COLS} FROM {RUN_FROM} WHERE {cond} AND {where}", params)
    return None if row is None else run(row)


def list_page(
    cur: Cursor,
    access: AccessPolicy,
    *,
    project_id: UUID | None,
    pipeline_id: UUID | None,
    snapshot_id: UUID | None,
    status: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    name_contains: str | None,
    limit: int,
    offset: int,
) -> tuple[list[PipelineRunResponse], int]:
    """A page of readable runs, newest first, and how many match in all."""
    where, params = access.sql("pipeline_run", "r")
    conds = [where]
    for col, value in (
        ("r.project_id", project_id),
        ("r.pipeline_id", pipeline_id),
        ("r.snapshot_id", snapshot_id),
        ("r.status", status),
    ):
        if value is not None:
            pname = col.split(".")[1]
            conds.append(f"{col} = ${pname}")
            params[pname] = value
    if created_after is not None:
        conds.append("r.created >= $after")
        params["after"] = created_after
    if created_before is not None:
        conds.append("r.created < $before")
        params["before"] = created_before
    if name_contains:
        conds.append("strpos(lower(r.name), lower($needle)) > 0")
        params["needle"] = name_contains
    sql_where = " AND ".join(conds)
    rows, total = newest_page(
        cur, RUN_COLS, RUN_FROM, sql_where, params, "r", limit, offset, "pipeline_runs r"
    )
    return [run(r) for r in rows], total


def steps(cur: Cursor, run_id: UUID) -> dict[str, StepRunResponse]:
    """The steps of a run (already checked readable) with their inputs and outputs."""
    step_rows = cur.rows(
        "SELECT id, name, run_id, position, status, start_time, end_time, error, config "
        "FROM step_runs WHERE run_id = $run ORDER BY position, start_time",
        {"run": run_id},
    )
    outputs = artifacts.versions_where(cur, "av.run_id = $run", {"run": run_id})
    by_step: dict[UUID, dict[str, list[ArtifactVersionResponse]]] = {}
    by_id: dict[UUID, ArtifactVersionResponse] = {}
    for av in outputs:
        by_id[av.id] = av
        by_step.setdefault(av.step_run_id, {}).setdefault(av.output_name or "output", []).append(av)
    input_rows = (
        cur.rows(
            "SELECT step_run_id, name, artifact_version_id FROM step_inputs "
            "WHERE step_run_id = ANY($steps)",
            {"steps": [row[0] for row in step_rows]},
        )
        if step_rows
        else []
    )
    missing = [r[2] for r in input_rows if r[2] not in by_id]
    if missing:
        for av in artifacts.versions_where(cur, "av.id IN (SELECT unnest($ids))", {"ids": missing}):
            by_id[av.id] = av
    inputs: dict[UUID, dict[str, ArtifactVersionResponse]] = {}
    for step_id, name, av_id in input_rows:
        if av_id in by_id:
            inputs.setdefault(step_id, {})[name] = by_id[av_id]
    result: dict[str, StepRunResponse] = {}
    for row in step_rows:
        config = loads(row[8])
        outs = by_step.get(row[0], {})
        declared = [n for n in config.get("outputs", []) if n in outs]
        outs = {n: outs[n] for n in [*declared, *sorted(set(outs) - set(declared))]}
        result[row[1]] = StepRunResponse(
            id=row[0],
            name=row[1],
            run_id=row[2],
            position=row[3],
            status=ExecutionStatus(row[4]),
            start_time=aware(row[5]),
            end_time=aware(row[6]),
            error=row[7],
            config=config,
            outputs=outs,
            inputs=inputs.get(row[0], {}),
        )
    return result


def changes_beyond(
    cur: Cursor,
    access: AccessPolicy,
    *,
    run_cond: str = "FALSE",
    params: dict[str, Any] | None = None,
    snapshot_ids: list[UUID] | None = None,
    version_ids: list[UUID] | None = None,
) -> int:
    """How many resources outside a deletion it would change that `access` may not write.

    The deletion is of the runs matching `run_cond` (over alias r), the snapshots
    `snapshot_ids` and the artifact versions `version_ids` (with those of the runs). It also
    removes tiles showing those artifacts wherever they are pinned, input edges of other runs'
    steps that read them, and the snapshot of deployments of those snapshots: each such tile,
    run and deployment counts when the user may not write it.
    """
    if access.write_grants.everything:
        return 0
    base = dict(params or {})
    runs = [r[0] for r in cur.rows(f"SELECT r.id FROM pipeline_runs r WHERE {run_cond}", base)]
    versions = list(version_ids or [])
    if runs:
        versions += [
            r[0]
            for r in cur.rows(
                "SELECT id FROM artifact_versions WHERE run_id = ANY($runs)",
                {"runs": runs},
            )
        ]
    count = 0
    if versions:
        where, acc = access.sql("curated", "c", "write")
        count += cur.value(
            "SELECT count(*) FROM curated_visualizations c "
            f"WHERE c.artifact_version_id = ANY($avs) AND NOT ({where})",
            {**acc, "avs": versions},
        )
        where, acc = access.sql("pipeline_run", "r", "write")
        count += cur.value(
            "SELECT count(DISTINCT r.id) FROM step_inputs si "
            "JOIN step_runs s ON s.id = si.step_run_id JOIN pipeline_runs r ON r.id = s.run_id "
            "WHERE si.artifact_version_id = ANY($avs) "
            f"AND NOT (r.id = ANY($runs)) AND NOT ({where})",
            {**acc, "avs": versions, "runs": runs},
        )
    if snapshot_ids:
        where, acc = access.sql("deployment", "d", "write")
        count += cur.value(
            "SELECT count(*) FROM deployments d "
            f"WHERE d.snapshot_id = ANY($snaps) AND NOT ({where})",
            {**acc, "snaps": snapshot_ids},
        )
    return int(count)


def delete_runs_where(cur: Cursor, cond: str, params: dict[str, Any]) -> list[tuple[str, UUID]]:
    """Delete runs matching `cond` (over alias r) with everything below them; returns the
    (folder, id) of their artifact versions."""
    run_ids = [r[0] for r in cur.rows(f"SELECT r.id FROM pipeline_runs r WHERE {cond}", params)]
    if not run_ids:
        return []
    ids = {"ids": run_ids}
    av_ids = [
        r[0]
        for r in cur.rows(
            "SELECT id FROM artifact_versions WHERE run_id IN (SELECT unnest($ids))", ids
        )
    ]
    uris = artifacts.delete_versions(cur, av_ids)
    cur.execute(
        "DELETE FROM step_inputs WHERE step_run_id IN "
        "(SELECT id FROM step_runs WHERE run_id IN (SELECT unnest($ids)))",
        ids,
    )
    cur.execute("DELETE FROM step_runs WHERE run_id IN (SELECT unnest($ids))", ids)
    cur.execute(
        "DELETE FROM curated_visualizations WHERE resource_type = 'pipeline_run' "
        "AND resource_id IN (SELECT unnest($ids))",
        ids,
    )
    cur.execute("DELETE FROM pipeline_runs WHERE id IN (SELECT unnest($ids))", ids)
    return uris


def ensure_pipeline(cur: Cursor, project_id: UUID, name: str, now: datetime) -> UUID:
    """The id of a pipeline by name in a project, created if it does not exist yet (by this
    writer or a concurrent one)."""
    found = cur.value(
        "SELECT id FROM pipelines WHERE project_id = $p AND name = $n", {"p": project_id, "n": name}
    )
    if found is not None:
        return found
    cur.execute(
        "INSERT INTO pipelines VALUES ($id, $p, $n, $t) ON CONFLICT (project_id, name) DO NOTHING",
        {"id": uuid.uuid4(), "p": project_id, "n": name, "t": now},
    )
    return cur.value(
        "SELECT id FROM pipelines WHERE project_id = $p AND name = $n", {"p": project_id, "n": name}
    )


def ensure_snapshot(
    cur: Cursor,
    project_id: UUID,
    pipeline_id: UUID,
    config_json: str,
    config_hash: str,
    now: datetime,
) -> UUID:
    """The snapshot of a pipeline with exactly this configuration, created on first use."""
    cur.serialize(f"snapshot:{pipeline_id}:{config_hash}")
    found = cur.value(
        "SELECT id FROM snapshots WHERE pipeline_id = $pl AND config_hash = $h ORDER BY created LIMIT 1",
        {"pl": pipeline_id, "h": config_hash},
    )
    if found is not None:
        return found
    new = uuid.uuid4()
    cur.execute(
        "INSERT INTO snapshots VALUES ($id, $p, $pl, $h, $c, $t)",
        {
            "id": new,
            "p": project_id,
            "pl": pipeline_id,
            "h": config_hash,
            "c": config_json,
            "t": now,
        },
    )
    return new


def insert_run(
    cur: Cursor,
    *,
    run_id: UUID,
    project_id: UUID,
    pipeline_id: UUID,
    snapshot_id: UUID,
    name: str,
    now: datetime,
) -> None:
    cur.execute(
        "INSERT INTO pipeline_runs (id, project_id, pipeline_id, snapshot_id, name, status, start_time, "
        "end_time, error, created, host, pid) VALUES ($id, $p, $pl, $s, $n, 'running', $t, NULL, NULL, $t, $h, $pid)",
        {
            "id": run_id,
            "p": project_id,
            "pl": pipeline_id,
            "s": snapshot_id,
            "n": name,
            "t": now,
            "h": HOST,
            "pid": os.getpid(),
        },
    )


def finish_run(
    cur: Cursor, run_id: UUID, status: ExecutionStatus, error: str | None, now: datetime
) -> None:
    cur.execute(
        "UPDATE pipeline_runs SET status = $s, end_time = $t, error = $e WHERE id = $id",
        {"s": status.value, "t": now, "e": error, "id": run_id},
    )


def insert_step(
    cur: Cursor,
    *,
    step_id: UUID,
    run_id: UUID,
    name: str,
    position: int,
    status: ExecutionStatus,
    start: datetime,
    end: datetime | None,
    error: str | None,
    config_json: str,
    inputs: dict[str, UUID],
) -> None:
    cur.execute(
        "INSERT INTO step_runs VALUES ($id, $run, $n, $pos, $s, $start, $end, $e, $c)",
        {
            "id": step_id,
            "run": run_id,
            "n": name,
            "pos": position,
            "s": status.value,
            "start": start,
            "end": end,
            "e": error,
            "c": config_json,
        },
    )
    cur.insert_rows("step_inputs", [(step_id, k, v) for k, v in inputs.items()])
