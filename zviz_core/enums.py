"""String enums with ZenML's names and values, plus zviz's own additions."""

from __future__ import annotations

from enum import StrEnum


class VisualizationType(StrEnum):
    CSV = "csv"
    HTML = "html"
    IMAGE = "image"
    MARKDOWN = "markdown"
    JSON = "json"
    VEGA_LITE = "vega_lite"


class CuratedVisualizationSize(StrEnum):
    FULL_WIDTH = "full_width"
    HALF_WIDTH = "half_width"


class TileFollow(StrEnum):
    """What a following tile shows the latest version of (a zviz addition; ZenML's tiles pin
    one visualization)."""

    ARTIFACT = "artifact"  # any version of the picked version's artifact
    OUTPUT = "output"  # the same output of the same step in runs of the same pipeline


class VisualizationResourceTypes(StrEnum):
    DEPLOYMENT = "deployment"
    MODEL = "model"
    PIPELINE = "pipeline"
    PIPELINE_RUN = "pipeline_run"
    PIPELINE_SNAPSHOT = "pipeline_snapshot"
    PROJECT = "project"


class ExecutionStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def is_finished(self) -> bool:
        return self is not ExecutionStatus.RUNNING
