"""Client: the public facade. Every call checks the user's access in SQL and returns frozen models."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from pydantic import ValidationError

from zviz_core.access import AccessConfig, AccessPolicy
from zviz_core.artifacts.store import ArtifactStore
from zviz_core.compare import MAX_RUNS as MAX_COMPARED
from zviz_core.compare import MIN_RUNS as MIN_COMPARED
from zviz_core.enums import (
    CuratedVisualizationSize,
    ExecutionStatus,
    TileFollow,
    VisualizationResourceTypes,
    VisualizationType,
)
from zviz_core.errors import (
    ArtifactLoadError,
    ArtifactPathError,
    ArtifactTooLargeError,
    ConfigError,
    EntityNotFoundError,
    InvalidInputError,
)
from zviz_core.models import (
    ArtifactHistoryEntry,
    ArtifactVersionResponse,
    ArtifactVisualizationResponse,
    CuratedVisualizationRequest,
    CuratedVisualizationResponse,
    CuratedVisualizationUpdate,
    DeploymentResponse,
    LoadedVisualization,
    MetricPoint,
    ModelResponse,
    NameRequest,
    Page,
    PipelineResponse,
    PipelineRunResponse,
    ProjectResponse,
    RunComparison,
    RunMetadataEntry,
    SnapshotResponse,
    StepRunResponse,
)
from zviz_core.names import check_path_name
from zviz_core.settings import settings
from zviz_core.store import default_home
from zviz_core.store.store import Store, not_found
from zviz_core.store.util import as_uuid, page_bounds, require_uuid

log = logging.getLogger("zviz")
T = TypeVar("T")

if TYPE_CHECKING:
    from zviz_core.logins import LoginGuard

TEXT_TYPES = {
    VisualizationType.CSV,
    VisualizationType.HTML,
    VisualizationType.MARKDOWN,
    VisualizationType.JSON,
    VisualizationType.VEGA_LITE,
}

__all__ = ["Client", "default_home"]


def _invalid(exc: ValidationError) -> InvalidInputError:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "value"
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}")
    return InvalidInputError("Invalid input: " + "; ".join(parts) + ".")


def _not_found(what: str, key: Any) -> EntityNotFoundError:
    return not_found(what, key)


class Client:
    """Access to one zviz store as one user.

    `Client()` is the local owner with full access (scripts, notebooks). `Client(user="bob")`
    acts as bob under the access rules of $ZVIZ_AUTH_CONFIG (or the `access` given): lists show
    only what he may read, gets of anything else raise EntityNotFoundError, and writes he may not
    make raise AccessDeniedError. The store is the environment's (ZVIZ_STORE_URL, else the DuckDB
    file in ZVIZ_HOME) unless `home`, `store_url`, `artifact_store` or a `store` name another.
    """

    def __init__(
        self,
        user: str | None = None,
        *,
        home: str | Path | None = None,
        access: AccessConfig | None = None,
        artifact_store: str | None = None,
        store_url: str | None = None,
        store: Store | None = None,
    ) -> None:
        self._store = store or Store.open(home, store_url, artifact_store)
        self.home = self._store.home
        self.user = user.strip().lower() if user is not None else None
        if self.user is None:
            self._policy = AccessPolicy.owner()
        else:
            if access is None:
                path = settings().AUTH_CONFIG
                if not path:
                    raise ConfigError(
                        "Client(user=...) needs access rules: set ZVIZ_AUTH_CONFIG to the "
                        "authenticator YAML, or pass access=AccessConfig.from_path(...)."
                    )
                access = AccessConfig.from_path(path)
            self._policy = access.policy_for(self.user)

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def policy(self) -> AccessPolicy:
        return self._policy

    @property
    def store(self) -> Store:
        """The store this client reads and writes (pipelines run against it)."""
        return self._store

    @property
    def artifact_store(self) -> ArtifactStore:
        return self._store.artifacts

    @property
    def _db(self) -> Any:
        """The metadata engine (for tests and benchmarks that read its stats)."""
        return self._store.engine

    def activated(self) -> contextlib.AbstractContextManager[Client]:
        """A context in which pipelines called in this thread or task run against this
        client's store, as its user: `with Client(home=...).activated(): training()`."""
        from zviz_core.pipelines.pipeline import activated

        return activated(self)

    def as_user(self, user: str | None, access: AccessConfig | None = None) -> Client:
        """A client on the same store acting as `user` (None: the local owner)."""
        return Client(user, access=access, store=self._store)

    def logins(self) -> LoginGuard:
        """Return the login throttling counters and login-cookie list of this client's store
        (for the app's login gate; they are not scoped to the client's user)."""
        from zviz_core.logins import LoginGuard

        return LoginGuard(self._store.engine)

    def _bind(self, value: T) -> T:
        if isinstance(value, ArtifactVersionResponse | PipelineRunResponse | StepRunResponse):
            value._bind(self)
        return value

    # -- projects -------------------------------------------------------------------------------

    @property
    def active_project(self) -> ProjectResponse:
        """The project new runs go to: $ZVIZ_PROJECT, else 'default' (created with the store).

        Raises EntityNotFoundError if $ZVIZ_PROJECT names a project that does not exist.
        """
        # Not memoised here: the store's memo is dropped when its database is replaced.
        name = settings().PROJECT
        found = self._store.project(name)
        if found is None:
            raise _not_found("project", name)
        return found

    def create_project(self, name: str) -> ProjectResponse:
        """Create a project; raises EntityExistsError if the name is taken, AccessDeniedError
        unless the user may write projects, InvalidInputError for a bad name."""
        try:
            name = NameRequest(name=name).name.strip()
        except ValidationError as exc:
            raise _invalid(exc) from None
        check_path_name(name, "Project name")
        return self._store.create_project(self._policy, name)

    def get_project(self, id_or_name: UUID | str) -> ProjectResponse:
        """A project by id or name; raises EntityNotFoundError if missing or unreadable."""
        return self._get_resource("project", id_or_name, "project", scoped=False)

    def list_projects(self, page: int = 1, size: int = 50) -> Page[ProjectResponse]:
        """The readable projects, newest first."""
        return self._list_resource("project", page, size, scoped=False)

    # -- generic resource reads -----------------------------------------------------------------

    def _get_resource(
        self, kind: str, id_or_name: UUID | str, label: str, scoped: bool = True
    ) -> Any:
        key = as_uuid(id_or_name)
        name = None if key is not None else str(id_or_name)
        project_id = self.active_project.id if scoped and key is None else None
        found = self._store.get(self._policy, kind, key, name, project_id)
        if found is None:
            raise _not_found(label, id_or_name)
        return found

    def _list_resource(
        self,
        kind: str,
        page: int,
        size: int,
        scoped: bool = True,
        name_contains: str | None = None,
        pipeline_id: UUID | None = None,
    ) -> Page[Any]:
        limit, offset = page_bounds(page, size)
        project_id = self.active_project.id if scoped else None
        items, total = self._store.list(
            self._policy, kind, project_id, limit, offset, name_contains, pipeline_id
        )
        return Page(items=items, total=total, page=page, size=size)

    def _delete(self, kind: str, key: UUID) -> None:
        self._store.delete(self._policy, kind, key)

    # -- pipelines ------------------------------------------------------------------------------

    def get_pipeline(self, id_or_name: UUID | str) -> PipelineResponse:
        """A pipeline by id or name (in the active project); raises EntityNotFoundError."""
        return self._get_resource("pipeline", id_or_name, "pipeline")

    def list_pipelines(
        self, page: int = 1, size: int = 50, name_contains: str | None = None
    ) -> Page[PipelineResponse]:
        """The readable pipelines of the active project, newest first."""
        return self._list_resource("pipeline", page, size, name_contains=name_contains)

    def delete_pipeline(self, id_or_name: UUID | str) -> None:
        """Delete a pipeline with its snapshots, runs, their artifacts and every tile on them;
        deployments of its snapshots stay, without a snapshot.

        Raises EntityNotFoundError if missing or unreadable, AccessDeniedError without write
        access to it or to anything else the delete would change.
        """
        self._delete("pipeline", self.get_pipeline(id_or_name).id)

    # -- snapshots ------------------------------------------------------------------------------

    def get_snapshot(self, snapshot_id: UUID | str) -> SnapshotResponse:
        """A snapshot (the resolved configuration of runs); raises EntityNotFoundError."""
        key = as_uuid(snapshot_id)
        if key is None:
            raise _not_found("snapshot", snapshot_id)
        return self._get_resource("pipeline_snapshot", key, "snapshot")

    def list_snapshots(
        self, pipeline_id: UUID | str | None = None, page: int = 1, size: int = 50
    ) -> Page[SnapshotResponse]:
        """The readable snapshots of the active project (or of one pipeline), newest first."""
        pid = None if pipeline_id is None else require_uuid(pipeline_id, "pipeline_id")
        return self._list_resource("pipeline_snapshot", page, size, pipeline_id=pid)

    def delete_snapshot(self, snapshot_id: UUID | str) -> None:
        """Delete a snapshot, the runs that executed it (with their artifacts) and its tiles;
        deployments of it keep existing without a snapshot. Raises as delete_pipeline does."""
        self._delete("pipeline_snapshot", self.get_snapshot(snapshot_id).id)

    # -- runs -----------------------------------------------------------------------------------

    def get_pipeline_run(self, id_or_name: UUID | str) -> PipelineRunResponse:
        """A run by id or name; `.steps` loads its steps and outputs. Raises EntityNotFoundError."""
        key = as_uuid(id_or_name)
        name = None if key is not None else str(id_or_name)
        found = self._store.run(self._policy, key, name)
        if found is None:
            raise _not_found("pipeline run", id_or_name)
        return self._bind(found.model_copy())

    def list_pipeline_runs(
        self,
        pipeline_id: UUID | str | None = None,
        status: ExecutionStatus | str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        name_contains: str | None = None,
        snapshot_id: UUID | str | None = None,
        page: int = 1,
        size: int = 20,
        all_projects: bool = False,
        sort_by_metric: str | None = None,
        descending: bool | None = None,
    ) -> Page[PipelineRunResponse]:
        """A page of readable runs, newest first; `.total` counts every match.

        With `sort_by_metric`, ordered by that metric instead (runs without it last):
        `descending` True or False, or by default best first when its name tells the direction
        (accuracy high first, loss low first), else highest first.

        Raises InvalidInputError for a bad status, id or page.
        """
        limit, offset = page_bounds(page, size)
        pid = None if pipeline_id is None else require_uuid(pipeline_id, "pipeline_id")
        sid = None if snapshot_id is None else require_uuid(snapshot_id, "snapshot_id")
        if status is not None:
            try:
                status = ExecutionStatus(status).value
            except ValueError:
                raise InvalidInputError(
                    f"status must be one of {', '.join(s.value for s in ExecutionStatus)}, "
                    f"not {status!r}."
                ) from None
        items, total = self._store.runs(
            self._policy,
            project_id=None if all_projects else self.active_project.id,
            pipeline_id=pid,
            snapshot_id=sid,
            status=status,
            created_after=_stored_time(created_after),
            created_before=_stored_time(created_before),
            name_contains=name_contains,
            limit=limit,
            offset=offset,
            **_metric_order(sort_by_metric, descending),
        )
        return Page(
            items=[self._bind(r.model_copy()) for r in items], total=total, page=page, size=size
        )

    def _load_steps(self, run_id: UUID) -> dict[str, StepRunResponse]:
        steps = self._store.steps(self._policy, run_id)
        result = {}
        for name, step in steps.items():
            copy = step.model_copy()
            for versions in copy.outputs.values():
                for av in versions:
                    av._bind(self)
            for av in copy.inputs.values():
                av._bind(self)
            result[name] = self._bind(copy)
        return result

    def _load_run_outputs(self, run_id: UUID) -> dict[str, ArtifactVersionResponse]:
        outputs = self._store.run_outputs(self._policy, run_id)
        return {name: self._bind(av.model_copy()) for name, av in outputs.items()}

    def step_log_uri(self, step: StepRunResponse | UUID | str) -> str:
        """Where a readable step's captured log lives, checked to lie inside its run's folder in
        this client's artifact store (the file may not exist: a step that printed nothing has
        none). Raises EntityNotFoundError for an unknown or unreadable step."""
        key = as_uuid(step.id if isinstance(step, StepRunResponse) else step)
        run_id = None if key is None else self._store.step_run(self._policy, key)
        if run_id is None or key is None:
            raise _not_found("step run", step.id if isinstance(step, StepRunResponse) else step)
        store = self._store.artifacts
        folder = store.check(store.run_folder(run_id), strictly=True, what="The run's folder")
        return store.scoped(folder).check(store.step_log_uri(run_id, key), what="The step log")

    def get_step_log(self, step: StepRunResponse | UUID | str) -> str | None:
        """A step's captured stdout, stderr and log records (its first and last 5 MB), or None
        when it printed nothing. Raises EntityNotFoundError for an unknown or unreadable step,
        ArtifactStoreUnreachableError when the store cannot be reached."""
        uri = self.step_log_uri(step)
        store = self._store.artifacts
        try:
            data = store.read_bytes(uri)
        except ArtifactLoadError:
            if not store.exists(uri):
                return None
            raise
        return data.decode("utf-8", "replace")

    def delete_pipeline_run(self, id_or_name: UUID | str) -> None:
        """Delete a run with its steps, artifact versions (and their files) and tiles.
        Raises as delete_pipeline does."""
        self._delete("pipeline_run", self.get_pipeline_run(id_or_name).id)

    # -- comparisons and metrics ----------------------------------------------------------------

    def compare_runs(
        self, ids: list[UUID | str], directions: dict[str, str] | None = None
    ) -> RunComparison:
        """Compare 2 to 6 runs (ids or names): the outputs present in at least two of them,
        aligned by step and output name (by output name when the runs are of different
        pipelines), one artifact version per run, and every numeric metric with its difference
        to the first run and the best and worst value marked where the direction is known
        (from the name, e.g. accuracy up and loss down, or `directions`: {name: "max"|"min"}).

        Runs the user may not read are left out and counted in `.hidden`, exactly like ids that
        do not exist. Raises InvalidInputError for fewer than 2 or more than 6 runs (after
        removing repeats) or a bad direction.
        """
        wanted = list(dict.fromkeys(str(i).strip() for i in ids if str(i).strip()))
        if not MIN_COMPARED <= len(wanted) <= MAX_COMPARED:
            raise InvalidInputError(
                f"Compare {MIN_COMPARED} to {MAX_COMPARED} different runs; {len(wanted)} given."
            )
        for name, way in (directions or {}).items():
            if way not in ("max", "min"):
                raise InvalidInputError(
                    f"The direction of metric {name!r} must be 'max' or 'min', not {way!r}."
                )
        keys: list[UUID] = []
        missing = 0
        for item in wanted:
            key = as_uuid(item)
            if key is None:
                found = self._store.run(self._policy, None, item)
                key = found.id if found is not None else None
            if key is None or key in keys:
                missing += key is None
                continue
            keys.append(key)
        result = self._store.compare(self._policy, keys, directions)
        for row in result.rows:
            for av in row.versions:
                if av is not None:
                    av._bind(self)
        return result.model_copy(update={"hidden": result.hidden + missing})

    def get_run_metadata(self, run_id: UUID | str) -> list[RunMetadataEntry]:
        """A run's metrics and metadata (from its steps' JSON outputs and `log_metadata`), by
        name. Raises EntityNotFoundError for a run that is missing or unreadable."""
        return self._store.run_metadata(self._policy, self.get_pipeline_run(run_id).id)

    def get_run_metrics(
        self, run_ids: list[UUID | str], names: list[str] | None = None
    ) -> dict[UUID, dict[str, float]]:
        """{run id: {metric name: value}} for the numeric metrics of the readable runs among
        `run_ids` (only `names`, when given); unreadable runs are absent. Raises
        InvalidInputError for an id that is not a UUID."""
        keys = [require_uuid(r, "run id") for r in run_ids]
        return self._store.metric_numbers(self._policy, keys, names)

    def list_metric_names(self, pipeline_id: UUID | str) -> list[str]:
        """The names of the numeric metrics of a pipeline's readable runs, sorted; raises
        EntityNotFoundError for a pipeline the user cannot read."""
        pipeline = self.get_pipeline(require_uuid(pipeline_id, "pipeline_id"))
        return self._store.metric_names(self._policy, pipeline.id)

    def metric_history(
        self, pipeline_id: UUID | str, name: str, limit: int = 1000
    ) -> list[MetricPoint]:
        """The values of metric `name` over the newest `limit` readable runs of a pipeline
        that have it, oldest first. Raises EntityNotFoundError for an unreadable pipeline,
        InvalidInputError for a limit outside 1..10000."""
        if not 1 <= int(limit) <= 10_000:
            raise InvalidInputError("limit must be between 1 and 10000.")
        pipeline = self.get_pipeline(require_uuid(pipeline_id, "pipeline_id"))
        return self._store.metric_history(self._policy, pipeline.id, name, int(limit))

    def log_metadata(
        self,
        metadata: dict[str, Any],
        step_id: UUID | str | None = None,
        step_name: str | None = None,
        run_id_name_or_prefix: UUID | str | None = None,
        **unsupported: Any,
    ) -> None:
        """Attach metadata to a run, or to one of its steps (ZenML's `log_metadata`).

        Inside a step, with no target, it goes to the running step and is stored with it.
        Otherwise give `step_id`, or `run_id_name_or_prefix` (a run's id or exact name) with an
        optional `step_name`. Nested dicts become `a.b` names; numbers become metrics (step
        metadata named `step.key`). Raises InvalidInputError for bad metadata or ZenML's
        artifact and model targets (not supported by zviz), EntityNotFoundError for an unknown
        run or step, AccessDeniedError without write access to the run.
        """
        from zviz_core.metrics import metadata_rows
        from zviz_core.pipelines.pipeline import current_run

        if unsupported:
            raise InvalidInputError(
                f"log_metadata: zviz attaches metadata to runs and steps only; "
                f"{', '.join(sorted(unsupported))} is not supported."
            )
        if not isinstance(metadata, dict) or not metadata:
            raise InvalidInputError("log_metadata needs a non-empty dict of metadata.")
        try:
            rows = metadata_rows(metadata)
        except ValueError as exc:
            raise InvalidInputError(f"log_metadata: {exc}.") from None
        context = current_run()
        if step_id is None and run_id_name_or_prefix is None:
            if context is None or context.client.store is not self._store:
                raise InvalidInputError(
                    "log_metadata outside a step needs a target: run_id_name_or_prefix "
                    "(and optionally step_name), or step_id."
                )
            context.log_metadata(rows, step_name)
            return
        run_key = None if run_id_name_or_prefix is None else as_uuid(run_id_name_or_prefix)
        run_name = (
            str(run_id_name_or_prefix)
            if run_id_name_or_prefix is not None and run_key is None
            else None
        )
        if context is not None and context.client.store is self._store:
            self._store.flush()  # the running step's earlier records first
        self._store.log_metadata(
            self._policy,
            run_key,
            run_name,
            None if step_id is None else require_uuid(step_id, "step_id"),
            step_name,
            rows,
        )

    # -- artifacts ------------------------------------------------------------------------------

    def get_artifact_version(
        self, artifact_version_id: UUID | str | ArtifactVersionResponse
    ) -> ArtifactVersionResponse:
        """An artifact version with its visualizations; raises EntityNotFoundError.

        An ArtifactVersionResponse (as `run.outputs[name]` gives) is read again by its id.
        """
        if isinstance(artifact_version_id, ArtifactVersionResponse):
            artifact_version_id = artifact_version_id.id
        key = as_uuid(artifact_version_id)
        found = None if key is None else self._store.version(self._policy, key)
        if found is None:
            raise _not_found("artifact version", artifact_version_id)
        return self._bind(found.model_copy())

    def list_artifact_versions(
        self,
        name_contains: str | None = None,
        run_id: UUID | str | None = None,
        artifact_name: str | None = None,
        page: int = 1,
        size: int = 20,
        search: str | None = None,
        pipeline_name: str | None = None,
        visualization_type: VisualizationType | str | None = None,
    ) -> Page[ArtifactVersionResponse]:
        """A page of readable artifact versions of the active project, newest first.

        `name_contains` matches part of the artifact's name (as ZenML's filter does); `search`
        matches versions where each of its words appears in the artifact's name or in its
        run's, pipeline's or step's name, case-insensitively, and counts at most 10,000 matches
        (`Page.total_capped` then says there are more). `pipeline_name` and
        `visualization_type` keep versions made by that pipeline, or with a visualization of
        that type. Raises InvalidInputError for a bad page, size, id or type.
        """
        limit, offset = page_bounds(page, size)
        rid = None if run_id is None else require_uuid(run_id, "run_id")
        vtype = None
        if visualization_type is not None:
            try:
                vtype = VisualizationType(visualization_type).value
            except ValueError:
                kinds = ", ".join(t.value for t in VisualizationType)
                raise InvalidInputError(
                    f"visualization_type must be one of {kinds}, not {visualization_type!r}."
                ) from None
        items, total, capped = self._store.versions(
            self._policy,
            project_id=self.active_project.id,
            name_contains=name_contains,
            run_id=rid,
            artifact_name=artifact_name,
            limit=limit,
            offset=offset,
            search=search or None,
            pipeline_name=pipeline_name or None,
            visualization_type=vtype,
        )
        return Page(
            items=[self._bind(a.model_copy()) for a in items],
            total=total,
            page=page,
            size=size,
            total_capped=capped,
        )

    def get_artifact_history(
        self,
        artifact_version_id: UUID | str | ArtifactVersionResponse,
        pipeline_id: UUID | str | None = None,
        page: int = 1,
        size: int = 20,
        uses_per_version: int = 5,
    ) -> Page[ArtifactHistoryEntry]:
        """The versions of an artifact version's artifact (a name shared across pipelines
        included), newest first, each with the steps that read it (the latest
        `uses_per_version`, and how many more). Only what the user may read is listed; with
        `pipeline_id`, only versions produced by that pipeline's runs.

        Raises EntityNotFoundError for an unknown or unreadable version, InvalidInputError for
        a bad id or page.
        """
        if isinstance(artifact_version_id, ArtifactVersionResponse):
            artifact_version_id = artifact_version_id.id
        key = as_uuid(artifact_version_id)
        limit, offset = page_bounds(page, size)
        pid = None if pipeline_id is None else require_uuid(pipeline_id, "pipeline_id")
        if not 0 < uses_per_version <= 100:
            raise InvalidInputError("uses_per_version must be between 1 and 100.")
        found = (
            None
            if key is None
            else self._store.artifact_history(
                self._policy, key, pid, limit, offset, uses_per_version
            )
        )
        if found is None:
            raise _not_found("artifact version", artifact_version_id)
        entries, total = found
        return Page(
            items=[
                ArtifactHistoryEntry(
                    version=self._bind(av.model_copy()), used_by=used, more_uses=more
                )
                for av, used, more in entries
            ],
            total=total,
            page=page,
            size=size,
        )

    def list_artifact_pipelines(
        self, artifact_version_id: UUID | str | ArtifactVersionResponse
    ) -> list[PipelineResponse]:
        """The pipelines whose runs produced the readable versions of this version's artifact,
        by name. Raises EntityNotFoundError for an unknown or unreadable version."""
        if isinstance(artifact_version_id, ArtifactVersionResponse):
            artifact_version_id = artifact_version_id.id
        key = as_uuid(artifact_version_id)
        found = None if key is None else self._store.artifact_pipelines(self._policy, key)
        if found is None:
            raise _not_found("artifact version", artifact_version_id)
        return found

    def delete_artifact_version(self, artifact_version_id: UUID | str) -> None:
        """Delete an artifact version, its files, its visualizations and the tiles showing them.
        Raises as delete_pipeline does."""
        self._delete("artifact_version", self.get_artifact_version(artifact_version_id).id)

    def get_artifact_visualization(
        self, visualization_id: UUID | str
    ) -> ArtifactVisualizationResponse:
        """One artifact visualization; raises EntityNotFoundError if missing or unreadable."""
        key = as_uuid(visualization_id)
        found = None if key is None else self._store.visualization(self._policy, key)
        if found is None:
            raise _not_found("artifact visualization", visualization_id)
        return found[0]

    def load_visualization(
        self, visualization_id: UUID | str, max_bytes: int | None = None
    ) -> LoadedVisualization:
        """A visualization's content: `.value` is str for text types, bytes for images.

        Raises EntityNotFoundError for an unknown or unreadable id, ArtifactLoadError when the file
        is missing or bigger than `max_bytes`, ArtifactStoreUnreachableError when the store
        cannot be reached.
        """
        viz = self.get_artifact_visualization(visualization_id)
        return self.load_visualization_content(viz, max_bytes)

    def load_visualization_content(
        self, viz: ArtifactVisualizationResponse, max_bytes: int | None = None
    ) -> LoadedVisualization:
        """Read the file behind a visualization this client returned (see load_visualization).

        Raises ArtifactPathError for a visualization that was not read from this store or
        whose file lies outside its artifact's folder.
        """
        data = self.read_visualization_bytes(viz, max_bytes)
        value: str | bytes = _decode(data) if viz.type in TEXT_TYPES else data
        return LoadedVisualization(type=viz.type, value=value, uri=viz.uri)

    def read_visualization_bytes(
        self, viz: ArtifactVisualizationResponse, max_bytes: int | None = None, head: bool = False
    ) -> bytes:
        """The bytes of a visualization's file, after the containment check.

        With `max_bytes`, a larger file raises ArtifactTooLargeError before it is read, or with
        `head` only its first `max_bytes` are read. Raises as load_visualization_content does.
        """
        uri = self.checked_uri(viz)
        store = self._store.artifacts
        if max_bytes is not None and head:
            return store.read_bytes(uri, max_bytes)
        if max_bytes is not None:
            size = store.file_size(uri)
            if size > max_bytes:
                raise ArtifactTooLargeError(
                    f"This visualization has {size / 1e6:.1f} MB, more than the "
                    f"{max_bytes / 1e6:.0f} MB shown inline; download it instead.",
                    size,
                )
        return store.read_bytes(uri)

    def visualization_size(self, viz: ArtifactVisualizationResponse) -> int:
        """The size in bytes of a visualization's file (one this client returned).

        Raises ArtifactLoadError when it is missing, ArtifactStoreUnreachableError when the
        store cannot be reached, ArtifactPathError when it lies outside its artifact's folder.
        """
        return self._store.artifacts.file_size(self.checked_uri(viz))

    def checked_uri(self, viz: ArtifactVisualizationResponse) -> str:
        """The location of a visualization's file, checked before anything opens it.

        Returns `viz.uri` when it lies inside its artifact version's folder, which itself lies
        inside this client's artifact store. Raises ArtifactPathError otherwise (a row written
        by hand or by an older zviz), naming the location.
        """
        folder = viz._folder
        if folder is None:
            raise ArtifactPathError(
                f"The visualization {viz.id} was not read from this store; get it through "
                "the Client before opening its file."
            )
        store = self._store.artifacts
        store.check(folder, strictly=True, what="Its artifact version's folder")
        store.scoped(folder).check(viz.uri, what="The visualization file")
        return viz.uri

    def checked_folder(self, av: ArtifactVersionResponse) -> str:
        """An artifact version's folder, checked to lie inside this client's artifact store.

        Raises ArtifactPathError otherwise.
        """
        return self._store.artifacts.check(av.uri, strictly=True, what="The artifact's folder")

    # -- models and deployments -----------------------------------------------------------------

    def _create_named(self, kind: str, name: str, extra: dict[str, Any]) -> Any:
        try:
            name = NameRequest(name=name).name.strip()
        except ValidationError as exc:
            raise _invalid(exc) from None
        return self._store.create_named(self._policy, kind, self.active_project, name, extra)

    def create_model(self, name: str, description: str | None = None) -> ModelResponse:
        """Register a model in the active project; raises EntityExistsError if the name is
        taken, AccessDeniedError without a write grant for it."""
        return self._create_named("model", name, {"description": description})

    def get_model(self, id_or_name: UUID | str) -> ModelResponse:
        """A model by id or name; raises EntityNotFoundError."""
        return self._get_resource("model", id_or_name, "model")

    def list_models(
        self, page: int = 1, size: int = 50, name_contains: str | None = None
    ) -> Page[ModelResponse]:
        """The readable models of the active project, newest first."""
        return self._list_resource("model", page, size, name_contains=name_contains)

    def delete_model(self, id_or_name: UUID | str) -> None:
        """Delete a model and the tiles on it; raises EntityNotFoundError or AccessDeniedError."""
        self._delete("model", self.get_model(id_or_name).id)

    def create_deployment(
        self, name: str, snapshot_id: UUID | str | None = None
    ) -> DeploymentResponse:
        """Register a deployment, optionally of a snapshot; raises EntityExistsError,
        EntityNotFoundError (unknown snapshot) or AccessDeniedError."""
        sid = None if snapshot_id is None else require_uuid(snapshot_id, "snapshot_id")
        return self._create_named("deployment", name, {"snapshot_id": sid})

    def get_deployment(self, id_or_name: UUID | str) -> DeploymentResponse:
        """A deployment by id or name; raises EntityNotFoundError."""
        return self._get_resource("deployment", id_or_name, "deployment")

    def list_deployments(
        self, page: int = 1, size: int = 50, name_contains: str | None = None
    ) -> Page[DeploymentResponse]:
        """The readable deployments of the active project, newest first."""
        return self._list_resource("deployment", page, size, name_contains=name_contains)

    def delete_deployment(self, id_or_name: UUID | str) -> None:
        """Delete a deployment and the tiles on it; raises EntityNotFoundError or
        AccessDeniedError."""
        self._delete("deployment", self.get_deployment(id_or_name).id)

    # -- curated visualizations -----------------------------------------------------------------

    def create_curated_visualization(
        self,
        artifact_visualization_id: UUID | str,
        resource_id: UUID | str,
        resource_type: VisualizationResourceTypes | str,
        project_id: UUID | str | None = None,
        display_name: str | None = None,
        display_order: int | None = None,
        layout_size: CuratedVisualizationSize | str = CuratedVisualizationSize.FULL_WIDTH,
        *,
        follow: TileFollow | str | None = None,
    ) -> CuratedVisualizationResponse:
        """Pin a visualization as a tile on a resource; returns the hydrated tile.

        With `follow`, the tile does not pin that one version: it always shows the same
        visualization (by position) of the newest version, among completed runs, of
        - `"artifact"`: the artifact the given visualization's version belongs to;
        - `"output"`: the same output of the same step, in runs of the same pipeline.
        Each viewer sees the newest version they may read; while there is none, the tile's
        `artifact_visualization` is None ("nothing to show yet"). Deleting versions never
        deletes a following tile.

        Raises InvalidInputError (a ValueError) for bad values, when the visualization and the
        resource are in different projects, or for follow="output" on an artifact no pipeline
        step made; EntityNotFoundError when either is missing or unreadable; AccessDeniedError
        without write access to the resource; EntityExistsError when that visualization (or,
        following, that same target) is already on the resource or the display_order is taken.
        """
        try:
            req = CuratedVisualizationRequest(
                artifact_visualization_id=artifact_visualization_id,
                resource_id=resource_id,
                resource_type=resource_type,
                project_id=project_id,
                display_name=display_name,
                display_order=display_order,
                layout_size=layout_size,
                follow=follow,
            )
        except ValidationError as exc:
            raise _invalid(exc) from None
        return self._store.create_tile(
            self._policy,
            req.artifact_visualization_id,
            req.resource_type.value,
            req.resource_id,
            req.project_id,
            {
                "display_name": req.display_name,
                "display_order": req.display_order,
                "layout_size": req.layout_size.value,
            },
            follow=req.follow,
        )

    def get_curated_visualization(
        self, visualization_id: UUID | str, hydrate: bool = True
    ) -> CuratedVisualizationResponse:
        """A tile; hydrated with its visualization and source. Raises EntityNotFoundError when
        it is missing or its resource is unreadable."""
        key = as_uuid(visualization_id)
        found = None if key is None else self._store.tile(self._policy, key, hydrate)
        if found is None:
            raise _not_found("curated visualization", visualization_id)
        return found

    def update_curated_visualization(
        self,
        visualization_id: UUID | str,
        display_name: str | None = None,
        display_order: int | None = None,
        layout_size: CuratedVisualizationSize | str | None = None,
        expected_updated: datetime | None = None,
        *,
        clear_display_order: bool = False,
    ) -> CuratedVisualizationResponse:
        """Change only the fields given (None leaves a field as it is); returns the tile.

        `clear_display_order=True` sets display_order back to unset, so the tile goes last, in
        creation order (None cannot mean that: as in ZenML, it means "leave it as it is").
        Giving it together with a display_order raises InvalidInputError.

        With `expected_updated` (the `updated` of the tile as you read it), the change is made
        only if nobody changed the tile since, else ConflictError: an editor never silently
        reverts someone else's edit. Raises InvalidInputError, EntityNotFoundError,
        AccessDeniedError, or EntityExistsError when the new display_order is used by another
        tile on the same resource.
        """
        key = as_uuid(visualization_id)
        if key is None:
            raise _not_found("curated visualization", visualization_id)
        if clear_display_order and display_order is not None:
            raise InvalidInputError(
                "Give either display_order or clear_display_order=True, not both."
            )
        try:
            fields = {
                k: v
                for k, v in {
                    "display_name": display_name,
                    "display_order": display_order,
                    "layout_size": layout_size,
                }.items()
                if v is not None
            }
            update = CuratedVisualizationUpdate(**fields)
        except ValidationError as exc:
            raise _invalid(exc) from None
        changes = {
            k: (v.value if hasattr(v, "value") else v)
            for k, v in update.model_dump(exclude_unset=True).items()
        }
        if clear_display_order:
            changes["display_order"] = None
        expected = None if expected_updated is None else _aware(expected_updated)
        return self._store.update_tile(self._policy, key, changes, expected)

    def delete_curated_visualization(self, visualization_id: UUID | str) -> None:
        """Delete a tile; raises EntityNotFoundError or AccessDeniedError."""
        key = as_uuid(visualization_id)
        if key is None:
            raise _not_found("curated visualization", visualization_id)
        self._store.delete_tile(self._policy, key)

    def list_curated_visualizations(
        self, resource_type: VisualizationResourceTypes | str, resource_id: UUID | str
    ) -> list[CuratedVisualizationResponse]:
        """The tiles on a resource in display order: lower display_order first, unset last in
        creation order. Empty when the resource is missing or unreadable."""
        rtype = _resource_type(resource_type)
        rid = require_uuid(resource_id, "resource_id")
        return self._store.tiles(self._policy, rtype, rid)

    def reorder_curated_visualizations(
        self,
        resource_type: VisualizationResourceTypes | str,
        resource_id: UUID | str,
        ordered_ids: list[UUID | str],
    ) -> list[CuratedVisualizationResponse]:
        """Renumber a resource's tiles 10, 20, 30... in the given order, in one transaction.

        Tiles of the resource missing from `ordered_ids` follow in their current order. Returns
        the tiles in their new order. Raises EntityNotFoundError for an id that is not a tile of
        this resource, AccessDeniedError without write access to the resource.
        """
        rtype = _resource_type(resource_type)
        rid = require_uuid(resource_id, "resource_id")
        wanted = [require_uuid(t, "tile id") for t in ordered_ids]
        return self._store.reorder_tiles(self._policy, rtype, rid, wanted)

    def change_token(self) -> str:
        """Return an opaque string that changes whenever anything in the store changes (a run
        completes, a tile is edited), in any process. Reading it costs a small file read on
        DuckDB and one indexed row on PostgreSQL, so a dashboard can poll it and re-read only
        when it changed. It reveals nothing about what changed, so it needs no access check.
        """
        return self._store.change_token()

    def can_write(
        self, resource_type: VisualizationResourceTypes | str, resource_id: UUID | str
    ) -> bool:
        """Whether this user may change tiles on a resource (for showing edit controls)."""
        return self._store.can_write(
            self._policy, _resource_type(resource_type), require_uuid(resource_id, "resource_id")
        )


def _metric_order(metric: str | None, descending: bool | None) -> dict[str, Any]:
    if metric is None:
        return {}
    from zviz_core.metrics import direction

    if descending is None:
        descending = direction(metric) != "min"
    return {"metric": metric, "descending": bool(descending)}


def _resource_type(value: VisualizationResourceTypes | str) -> str:
    try:
        return VisualizationResourceTypes(value).value
    except ValueError:
        raise InvalidInputError(
            "resource_type must be one of "
            f"{', '.join(t.value for t in VisualizationResourceTypes)}, not {value!r}."
        ) from None


def _aware(value: datetime) -> datetime:
    """A datetime as responses carry it: aware UTC (naive input is taken to be UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stored_time(value: datetime | None) -> datetime | None:
    """A datetime as the store keeps it: naive UTC (naive input is taken to be UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
