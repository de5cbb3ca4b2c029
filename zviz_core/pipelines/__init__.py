"""`@step` and `@pipeline`: define steps and pipelines, run them in process, record everything."""

from zviz_core.pipelines.pipeline import Pipeline, log_metadata, pipeline
from zviz_core.pipelines.step import Step, step

__all__ = ["Pipeline", "Step", "log_metadata", "pipeline", "step"]
