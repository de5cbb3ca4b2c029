"""SQL for run metrics and metadata (table run_metadata), each read filtered by the run's access."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from zviz_core.access import AccessPolicy
from zviz_core.models import MetricPoint, RunMetadataEntry
from zviz_core.store.engine import Cursor
from zviz_core.store.util import aware, dumps

# (name, step name or None, number or None, JSON-ready value, source)
Row = tuple[str, str | None, float | None, Any, str]


def write(cur: Cursor, run_id: UUID, rows: Sequence[Row], now: datetime) -> None:
    """Store rows of one run, replacing rows of the same names (a value logged again wins).

    Runs inside each step's record, so it is two statements whatever the number of rows
    (arrays unnested): a DELETE of the names, then a plain INSERT. DuckDB took 7-11 ms for
    `ON CONFLICT DO UPDATE` against 3 ms for both of these."""
    if not rows:
        return
    latest = {row[0]: row for row in rows}
    cur.execute(
        "DELETE FROM run_metadata WHERE run_id = $r AND name = ANY(CAST($names AS VARCHAR[]))",
        {"r": run_id, "names": list(latest)},
    )
    cur.execute(
        "INSERT INTO run_metadata (run_id, pipeline_id, step_name, name, number, value, source, "
        "created) SELECT r.id, r.pipeline_id, u.step_name, u.name, u.number, "
        "CAST(u.value AS JSON), u.source, $t FROM pipeline_runs r, (SELECT "
        "unnest(CAST($steps AS VARCHAR[])) AS step_name, "
        "unnest(CAST($names AS VARCHAR[])) AS name, "
        "unnest(CAST($numbers AS FLOAT8[])) AS number, "
        "unnest(CAST($values AS VARCHAR[])) AS value, "
        "unnest(CAST($sources AS VARCHAR[])) AS source) u WHERE r.id = $r",
        {
            "r": run_id,
            "t": now,
            "steps": [row[1] for row in latest.values()],
            "names": list(latest),
            "numbers": [row[2] for row in latest.values()],
            "values": [dumps(row[3]) for row in latest.values()],
            "sources": [row[4] for row in latest.values()],
        },
    )


def for_run(cur: Cursor, access: AccessPolicy, run_id: UUID) -> list[RunMetadataEntry]:
    """Every metric and metadata row of a readable run (none for another), by name."""
    where, params = access.sql("pipeline_run", "r")
    rows = cur.dicts(
        "SELECT m.name, m.step_name, m.number, m.value, m.source FROM run_metadata m "
        f"JOIN pipeline_runs r ON r.id = m.run_id WHERE m.run_id = $run AND {where} "
        "ORDER BY m.name",
        {**params, "run": run_id},
    )
    # DuckDB hands over JSON as text, psycopg parsed (a JSON string then is a str already).
    parsed = cur.dialect == "postgres"
    return [_entry(row, parsed) for row in rows]


def _entry(row: dict[str, Any], parsed: bool) -> RunMetadataEntry:
    value = row["value"] if parsed else json.loads(row["value"])
    return RunMetadataEntry(
        name=row["name"],
        step_name=row["step_name"],
        number=row["number"],
        value=value,
        source=row["source"],
    )


def numbers(
    cur: Cursor, access: AccessPolicy, run_ids: Sequence[UUID], names: Sequence[str] | None
) -> dict[UUID, dict[str, float]]:
    """{run id: {metric name: number}} of the readable runs among `run_ids` (all their metrics,
    or only `names`)."""
    if not run_ids or (names is not None and not names):
        return {}
    where, params = access.sql("pipeline_run", "r")
    cond = "m.run_id = ANY($runs) AND m.number IS NOT NULL"
    params["runs"] = list(run_ids)
    if names is not None:
        cond += " AND m.name = ANY($names)"
        params["names"] = list(names)
    result: dict[UUID, dict[str, float]] = {}
    for run, name, value in cur.rows(
        f"SELECT m.run_id, m.name, m.number FROM run_metadata m JOIN pipeline_runs r "
        f"ON r.id = m.run_id WHERE {cond} AND {where}",
        params,
    ):
        result.setdefault(run, {})[name] = float(value)
    return result


def names(cur: Cursor, access: AccessPolicy, pipeline_id: UUID) -> list[str]:
    """The names of the numeric metrics of a pipeline's readable runs, sorted."""
    where, params = access.sql("pipeline_run", "r")
    if where == "TRUE":
        sql = (
            "SELECT DISTINCT m.name FROM run_metadata m WHERE m.pipeline_id = $pl "
            "AND m.number IS NOT NULL ORDER BY m.name"
        )
    else:
        sql = (
            "SELECT DISTINCT m.name FROM run_metadata m JOIN pipeline_runs r ON r.id = m.run_id "
            f"WHERE m.pipeline_id = $pl AND m.number IS NOT NULL AND {where} ORDER BY m.name"
        )
    return [r[0] for r in cur.rows(sql, {**params, "pl": pipeline_id})]


def history(
    cur: Cursor, access: AccessPolicy, pipeline_id: UUID, name: str, limit: int
) -> list[MetricPoint]:
    """A metric's values over a pipeline's readable runs, the newest `limit` runs, oldest first."""
    where, params = access.sql("pipeline_run", "r")
    rows = cur.dicts(
        "SELECT r.id, r.name, r.created, r.status, m.number FROM run_metadata m "
        "JOIN pipeline_runs r ON r.id = m.run_id "
        f"WHERE m.pipeline_id = $pl AND m.name = $n AND m.number IS NOT NULL AND {where} "
        f"ORDER BY r.created DESC, r.id LIMIT {int(limit)}",
        {**params, "pl": pipeline_id, "n": name},
    )
    return [
        MetricPoint(
            run_id=row["id"],
            run_name=row["name"],
            created=aware(row["created"]),
            status=row["status"],
            value=float(row["number"]),
        )
        for row in reversed(rows)
    ]
