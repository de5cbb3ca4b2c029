"""Frozen pydantic models: what the Client returns and the requests it validates before writing."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from zviz_core.enums import (
    CuratedVisualizationSize,
    ExecutionStatus,
    TileFollow,
    VisualizationResourceTypes,
    VisualizationType,
)
from zviz_core.errors import UnboundResponseError
from zviz_core.names import text_problem

if TYPE_CHECKING:
    from zviz_core.client import Client

MAX_NAME_LENGTH = 200
T = TypeVar("T")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Bound(_Model):
    """A response that can load more of itself through the Client that produced it."""

    _client: Client | None = PrivateAttr(default=None)

    def _bind(self, client: Client) -> _Bound:
        self._client = client
        return self

    def _require_client(self) -> Client:
        """The client that returned this object; never a stand-in owner, so an object built
        by hand cannot read past the access rules. Raises UnboundResponseError."""
        if self._client is None:
            raise UnboundResponseError(
                f"This {type(self).__name__} was not returned by a Client, so it cannot load "
                "more; get it through a Client (for example Client().get_pipeline_run(id))."
            )
        return self._client


class Page(_Model, Generic[T]):
    """One page of a list: `items`, the `total` number matching, and where this page is.

    `total_capped` says that more than `total` match: a search stops counting there.
    """

    items: list[T]
    total: int
    page: int
    size: int
    total_capped: bool = False

    @property
    def total_pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def __iter__(self):  # type: ignore[override]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class ProjectResponse(_Model):
    id: UUID
    name: str
    created: datetime


class PipelineResponse(_Model):
    id: UUID
    name: str
    project_id: UUID
    created: datetime


class SnapshotResponse(_Model):
    """The resolved configuration a run executed; runs with identical configuration share one."""

    id: UUID
    project_id: UUID
    pipeline_id: UUID
    pipeline_name: str
    config: dict[str, Any]
    created: datetime

    @property
    def name(self) -> str:
        return f"{self.pipeline_name}@{str(self.id)[:8]}"


class ArtifactVisualizationResponse(_Model):
    id: UUID
    type: VisualizationType
    uri: str
    artifact_version_id: UUID
    position: int
    # The folder of its artifact version as the store recorded it: the file must lie inside.
    _folder: str | None = PrivateAttr(default=None)


class ArtifactVersionResponse(_Bound):
    id: UUID
    name: str
    version: int
    artifact_id: UUID
    project_id: UUID
    uri: str
    data_type: str
    materializer: str
    run_id: UUID | None
    step_run_id: UUID | None
    output_name: str | None
    metadata: dict[str, Any]
    created: datetime
    visualizations: list[ArtifactVisualizationResponse]
    run_name: str | None = None
    step_name: str | None = None
    pipeline_name: str | None = None

    def load(self) -> Any:
        """Load the stored value with its materializer; raises ArtifactLoadError if unreadable."""
        from zviz_core.artifacts.loading import load_artifact

        return load_artifact(self, self._require_client().artifact_store)

    def visualize(self) -> list[ArtifactVisualizationResponse] | None:
        """Show every visualization: rich output in Jupyter, a listing of files elsewhere.

        In a notebook it returns None, as ZenML's does, so a cell shows only the
        visualizations; elsewhere it returns the visualizations it listed. Visualizations that
        cannot be read are reported in place; the others are still shown.
        """
        from zviz_core.artifacts.display import visualize

        return visualize(self, self._require_client())


class StepRunResponse(_Bound):
    id: UUID
    name: str
    run_id: UUID
    position: int
    status: ExecutionStatus
    start_time: datetime
    end_time: datetime | None
    error: str | None
    config: dict[str, Any]
    outputs: dict[str, list[ArtifactVersionResponse]]
    inputs: dict[str, ArtifactVersionResponse]

    @property
    def output(self) -> ArtifactVersionResponse:
        """The single output; raises ValueError when the step has none or several."""
        if len(self.outputs) != 1:
            names = ", ".join(self.outputs) or "none"
            raise ValueError(
                f"Step '{self.name}' has {len(self.outputs)} outputs ({names}); "
                "use .outputs[name] instead."
            )
        return next(iter(self.outputs.values()))[0]


class ArtifactUse(_Model):
    """A step that read an artifact version as an input: its run, pipeline and input name."""

    run_id: UUID
    run_name: str
    pipeline_name: str
    step_name: str
    input_name: str


class ArtifactHistoryEntry(_Model):
    """One version of an artifact, with the steps (in runs the user may read) that used it,
    newest first, at most `ArtifactHistory` bounds."""

    version: ArtifactVersionResponse
    used_by: list[ArtifactUse]
    more_uses: int = 0


class PipelineRunResponse(_Bound):
    id: UUID
    name: str
    status: ExecutionStatus
    project_id: UUID
    pipeline: PipelineResponse
    snapshot_id: UUID
    start_time: datetime
    end_time: datetime | None
    error: str | None
    created: datetime
    run_number: int | None = None  # the run's place among its pipeline's runs, from 1
    _steps: dict[str, StepRunResponse] | None = PrivateAttr(default=None)
    _outputs: dict[str, ArtifactVersionResponse] | None = PrivateAttr(default=None)

    @property
    def steps(self) -> dict[str, StepRunResponse]:
        """The run's steps by name, in execution order (loaded on first use)."""
        if self._steps is None:
            self._steps = self._require_client()._load_steps(self.id)
        return self._steps

    @property
    def duration_s(self) -> float | None:
        return None if self.end_time is None else (self.end_time - self.start_time).total_seconds()

    def snapshot(self) -> SnapshotResponse:
        """The snapshot (resolved configuration) this run executed."""
        return self._require_client().get_snapshot(self.snapshot_id)

    @property
    def outputs(self) -> dict[str, ArtifactVersionResponse]:
        """The artifact versions the pipeline function returned, keyed by output name (ZenML's
        `run.outputs`): a returned step output under its output name, a tuple of them under
        each one's; a name two returned outputs share is written `step.output`. Empty for a
        pipeline that returned nothing, or a run that did not complete. Loaded on first use;
        raises EntityNotFoundError when the run is no longer readable."""
        if self._outputs is None:
            self._outputs = self._require_client()._load_run_outputs(self.id)
        return self._outputs

    @property
    def artifact_versions(self) -> list[ArtifactVersionResponse]:
        """Every output artifact version of the run's steps, in step order then output order."""
        return [av for step in self.steps.values() for avs in step.outputs.values() for av in avs]

    @property
    def produced_artifact_versions(self) -> list[ArtifactVersionResponse]:
        """The artifact versions produced during this run. zviz runs every step (there is no
        cache), so this is the same list as `artifact_versions`."""
        return self.artifact_versions

    def __getattr__(self, name: str) -> Any:
        # ZenML's documentation writes `pipeline_run.output.get(...)`, a typo ZenML itself
        # does not accept; say what to write instead of a bare AttributeError.
        if name == "output":
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute 'output'; did you mean "
                "`outputs` (the artifact versions the pipeline returned, by output name)?"
            )
        return super().__getattr__(name)  # type: ignore[misc]


class ModelResponse(_Model):
    id: UUID
    name: str
    project_id: UUID
    description: str | None
    created: datetime


class DeploymentResponse(_Model):
    id: UUID
    name: str
    project_id: UUID
    snapshot_id: UUID | None
    created: datetime


class ResourceRef(_Model):
    id: UUID
    type: VisualizationResourceTypes


class CuratedVisualizationResponse(_Model):
    id: UUID
    project_id: UUID
    # A following tile's are those of the version it shows now: None while it shows nothing.
    artifact_visualization_id: UUID | None
    artifact_version_id: UUID | None
    display_name: str | None
    display_order: int | None
    layout_size: CuratedVisualizationSize
    resource_type: VisualizationResourceTypes
    resource_id: UUID
    created: datetime
    updated: datetime
    artifact_visualization: ArtifactVisualizationResponse | None = None
    artifact_name: str | None = None
    artifact_version: int | None = None
    run_id: UUID | None = None
    run_name: str | None = None
    # False when the tile shows an artifact of a run this user may not read: the artifact's and
    # run's names and ids are then left out, so a tile never names what its viewer cannot open.
    source_readable: bool = True
    # Set for a tile that follows the latest version instead of pinning one (see TileFollow).
    follow: TileFollow | None = None
    # A following tile: when the version it shows was made (None while it shows nothing).
    shown_created: datetime | None = None

    @property
    def resource(self) -> ResourceRef:
        return ResourceRef(id=self.resource_id, type=self.resource_type)

    @property
    def title(self) -> str:
        if self.display_name:
            return self.display_name
        if self.artifact_name:
            if self.follow is not None:
                return f"Latest {self.artifact_name}"
            return f"{self.artifact_name} v{self.artifact_version}"
        return "Latest version" if self.follow is not None else "Untitled visualization"


class LoadedVisualization(_Model):
    """A visualization's content: `value` is str for text types and bytes for images."""

    type: VisualizationType
    value: str | bytes
    uri: str


def _check_name(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ValueError("display_name must not be empty; leave it out to use the artifact's name")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(
            f"display_name has {len(value)} characters; at most {MAX_NAME_LENGTH} are allowed"
        )
    problem = text_problem(value)
    if problem:
        raise ValueError(f"display_name {problem}; use visible text")
    return value


class CuratedVisualizationRequest(_Model):
    artifact_visualization_id: UUID
    resource_id: UUID
    resource_type: VisualizationResourceTypes
    project_id: UUID | None = None
    display_name: str | None = None
    display_order: int | None = Field(default=None, ge=0, le=2**31 - 1)
    layout_size: CuratedVisualizationSize = CuratedVisualizationSize.FULL_WIDTH
    follow: TileFollow | None = None

    _name = field_validator("display_name")(classmethod(lambda cls, v: _check_name(v)))


class CuratedVisualizationUpdate(_Model):
    display_name: str | None = None
    display_order: int | None = Field(default=None, ge=0, le=2**31 - 1)
    layout_size: CuratedVisualizationSize | None = None

    _name = field_validator("display_name")(classmethod(lambda cls, v: _check_name(v)))


class NameRequest(_Model):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"\S")

    @field_validator("name")
    @classmethod
    def _visible(cls, value: str) -> str:
        problem = text_problem(value)
        if problem:
            raise ValueError(f"the name {problem}; use visible text")
        return value


# -- metrics and comparisons --------------------------------------------------------------------


class RunMetadataEntry(_Model):
    """One metric or metadata value of a run: `name` is its path (`evaluate.metrics.accuracy`),
    `number` its value when numeric, `source` "output" (a step's JSON output) or "log"
    (`log_metadata`)."""

    name: str
    step_name: str | None
    number: float | None
    value: Any
    source: str


class MetricPoint(_Model):
    """A metric's value in one run, for a chart across runs."""

    run_id: UUID
    run_name: str
    created: datetime
    status: str
    value: float


class ComparedRun(_Model):
    """A run in a comparison (one column)."""

    id: UUID
    name: str
    pipeline_id: UUID
    pipeline_name: str
    status: ExecutionStatus
    created: datetime


class ComparisonRow(_Model):
    """One output present in at least two of the compared runs: `versions` holds each run's
    artifact version (None where that run has no such output), in the order of the runs."""

    label: str
    step_name: str | None
    output_name: str
    versions: list[ArtifactVersionResponse | None]


class MetricRow(_Model):
    """One metric across the compared runs: values and differences to the first run (None where
    missing), the direction ("max", "min" or None when unknown) and the indexes of the best and
    worst runs (empty when the direction is unknown or all values are equal)."""

    name: str
    values: list[float | None]
    deltas: list[float | None]
    direction: str | None
    best: list[int]
    worst: list[int]


class RunComparison(_Model):
    """What `Client.compare_runs` returns: the readable runs in the order asked, how many asked
    for were not found (or not readable, which looks the same), how outputs were aligned
    ("step": by step and output name, all runs being of one pipeline; "output": by output
    name), the aligned output rows and the metric rows."""

    runs: list[ComparedRun]
    hidden: int
    aligned_by: str
    rows: list[ComparisonRow]
    metrics: list[MetricRow]
