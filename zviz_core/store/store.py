"""The Store: one engine (DuckDB or PostgreSQL), one artifact store, and every operation zviz
performs on them, each one unit of work. The Client validates and binds; the Store does.

Reads take the caller's AccessPolicy and filter in SQL; writes check write access in the same
transaction as the change. Results of reads are cached per policy until any process writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from zviz_core import compare
from zviz_core.access import AccessPolicy
from zviz_core.artifacts.store import ArtifactStore, artifact_root
from zviz_core.enums import ExecutionStatus, TileFollow
from zviz_core.errors import (
    ConflictError,
    EntityExistsError,
    EntityNotFoundError,
    InvalidInputError,
)
from zviz_core.metrics import number
from zviz_core.models import (
    ArtifactVersionResponse,
    ArtifactVisualizationResponse,
    CuratedVisualizationResponse,
    MetricPoint,
    PipelineResponse,
    PipelineRunResponse,
    ProjectResponse,
    RunComparison,
    RunMetadataEntry,
    StepRunResponse,
)
from zviz_core.store import artifacts as artifact_sql
from zviz_core.store import cascade, default_home, open_engine, registry
from zviz_core.store import metrics as metric_sql
from zviz_core.store import resources as resource_sql
from zviz_core.store import runs as run_sql
from zviz_core.store import tiles as tile_sql
from zviz_core.store.engine import Cursor, Engine
from zviz_core.store.util import dumps, new_id, now

log = logging.getLogger("zviz")
T = TypeVar("T")
OWNER = AccessPolicy.owner()


def not_found(label: str, key: Any) -> EntityNotFoundError:
    """The error for something missing or unreadable: the same words either way."""
    return EntityNotFoundError(f"No {label} {key!s} exists (or you may not see it).")


def metric_rows(rows: list[tuple[str, Any]], step: str | None, source: str = "log") -> list:
    """Rows for run_metadata from (name, value) pairs logged on a run or on its step `step`
    (whose name then prefixes each name)."""
    return [
        (f"{step}.{name}" if step else name, step, number(value), value, source)
        for name, value in rows
    ]


class Store:
    """A zviz store: metadata engine plus artifact store.

    `Store.open()` follows the environment (ZVIZ_STORE_URL or ZVIZ_HOME, ZVIZ_ARTIFACT_STORE);
    pass `home`, `url` or `artifact_store` to open another store explicitly.
    """

    def __init__(self, engine: Engine, artifacts: ArtifactStore, home: Path) -> None:
        self.engine = engine
        self.artifacts = artifacts
        self.home = home

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        url: str | None = None,
        artifact_store: str | None = None,
    ) -> Store:
        """The store at `url` (PostgreSQL) or in `home` (DuckDB), else the environment's.

        Raises ConfigError for a bad URL, or for a team store whose artifacts other machines
        could not read.
        """
        folder = Path(home).expanduser() if home is not None else default_home()
        engine = open_engine(home, url)
        root = artifact_root(artifact_store, folder, shared_metadata=engine.kind != "duckdb")
        return cls(engine, ArtifactStore(root), folder)

    @property
    def kind(self) -> str:
        """ "duckdb" or "postgres"."""
        return self.engine.kind

    def describe(self) -> str:
        """One line for logs and the app: engine, location, artifact root."""
        return f"{self.kind} store at {self.engine.location}, artifacts in {self.artifacts.root}"

    # -- units of work --------------------------------------------------------------------------

    def read(self, policy: AccessPolicy, fn: Callable[[Cursor], T], *key: Any) -> T:
        """Run `fn` in a read unit; with a key, cached per policy until any process writes."""
        return self.engine.read(fn, cache_key=(policy.key(), *key) if key else None)

    def read_live(
        self,
        policy: AccessPolicy,
        fn: Callable[[Cursor], T],
        running: Callable[[T], bool],
        *key: Any,
    ) -> T:
        """As `read`, but read again past the cache when the cached result shows something
        `running`: a process that dies writes nothing, so no change tells the cache."""
        found = self.read(policy, fn, *key)
        return self.engine.read(fn) if running(found) else found

    def write(self, fn: Callable[[Cursor], T], checkpoint: bool = True) -> T:
        """Run `fn` in one write transaction and return its result."""
        return self.engine.write(fn, checkpoint)

    def remember(self, policy: AccessPolicy, value: Any, *key: Any) -> None:
        """Cache this process's own write result under its read key (write-through)."""
        self.engine.remember((policy.key(), *key), value)

    def flush(self) -> None:
        """Wait for this process's background writes; raise the first one's error."""
        self.engine.flush_background()

    def change_token(self) -> str:
        """An opaque string that changes whenever any process commits a write to the store (a
        fresh random one when it cannot be read, so a poller then looks again)."""
        return self.engine.change_token()

    # -- projects -------------------------------------------------------------------------------

    def project(self, name: str) -> ProjectResponse | None:
        """A project by name, whoever asks (projects are never renamed or deleted, so a found
        one is memoised for the process, until the database itself is replaced)."""
        self.engine.check_identity()
        found = self.engine.projects.get(name)
        if found is None:
            found = self.engine.read(
                lambda cur: resource_sql.get(cur, OWNER, "project", None, name)
            )
            if found is not None:
                self.engine.projects[name] = found
        return found

    def create_project(self, policy: AccessPolicy, name: str) -> ProjectResponse:
        """Create a project; raises AccessDeniedError or EntityExistsError."""
        policy.check_create("project", name, name, None)

        def write(cur: Cursor) -> ProjectResponse:
            key = new_id()
            if not resource_sql.insert_project(cur, key, name, now()):
                raise EntityExistsError(f"A project named '{name}' already exists.")
            return resource_sql.get(cur, OWNER, "project", key, None)

        return self.write(write)

    # -- any resource ---------------------------------------------------------------------------

    def get(
        self,
        policy: AccessPolicy,
        kind: str,
        key: UUID | None,
        name: str | None,
        project_id: UUID | None = None,
    ) -> Any | None:
        """One readable resource by id, or by name within a project; None if there is none."""
        return self.read(
            policy,
            lambda cur: resource_sql.get(cur, policy, kind, key, name, project_id),
            "get",
            kind,
            key,
            name,
            project_id,
        )

    def list(
        self,
        policy: AccessPolicy,
        kind: str,
        project_id: UUID | None,
        limit: int,
        offset: int,
        name_contains: str | None = None,
        pipeline_id: UUID | None = None,
    ) -> tuple[list[Any], int]:
        """A page of readable resources, newest first, and how many match."""
        extra, params = ("", None)
        if pipeline_id is not None:
            extra, params = "s.pipeline_id = $pid", {"pid": pipeline_id}
        return self.read(
            policy,
            lambda cur: resource_sql.list_page(
                cur, policy, kind, project_id, limit, offset, name_contains, extra, params
            ),
            "list",
            kind,
            project_id,
            limit,
            offset,
            name_contains,
            pipeline_id,
        )

    def can_write(self, policy: AccessPolicy, kind: str, key: UUID) -> bool:
        """Whether the user may change a resource and its tiles."""
        return self.read(
            policy,
            lambda cur: resource_sql.writable(cur, policy, kind, key),
            "can_write",
            kind,
            key,
        )

    @staticmethod
    def require_write(cur: Cursor, policy: AccessPolicy, kind: str, key: UUID) -> UUID:
        """Inside a write: raise not-found unless readable, AccessDeniedError unless writable;
        returns the resource's project id."""
        found = resource_sql.require_write(cur, policy, kind, key)
        if found is None:
            raise not_found(registry.kind(kind).label, key)
        name, project_id, project_name, writable = found
        if not writable:
            raise policy.write_refused(kind, name, project_name, key)
        return project_id

    def create_named(
        self,
        policy: AccessPolicy,
        kind: str,
        project: ProjectResponse,
        name: str,
        extra: dict[str, Any],
    ) -> Any:
        """Create a model or deployment in a project; raises AccessDeniedError,
        EntityExistsError, or EntityNotFoundError for a snapshot the user cannot read."""
        policy.check_create(kind, name, project.name, project.id)

        def write(cur: Cursor) -> Any:
            snapshot = extra.get("snapshot_id")
            if (
                snapshot is not None
                and resource_sql.get(cur, policy, "pipeline_snapshot", snapshot, None) is None
            ):
                raise not_found("snapshot", snapshot)
            key = new_id()
            if not resource_sql.insert_named(cur, kind, key, project.id, name, extra, now()):
                raise EntityExistsError(
                    f"A {kind} named '{name}' already exists in project '{project.name}'."
                )
            return resource_sql.get(cur, OWNER, kind, key, None)

        return self.write(write)

    def delete(self, policy: AccessPolicy, kind: str, key: UUID) -> None:
        """Delete a resource with everything that goes with it (the registry's cascade) and,
        after the commit, its artifact folders.

        Raises EntityNotFoundError, or AccessDeniedError when the user may not write it or when
        the delete would change anything else they may not write.
        """

        def write(cur: Cursor) -> list[tuple[str, UUID]]:
            if kind == "artifact_version":
                found = artifact_sql.get(cur, policy, key)
                if found is None:
                    raise not_found("artifact version", key)
                if found.run_id is not None:
                    self.require_write(cur, policy, "pipeline_run", found.run_id)
                else:
                    policy.check_owner("delete artifacts that no run produced")
            else:
                self.require_write(cur, policy, kind, key)
            doomed = cascade.plan(cur, kind, [key])
            policy.refuse_beyond(
                cascade.changes_beyond(cur, policy, doomed), registry.kind(kind).label
            )
            folders = cascade.execute(cur, doomed)
            # A run's own folder holds its steps' logs.
            runs = [(self.artifacts.run_folder(r), r) for r in doomed.ids("pipeline_run")]
            return folders + runs

        self.remove_folders(self.write(write))

    def remove_folders(self, folders: list[tuple[str, UUID]]) -> None:
        """Remove deleted artifact versions' and runs' folders, each only if it is named by the
        id of what was deleted."""
        for uri, version_id in folders:
            try:
                self.artifacts.remove_version_folder(uri, version_id)
            except Exception as exc:
                log.warning("zviz: could not remove %s from the artifact store: %s", uri, exc)

    # -- runs and artifacts ---------------------------------------------------------------------

    def run(
        self, policy: AccessPolicy, key: UUID | None, name: str | None
    ) -> PipelineRunResponse | None:
        """A readable run by id or name."""

        def read(cur: Cursor) -> PipelineRunResponse | None:
            return run_sql.get(cur, policy, key, name)

        return self.read_live(
            policy,
            read,
            lambda r: r is not None and r.status is ExecutionStatus.RUNNING,
            "run",
            key,
            name,
        )

    def runs(self, policy: AccessPolicy, **filters: Any) -> tuple[list[PipelineRunResponse], int]:
        """A page of readable runs, newest first (see runs.list_page for the filters)."""

        def read(cur: Cursor) -> tuple[list[PipelineRunResponse], int]:
            return run_sql.list_page(cur, policy, **filters)

        return self.read_live(
            policy,
            read,
            lambda page: any(r.status is ExecutionStatus.RUNNING for r in page[0]),
            "runs",
            *sorted(filters.items()),
        )

    def steps(self, policy: AccessPolicy, run_id: UUID) -> dict[str, StepRunResponse]:
        """The steps of a readable run; raises EntityNotFoundError otherwise."""

        def read(cur: Cursor) -> dict[str, StepRunResponse]:
            found = run_sql.get(cur, policy, run_id, None)
            if found is None:
                raise not_found("pipeline run", run_id)
            return run_sql.steps(cur, run_id, found.status)

        return self.read_live(
            policy,
            read,
            lambda steps: any(s.status is ExecutionStatus.RUNNING for s in steps.values()),
            "steps",
            run_id,
        )

    def step_run(self, policy: AccessPolicy, step_id: UUID) -> UUID | None:
        """The id of the run of a step the user may read, or None."""
        return self.read(
            policy, lambda cur: run_sql.step_run_id(cur, policy, step_id), "step", step_id
        )

    def run_outputs(self, policy: AccessPolicy, run_id: UUID) -> dict[str, ArtifactVersionResponse]:
        """What a readable run's pipeline returned, by output name; raises EntityNotFoundError
        for a run the user may not read."""

        def read(cur: Cursor) -> dict[str, ArtifactVersionResponse]:
            if run_sql.get(cur, policy, run_id, None) is None:
                raise not_found("pipeline run", run_id)
            return run_sql.outputs(cur, run_id)

        return self.read(policy, read, "run_outputs", run_id)

    def compare(
        self, policy: AccessPolicy, keys: list[UUID], directions: dict[str, str] | None
    ) -> RunComparison:
        """The readable runs among `keys` aligned for a comparison (see compare.align); the
        others only counted."""

        def read(cur: Cursor) -> RunComparison:
            found = [run_sql.get(cur, policy, key, None) for key in keys]
            readable = [r for r in found if r is not None]
            steps = [run_sql.steps(cur, r.id) for r in readable]
            numbers = metric_sql.numbers(cur, policy, [r.id for r in readable], None)
            return compare.align(readable, steps, numbers, len(keys) - len(readable), directions)

        return self.read(
            policy, read, "compare", tuple(keys), tuple(sorted((directions or {}).items()))
        )

    def run_metadata(self, policy: AccessPolicy, run_id: UUID) -> list[RunMetadataEntry]:
        """A readable run's metrics and metadata; raises EntityNotFoundError otherwise."""

        def read(cur: Cursor) -> list[RunMetadataEntry]:
            if run_sql.get(cur, policy, run_id, None) is None:
                raise not_found("pipeline run", run_id)
            return metric_sql.for_run(cur, policy, run_id)

        return self.read(policy, read, "run_metadata", run_id)

    def metric_numbers(
        self, policy: AccessPolicy, run_ids: list[UUID], names: list[str] | None
    ) -> dict[UUID, dict[str, float]]:
        """{run id: {metric: number}} of the readable runs among `run_ids`."""
        return self.read(
            policy,
            lambda cur: metric_sql.numbers(cur, policy, run_ids, names),
            "metric_numbers",
            tuple(run_ids),
            None if names is None else tuple(names),
        )

    def metric_names(self, policy: AccessPolicy, pipeline_id: UUID) -> list[str]:
        """The numeric metric names of a pipeline's readable runs."""
        return self.read(
            policy,
            lambda cur: metric_sql.names(cur, policy, pipeline_id),
            "metric_names",
            pipeline_id,
        )

    def metric_history(
        self, policy: AccessPolicy, pipeline_id: UUID, name: str, limit: int
    ) -> list[MetricPoint]:
        """A metric over a pipeline's readable runs (newest `limit`), oldest first."""
        return self.read(
            policy,
            lambda cur: metric_sql.history(cur, policy, pipeline_id, name, limit),
            "metric_history",
            pipeline_id,
            name,
            limit,
        )

    def log_metadata(
        self,
        policy: AccessPolicy,
        run_id: UUID | None,
        run_name: str | None,
        step_id: UUID | None,
        step_name: str | None,
        rows: list[tuple[str, Any]],
    ) -> None:
        """Store metadata on a run (or one of its steps, by id or name): names prefixed by the
        step's. Raises EntityNotFoundError for a run or step the user cannot read,
        AccessDeniedError unless they may write the run."""

        def write(cur: Cursor) -> None:
            key, step = run_id, step_name
            if step_id is not None:
                found = cur.row("SELECT run_id, name FROM step_runs WHERE id = $s", {"s": step_id})
                if found is None:
                    raise not_found("step run", step_id)
                key, step = found
            run = run_sql.get(cur, policy, key, None if key is not None else run_name)
            if run is None:
                raise not_found("pipeline run", key or run_name)
            self.require_write(cur, policy, "pipeline_run", run.id)
            if step is not None and not cur.value(
                "SELECT count(*) FROM step_runs WHERE run_id = $r AND name = $n",
                {"r": run.id, "n": step},
            ):
                raise not_found(f"step of run '{run.name}' called", step)
            metric_sql.write(cur, run.id, metric_rows(rows, step), now())

        self.write(write)

    def version(self, policy: AccessPolicy, key: UUID) -> ArtifactVersionResponse | None:
        """A readable artifact version with its visualizations."""
        return self.read(policy, lambda cur: artifact_sql.get(cur, policy, key), "av", key)

    def versions(
        self, policy: AccessPolicy, **filters: Any
    ) -> tuple[list[ArtifactVersionResponse], int, bool]:
        """A page of readable artifact versions, newest first, the number matching and whether
        that number is a lower bound (see artifacts.list_page)."""
        return self.read(
            policy,
            lambda cur: artifact_sql.list_page(cur, policy, **filters),
            "avs",
            *sorted(filters.items()),
        )

    def artifact_history(
        self,
        policy: AccessPolicy,
        version_id: UUID,
        pipeline_id: UUID | None,
        limit: int,
        offset: int,
        uses_per_version: int,
    ) -> tuple[list[tuple[ArtifactVersionResponse, list[Any], int]], int] | None:
        """A page of the readable versions of a readable version's artifact, each with the
        steps that read it, and the total; None when the version is not readable."""

        def read(cur: Cursor) -> Any:
            found = artifact_sql.get(cur, policy, version_id)
            if found is None:
                return None
            page, total = artifact_sql.history_page(
                cur, policy, found.artifact_id, pipeline_id, limit, offset
            )
            used = artifact_sql.uses(cur, policy, [av.id for av in page], uses_per_version)
            return [(av, *used.get(av.id, ([], 0))) for av in page], total

        return self.read(
            policy, read, "history", version_id, pipeline_id, limit, offset, uses_per_version
        )

    def artifact_pipelines(
        self, policy: AccessPolicy, version_id: UUID
    ) -> list[PipelineResponse] | None:
        """The pipelines that produced readable versions of a readable version's artifact;
        None when the version is not readable."""

        def read(cur: Cursor) -> Any:
            found = artifact_sql.get(cur, policy, version_id)
            if found is None:
                return None
            return artifact_sql.history_pipelines(cur, policy, found.artifact_id)

        return self.read(policy, read, "history_pipelines", version_id)

    def visualization(
        self, policy: AccessPolicy, key: UUID
    ) -> tuple[ArtifactVisualizationResponse, UUID] | None:
        """A readable visualization and its project id."""
        return self.read(
            policy, lambda cur: artifact_sql.get_visualization(cur, policy, key), "viz", key
        )

    # -- tiles ----------------------------------------------------------------------------------

    def create_tile(
        self,
        policy: AccessPolicy,
        viz_id: UUID,
        resource_type: str,
        resource_id: UUID,
        project_id: UUID | None,
        fields: dict[str, Any],
        follow: TileFollow | None = None,
    ) -> CuratedVisualizationResponse:
        """Pin a visualization on a resource, or follow the latest version of what it shows
        (see Client.create_curated_visualization)."""
        kind = registry.kind(resource_type)
        label = kind.label
        project = f"{kind.alias}.id" if resource_type == "project" else f"{kind.alias}.project_id"
        values = {
            "id": new_id(),
            "v": viz_id,
            "rt": resource_type,
            "rid": resource_id,
            "n": fields.get("display_name"),
            "o": fields.get("display_order"),
            "s": fields["layout_size"],
            "t": now(),
        }

        def write(cur: Cursor) -> CuratedVisualizationResponse:
            cur.serialize(f"tiles:{resource_id}")
            # Every check and the insert in two statements; when a check fails, nothing was
            # written and the checks below run one by one to name the reason.
            if follow is None:
                made = tile_sql.create_checked(
                    cur, policy, values, (kind.table, kind.alias, project), project_id
                )
                if made is not None:
                    return made
            found = artifact_sql.get_visualization(cur, policy, viz_id)
            if found is None:
                raise not_found("artifact visualization", viz_id)
            viz, viz_project = found
            target_project = self.require_write(cur, policy, resource_type, resource_id)
            if project_id is not None and project_id != viz_project:
                raise InvalidInputError(
                    f"The visualization belongs to project {viz_project}, not to project "
                    f"{project_id}."
                )
            if target_project != viz_project:
                raise InvalidInputError(
                    f"The visualization and the {label} are in different projects; a tile can "
                    "only show a visualization of its resource's project."
                )
            source = None
            if follow is not None:
                source = self._follow_source(cur, viz, follow, resource_type, resource_id)
            elif tile_sql.pair_taken(cur, viz.id, resource_type, resource_id):
                raise EntityExistsError(f"This visualization is already a tile on that {label}.")
            order = fields.get("display_order")
            if order is not None and tile_sql.order_taken(cur, resource_type, resource_id, order):
                raise EntityExistsError(
                    f"display_order {order} is already used by another tile on that {label}; "
                    "pick a free number (gaps of 10 leave room)."
                )
            key = new_id()
            tile_sql.insert(
                cur,
                {
                    "id": key,
                    "p": viz_project,
                    "v": viz.id,
                    "av": viz.artifact_version_id,
                    "rt": resource_type,
                    "rid": resource_id,
                    "n": fields.get("display_name"),
                    "o": order,
                    "s": fields["layout_size"],
                    "t": now(),
                    "vtype": viz.type.value,
                    "vuri": viz.uri if source is None else None,
                    "vpos": viz.position,
                    **({} if source is None else {"v": tile_sql.NIL, "av": tile_sql.NIL}),
                },
                follow,
                source,
            )
            return tile_sql.get(cur, policy, key)

        return self._remembered(policy, self.write(write))

    @staticmethod
    def _follow_source(
        cur: Cursor,
        viz: ArtifactVisualizationResponse,
        follow: TileFollow,
        resource_type: str,
        resource_id: UUID,
    ) -> dict[str, Any]:
        label = registry.kind(resource_type).label
        source = tile_sql.follow_source(cur, viz.artifact_version_id)
        if source is None:
            raise not_found("artifact version", viz.artifact_version_id)
        if follow is TileFollow.OUTPUT and None in (
            source["pipeline_id"],
            source["step"],
            source["output_name"],
        ):
            raise InvalidInputError(
                "This visualization's artifact was not made by a step of a pipeline run, so "
                "there is no step output to follow: use follow='artifact' to follow its "
                "artifact's latest version."
            )
        if tile_sql.follow_taken(cur, resource_type, resource_id, follow, source, viz.position):
            raise EntityExistsError(
                f"A tile on that {label} already follows the latest version of this "
                f"{'output' if follow is TileFollow.OUTPUT else 'artifact'}."
            )
        return source

    def _remembered(
        self, policy: AccessPolicy, tile: CuratedVisualizationResponse
    ) -> CuratedVisualizationResponse:
        self.remember(policy, tile, "tile", tile.id, True)
        return tile

    def tile(
        self, policy: AccessPolicy, key: UUID, hydrate: bool = True
    ) -> CuratedVisualizationResponse | None:
        """A tile whose resource the user may read."""
        return self.read(
            policy, lambda cur: tile_sql.get(cur, policy, key, hydrate), "tile", key, hydrate
        )

    def tiles(
        self, policy: AccessPolicy, resource_type: str, resource_id: UUID
    ) -> list[CuratedVisualizationResponse]:
        """A readable resource's tiles in display order."""
        return self.read(
            policy,
            lambda cur: tile_sql.list_for(cur, policy, resource_type, resource_id),
            "tiles",
            resource_type,
            resource_id,
        )

    def _writable_tile(
        self, cur: Cursor, policy: AccessPolicy, key: UUID, ordering: bool = False
    ) -> Any:
        tile = tile_sql.get(cur, policy, key, hydrate=False)
        if tile is None:
            raise not_found("curated visualization", key)
        rtype = tile.resource_type.value
        self.require_write(cur, policy, rtype, tile.resource_id)
        if ordering:  # a free display order is checked, then taken: writers take turns
            cur.serialize(f"tiles:{tile.resource_id}")
        return tile

    def update_tile(
        self,
        policy: AccessPolicy,
        key: UUID,
        changes: dict[str, Any],
        expected_updated: datetime | None = None,
    ) -> CuratedVisualizationResponse:
        """Change only the given fields of a tile; with `expected_updated`, only if nobody
        changed it since (raises ConflictError otherwise)."""

        def write(cur: Cursor) -> CuratedVisualizationResponse:
            # One statement when the user may write the tile, nobody changed it since
            # `expected_updated` and a new display order is free (where writers overlap, after
            # taking the tile's resource's lock); else the checks below, which name the reason.
            if changes:
                if changes.get("display_order") is not None and not cur.writers_take_turns:
                    tile_sql.serialize_resource_of(cur, key)
                updated = tile_sql.update_writable(
                    cur, policy, key, changes, now(), expected_updated
                )
                if updated is not None:
                    return updated
            tile = self._writable_tile(cur, policy, key, ordering="display_order" in changes)
            if expected_updated is not None and tile.updated != expected_updated:
                raise ConflictError(
                    "This tile was changed by someone else since you opened it: reload to see "
                    "their change, then make yours again. Nothing was saved."
                )
            rtype = tile.resource_type.value
            order = changes.get("display_order")
            if order is not None and tile_sql.order_taken(
                cur, rtype, tile.resource_id, order, except_id=key
            ):
                raise EntityExistsError(
                    f"display_order {order} is already used by another tile on that "
                    f"{registry.kind(rtype).label}."
                )
            tile_sql.update(cur, key, changes, now())
            return tile_sql.get(cur, policy, key)

        return self._remembered(policy, self.write(write))

    def delete_tile(self, policy: AccessPolicy, key: UUID) -> None:
        """Delete a tile; raises EntityNotFoundError or AccessDeniedError."""

        def write(cur: Cursor) -> None:
            # One statement when the user may write it; the checks below only name the reason.
            if tile_sql.delete_writable(cur, policy, key):
                return
            self._writable_tile(cur, policy, key)
            tile_sql.delete(cur, key)

        self.write(write)

    def reorder_tiles(
        self, policy: AccessPolicy, resource_type: str, resource_id: UUID, wanted: list[UUID]
    ) -> list[CuratedVisualizationResponse]:
        """Renumber a resource's tiles 10, 20, 30... in the given order, in one transaction."""

        def write(cur: Cursor) -> list[CuratedVisualizationResponse]:
            self.require_write(cur, policy, resource_type, resource_id)
            cur.serialize(f"tiles:{resource_id}")
            current = [t.id for t in tile_sql.list_for(cur, OWNER, resource_type, resource_id)]
            unknown = [t for t in wanted if t not in current]
            if unknown:
                raise not_found("curated visualization on that resource", unknown[0])
            tile_sql.renumber(cur, list(dict.fromkeys([*wanted, *current])), now())
            return tile_sql.list_for(cur, policy, resource_type, resource_id)

        return self.write(write)

    # -- pipelines ------------------------------------------------------------------------------

    def start_run(
        self,
        policy: AccessPolicy,
        *,
        run_id: UUID,
        project_id: UUID,
        pipeline_name: str,
        run_name: str | None,
        config_json: str,
        config_hash: str,
        started: datetime,
    ) -> str:
        """Record a new run (and its pipeline and snapshot on first use) and return its name:
        `run_name`, or with None the short automatic "<pipeline> #<n>" (n counts the pipeline's
        runs). Raises EntityExistsError when `run_name` is taken, AccessDeniedError unless the
        user may write that pipeline."""
        if not policy.write_grants.everything:
            project = self.engine.read(
                lambda cur: resource_sql.get(cur, OWNER, "project", project_id, None)
            )
            name = project.name if project else str(project_id)
            policy.check_create("pipeline", pipeline_name, name, project_id)

        def write(cur: Cursor) -> str:
            if run_name is not None and run_sql.name_taken(cur, run_name):
                raise EntityExistsError(
                    f"A run named '{run_name}' already exists; choose another run_name "
                    "(templates may use {date} and {time})."
                )
            pipeline_id, counter = run_sql.ensure_pipeline(cur, project_id, pipeline_name, started)
            if run_name is None:
                name, number = run_sql.automatic_name(cur, pipeline_id, pipeline_name, counter)
            else:
                name, number = run_name, run_sql.next_run_number(cur, pipeline_id, counter)
            snapshot_id = run_sql.ensure_snapshot(
                cur, project_id, pipeline_id, config_json, config_hash, started
            )
            run_sql.insert_run(
                cur,
                run_id=run_id,
                project_id=project_id,
                pipeline_id=pipeline_id,
                snapshot_id=snapshot_id,
                name=name,
                now=started,
                number=number,
            )
            return name

        return self.write(write, checkpoint=False)

    def record_step(
        self, record: Callable[[Cursor], None], background: bool, on_error: Callable[[], None]
    ) -> None:
        """Commit a step's record (built by run_sql.step_record); in the background, while the
        next step computes, when `background`."""
        if background:
            self.engine.write_in_background(record, on_error=on_error)
        else:
            self.write(record)

    def finish_run(
        self,
        run_id: UUID,
        status: ExecutionStatus,
        error: str | None,
        outputs: dict[str, str] | None = None,
        after_steps: bool = False,
    ) -> PipelineRunResponse:
        """Mark a run finished, with what its pipeline returned ({output name: artifact version
        id}, if anything); returns it. `after_steps` commits it together with the step
        records still queued (one commit), and raises what recording them raised."""
        # Pairs, not an object: dumps sorts keys, and the order returned is the order shown.
        outputs_json = dumps([[name, v] for name, v in outputs.items()]) if outputs else None
        finished: list[PipelineRunResponse] = []

        def write(cur: Cursor) -> PipelineRunResponse:
            run_sql.finish_run(cur, run_id, status, error, now(), outputs_json)
            finished.append(run_sql.get(cur, OWNER, run_id, None))
            return finished[-1]

        if not after_steps:
            return self.write(write)
        self.engine.write_in_background(write)
        self.flush()
        return finished[-1]
