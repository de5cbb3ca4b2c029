"""Materializers for values that need no extra library: the string types, JSON-able built-ins, bytes."""

from __future__ import annotations

import json
from typing import Any

from zviz_core.enums import VisualizationType
from zviz_core.errors import MaterializerNotFoundError
from zviz_core.materializers.base import BaseMaterializer
from zviz_core.types import CSVString, HTMLString, JSONString, MarkdownString


class _TextFileMaterializer(BaseMaterializer):
    """A string type stored as one file that is itself the visualization."""

    SKIP_REGISTRATION = True
    FILENAME = "data.txt"
    VISUALIZATION: VisualizationType | None = None

    def save(self, data: str) -> None:
        with self.artifact_store.open(self.path(self.FILENAME), "w") as fh:
            fh.write(str(data))

    def load(self, data_type: type) -> Any:
        with self.artifact_store.open(self.path(self.FILENAME), "r") as fh:
            return data_type(fh.read())

    def save_visualizations(self, data: str) -> dict[str, VisualizationType]:
        return {self.path(self.FILENAME): self.VISUALIZATION} if self.VISUALIZATION else {}

    def extract_metadata(self, data: str) -> dict[str, Any]:
        return {"length": len(data)}


class HTMLStringMaterializer(_TextFileMaterializer):
    ASSOCIATED_TYPES = (HTMLString,)
    SKIP_REGISTRATION = False
    FILENAME = "report.html"
    VISUALIZATION = VisualizationType.HTML


class MarkdownStringMaterializer(_TextFileMaterializer):
    ASSOCIATED_TYPES = (MarkdownString,)
    SKIP_REGISTRATION = False
    FILENAME = "report.md"
    VISUALIZATION = VisualizationType.MARKDOWN


class CSVStringMaterializer(_TextFileMaterializer):
    ASSOCIATED_TYPES = (CSVString,)
    SKIP_REGISTRATION = False
    FILENAME = "data.csv"
    VISUALIZATION = VisualizationType.CSV


class JSONStringMaterializer(_TextFileMaterializer):
    ASSOCIATED_TYPES = (JSONString,)
    SKIP_REGISTRATION = False
    FILENAME = "data.json"
    VISUALIZATION = VisualizationType.JSON

    def save(self, data: str) -> None:
        try:
            json.loads(data)
        except ValueError as exc:
            raise ValueError(f"JSONString does not hold valid JSON: {exc}") from exc
        super().save(data)


class BuiltInMaterializer(BaseMaterializer):
    """bool, int, float, str, None and JSON-able lists, tuples and dicts, as `data.json`."""

    ASSOCIATED_TYPES = (bool, int, float, str, list, tuple, dict, type(None))
    FILENAME = "data.json"

    def save(self, data: Any) -> None:
        try:
            text = json.dumps(data, allow_nan=True, indent=1)
        except (TypeError, ValueError) as exc:
            raise MaterializerNotFoundError(
                f"A {type(data).__name__} output must be JSON-serialisable to be stored by the "
                f"built-in materializer ({exc}). Return plain values, or write a materializer for "
                "the objects inside it."
            ) from exc
        with self.artifact_store.open(self.path(self.FILENAME), "w") as fh:
            fh.write(text)

    def load(self, data_type: type) -> Any:
        with self.artifact_store.open(self.path(self.FILENAME), "r") as fh:
            value = json.load(fh)
        if data_type is tuple:
            return tuple(value)
        if data_type in (bool, int, float, str) and value is not None:
            return data_type(value)
        return value

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        return {self.path(self.FILENAME): VisualizationType.JSON}

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        if isinstance(data, list | tuple | dict | str):
            return {"length": len(data)}
        return {"value": data} if isinstance(data, bool | int | float) else {}


class BytesMaterializer(BaseMaterializer):
    """bytes as `data.txt`; the visualization shows them as text (Markdown)."""

    ASSOCIATED_TYPES = (bytes,)
    FILENAME = "data.txt"

    def save(self, data: bytes) -> None:
        with self.artifact_store.open(self.path(self.FILENAME), "wb") as fh:
            fh.write(data)

    def load(self, data_type: type) -> bytes:
        with self.artifact_store.open(self.path(self.FILENAME), "rb") as fh:
            return fh.read()

    def save_visualizations(self, data: bytes) -> dict[str, VisualizationType]:
        return {self.path(self.FILENAME): VisualizationType.MARKDOWN}

    def extract_metadata(self, data: bytes) -> dict[str, Any]:
        return {"size": len(data)}
