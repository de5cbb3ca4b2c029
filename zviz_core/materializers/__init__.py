"""Materializers: how step outputs are saved, loaded and visualized."""

from zviz_core.materializers.base import BaseMaterializer, materializer_for

__all__ = ["BaseMaterializer", "materializer_for"]
