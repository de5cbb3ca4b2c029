"""numpy arrays: `.npy` data; a histogram for 1-D numbers, an image for 2-D or HxWx3/4 arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from zviz_core.artifacts.charts import histogram_png
from zviz_core.enums import VisualizationType
from zviz_core.materializers.base import BaseMaterializer

MAX_IMAGE_SIDE = 8192


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    data = array.astype(float)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return np.zeros(array.shape, dtype=np.uint8)
    low, high = float(finite.min()), float(finite.max())
    if low >= 0.0 and high <= 1.0 and np.issubdtype(array.dtype, np.floating):
        low, high = 0.0, 1.0
    elif low >= 0 and high <= 255 and np.issubdtype(array.dtype, np.integer):
        low, high = 0.0, 255.0
    scale = (high - low) or 1.0
    data = np.nan_to_num((data - low) / scale, nan=0.0, posinf=1.0, neginf=0.0)
    return (np.clip(data, 0, 1) * 255).round().astype(np.uint8)


class NumpyMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (np.ndarray,)

    def save(self, data: np.ndarray) -> None:
        with self.artifact_store.open(self.path("data.npy"), "wb") as fh:
            np.save(fh, data, allow_pickle=False)

    def load(self, data_type: type) -> np.ndarray:
        with self.artifact_store.open(self.path("data.npy"), "rb") as fh:
            return np.load(fh, allow_pickle=False)

    def save_visualizations(self, data: np.ndarray) -> dict[str, VisualizationType]:
        numeric = np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_
        if not numeric or data.size == 0:
            return {}
        if data.ndim == 1:
            path = self.path("histogram.png")
            with self.artifact_store.open(path, "wb") as fh:
                fh.write(histogram_png(data))
            return {path: VisualizationType.IMAGE}
        is_color = data.ndim == 3 and data.shape[2] in (3, 4)
        if (data.ndim == 2 or is_color) and max(data.shape[:2]) <= MAX_IMAGE_SIDE:
            from PIL import Image

            mode = "L" if data.ndim == 2 else ("RGB" if data.shape[2] == 3 else "RGBA")
            path = self.path("image.png")
            with self.artifact_store.open(path, "wb") as fh:
                Image.fromarray(_to_uint8(data), mode=mode).save(fh, format="PNG")
            return {path: VisualizationType.IMAGE}
        return {}

    def extract_metadata(self, data: np.ndarray) -> dict[str, Any]:
        meta: dict[str, Any] = {"shape": list(data.shape), "dtype": str(data.dtype)}
        if np.issubdtype(data.dtype, np.number) and data.size:
            finite = data[np.isfinite(data)] if np.issubdtype(data.dtype, np.floating) else data
            if finite.size:
                meta.update(
                    min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean())
                )
        return meta
