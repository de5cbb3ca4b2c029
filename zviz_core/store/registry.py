"""The resource registry: each kind of thing zviz stores is defined here once, and the access
filters, the cascades of a delete, the lookups by name or id and the tile targets derive from it.

The hierarchy is project → pipeline → snapshot → run → step → artifact version; models and
deployments hang off their project. A kind says which table holds it, how the access rules
reach it (the columns that point at the kinds whose grants cover it), and what goes with it when
it is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Child:
    """Rows that depend on a kind: `table.column` points at it. `how` says what a delete of the
    parent does to them: "delete" (they go, with their own children when `kind` is a resource
    kind) or "detach" (the column is set to NULL and they stay)."""

    table: str
    column: str
    how: str = "delete"
    kind: str | None = None


@dataclass(frozen=True)
class Kind:
    """One kind of stored resource."""

    name: str
    table: str
    alias: str
    label: str
    name_column: str | None
    reach: tuple[tuple[str, str], ...]
    grantable: bool
    tile_target: bool
    children: tuple[Child, ...] = ()

    @property
    def parent(self) -> str | None:
        """The kind directly above this one (the last of `reach`)."""
        return self.reach[-1][0] if self.reach else None

    def column_to(self, kind: str) -> str | None:
        """The column of this table that points at a row of `kind`, if it has one."""
        return next((col for k, col in self.reach if k == kind), None)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "project",
            "projects",
            "p",
            "project",
            "name",
            reach=(),
            grantable=True,
            tile_target=True,
            # Projects are never deleted; their children are listed for completeness of copy
            # and checks, not for a cascade.
            children=(
                Child("pipelines", "project_id", kind="pipeline"),
                Child("models", "project_id", kind="model"),
                Child("deployments", "project_id", kind="deployment"),
            ),
        ),
        Kind(
            "pipeline",
            "pipelines",
            "pl",
            "pipeline",
            "name",
            reach=(("project", "project_id"),),
            grantable=True,
            tile_target=True,
            children=(
                Child("pipeline_runs", "pipeline_id", kind="pipeline_run"),
                Child("snapshots", "pipeline_id", kind="pipeline_snapshot"),
            ),
        ),
        Kind(
            "pipeline_snapshot",
            "snapshots",
            "s",
            "snapshot",
            None,
            reach=(("project", "project_id"), ("pipeline", "pipeline_id")),
            grantable=True,
            tile_target=True,
            children=(
                Child("pipeline_runs", "snapshot_id", kind="pipeline_run"),
                Child("deployments", "snapshot_id", how="detach", kind="deployment"),
            ),
        ),
        Kind(
            "pipeline_run",
            "pipeline_runs",
            "r",
            "pipeline run",
            "name",
            reach=(
                ("project", "project_id"),
                ("pipeline", "pipeline_id"),
                ("pipeline_snapshot", "snapshot_id"),
            ),
            grantable=True,
            tile_target=True,
            children=(
                Child("artifact_versions", "run_id", kind="artifact_version"),
                Child("step_runs", "run_id", kind="step_run"),
                Child("run_metadata", "run_id"),
            ),
        ),
        Kind(
            "step_run",
            "step_runs",
            "sr",
            "step",
            "name",
            reach=(("pipeline_run", "run_id"),),
            grantable=False,
            tile_target=False,
            children=(Child("step_inputs", "step_run_id"),),
        ),
        Kind(
            "artifact_version",
            "artifact_versions",
            "av",
            "artifact version",
            None,
            reach=(("project", "project_id"), ("pipeline_run", "run_id")),
            grantable=False,
            tile_target=False,
            children=(
                Child("artifact_visualizations", "artifact_version_id"),
                Child("curated_visualizations", "artifact_version_id"),
                Child("step_inputs", "artifact_version_id"),
            ),
        ),
        Kind(
            "model",
            "models",
            "m",
            "model",
            "name",
            reach=(("project", "project_id"),),
            grantable=True,
            tile_target=True,
        ),
        Kind(
            "deployment",
            "deployments",
            "d",
            "deployment",
            "name",
            reach=(("project", "project_id"),),
            grantable=True,
            tile_target=True,
        ),
    )
}

# Tables that belong to no kind of their own: named artifacts (the versions' family), tiles,
# step input edges, visualizations, run metrics and metadata, and the store's own bookkeeping.
OTHER_TABLES = (
    "artifacts",
    "run_metadata",
    "artifact_visualizations",
    "curated_visualizations",
    "step_inputs",
    "schema_version",
    "store_changes",
    "run_counts",
    "login_failures",
    "login_cookies",
)

GRANT_TYPES: tuple[str, ...] = tuple(k.name for k in KINDS.values() if k.grantable)
TILE_TARGETS: tuple[str, ...] = tuple(k.name for k in KINDS.values() if k.tile_target)


def kind(name: str) -> Kind:
    """The registered kind called `name`; raises ValueError for any other."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"no kind of resource called {name!r}") from None


def ancestors(name: str) -> list[str]:
    """Every kind above `name`, nearest first."""
    out: list[str] = []
    for above, _ in reversed(KINDS[name].reach):
        if above not in out:
            out.append(above)
        out += [a for a in ancestors(above) if a not in out]
    return out
