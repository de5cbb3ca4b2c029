"""SQL for pipeline runs, step runs and step inputs, and their row-to-model mappers."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from zviz_core.access import AccessPolicy
from zviz_core.enums import ExecutionStatus
from zviz_core.errors import RunGoneError
from zviz_core.models import (
    ArtifactVersionResponse,
    PipelineResponse,
    PipelineRunResponse,
    StepRunResponse,
)
from zviz_core.store import artifacts
from zviz_core.store import metrics as metric_sql
from zviz_core.store.engine import Cursor
from zviz_core.store.util import aware, loads, newest_page, pid_alive

RUN_COLS = (
    "r.id, r.name, r.status, r.project_id, pl.id AS pipeline_id, pl.name AS pipeline_name, "
    "pl.project_id AS pipeline_project_id, pl.created AS pipeline_created, r.snapshot_id, "
    "r.start_time, r.end_time, r.error, r.created, r.host, r.pid, r.run_number"
)
RUN_FROM = "pipeline_runs r JOIN pipelines pl ON pl.id = r.pipeline_id"
HOST = socket.gethostname()


def effective_status(status: str, host: str | None, pid: int | None) -> ExecutionStatus:
    """A run still marked running whose process on this host is gone was interrupted."""
    value = ExecutionStatus(status)
    if value is ExecutionStatus.RUNNING and host == HOST and pid and not pid_alive(pid):
        return ExecutionStatus.INTERRUPTED
    return value


def run(row: dict[str, Any]) -> PipelineRunResponse:
    return PipelineRunResponse(
        id=row["id"],
        name=row["name"],
        status=effective_status(row["status"], row["host"], row["pid"]),
        project_id=row["project_id"],
        pipeline=PipelineResponse(
            id=row["pipeline_id"],
            name=row["pipeline_name"],
            project_id=row["pipeline_project_id"],
            created=aware(row["pipeline_created"]),
        ),
        snapshot_id=row["snapshot_id"],
        start_time=aware(row["start_time"]),
        end_time=aware(row["end_time"]),
        error=row["error"],
        created=aware(row["created"]),
        run_number=row.get("run_number"),
    )


def get(
    cur: Cursor, access: AccessPolicy, key: UUID | None, name: str | None, mode: str = "read"
) -> PipelineRunResponse | None:
    where, params = access.sql("pipeline_run", "r", mode)
    if key is not None:
        cond, params["key"] = "r.id = $key", key
    else:
        cond, params["name"] = "r.name = $name", name
    row = cur.dict_row(f"SELECT {RUN_COLS} FROM {RUN_FROM} WHERE {cond} AND {where}", params)
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
    metric: str | None = None,
    descending: bool = True,
) -> tuple[list[PipelineRunResponse], int]:
    """A page of readable runs, newest first (or by the number of `metric`, runs without it
    last), and how many match in all."""
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
    if metric is not None:
        return _by_metric(cur, sql_where, params, metric, descending, limit, offset)
    known = None
    if cur.dialect == "postgres" and conds == ["TRUE", "r.project_id = $project_id"]:
        # Every run of a project, seen by someone who sees them all: the kept count (DuckDB
        # counts in the same query that finds the page's time window, so it needs none).
        known = int(
            cur.value(
                "SELECT coalesce(max(runs), 0) FROM run_counts WHERE project_id = $p",
                {"p": project_id},
            )
        )
    rows, total = newest_page(
        cur, RUN_COLS, RUN_FROM, sql_where, params, "r", limit, offset, "pipeline_runs r", known
    )
    return [run(r) for r in rows], total


def _by_metric(
    cur: Cursor,
    where: str,
    params: dict[str, Any],
    metric: str,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[PipelineRunResponse], int]:
    """Runs with the metric ordered by it, then those without it, newest first.

    Two queries rather than one LEFT JOIN sorted with NULLS LAST: the runs that have the metric
    come straight from the (pipeline_id, name, number) index in order (PostgreSQL sorted all
    100,000 runs of a pipeline for the LEFT JOIN: 0.55 s), and the others are read only by a
    page that reaches past them."""
    total = int(cur.value(f"SELECT count(*) FROM pipeline_runs r WHERE {where}", params))
    if not total:
        return [], 0
    params = {**params, "zviz_metric": metric}
    has = f"{where} AND m.name = $zviz_metric AND m.number IS NOT NULL"
    if "pipeline_id" in params:
        has += " AND m.pipeline_id = $pipeline_id"
    joined = (
        "run_metadata m JOIN pipeline_runs r ON r.id = m.run_id "
        "JOIN pipelines pl ON pl.id = r.pipeline_id"
    )
    # DESC and ASC with their engines' default NULL order: the order the index is read in.
    way = "DESC" if descending else "ASC"
    rows = cur.dicts(
        f"SELECT {RUN_COLS} FROM {joined} WHERE {has} ORDER BY m.number {way}, r.created DESC, "
        f"r.id LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    )
    if len(rows) < limit:
        with_metric = (
            offset + len(rows)
            if rows
            else int(cur.value(f"SELECT count(*) FROM {joined} WHERE {has}", params))
        )
        rows += cur.dicts(
            f"SELECT {RUN_COLS} FROM {RUN_FROM} WHERE {where} AND NOT EXISTS (SELECT 1 FROM "
            "run_metadata m WHERE m.run_id = r.id AND m.name = $zviz_metric "
            "AND m.number IS NOT NULL) ORDER BY r.created DESC, r.id "
            f"LIMIT {int(limit - len(rows))} OFFSET {max(0, int(offset - with_metric))}",
            params,
        )
    return [run(r) for r in rows], total


def steps(
    cur: Cursor, run_id: UUID, run_status: ExecutionStatus = ExecutionStatus.RUNNING
) -> dict[str, StepRunResponse]:
    """The steps of a run (already checked readable) with their inputs and outputs. A step
    still marked running in a run that no longer runs was cut off: it reads as interrupted."""
    step_rows = cur.dicts(
        "SELECT id, name, run_id, position, status, start_time, end_time, error, config "
        "FROM step_runs WHERE run_id = $run ORDER BY position, start_time, id",
        {"run": run_id},
    )
    outputs = artifacts.versions_where(cur, "av.run_id = $run", {"run": run_id})
    by_step: dict[UUID, dict[str, list[ArtifactVersionResponse]]] = {}
    by_id: dict[UUID, ArtifactVersionResponse] = {}
    for av in outputs:
        by_id[av.id] = av
        by_step.setdefault(av.step_run_id, {}).setdefault(av.output_name or "output", []).append(av)
    input_rows = (
        cur.dicts(
            "SELECT step_run_id, name, artifact_version_id FROM step_inputs "
            "WHERE step_run_id = ANY($steps) ORDER BY step_run_id, name",
            {"steps": [row["id"] for row in step_rows]},
        )
        if step_rows
        else []
    )
    missing = [
        r["artifact_version_id"] for r in input_rows if r["artifact_version_id"] not in by_id
    ]
    if missing:
        for av in artifacts.versions_where(cur, "av.id IN (SELECT unnest($ids))", {"ids": missing}):
            by_id[av.id] = av
    inputs: dict[UUID, dict[str, ArtifactVersionResponse]] = {}
    for edge in input_rows:
        if edge["artifact_version_id"] in by_id:
            inputs.setdefault(edge["step_run_id"], {})[edge["name"]] = by_id[
                edge["artifact_version_id"]
            ]
    result: dict[str, StepRunResponse] = {}
    for row in step_rows:
        config = loads(row["config"])
        outs = by_step.get(row["id"], {})
        declared = [n for n in config.get("outputs", []) if n in outs]
        outs = {n: outs[n] for n in [*declared, *sorted(set(outs) - set(declared))]}
        result[row["name"]] = StepRunResponse(
            id=row["id"],
            name=row["name"],
            run_id=row["run_id"],
            position=row["position"],
            status=_step_status(row["status"], run_status),
            start_time=aware(row["start_time"]),
            end_time=aware(row["end_time"]),
            error=row["error"],
            config=config,
            outputs=outs,
            inputs=inputs.get(row["id"], {}),
        )
    return result


def _step_status(status: str, run_status: ExecutionStatus) -> ExecutionStatus:
    value = ExecutionStatus(status)
    if value is ExecutionStatus.RUNNING and run_status is not ExecutionStatus.RUNNING:
        return ExecutionStatus.INTERRUPTED
    return value


def step_run_id(cur: Cursor, access: AccessPolicy, step_id: UUID) -> UUID | None:
    """The run of a step the user may read, or None (no such step, or not readable)."""
    where, params = access.sql("pipeline_run", "r")
    params["step"] = step_id
    return cur.value(
        f"SELECT r.id FROM step_runs s JOIN {RUN_FROM} ON r.id = s.run_id "
        f"WHERE s.id = $step AND {where}",
        params,
    )


def ensure_pipeline(cur: Cursor, project_id: UUID, name: str, now: datetime) -> tuple[UUID, int]:
    """The id of a pipeline by name in a project, created if it does not exist yet (by this
    writer or a concurrent one), and how many runs it has numbered (its run counter)."""
    query = "SELECT id, coalesce(run_counter, 0) FROM pipelines WHERE project_id = $p AND name = $n"
    found = cur.row(query, {"p": project_id, "n": name})
    if found is not None:
        return found[0], int(found[1])
    cur.execute(
        "INSERT INTO pipelines (id, project_id, name, created) VALUES ($id, $p, $n, $t) "
        "ON CONFLICT (project_id, name) DO NOTHING",
        {"id": uuid.uuid4(), "p": project_id, "n": name, "t": now},
    )
    key, counter = cur.row(query, {"p": project_id, "n": name})
    return key, int(counter)


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


def rebuild_counts(cur: Cursor) -> None:
    """Count every project's runs again (after a bulk load that bypassed insert_run)."""
    cur.execute("DELETE FROM run_counts")
    cur.execute(
        "INSERT INTO run_counts (project_id, runs) "
        "SELECT project_id, count(*) FROM pipeline_runs GROUP BY project_id"
    )


def count_runs(cur: Cursor, project_ids: list[UUID], change: int) -> None:
    """Add `change` to the run count of each project (once per run in the list)."""
    per: dict[UUID, int] = {}
    for key in project_ids:
        per[key] = per.get(key, 0) + change
    for key, delta in per.items():
        # Where writers take turns, an update and (the first time) an insert cost DuckDB less
        # than its upsert.
        if cur.writers_take_turns and cur.changed(
            "UPDATE run_counts SET runs = runs + $d WHERE project_id = $p", {"p": key, "d": delta}
        ):
            continue
        cur.execute(
            "INSERT INTO run_counts (project_id, runs) VALUES ($p, $d) "
            "ON CONFLICT (project_id) DO UPDATE SET runs = run_counts.runs + $d",
            {"p": key, "d": delta},
        )


def next_run_number(cur: Cursor, pipeline_id: UUID, counter: int) -> int:
    """Count one more run of the pipeline and return its number (1 for the first); `counter`
    is its run counter as read in this transaction."""
    if cur.writers_take_turns:  # nobody else changed it since: a plain update, no RETURNING
        cur.execute(
            "UPDATE pipelines SET run_counter = $n WHERE id = $pl",
            {"n": counter + 1, "pl": pipeline_id},
        )
        return counter + 1
    return int(
        cur.value(
            "UPDATE pipelines SET run_counter = coalesce(run_counter, 0) + 1 WHERE id = $pl "
            "RETURNING run_counter",
            {"pl": pipeline_id},
        )
    )


def automatic_name(
    cur: Cursor, pipeline_id: UUID, pipeline_name: str, counter: int
) -> tuple[str, int]:
    """Return ("<pipeline> #<n>", n) for the pipeline's next run, skipping numbers whose name is
    taken (by a namesake pipeline in another project, or by a run copied in from elsewhere);
    `counter` is the pipeline's run counter as read in this transaction."""
    while True:
        counter = next_run_number(cur, pipeline_id, counter)
        name = f"{pipeline_name} #{counter}"
        if not name_taken(cur, name):
            return name, counter


def name_taken(cur: Cursor, name: str) -> bool:
    """Whether a run is already called `name` (run names are unique in a store)."""
    return bool(cur.value("SELECT count(*) FROM pipeline_runs WHERE name = $n", {"n": name}))


def step_record(
    *,
    run_id: UUID,
    step_id: UUID,
    name: str,
    position: int,
    started: datetime,
    finished: datetime,
    config_json: str,
    inputs: dict[str, UUID],
    stored: list[dict[str, Any]],
    error: str | None,
    summary: str | None = None,
    run_name: str | None = None,
    pipeline_name: str | None = None,
    metadata: Sequence[metric_sql.Row] = (),
    started_recorded: bool = True,
) -> Callable[[Cursor], None]:
    """The write that records a finished step: its row, input edges, artifact versions and
    the metrics and metadata it produced; with an error (the step's traceback), the step and
    its run as failed, the run saying `summary` (the error's last line).

    `started_recorded` False says no `step_started` write was queued for this step, so its
    row is inserted whole without first trying to complete it."""

    def write(cur: Cursor) -> None:
        # Where writers take turns, the step's own write checks that its run still exists
        # (a completed row implies it: a run's steps go with it).
        if not cur.writers_take_turns:
            _require_run(cur, run_id, name)
        status = ExecutionStatus.FAILED if error else ExecutionStatus.COMPLETED
        # The row written when the step started (see step_started) is completed; a step whose
        # start was not recorded is inserted whole.
        updated = started_recorded and cur.changed(
            "UPDATE step_runs SET status = $s, end_time = $end, error = $e, config = $c "
            "WHERE id = $id",
            {"s": status.value, "end": finished, "e": error, "c": config_json, "id": step_id},
        )
        if not updated:
            _insert_step_of_run(
                cur,
                step_id=step_id,
                run_id=run_id,
                name=name,
                position=position,
                status=status,
                start=started,
                end=finished,
                error=error,
                config_json=config_json,
                inputs=inputs,
            )
        for item in stored:
            artifacts.insert_version(
                cur,
                run_id=run_id,
                step_run_id=step_id,
                now=finished,
                run_name=run_name,
                step_name=name,
                pipeline_name=pipeline_name,
                **item,
            )
        metric_sql.write(cur, run_id, metadata, finished)
        if error:
            finish_run(
                cur,
                run_id,
                ExecutionStatus.FAILED,
                f"Step '{name}' failed: {summary or error}",
                finished,
            )

    return write


def _require_run(cur: Cursor, run_id: UUID, name: str) -> None:
    if not cur.lock_rows("pipeline_runs", [run_id], share=True):
        raise _run_gone(name)


def _run_gone(name: str) -> RunGoneError:
    return RunGoneError(
        f"The run was deleted while it ran, so step '{name}' was not recorded; run the "
        "pipeline again."
    )


def _insert_step_of_run(cur: Cursor, **fields: Any) -> None:
    """insert_step; where writers take turns, in one statement that also checks the run still
    exists (raises RunGoneError if not). Elsewhere the caller has locked the run's row."""
    if not insert_step(cur, require_run=cur.writers_take_turns, **fields):
        raise _run_gone(fields["name"])


def step_started(
    *,
    run_id: UUID,
    step_id: UUID,
    name: str,
    position: int,
    started: datetime,
    config_json: str,
    inputs: dict[str, UUID],
) -> Callable[[Cursor], None]:
    """The write that shows a step as running, with its inputs, until step_record completes
    it."""

    def write(cur: Cursor) -> None:
        if not cur.writers_take_turns:
            _require_run(cur, run_id, name)
        _insert_step_of_run(
            cur,
            step_id=step_id,
            run_id=run_id,
            name=name,
            position=position,
            status=ExecutionStatus.RUNNING,
            start=started,
            end=None,
            error=None,
            config_json=config_json,
            inputs=inputs,
        )

    return write


def insert_run(
    cur: Cursor,
    *,
    run_id: UUID,
    project_id: UUID,
    pipeline_id: UUID,
    snapshot_id: UUID,
    name: str,
    now: datetime,
    number: int | None = None,
) -> None:
    cur.execute(
        "INSERT INTO pipeline_runs (id, project_id, pipeline_id, snapshot_id, name, status, start_time, "
        "end_time, error, created, host, pid, run_number) "
        "VALUES ($id, $p, $pl, $s, $n, 'running', $t, NULL, NULL, $t, $h, $pid, $num)",
        {
            "num": number,
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
    count_runs(cur, [project_id], 1)


def finish_run(
    cur: Cursor,
    run_id: UUID,
    status: ExecutionStatus,
    error: str | None,
    now: datetime,
    outputs_json: str | None = None,
) -> None:
    """Mark a run finished; `outputs_json` ([[output name, version id], ...]) is what its
    pipeline function returned."""
    cur.execute(
        "UPDATE pipeline_runs SET status = $s, end_time = $t, error = $e, outputs = $o "
        "WHERE id = $id",
        {"s": status.value, "t": now, "e": error, "o": outputs_json, "id": run_id},
    )


def outputs(cur: Cursor, run_id: UUID) -> dict[str, ArtifactVersionResponse]:
    """The artifact versions a run's pipeline function returned, by output name, in the order
    it returned them. Versions deleted since are left out."""
    recorded = loads(
        cur.value("SELECT outputs FROM pipeline_runs WHERE id = $run", {"run": run_id})
    )
    if not recorded:
        return {}
    pairs = [(str(name), UUID(str(version))) for name, version in recorded]
    by_id = {
        av.id: av
        for av in artifacts.versions_where(
            cur, "av.id IN (SELECT unnest($ids))", {"ids": [v for _, v in pairs]}
        )
    }
    return {name: by_id[version] for name, version in pairs if version in by_id}


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
    require_run: bool = False,
) -> bool:
    """Insert a step and its input edges; with `require_run`, only if its run exists.
    Returns whether it was inserted."""
    values = {
        "id": step_id,
        "run": run_id,
        "n": name,
        "pos": position,
        "s": status.value,
        "start": start,
        "end": end,
        "e": error,
        "c": config_json,
    }
    if require_run:
        if not cur.changed(
            "INSERT INTO step_runs SELECT $id, r.id, $n, $pos, $s, $start, $end, $e, $c "
            "FROM pipeline_runs r WHERE r.id = $run",
            values,
        ):
            return False
    else:
        cur.execute(
            "INSERT INTO step_runs VALUES ($id, $run, $n, $pos, $s, $start, $end, $e, $c)", values
        )
    cur.insert_rows("step_inputs", [(step_id, k, v) for k, v in inputs.items()])
    return True
