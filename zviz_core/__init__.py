"""zviz_core: run pipelines, store their artifacts and visualizations, and curate dashboards."""

from zviz_core.client import Client
from zviz_core.pipelines import pipeline, step

__all__ = ["Client", "pipeline", "step"]
__version__ = "0.1.0"
