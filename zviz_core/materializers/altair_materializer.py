"""Altair charts, stored as their Vega-Lite spec and shown as an interactive chart."""

from __future__ import annotations

import json
from typing import Any

import altair as alt

from zviz_core.enums import VisualizationType
from zviz_core.materializers.base import BaseMaterializer

FILENAME = "chart.vl.json"


class AltairChartMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (alt.TopLevelMixin,)

    def save(self, data: alt.TopLevelMixin) -> None:
        with alt.data_transformers.disable_max_rows():
            spec = data.to_dict()
        with self.artifact_store.open(self.path(FILENAME), "w") as fh:
            fh.write(json.dumps(spec))

    def load(self, data_type: type) -> Any:
        with self.artifact_store.open(self.path(FILENAME), "r") as fh:
            spec = json.load(fh)
        return data_type.from_dict(spec, validate=False)

    def save_visualizations(self, data: alt.TopLevelMixin) -> dict[str, VisualizationType]:
        return {self.path(FILENAME): VisualizationType.VEGA_LITE}

    def extract_metadata(self, data: alt.TopLevelMixin) -> dict[str, Any]:
        return {"chart": type(data).__name__}
