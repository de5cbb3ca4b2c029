"""zviz_core: run pipelines, store their artifacts and visualizations, and curate dashboards."""

from zviz_core.client import Client
from zviz_core.pipelines import log_metadata, pipeline, step

__all__ = ["Client", "log_metadata", "pipeline", "step"]
__version__ = "0.1.0"
