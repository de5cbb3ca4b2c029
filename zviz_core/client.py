"""Client: the public facade. Every call checks the user's access in SQL and returns frozen models."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from pydantic import ValidationError

from zviz_core.access import AccessConfig, AccessPolicy, qualified
from zviz_core.artifacts.store import ArtifactStore, artifact_root
from zviz_core.enums import (
    CuratedVisualizationSize,
    ExecutionStatus,
    VisualizationResourceTypes,
    VisualizationType,
)
from zviz_core.errors import (
    AccessDeniedError,
    ArtifactPathError,
    ArtifactTooLargeError,
    ConfigError,
    EntityExistsError,
    EntityNotFoundError,
    InvalidInputError,
)
from zviz_core.models import (
    ArtifactVersionResponse,
    ArtifactVisualizationResponse,
    CuratedVisualizationRequest,
    CuratedVisualizationResponse,
    CuratedVisualizationUpdate,
    DeploymentResponse,
    LoadedVisualization,
    ModelResponse,
    NameRequest,
    Page,
    PipelineResponse,
    PipelineRunResponse,
    ProjectResponse,
    SnapshotResponse,
    StepRunResponse,
)
from zviz_core.names import check_path_name
from zviz_core.store import artifacts as artifact_sql
from zviz_core.store import default_home, open_engine
from zviz_core.store import resources as resource_sql
from zviz_core.store import runs as run_sql
from zviz_core.store import tiles as tile_sql
from zviz_core.store.engine import Cursor
from zviz_core.store.schema import DEFAULT_PROJECT
from zviz_core.store.util import as_uuid, new_id, now, page_bounds, require_uuid

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
_TARGETS: dict[str, tuple[str, str, str]] = {
    # resource type -> (table, project column, name column)
    "project": ("projects", "id", "name"),
    "pipeline": ("pipelines", "project_id", "name"),
    "pipeline_run": ("pipeline_runs", "project_id", "name"),
    "pipeline_snapshot": ("snapshots", "project_id", "CAST(id AS VARCHAR)"),
    "model": ("models", "project_id", "name"),
    "deployment": ("deployments", "project_id", "name"),
}


def _invalid(exc: ValidationError) -> InvalidInputError:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "value"
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}")
    return InvalidInputError("Invalid input: " + "; ".join(parts) + ".")


def _not_found(what: str, key: Any) -> EntityNotFoundError:
    return EntityNotFoundError(f"No {what} {key!s} exists (or you may not see it).")


class Client:
    """Access to one zviz store as one user.

    `Client()` is the local owner with full access (scripts, notebooks). `Client(user="bob")`
    acts as bob under the access rules of $ZVIZ_AUTH_CONFIG (or the `access` given): lists show
    only what he may read, gets of anything else raise EntityNotFoundError, and writes he may not
    make raise AccessDeniedError.
    """

    def __init__(
        self,
        user: str | None = None,
        *,
        home: str | Path | None = None,
        access: AccessConfig | None = None,
        artifact_store: str | None = None,
        store_url: str | None = None,
    ) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self._db = open_engine(home, store_url)
        self._artifact_store = ArtifactStore(
            artifact_root(artifact_store, self.home, shared_metadata=self._db.kind != "duckdb")
        )
        self.user = user.strip().lower() if user is not None else None
        if self.user is None:
            self._policy = AccessPolicy.owner()
        else:
            if access is None:
                path = os.environ.get("ZVIZ_AUTH_CONFIG")
                if not path:
                    raise ConfigError(
                        "Client(user=...) needs access rules: set ZVIZ_AUTH_CONFIG to the "
                        "authenticator YAML, or pass access=AccessConfig.from_path(...)."
                    )
                access = AccessConfig.from_path(path)
            self._policy = access.policy_for(self.user)
        self._project: ProjectResponse | None = None

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def policy(self) -> AccessPolicy:
        return self._policy

    @property
    def artifact_store(self) -> ArtifactStore:
        return self._artifact_store

    def logins(self) -> LoginGuard:
        """Return the login throttling counters and login-cookie list of this client's store
        (for the app's login gate; they are not scoped to the client's user)."""
        from zviz_core.logins import LoginGuard

        return LoginGuard(self._db)

    def _read(self, fn: Callable[[Cursor], T], *key: Any) -> T:
        return self._db.read(fn, cache_key=(self._policy.key(), *key) if key else None)

    def _bind(self, value: T) -> T:
        if isinstance(value, ArtifactVersionResponse | PipelineRunResponse | StepRunResponse):
            value._bind(self)
        return value

    def _remove_files(self, folders: list[tuple[str, UUID]]) -> None:
        """Remove deleted artifact versions' folders, each only if it is that version's own."""
        for uri, version_id in folders:
            try:
                self._artifact_store.remove_version_folder(uri, version_id)
            except Exception as exc:
                log.warning("zviz: could not remove %s from the artifact store: %s", uri, exc)

    def _need_write(self, cur: Cursor, kind: str, key: UUID, label: str) -> UUID:
        """Raise not-found unless readable, AccessDeniedError unless writable (one SQL query,
        both filters in it); returns the resource's project id."""
        table, project_col, name_col = _TARGETS[kind]
        read_where, params = self._policy.sql(kind, "x")
        write_where, write_params = self._policy.sql(kind, "x", "write")
        row = cur.row(
            f"SELECT {name_col}, x.{project_col}, ({write_where}), "
            f"(SELECT _p.name FROM projects _p WHERE _p.id = x.{project_col}) FROM {table} x "
            f"WHERE x.id = $key AND {read_where}",
            {**params, **write_params, "key": key},
        )
        if row is None:
            raise _not_found(label, key)
        if not row[2]:
            grant = (
                f"{kind}:{key}" if kind == "pipeline_snapshot" else qualified(kind, row[0], row[3])
            )
            raise AccessDeniedError(
                f"{self.user or 'You'} may see {label} '{row[0]}' but not change it: that needs "
                f"a write grant such as '{grant}' or '{kind}:*' (or one on its project "
                "or pipeline)."
            )
        return row[1]

    def _refuse_changes_beyond(self, cur: Cursor, label: str, **scope: Any) -> None:
        """A delete must not change what the user may not write (DESIGN: deletes respect the
        same rules): refuse it, naming only how many such resources there are."""
        count = run_sql.changes_beyond(cur, self._policy, **scope)
        if count:
            raise AccessDeniedError(
                f"Deleting this {label} would also change {count} other "
                f"{'resource' if count == 1 else 'resources'} that you may not change (tiles "
                "showing its artifacts on other pages, deployments of its snapshots, or runs "
                "that read its artifacts). Nothing was deleted; ask someone who may change "
                "them to delete it."
            )

    def _need_write_new(self, kind: str, name: str) -> None:
        project = self.active_project
        if not self._policy.write_grants.covers_new(kind, project.name, project.id, name):
            raise AccessDeniedError(
                f"{self.user} may not create {kind} '{name}': that needs a write grant such as "
                f"'{qualified(kind, name, project.name)}', '{kind}:*' or 'project:{project.name}'."
            )

    # -- projects -------------------------------------------------------------------------------

    @property
    def active_project(self) -> ProjectResponse:
        """The project new runs go to: $ZVIZ_PROJECT, else 'default' (created with the store).

        Raises EntityNotFoundError if $ZVIZ_PROJECT names a project that does not exist.
        """
        if self._project is None:
            name = os.environ.get("ZVIZ_PROJECT", DEFAULT_PROJECT)
            # Projects are never renamed or deleted, so a found one is memoised per process.
            found = self._db.projects.get(name)
            if found is None:
                found = self._db.read(
                    lambda cur: resource_sql.get(cur, AccessPolicy.owner(), "project", None, name)
                )
            if found is None:
                raise _not_found("project", name)
            self._db.projects[name] = found
            self._project = found
        return self._project

    def create_project(self, name: str) -> ProjectResponse:
        """Create a project; raises EntityExistsError if the name is taken, AccessDeniedError
        unless the user may write projects."""
        try:
            name = NameRequest(name=name).name.strip()
        except ValidationError as exc:
            raise _invalid(exc) from None
        check_path_name(name, "Project name")
        if not (
            self._policy.write_grants.everything
            or "project" in self._policy.write_grants.any_of_type
        ):
            raise AccessDeniedError(
                f"{self.user} may not create projects: that needs 'project:*' write."
            )

        def write(cur: Cursor) -> ProjectResponse:
            if cur.value("SELECT count(*) FROM projects WHERE name = $n", {"n": name}):
                raise EntityExistsError(f"A project named '{name}' already exists.")
            key = new_id()
            cur.execute(
                "INSERT INTO projects VALUES ($id, $n, $t)", {"id": key, "n": name, "t": now()}
            )
            return resource_sql.get(cur, AccessPolicy.owner(), "project", key, None)

        return self._db.write(write)

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
        found = self._read(
            lambda cur: resource_sql.get(cur, self._policy, kind, key, name, project_id),
            "get",
            kind,
            key,
            name,
            project_id,
        )
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
        extra: str = "",
        extra_params: dict | None = None,
    ) -> Page[Any]:
        limit, offset = page_bounds(page, size)
        project_id = self.active_project.id if scoped else None
        items, total = self._read(
            lambda cur: resource_sql.list_page(
                cur,
                self._policy,
                kind,
                project_id,
                limit,
                offset,
                name_contains,
                extra,
                extra_params,
            ),
            "list",
            kind,
            project_id,
            limit,
            offset,
            name_contains,
            extra,
            tuple(sorted((extra_params or {}).items())),
        )
        return Page(items=items, total=total, page=page, size=size)

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
        """Delete a pipeline with its snapshots, runs, their artifacts and every tile on them.

        Raises EntityNotFoundError if missing or unreadable, AccessDeniedError without write.
        """
        found = self.get_pipeline(id_or_name)

        def write(cur: Cursor) -> list[tuple[str, UUID]]:
            self._need_write(cur, "pipeline", found.id, "pipeline")
            params = {"pl": found.id}
            snaps = [
                r[0] for r in cur.rows("SELECT id FROM snapshots WHERE pipeline_id = $pl", params)
            ]
            self._refuse_changes_beyond(
                cur, "pipeline", run_cond="r.pipeline_id = $pl", params=params, snapshot_ids=snaps
            )
            uris = run_sql.delete_runs_where(cur, "r.pipeline_id = $pl", params)
            self._detach_snapshots(cur, snaps)
            cur.execute("DELETE FROM snapshots WHERE pipeline_id = $pl", params)
            tile_sql.delete_for_resource(cur, "pipeline", [found.id])
            cur.execute("DELETE FROM pipelines WHERE id = $pl", params)
            return uris

        self._remove_files(self._db.write(write))

    @staticmethod
    def _detach_snapshots(cur: Cursor, snapshot_ids: list[UUID]) -> None:
        if snapshot_ids:
            ids = {"ids": snapshot_ids}
            cur.execute(
                "UPDATE deployments SET snapshot_id = NULL WHERE snapshot_id IN (SELECT unnest($ids))",
                ids,
            )
            tile_sql.delete_for_resource(cur, "pipeline_snapshot", snapshot_ids)

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
        if pipeline_id is None:
            return self._list_resource("pipeline_snapshot", page, size)
        pid = require_uuid(pipeline_id, "pipeline_id")
        return self._list_resource(
            "pipeline_snapshot", page, size, extra="s.pipeline_id = $pid", extra_params={"pid": pid}
        )

    def delete_snapshot(self, snapshot_id: UUID | str) -> None:
        """Delete a snapshot, the runs that executed it (with their artifacts) and its tiles;
        deployments of it keep existing without a snapshot."""
        found = self.get_snapshot(snapshot_id)

        def write(cur: Cursor) -> list[tuple[str, UUID]]:
            self._need_write(cur, "pipeline_snapshot", found.id, "snapshot")
            params = {"s": found.id}
            self._refuse_changes_beyond(
                cur,
                "snapshot",
                run_cond="r.snapshot_id = $s",
                params=params,
                snapshot_ids=[found.id],
            )
            uris = run_sql.delete_runs_where(cur, "r.snapshot_id = $s", params)
            self._detach_snapshots(cur, [found.id])
            cur.execute("DELETE FROM snapshots WHERE id = $s", {"s": found.id})
            return uris

        self._remove_files(self._db.write(write))

    # -- runs -----------------------------------------------------------------------------------

    def get_pipeline_run(self, id_or_name: UUID | str) -> PipelineRunResponse:
        """A run by id or name; `.steps` loads its steps and outputs. Raises EntityNotFoundError."""
        key = as_uuid(id_or_name)
        name = None if key is not None else str(id_or_name)
        found = self._read(lambda cur: run_sql.get(cur, self._policy, key, name), "run", key, name)
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
    ) -> Page[PipelineRunResponse]:
        """A page of readable runs, newest first; `.total` counts every match.

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
                    f"status must be one of {', '.join(s.value for s in ExecutionStatus)}, not {status!r}."
                ) from None
        after, before = _stored_time(created_after), _stored_time(created_before)
        project_id = None if all_projects else self.active_project.id
        items, total = self._read(
            lambda cur: run_sql.list_page(
                cur,
                self._policy,
                project_id=project_id,
                pipeline_id=pid,
                snapshot_id=sid,
                status=status,
                created_after=after,
                created_before=before,
                name_contains=name_contains,
                limit=limit,
                offset=offset,
            ),
            "runs",
            project_id,
            pid,
            sid,
            status,
            after,
            before,
            name_contains,
            limit,
            offset,
        )
        return Page(
            items=[self._bind(r.model_copy()) for r in items], total=total, page=page, size=size
        )

    def _load_steps(self, run_id: UUID) -> dict[str, StepRunResponse]:
        def read(cur: Cursor) -> dict[str, StepRunResponse]:
            if run_sql.get(cur, self._policy, run_id, None) is None:
                raise _not_found("pipeline run", run_id)
            return run_sql.steps(cur, run_id)

        steps = self._read(read, "steps", run_id)
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

    def delete_pipeline_run(self, id_or_name: UUID | str) -> None:
        """Delete a run with its steps, artifact versions (and their files) and tiles."""
        found = self.get_pipeline_run(id_or_name)

        def write(cur: Cursor) -> list[tuple[str, UUID]]:
            self._need_write(cur, "pipeline_run", found.id, "pipeline run")
            params = {"id": found.id}
            self._refuse_changes_beyond(cur, "pipeline run", run_cond="r.id = $id", params=params)
            return run_sql.delete_runs_where(cur, "r.id = $id", params)

        self._remove_files(self._db.write(write))

    # -- artifacts ------------------------------------------------------------------------------

    def get_artifact_version(self, artifact_version_id: UUID | str) -> ArtifactVersionResponse:
        """An artifact version with its visualizations; raises EntityNotFoundError."""
        key = as_uuid(artifact_version_id)
        if key is None:
            raise _not_found("artifact version", artifact_version_id)
        found = self._read(lambda cur: artifact_sql.get(cur, self._policy, key), "av", key)
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
    ) -> Page[ArtifactVersionResponse]:
        """A page of readable artifact versions of the active project, newest first."""
        limit, offset = page_bounds(page, size)
        rid = None if run_id is None else require_uuid(run_id, "run_id")
        project_id = self.active_project.id
        items, total = self._read(
            lambda cur: artifact_sql.list_page(
                cur,
                self._policy,
                project_id=project_id,
                name_contains=name_contains,
                run_id=rid,
                artifact_name=artifact_name,
                limit=limit,
                offset=offset,
            ),
            "avs",
            project_id,
            name_contains,
            rid,
            artifact_name,
            limit,
            offset,
        )
        return Page(
            items=[self._bind(a.model_copy()) for a in items], total=total, page=page, size=size
        )

    def delete_artifact_version(self, artifact_version_id: UUID | str) -> None:
        """Delete an artifact version, its files, its visualizations and the tiles showing them."""
        found = self.get_artifact_version(artifact_version_id)

        def write(cur: Cursor) -> list[tuple[str, UUID]]:
            if found.run_id is not None:
                self._need_write(cur, "pipeline_run", found.run_id, "pipeline run")
            elif not self._policy.write_grants.everything:
                raise AccessDeniedError("Only the owner may delete artifacts that no run produced.")
            self._refuse_changes_beyond(cur, "artifact version", version_ids=[found.id])
            return artifact_sql.delete_versions(cur, [found.id])

        self._remove_files(self._db.write(write))

    def get_artifact_visualization(
        self, visualization_id: UUID | str
    ) -> ArtifactVisualizationResponse:
        """One artifact visualization; raises EntityNotFoundError if missing or unreadable."""
        key = as_uuid(visualization_id)
        found = (
            None
            if key is None
            else self._read(
                lambda cur: artifact_sql.get_visualization(cur, self._policy, key), "viz", key
            )
        )
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
        """Read the file behind a visualization this client already returned (see load_visualization)."""
        uri = self.checked_uri(viz)
        if max_bytes is not None:
            size = self._artifact_store.file_size(uri)
            if size > max_bytes:
                raise ArtifactTooLargeError(
                    f"This visualization has {size / 1e6:.1f} MB, more than the "
                    f"{max_bytes / 1e6:.0f} MB shown inline; download it instead.",
                    size,
                )
        data = self._artifact_store.read_bytes(uri)
        if viz.type in TEXT_TYPES:
            value: str | bytes = _decode(data)
        else:
            value = data
        return LoadedVisualization(type=viz.type, value=value, uri=viz.uri)

    def visualization_size(self, viz: ArtifactVisualizationResponse) -> int:
        """The size in bytes of a visualization's file (one this client returned).

        Raises ArtifactLoadError when it is missing, ArtifactStoreUnreachableError when the
        store cannot be reached.
        """
        return self._artifact_store.file_size(self.checked_uri(viz))

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
        self._artifact_store.check(folder, strictly=True, what="Its artifact version's folder")
        self._artifact_store.scoped(folder).check(viz.uri, what="The visualization file")
        return viz.uri

    def checked_folder(self, av: ArtifactVersionResponse) -> str:
        """An artifact version's folder, checked to lie inside this client's artifact store.

        Raises ArtifactPathError otherwise.
        """
        return self._artifact_store.check(av.uri, strictly=True, what="The artifact's folder")

    # -- models and deployments -----------------------------------------------------------------

    def _create_named(
        self,
        kind: str,
        table: str,
        name: str,
        extra: dict[str, Any],
        check: Callable[[Cursor], None] | None = None,
    ) -> Any:
        """Insert a model or deployment row (name unique per project) and return it."""
        try:
            name = NameRequest(name=name).name.strip()
        except ValidationError as exc:
            raise _invalid(exc) from None
        self._need_write_new(kind, name)
        project = self.active_project

        def write(cur: Cursor) -> Any:
            if check is not None:
                check(cur)
            if cur.value(
                f"SELECT count(*) FROM {table} WHERE project_id = $p AND name = $n",
                {"p": project.id, "n": name},
            ):
                raise EntityExistsError(
                    f"A {kind} named '{name}' already exists in project '{project.name}'."
                )
            key = new_id()
            columns = ", ".join(["id", "project_id", "name", *extra, "created"])
            values = ", ".join(f"${c}" for c in ["id", "p", "n", *extra, "t"])
            cur.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({values})",
                {"id": key, "p": project.id, "n": name, **extra, "t": now()},
            )
            return resource_sql.get(cur, AccessPolicy.owner(), kind, key, None)

        return self._db.write(write)

    def _delete_leaf(self, kind: str, table: str, found: Any) -> None:
        """Delete a model or deployment and the tiles on it, after the write check."""

        def write(cur: Cursor) -> None:
            self._need_write(cur, kind, found.id, kind)
            tile_sql.delete_for_resource(cur, kind, [found.id])
            cur.execute(f"DELETE FROM {table} WHERE id = $id", {"id": found.id})

        self._db.write(write)

    def create_model(self, name: str, description: str | None = None) -> ModelResponse:
        """Register a model in the active project; raises EntityExistsError if the name is
        taken, AccessDeniedError without a write grant for it."""
        return self._create_named("model", "models", name, {"description": description})

    def get_model(self, id_or_name: UUID | str) -> ModelResponse:
        """A model by id or name; raises EntityNotFoundError."""
        return self._get_resource("model", id_or_name, "model")

    def list_models(
        self, page: int = 1, size: int = 50, name_contains: str | None = None
    ) -> Page[ModelResponse]:
        """The readable models of the active project, newest first."""
        return self._list_resource("model", page, size, name_contains=name_contains)

    def delete_model(self, id_or_name: UUID | str) -> None:
        """Delete a model and the tiles on it."""
        self._delete_leaf("model", "models", self.get_model(id_or_name))

    def create_deployment(
        self, name: str, snapshot_id: UUID | str | None = None
    ) -> DeploymentResponse:
        """Register a deployment, optionally of a snapshot; raises EntityExistsError,
        EntityNotFoundError (unknown snapshot) or AccessDeniedError."""
        sid = None if snapshot_id is None else require_uuid(snapshot_id, "snapshot_id")

        def snapshot_exists(cur: Cursor) -> None:
            if (
                sid is not None
                and resource_sql.get(cur, self._policy, "pipeline_snapshot", sid, None) is None
            ):
                raise _not_found("snapshot", sid)

        return self._create_named(
            "deployment", "deployments", name, {"snapshot_id": sid}, snapshot_exists
        )

    def get_deployment(self, id_or_name: UUID | str) -> DeploymentResponse:
        """A deployment by id or name; raises EntityNotFoundError."""
        return self._get_resource("deployment", id_or_name, "deployment")

    def list_deployments(
        self, page: int = 1, size: int = 50, name_contains: str | None = None
    ) -> Page[DeploymentResponse]:
        """The readable deployments of the active project, newest first."""
        return self._list_resource("deployment", page, size, name_contains=name_contains)

    def delete_deployment(self, id_or_name: UUID | str) -> None:
        """Delete a deployment and the tiles on it."""
        self._delete_leaf("deployment", "deployments", self.get_deployment(id_or_name))

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
    ) -> CuratedVisualizationResponse:
        """Pin a visualization as a tile on a resource; returns the hydrated tile.

        Raises InvalidInputError (a ValueError) for bad values or when the visualization and the
        resource are in different projects; EntityNotFoundError when either is missing or
        unreadable; AccessDeniedError without write access to the resource; EntityExistsError
        when that visualization is already on the resource or the display_order is taken.
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
            )
        except ValidationError as exc:
            raise _invalid(exc) from None
        rtype = req.resource_type.value

        def write(cur: Cursor) -> CuratedVisualizationResponse:
            found = artifact_sql.get_visualization(cur, self._policy, req.artifact_visualization_id)
            if found is None:
                raise _not_found("artifact visualization", req.artifact_visualization_id)
            viz, viz_project = found
            target_project = self._need_write(cur, rtype, req.resource_id, rtype.replace("_", " "))
            if req.project_id is not None and req.project_id != viz_project:
                raise InvalidInputError(
                    f"The visualization belongs to project {viz_project}, not to project {req.project_id}."
                )
            if target_project != viz_project:
                raise InvalidInputError(
                    f"The visualization and the {rtype.replace('_', ' ')} are in different projects; "
                    "a tile can only show a visualization of its resource's project."
                )
            if tile_sql.pair_taken(cur, viz.id, rtype, req.resource_id):
                raise EntityExistsError(
                    f"This visualization is already a tile on that {rtype.replace('_', ' ')}."
                )
            if req.display_order is not None and tile_sql.order_taken(
                cur, rtype, req.resource_id, req.display_order
            ):
                raise EntityExistsError(
                    f"display_order {req.display_order} is already used by another tile on that "
                    f"{rtype.replace('_', ' ')}; pick a free number (gaps of 10 leave room)."
                )
            key, stamp = new_id(), now()
            tile_sql.insert(
                cur,
                {
                    "id": key,
                    "p": viz_project,
                    "v": viz.id,
                    "av": viz.artifact_version_id,
                    "rt": rtype,
                    "rid": req.resource_id,
                    "n": req.display_name,
                    "o": req.display_order,
                    "s": req.layout_size.value,
                    "t": stamp,
                    "vtype": viz.type.value,
                    "vuri": viz.uri,
                    "vpos": viz.position,
                },
            )
            return tile_sql.get(cur, AccessPolicy.owner(), key)

        return self._remember_tile(self._db.write(write))

    def _remember_tile(self, tile: CuratedVisualizationResponse) -> CuratedVisualizationResponse:
        self._db.remember((self._policy.key(), "tile", tile.id, True), tile)
        return tile

    def get_curated_visualization(
        self, visualization_id: UUID | str, hydrate: bool = True
    ) -> CuratedVisualizationResponse:
        """A tile; hydrated with its visualization and source. Raises EntityNotFoundError when
        it is missing or its resource is unreadable."""
        key = as_uuid(visualization_id)
        found = (
            None
            if key is None
            else self._read(
                lambda cur: tile_sql.get(cur, self._policy, key, hydrate), "tile", key, hydrate
            )
        )
        if found is None:
            raise _not_found("curated visualization", visualization_id)
        return found

    def update_curated_visualization(
        self,
        visualization_id: UUID | str,
        display_name: str | None = None,
        display_order: int | None = None,
        layout_size: CuratedVisualizationSize | str | None = None,
    ) -> CuratedVisualizationResponse:
        """Change only the fields given (None leaves a field as it is); returns the tile.

        Raises InvalidInputError, EntityNotFoundError, AccessDeniedError, or EntityExistsError
        when the new display_order is used by another tile on the same resource.
        """
        key = as_uuid(visualization_id)
        if key is None:
            raise _not_found("curated visualization", visualization_id)
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
        changes = update.model_dump(exclude_unset=True)

        def write(cur: Cursor) -> CuratedVisualizationResponse:
            tile = tile_sql.get(cur, self._policy, key, hydrate=False)
            if tile is None:
                raise _not_found("curated visualization", key)
            rtype = tile.resource_type.value
            self._need_write(cur, rtype, tile.resource_id, rtype.replace("_", " "))
            order = changes.get("display_order")
            if order is not None and tile_sql.order_taken(
                cur, rtype, tile.resource_id, order, except_id=key
            ):
                raise EntityExistsError(
                    f"display_order {order} is already used by another tile on that {rtype.replace('_', ' ')}."
                )
            if changes:
                sets = ", ".join(f"{k} = ${k}" for k in changes)
                params = {k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()}
                cur.execute(
                    f"UPDATE curated_visualizations SET {sets}, updated = $t WHERE id = $id",
                    {**params, "t": now(), "id": key},
                )
            return tile_sql.get(cur, AccessPolicy.owner(), key)

        return self._remember_tile(self._db.write(write))

    def delete_curated_visualization(self, visualization_id: UUID | str) -> None:
        """Delete a tile; raises EntityNotFoundError or AccessDeniedError."""
        key = as_uuid(visualization_id)
        if key is None:
            raise _not_found("curated visualization", visualization_id)

        def write(cur: Cursor) -> None:
            tile = tile_sql.get(cur, self._policy, key, hydrate=False)
            if tile is None:
                raise _not_found("curated visualization", key)
            rtype = tile.resource_type.value
            self._need_write(cur, rtype, tile.resource_id, rtype.replace("_", " "))
            cur.execute("DELETE FROM curated_visualizations WHERE id = $id", {"id": key})

        self._db.write(write)

    def list_curated_visualizations(
        self, resource_type: VisualizationResourceTypes | str, resource_id: UUID | str
    ) -> list[CuratedVisualizationResponse]:
        """The tiles on a resource in display order: lower display_order first, unset last in
        creation order. Empty when the resource is missing or unreadable."""
        try:
            rtype = VisualizationResourceTypes(resource_type).value
        except ValueError:
            raise InvalidInputError(
                f"resource_type must be one of {', '.join(t.value for t in VisualizationResourceTypes)}, "
                f"not {resource_type!r}."
            ) from None
        rid = require_uuid(resource_id, "resource_id")
        return self._read(
            lambda cur: tile_sql.list_for(cur, self._policy, rtype, rid), "tiles", rtype, rid
        )

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
        rtype = VisualizationResourceTypes(resource_type).value
        rid = require_uuid(resource_id, "resource_id")
        wanted = [require_uuid(t, "tile id") for t in ordered_ids]

        def write(cur: Cursor) -> list[CuratedVisualizationResponse]:
            self._need_write(cur, rtype, rid, rtype.replace("_", " "))
            current = [t.id for t in tile_sql.list_for(cur, AccessPolicy.owner(), rtype, rid)]
            unknown = [t for t in wanted if t not in current]
            if unknown:
                raise _not_found("curated visualization on that resource", unknown[0])
            stamp = now()
            for position, tile_id in enumerate(dict.fromkeys([*wanted, *current]), start=1):
                cur.execute(
                    "UPDATE curated_visualizations SET display_order = $o, updated = $t "
                    "WHERE id = $id AND display_order IS DISTINCT FROM $o",
                    {"o": position * 10, "t": stamp, "id": tile_id},
                )
            return tile_sql.list_for(cur, AccessPolicy.owner(), rtype, rid)

        return self._db.write(write)

    def can_write(
        self, resource_type: VisualizationResourceTypes | str, resource_id: UUID | str
    ) -> bool:
        """Whether this user may change tiles on a resource (for showing edit controls)."""
        rtype = VisualizationResourceTypes(resource_type).value
        rid = require_uuid(resource_id, "resource_id")

        def read(cur: Cursor) -> bool:
            table, _, _ = _TARGETS[rtype]
            where, params = self._policy.sql(rtype, "x", "write")
            params["key"] = rid
            return bool(
                cur.value(f"SELECT count(*) FROM {table} x WHERE x.id = $key AND {where}", params)
            )

        return self._read(read, "can_write", rtype, rid)


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
