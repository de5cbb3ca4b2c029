"""ZenML's StructuredStringMaterializer (`zenml.materializers.structured_string_materializer`).

zviz stores each string type with its own materializer (HTMLStringMaterializer & co in
`builtin`); this class hands each value to the one for its type, so the files and the
visualizations are the same. It registers no type itself (the four built-ins stay the ones zviz
picks), but a subclass with its own ASSOCIATED_TYPES registers as any materializer does.
"""

from __future__ import annotations

from typing import Any

from zviz_core.enums import VisualizationType
from zviz_core.materializers.base import BaseMaterializer
from zviz_core.materializers.builtin import (
    CSVStringMaterializer,
    HTMLStringMaterializer,
    JSONStringMaterializer,
    MarkdownStringMaterializer,
)
from zviz_core.types import CSVString, HTMLString, JSONString, MarkdownString

_BY_TYPE: dict[type, type[BaseMaterializer]] = {
    HTMLString: HTMLStringMaterializer,
    MarkdownString: MarkdownStringMaterializer,
    CSVString: CSVStringMaterializer,
    JSONString: JSONStringMaterializer,
}


class StructuredStringMaterializer(BaseMaterializer):
    """HTMLString, MarkdownString, CSVString and JSONString, each as its built-in stores it."""

    ASSOCIATED_TYPES = (CSVString, HTMLString, MarkdownString, JSONString)
    _ALIAS_ONLY = True

    def _for(self, data_type: type) -> BaseMaterializer:
        for string_type, materializer in _BY_TYPE.items():
            if issubclass(data_type, string_type):
                return materializer(self.uri, self.artifact_store)
        raise TypeError(
            f"{type(self).__name__} stores HTMLString, MarkdownString, CSVString or JSONString "
            f"(or subclasses), not {data_type.__name__}."
        )

    def save(self, data: str) -> None:
        """Write the string as its type's file; raises TypeError for another type."""
        self._for(type(data)).save(data)

    def load(self, data_type: type) -> Any:
        """Read the string back as `data_type`; raises TypeError for another type."""
        return self._for(data_type).load(data_type)

    def save_visualizations(self, data: str) -> dict[str, VisualizationType]:
        """The saved file itself, as its type's visualization: {uri: type}."""
        return self._for(type(data)).save_visualizations(data)

    def extract_metadata(self, data: str) -> dict[str, Any]:
        """{"length": characters}."""
        return self._for(type(data)).extract_metadata(data)
