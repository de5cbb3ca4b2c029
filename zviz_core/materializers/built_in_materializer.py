"""ZenML's module path for the built-in materializers (`zenml.materializers.built_in_materializer`).

zviz stores bool, int, float, str, None and JSON-able containers with one materializer, so
ZenML's `BuiltInContainerMaterializer` is the same class as `BuiltInMaterializer` here.
"""

from zviz_core.materializers.builtin import BuiltInMaterializer, BytesMaterializer

BuiltInContainerMaterializer = BuiltInMaterializer

__all__ = ["BuiltInContainerMaterializer", "BuiltInMaterializer", "BytesMaterializer"]
