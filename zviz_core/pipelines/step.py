"""The `@step` decorator: a function whose outputs become stored, visualized artifact versions."""

from __future__ import annotations

import copy
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from zviz_core.materializers.base import BaseMaterializer
from zviz_core.names import check_path_name


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: Any = None


def _annotation_name(annotation: Any) -> tuple[Any, str | None]:
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        names = [e for e in extras if isinstance(e, str)]
        return base, (names[0] if names else None)
    return annotation, None


def parse_outputs(func: Callable[..., Any]) -> tuple[list[OutputSpec] | None, bool]:
    """Output specs from the return annotation, and whether the outputs are a tuple.

    Returns (None, False) when there is no usable annotation: the value decides at run time.
    """
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:
        hints = {}
    if "return" not in hints:
        return None, False
    annotation = hints["return"]
    if annotation is None or annotation is type(None):
        return [], False
    base, name = _annotation_name(annotation)
    if name is not None:
        return [OutputSpec(name, base)], False
    if get_origin(annotation) is tuple:
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        if args and not (len(get_args(annotation)) == 2 and get_args(annotation)[1] is Ellipsis):
            specs = []
            for i, arg in enumerate(args):
                arg_base, arg_name = _annotation_name(arg)
                specs.append(OutputSpec(arg_name or f"output_{i}", arg_base))
            return specs, True
    return [OutputSpec("output", annotation)], False


class Step:
    """A step: call it inside a pipeline to run and record it; outside one it is a plain function."""

    def __init__(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        enable_artifact_visualization: bool | None = None,
        output_materializers: type[BaseMaterializer]
        | Mapping[str, type[BaseMaterializer]]
        | None = None,
    ) -> None:
        self.entrypoint = func
        self.name = check_path_name(name or func.__name__, "Step name")
        self.enable_artifact_visualization = enable_artifact_visualization
        self.output_materializers = output_materializers
        self.signature = inspect.signature(func)
        self.outputs, self.returns_tuple = parse_outputs(func)
        for spec in self.outputs or ():
            check_path_name(spec.name, f"Output name of step '{self.name}'")
        functools.update_wrapper(self, func)

    def with_options(
        self,
        enable_artifact_visualization: bool | None = None,
        output_materializers: type[BaseMaterializer]
        | Mapping[str, type[BaseMaterializer]]
        | None = None,
    ) -> Step:
        """A copy of this step with the options given replacing the decorator's (ZenML's
        `step.with_options`); options left as None keep the decorator's value. Returns the copy."""
        clone = copy.copy(self)
        if enable_artifact_visualization is not None:
            clone.enable_artifact_visualization = enable_artifact_visualization
        if output_materializers is not None:
            clone.output_materializers = output_materializers
        return clone

    def materializer_override(self, output_name: str) -> type[BaseMaterializer] | None:
        chosen = self.output_materializers
        if chosen is None:
            return None
        if isinstance(chosen, Mapping):
            return chosen.get(output_name)
        return chosen

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from zviz_core.pipelines.pipeline import current_run

        run = current_run()
        if run is None:
            return self.entrypoint(*args, **kwargs)
        return run.run_step(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<zviz step {self.name}>"


def step(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    enable_artifact_visualization: bool | None = None,
    output_materializers: type[BaseMaterializer]
    | Mapping[str, type[BaseMaterializer]]
    | None = None,
) -> Any:
    """Turn a function into a Step; usable as `@step` or `@step(...)`. Returns the Step."""

    def wrap(f: Callable[..., Any]) -> Step:
        return Step(f, name, enable_artifact_visualization, output_materializers)

    return wrap(func) if func is not None else wrap
