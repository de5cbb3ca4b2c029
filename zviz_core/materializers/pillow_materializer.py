"""PIL images: the saved image file is both the data and the visualization."""

from __future__ import annotations

from typing import Any

from PIL import Image

from zviz_core.enums import VisualizationType
from zviz_core.materializers.base import BaseMaterializer

FILENAME = "image.png"


class PillowImageMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (Image.Image,)

    def save(self, data: Image.Image) -> None:
        image = (
            data
            if data.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")
            else data.convert("RGBA")
        )
        with self.artifact_store.open(self.path(FILENAME), "wb") as fh:
            image.save(fh, format="PNG")

    def load(self, data_type: type) -> Image.Image:
        with self.artifact_store.open(self.path(FILENAME), "rb") as fh:
            image = Image.open(fh)
            image.load()
        return image

    def save_visualizations(self, data: Image.Image) -> dict[str, VisualizationType]:
        return {self.path(FILENAME): VisualizationType.IMAGE}

    def extract_metadata(self, data: Image.Image) -> dict[str, Any]:
        return {"width": data.width, "height": data.height, "mode": data.mode}
