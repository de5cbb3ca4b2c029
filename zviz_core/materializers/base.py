"""BaseMaterializer and the registry that picks a materializer for a value's type.

A materializer writes one artifact into its own folder (`self.uri`), reads it back, and may write
visualization files. Subclasses register themselves for their ASSOCIATED_TYPES; the most specific
class in a value's MRO wins, and a later registration for the same type replaces an earlier one.
Built-ins for pandas, numpy, PIL and altair are imported only when a value of those libraries
shows up, so `import zviz_core` stays fast.

Loading finds a materializer and a data type by the qualified names stored with the artifact: in
this process's registries first (so classes defined inside a function or a notebook cell load
back), and by import only when they have no answer.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from typing import Any, ClassVar

from zviz_core.artifacts.store import ArtifactStore, join
from zviz_core.enums import VisualizationType
from zviz_core.errors import MaterializerNotFoundError

log = logging.getLogger(__name__)

_REGISTRY: dict[type, type[BaseMaterializer]] = {}
_BY_NAME: dict[str, type[BaseMaterializer]] = {}
# Data types by qualified name: every associated type, and every type a step output had in this
# process. A class defined inside a function cannot be imported by its name (`f.<locals>.X`).
_TYPES: dict[str, type] = {}
_LAZY_BUILTINS = {
    "pandas": "zviz_core.materializers.pandas_materializer",
    "numpy": "zviz_core.materializers.numpy_materializer",
    "PIL": "zviz_core.materializers.pillow_materializer",
    "altair": "zviz_core.materializers.altair_materializer",
}


def qualified_name(obj: type) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


class BaseMaterializer:
    """Saves and loads one kind of value, and builds its visualizations.

    Subclass it, set ASSOCIATED_TYPES, implement `save` and `load`, and optionally
    `save_visualizations` (returning {file uri: VisualizationType}) and `extract_metadata`.
    As in ZenML, every method has a default: `save` stores nothing and `load` returns None
    (with a warning), so a materializer that only builds visualizations works.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    SKIP_REGISTRATION: ClassVar[bool] = False

    def __init__(self, uri: str, artifact_store: ArtifactStore | None = None) -> None:
        self.uri = uri
        self.artifact_store = artifact_store or ArtifactStore(uri)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _BY_NAME[qualified_name(cls)] = cls
        # `_ALIAS_ONLY` is read from the class itself, not inherited: a ZenML-named alias of the
        # built-ins stays out of the registry, but a user's subclass of it registers as usual.
        if cls.SKIP_REGISTRATION or cls.__dict__.get("_ALIAS_ONLY", False):
            return
        for associated in cls.ASSOCIATED_TYPES:
            if not isinstance(associated, type):
                raise TypeError(
                    f"{cls.__name__}.ASSOCIATED_TYPES must hold types, not {associated!r}"
                )
            _REGISTRY[associated] = cls
            remember_type(associated)

    def path(self, name: str) -> str:
        """The URI of a file called `name` inside this artifact's folder."""
        return join(self.uri, name)

    def save(self, data: Any) -> None:
        """Write `data` into `self.uri`; returns None. The default writes nothing (as ZenML's),
        for materializers that only build visualizations."""

    def load(self, data_type: type) -> Any:
        """Read the value back as `data_type` and return it.

        The default (a materializer that defines no `load`, as ZenML's) returns None and warns
        with a UserWarning that names the materializer.
        """
        warnings.warn(
            f"{qualified_name(type(self))} defines no load(), so this artifact loads as None "
            f"(its visualizations are stored; the value of type {data_type.__name__} is not). "
            "Implement load() (and save()) to get the value back.",
            UserWarning,
            stacklevel=2,
        )
        return None

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """Write visualization files; return {uri: type} in the order they should be shown."""
        return {}

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        """Small JSON-able facts about the value (shape, dtype, length...)."""
        return {}


def _import_builtins_for(data_type: type) -> None:
    for cls in data_type.__mro__:
        root = cls.__module__.split(".", 1)[0]
        module = _LAZY_BUILTINS.get(root)
        if module:
            importlib.import_module(module)


def materializer_for(data_type: type) -> type[BaseMaterializer]:
    """The registered materializer for a type; raises MaterializerNotFoundError naming the type."""
    import zviz_core.materializers.builtin  # noqa: F401  (registers the always-present built-ins)

    _import_builtins_for(data_type)
    for cls in data_type.__mro__:
        found = _REGISTRY.get(cls)
        if found is not None:
            return found
    raise MaterializerNotFoundError(
        f"No materializer handles the type {qualified_name(data_type)}. Either return a type "
        "zviz knows (pandas DataFrame, numpy array, PIL image, altair chart, HTMLString & co, "
        "JSON-able built-ins, bytes), or write one: subclass "
        "zviz_core.materializers.BaseMaterializer with "
        f"ASSOCIATED_TYPES = ({data_type.__name__},) and implement save() and load(), "
        "then import it before the pipeline runs (or pass @step(output_materializers=...))."
    )


def import_by_name(name: str) -> Any:
    """Import a class from its qualified name; raises ImportError when it cannot be found."""
    module, _, attr = name.rpartition(".")
    while module:
        try:
            obj: Any = importlib.import_module(module)
        except ImportError:
            module, _, head = module.rpartition(".")
            attr = f"{head}.{attr}"
            continue
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError as exc:
            raise ImportError(f"{name} is not defined in module {module}") from exc
        return obj
    raise ImportError(f"{name} cannot be imported")


def remember_type(data_type: type) -> None:
    """Note a data type under its qualified name, so `type_by_name` finds it in this process
    even when it cannot be imported (defined inside a function or a notebook cell)."""
    _TYPES[qualified_name(data_type)] = data_type


def materializer_by_name(name: str) -> type[BaseMaterializer]:
    """A materializer class from its qualified name: the one defined in this process under that
    name (the latest, if several were), else imported. Raises ImportError when neither works."""
    return _BY_NAME.get(name) or import_by_name(name)


def type_by_name(name: str) -> type:
    """A data type from its qualified name: one seen in this process (an associated type or a
    step output's type), else imported. Raises ImportError when neither works."""
    found = _TYPES.get(name)
    return found if found is not None else import_by_name(name)
