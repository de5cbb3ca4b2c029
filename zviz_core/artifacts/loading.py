"""Loading a stored artifact version back into a Python value with its materializer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zviz_core.artifacts.store import ArtifactStore
from zviz_core.errors import ArtifactLoadError, ArtifactStoreUnreachableError
from zviz_core.materializers.base import materializer_by_name, type_by_name

if TYPE_CHECKING:
    from zviz_core.models import ArtifactVersionResponse


def load_artifact(av: ArtifactVersionResponse, store: ArtifactStore) -> Any:
    """The value of an artifact version, read only from its own folder in `store`.

    The materializer and the data type are looked up in this process first (classes defined
    inside a function load back), then imported. A materializer without `load` returns None
    with a warning. Raises ArtifactLoadError when the materializer or type cannot be found here,
    or when the files are missing or corrupt; ArtifactPathError when the recorded folder lies
    outside the store; ArtifactStoreUnreachableError when the store cannot be reached.
    """
    import zviz_core.materializers.builtin  # noqa: F401

    try:
        materializer_cls = materializer_by_name(av.materializer)
        data_type = type_by_name(av.data_type)
    except (ImportError, AttributeError) as exc:
        raise ArtifactLoadError(
            f"Artifact '{av.name}' v{av.version} was saved by {av.materializer} as {av.data_type}, "
            f"which cannot be imported in this process ({exc}). Import the module that defines "
            "them first."
        ) from exc
    materializer = materializer_cls(av.uri, store.scoped(av.uri))
    try:
        return materializer.load(data_type)
    except FileNotFoundError as exc:
        raise ArtifactLoadError(
            f"Artifact '{av.name}' v{av.version} is missing from the artifact store ({av.uri}); "
            "its files were deleted or moved outside zviz."
        ) from exc
    except PermissionError as exc:
        raise ArtifactStoreUnreachableError(
            f"Artifact '{av.name}' v{av.version} cannot be read: access to {av.uri} was denied."
        ) from exc
    except ArtifactLoadError:
        raise
    except Exception as exc:
        raise ArtifactLoadError(
            f"Artifact '{av.name}' v{av.version} could not be loaded: its files at {av.uri} are "
            f"corrupt or were written by an incompatible materializer ({type(exc).__name__}: {exc})."
        ) from exc
