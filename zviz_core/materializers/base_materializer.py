"""ZenML's module path for BaseMaterializer (`zenml.materializers.base_materializer`).

The same class as `zviz_core.materializers.base.BaseMaterializer`, so a ZenML user's import line
`from zviz_core.materializers.base_materializer import BaseMaterializer` keeps working.
"""

from zviz_core.materializers.base import BaseMaterializer

__all__ = ["BaseMaterializer"]
