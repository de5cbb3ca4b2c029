"""Deletes, derived from the registry: what goes with a resource, what it would change that the
user may not write, and the statements that remove it, in an order written out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from zviz_core.access import AccessPolicy
from zviz_core.store import registry
from zviz_core.store import runs as run_sql
from zviz_core.store.engine import Cursor


@dataclass
class Plan:
    """Everything one delete removes, by kind, and the rows it only detaches."""

    doomed: dict[str, list[UUID]] = field(default_factory=dict)
    detached: list[tuple[registry.Child, list[UUID]]] = field(default_factory=list)

    def ids(self, kind: str) -> list[UUID]:
        return self.doomed.get(kind, [])


def plan(cur: Cursor, kind: str, ids: Iterable[UUID]) -> Plan:
    """Walk the registry's children from `ids` of `kind`."""
    result = Plan()
    pending: list[tuple[str, list[UUID]]] = [(kind, list(ids))]
    while pending:
        name, keys = pending.pop()
        fresh = [k for k in keys if k not in set(result.doomed.get(name, []))]
        if not fresh:
            continue
        # Locked before their children are listed: a writer adding a child (a step to a running
        # run) either committed before, and is listed, or waits and then finds its parent gone.
        fresh = cur.lock_rows(registry.kind(name).table, fresh)
        result.doomed.setdefault(name, []).extend(fresh)
        for child in registry.kind(name).children:
            if child.kind is None:
                continue
            if child.how == "detach":
                result.detached.append((child, fresh))
                continue
            found = cur.rows(
                f"SELECT id FROM {child.table} WHERE {child.column} = ANY($ids)", {"ids": fresh}
            )
            if found:
                pending.append((child.kind, [r[0] for r in found]))
    return result


def changes_beyond(cur: Cursor, access: AccessPolicy, doomed: Plan) -> int:
    """How many resources outside the plan it would change that `access` may not write: tiles
    showing its artifacts elsewhere, rows it detaches, and other runs whose steps read its
    artifacts."""
    if access.write_grants.everything:
        return 0
    count = 0
    versions = doomed.ids("artifact_version")
    if versions:
        where, params = access.sql("curated", "c", "write")
        count += cur.value(
            "SELECT count(*) FROM curated_visualizations c "
            f"WHERE c.artifact_version_id = ANY($avs) AND NOT ({where})",
            {**params, "avs": versions},
        )
        where, params = access.sql("pipeline_run", "r", "write")
        count += cur.value(
            "SELECT count(DISTINCT r.id) FROM step_inputs si "
            "JOIN step_runs s ON s.id = si.step_run_id JOIN pipeline_runs r ON r.id = s.run_id "
            "WHERE si.artifact_version_id = ANY($avs) "
            f"AND NOT (r.id = ANY($runs)) AND NOT ({where})",
            {**params, "avs": versions, "runs": doomed.ids("pipeline_run")},
        )
    for child, parents in doomed.detached:
        assert child.kind is not None
        k = registry.kind(child.kind)
        where, params = access.sql(child.kind, k.alias, "write")
        count += cur.value(
            f"SELECT count(*) FROM {k.table} {k.alias} "
            f"WHERE {k.alias}.{child.column} = ANY($parents) AND NOT ({where})",
            {**params, "parents": parents},
        )
    return int(count)


def _order() -> list[str]:
    """Kinds children first, so that no row is deleted before what points at it."""
    done: list[str] = []

    def visit(name: str) -> None:
        for child in registry.kind(name).children:
            if child.kind and child.how == "delete" and child.kind not in done:
                visit(child.kind)
        if name not in done:
            done.append(name)

    for name in registry.KINDS:
        visit(name)
    return done


DELETE_ORDER = _order()


def execute(cur: Cursor, doomed: Plan) -> list[tuple[str, UUID]]:
    """Delete what the plan holds; returns (folder, id) of each deleted artifact version, whose
    files are removed once the transaction committed."""
    versions = doomed.ids("artifact_version")
    rows = (
        cur.rows(
            "SELECT uri, id, artifact_id FROM artifact_versions WHERE id = ANY($ids)",
            {"ids": versions},
        )
        if versions
        else []
    )
    folders = [(r[0], r[1]) for r in rows]
    per_artifact: dict[UUID, int] = {}
    for _, _, artifact_id in rows:
        per_artifact[artifact_id] = per_artifact.get(artifact_id, 0) + 1
    for artifact_id, gone in per_artifact.items():
        cur.execute(
            "UPDATE artifacts SET versions = versions - $n WHERE id = $a",
            {"n": gone, "a": artifact_id},
        )
    runs = doomed.ids("pipeline_run")
    if runs:
        projects = cur.rows(
            "SELECT project_id FROM pipeline_runs WHERE id = ANY($ids)", {"ids": runs}
        )
        run_sql.count_runs(cur, [r[0] for r in projects], -1)
    for name in registry.TILE_TARGETS:
        if doomed.ids(name):
            cur.execute(
                "DELETE FROM curated_visualizations WHERE resource_type = $rtype "
                "AND resource_id = ANY($ids)",
                {"rtype": name, "ids": doomed.ids(name)},
            )
    for child, parents in doomed.detached:
        cur.execute(
            f"UPDATE {child.table} SET {child.column} = NULL WHERE {child.column} = ANY($ids)",
            {"ids": parents},
        )
    for name in DELETE_ORDER:
        keys = doomed.ids(name)
        if not keys:
            continue
        k = registry.kind(name)
        for child in k.children:
            if child.kind is None:
                cur.execute(
                    f"DELETE FROM {child.table} WHERE {child.column} = ANY($ids)", {"ids": keys}
                )
        cur.execute(f"DELETE FROM {k.table} WHERE id = ANY($ids)", {"ids": keys})
    return folders
