"""The `@pipeline` decorator and the in-process runner that records runs, steps and artifacts.

Steps run eagerly as the pipeline function calls them, and receive their inputs as the very
objects upstream steps returned. Each finished step is recorded in one write unit: the step row,
its artifact versions, their visualizations and its input edges, so a reader in another process
never sees half a step.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import hashlib
import inspect
import logging
import traceback
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from zviz_core.enums import ExecutionStatus, VisualizationType
from zviz_core.errors import ArtifactPathError, InvalidInputError, ZvizError
from zviz_core.names import check_path_name
from zviz_core.pipelines import logs as step_logs
from zviz_core.pipelines.config import RunConfig, from_options, load_config
from zviz_core.pipelines.step import OutputSpec, Step
from zviz_core.store import runs as run_sql
from zviz_core.store.util import dumps, now

if TYPE_CHECKING:
    from zviz_core.client import Client
    from zviz_core.models import PipelineRunResponse

log = logging.getLogger("zviz")
_CURRENT: contextvars.ContextVar[_RunContext | None] = contextvars.ContextVar(
    "zviz_run", default=None
)
_ACTIVE: contextvars.ContextVar[Client | None] = contextvars.ContextVar("zviz_client", default=None)


def current_run() -> _RunContext | None:
    return _CURRENT.get()


def active_client() -> Client:
    """The client pipelines run against here: the one activated by `Client.activated()` in
    this context (thread, task), else a new local-owner Client of the environment's store."""
    client = _ACTIVE.get()
    if client is None:
        from zviz_core.client import Client

        client = Client()
    return client


@contextlib.contextmanager
def activated(client: Client) -> Iterator[Client]:
    """Run pipelines called in this block (in this thread or task only) against `client`'s
    store, as that client's user."""
    token = _ACTIVE.set(client)
    try:
        yield client
    finally:
        _ACTIVE.reset(token)


def _error_text(exc: BaseException) -> str:
    """The exception's last line: what a run's summary shows."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:10_000]


TRACEBACK_KEEP = 100_000


def _traceback_text(exc: BaseException) -> str:
    """The whole traceback (chained exceptions too) from the step's own code down, bounded:
    a very long one keeps its start and its end, where the error is."""
    tb = exc.__traceback__
    # The first frame is the runner calling the step: the user's code starts below it.
    frames = tb.tb_next if tb is not None and tb.tb_next is not None else tb
    text = "".join(traceback.format_exception(type(exc), exc, frames)).strip()
    if len(text) <= TRACEBACK_KEEP:
        return text
    half = TRACEBACK_KEEP // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half:,} characters left out ...]\n{text[-half:]}"


class _RunContext:
    def __init__(
        self,
        client: Client,
        pipeline: Pipeline,
        config: RunConfig,
        run_id: UUID,
        run_name: str,
        project_id: UUID,
    ) -> None:
        self.client = client
        self.pipeline = pipeline
        self.config = config
        self.run_id = run_id
        self.run_name = run_name
        self.project_id = project_id
        self.step_names: set[str] = set()
        self.position = 0
        self.sources: dict[int, tuple[UUID, Any]] = {}
        # Artifact version id -> (step invocation name, output name), for the run's outputs.
        self.output_names: dict[UUID, tuple[str, str]] = {}
        self.failure_recorded = False
        self.current_step: str | None = None
        # Metrics and metadata of the running step, written with its record.
        self.pending_metadata: list[tuple] = []

    def log_metadata(self, rows: list[tuple[str, Any]], step_name: str | None) -> None:
        """Keep metadata logged for the running step with its record; metadata for the run
        (called outside a step) or for an earlier step of it is written now."""
        from zviz_core.store.store import metric_rows

        target = step_name or self.current_step
        if target is not None and target == self.current_step:
            self.pending_metadata.extend(metric_rows(rows, target))
            return
        store = self.client.store
        store.flush()
        store.log_metadata(self.client.policy, self.run_id, None, None, target, rows)

    def _invocation_name(self, step: Step) -> str:
        name, n = step.name, 1
        while name in self.step_names:
            n += 1
            name = f"{step.name}_{n}"
        self.step_names.add(name)
        return name

    def _visualize(self, step: Step, name: str) -> bool:
        """ZenML's rule: the step's setting wins whenever it is set (its run configuration,
        YAML `steps:` or `with_options(steps=...)`, over its decorator); else the pipeline's
        (run configuration over decorator); else on."""
        step_cfg = self.config.steps.get(name)
        step_value = step_cfg.enable_artifact_visualization if step_cfg is not None else None
        if step_value is None:
            step_value = step.enable_artifact_visualization
        if step_value is not None:
            return bool(step_value)
        pipeline_value = self.config.enable_artifact_visualization
        if pipeline_value is None:
            pipeline_value = self.pipeline.enable_artifact_visualization
        return True if pipeline_value is None else bool(pipeline_value)

    def run_step(self, step: Step, args: tuple, kwargs: dict) -> Any:
        name = self._invocation_name(step)
        position = self.position
        self.position += 1
        step_cfg = self.config.steps.get(name)
        if step_cfg and step_cfg.parameters:
            kwargs = {**step_cfg.parameters, **kwargs}
        try:
            bound = step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInputError(
                f"Step '{name}' was called with the wrong arguments: {exc}"
            ) from exc
        inputs: dict[str, UUID] = {}
        parameters: dict[str, Any] = {}
        for arg_name, value in bound.arguments.items():
            source = self.sources.get(id(value))
            if source is not None and source[1] is value:
                inputs[arg_name] = source[0]
            else:
                parameters[arg_name] = (
                    value
                    if isinstance(value, str | int | float | bool | None)
                    else repr(value)[:200]
                )
        visualize = self._visualize(step, name)
        step_config = {"enable_artifact_visualization": visualize, "parameters": parameters}
        step_id = uuid.uuid4()
        started = now()
        written: list[tuple[str, UUID]] = []
        started_write = run_sql.step_started(
            run_id=self.run_id,
            step_id=step_id,
            name=name,
            position=position,
            started=started,
            config_json=dumps(step_config),
            inputs=inputs,
        )

        announced = False

        def announce() -> None:
            # A step still running after a second is shown running (with its inputs and live
            # log) to readers; a quick one is recorded once, when it ends. Never called after
            # the log's final save, so `announced` is settled when the step's record is built.
            nonlocal announced
            announced = True
            self.client.store.record_step(started_write, background=True, on_error=lambda: None)

        self.current_step, self.pending_metadata = name, []
        with step_logs.capturing(sink=self._log_sink(step_id), on_live=announce) as captured:
            try:
                result = step.entrypoint(*bound.args, **bound.kwargs)
                self.current_step = None
                stored = self._store_outputs(step, name, result, visualize, written)
                # Outputs share one timestamp; their declared order is kept here for readers.
                step_config["outputs"] = [item["output_name"] for item in stored]
            except BaseException as exc:
                self.current_step = None
                details = _traceback_text(exc)
                captured.write(details + "\n")
                self._save_log(step_id, name, captured)
                self._discard(written)
                self._record_failure(
                    step_id, name, position, started, step_config, inputs, exc, details, announced
                )
                raise
        self._save_log(step_id, name, captured)
        write = self._step_record(
            step_id,
            name,
            position,
            started,
            now(),
            step_config,
            inputs,
            stored=stored,
            metadata=self.pending_metadata,
            started_recorded=announced,
        )
        self.pending_metadata = []
        self.client.store.record_step(
            write, background=True, on_error=lambda: self._discard(written)
        )
        for item, value in zip(stored, self._values(step, result, len(stored)), strict=True):
            self.sources[id(value)] = (item["version_id"], value)
            self.output_names[item["version_id"]] = (name, item["output_name"])
        return result

    def returned_outputs(self, returned: Any) -> dict[str, str]:
        """{output name: artifact version id} of what the pipeline function returned: one step
        output, or a tuple of them. Values no step produced are not artifacts and are left out
        (with a warning). A name used twice is qualified by its step: `step.output`."""
        values = list(returned) if isinstance(returned, tuple) else [returned]
        found: list[tuple[str, str, UUID]] = []
        for value in values:
            source = self.sources.get(id(value))
            if source is not None and source[1] is value:
                found.append((*self.output_names[source[0]], source[0]))
            elif value is not None:
                log.warning(
                    "zviz: pipeline %s returned a %s that no step produced; only step outputs "
                    "are recorded as the run's outputs.",
                    self.pipeline.name,
                    type(value).__name__,
                )
        counts: dict[str, int] = {}
        for _, output, _ in found:
            counts[output] = counts.get(output, 0) + 1
        outputs: dict[str, str] = {}
        for step_name, output, version_id in found:
            key = output if counts[output] == 1 else f"{step_name}.{output}"
            outputs.setdefault(key, str(version_id))
        return outputs

    def _step_record(
        self,
        step_id: UUID,
        name: str,
        position: int,
        started: datetime,
        finished: datetime,
        step_config: dict,
        inputs: dict[str, UUID],
        stored: list[dict[str, Any]] | None = None,
        error: str | None = None,
        summary: str | None = None,
        metadata: list[tuple] | None = None,
        started_recorded: bool = True,
    ) -> Callable[[Any], None]:
        return run_sql.step_record(
            run_id=self.run_id,
            step_id=step_id,
            name=name,
            position=position,
            started=started,
            finished=finished,
            config_json=dumps(step_config),
            inputs=inputs,
            stored=stored or [],
            error=error,
            summary=summary,
            run_name=self.run_name,
            pipeline_name=self.pipeline.name,
            metadata=metadata or [],
            started_recorded=started_recorded,
        )

    def _record_failure(
        self,
        step_id: UUID,
        name: str,
        position: int,
        started: datetime,
        step_config: dict,
        inputs: dict[str, UUID],
        exc: BaseException,
        details: str,
        started_recorded: bool = True,
    ) -> None:
        try:
            self.client.store.flush()
        except BaseException as earlier:
            log.error(
                "zviz: an earlier step of run %s could not be recorded: %s", self.run_name, earlier
            )
        write = self._step_record(
            step_id,
            name,
            position,
            started,
            now(),
            step_config,
            inputs,
            error=details,
            summary=_error_text(exc),
            metadata=self.pending_metadata,
            started_recorded=started_recorded,
        )
        self.pending_metadata = []
        try:
            self.client.store.record_step(write, background=False, on_error=lambda: None)
            self.failure_recorded = True
        except ZvizError:
            log.exception("zviz could not record the failure of step %s", name)

    def _log_sink(self, step_id: UUID) -> Callable[[str], None]:
        store = self.client.artifact_store
        uri = store.step_log_uri(self.run_id, step_id)

        def write(text: str) -> None:
            with store.open(uri, "wb") as fh:
                fh.write(text.encode("utf-8", "replace"))

        return write

    def _save_log(self, step_id: UUID, name: str, captured: step_logs.StepLog) -> None:
        """Write a step's whole log into its run's folder; a log that cannot be written is
        reported and never fails the step."""
        try:
            captured.save(final=True)
        except Exception as exc:
            log.warning("zviz: the log of step %s could not be saved: %s", name, exc)

    def _discard(self, folders: list[tuple[str, UUID]]) -> None:
        for uri, version_id in folders:
            try:
                self.client.artifact_store.remove_version_folder(uri, version_id)
            except Exception as exc:
                log.warning(
                    "zviz: could not remove the unrecorded artifact folder %s: %s", uri, exc
                )

    def _values(self, step: Step, result: Any, count: int) -> list[Any]:
        if count == 0:
            return []
        if step.returns_tuple or (step.outputs is None and isinstance(result, tuple)):
            return list(result)
        return [result]

    def _specs(self, step: Step, name: str, result: Any) -> list[OutputSpec]:
        if step.outputs is not None:
            specs = step.outputs
        elif result is None:
            specs = []
        elif isinstance(result, tuple):
            specs = [OutputSpec(f"output_{i}") for i in range(len(result))]
        else:
            specs = [OutputSpec("output")]
        if len(specs) > 1 and (not isinstance(result, tuple) or len(result) != len(specs)):
            raise InvalidInputError(
                f"Step '{name}' is annotated with {len(specs)} outputs but returned "
                f"{type(result).__name__}; return a tuple of {len(specs)} values."
            )
        return specs

    def _store_outputs(
        self, step: Step, name: str, result: Any, visualize: bool, written: list[tuple[str, UUID]]
    ) -> list[dict[str, Any]]:
        from zviz_core.materializers.base import materializer_for, qualified_name, remember_type
        from zviz_core.metrics import output_metrics

        specs = self._specs(step, name, result)
        values = self._values(step, result, len(specs))
        stored = []
        for spec, value in zip(specs, values, strict=True):
            check_path_name(spec.name, f"Output name of step '{name}'")
            version_id = uuid.uuid4()
            materializer_cls = step.materializer_override(spec.name) or materializer_for(
                type(value)
            )
            # A type defined inside a function cannot be imported by name: loading in this
            # process finds it here.
            remember_type(type(value))
            store = self.client.artifact_store
            uri = store.version_folder(version_id)
            # The materializer sees a store confined to its own folder: a write elsewhere fails.
            folder = store.scoped(uri)
            materializer = materializer_cls(uri, folder)
            written.append((uri, version_id))
            store.makedirs(uri)
            with _confined(materializer_cls, "save"):
                materializer.save(value)
            visualizations: list[tuple[str, str]] = []
            if visualize:
                with _confined(materializer_cls, "save_visualizations"):
                    visualizations = _build_visualizations(materializer, value, name, spec.name)
                    for viz_uri, _ in visualizations:
                        folder.check(viz_uri, what="The visualization file")
            try:
                metadata = materializer.extract_metadata(value) or {}
                dumps(metadata)
            except Exception as exc:
                log.warning(
                    "zviz: metadata of %s.%s could not be extracted: %s", name, spec.name, exc
                )
                metadata = {}
            self.pending_metadata += [
                (metric, name, num, num, "output")
                for metric, num in output_metrics(name, spec.name, value)
            ]
            artifact_name = (
                spec.name
                if _is_custom_name(step, spec)
                else f"{self.pipeline.name}::{name}::{spec.name}"
            )
            stored.append(
                {
                    "version_id": version_id,
                    "project_id": self.project_id,
                    "name": artifact_name,
                    "uri": uri,
                    "data_type": qualified_name(type(value)),
                    "materializer": qualified_name(materializer_cls),
                    "output_name": spec.name,
                    "metadata_json": dumps(metadata),
                    "visualizations": visualizations,
                }
            )
        return stored


@contextlib.contextmanager
def _confined(materializer_cls: type, method: str) -> Iterator[None]:
    """Name the materializer and its method when it reached outside its artifact's folder."""
    try:
        yield
    except ArtifactPathError as exc:
        raise ArtifactPathError(
            f"Materializer {materializer_cls.__module__}.{materializer_cls.__qualname__}.{method} "
            f"is broken: {exc} Write and return only paths inside self.uri "
            "(self.path('name.ext') builds one)."
        ) from None


def _is_custom_name(step: Step, spec: OutputSpec) -> bool:
    return (
        step.outputs is not None and spec.name != "output" and not spec.name.startswith("output_")
    )


def _build_visualizations(
    materializer: Any, value: Any, step_name: str, output: str
) -> list[tuple[str, str]]:
    try:
        produced = materializer.save_visualizations(value) or {}
    except ArtifactPathError:
        raise
    except Exception as exc:
        log.warning(
            "zviz: the visualizations of %s.%s could not be built (%s: %s); the step still succeeds.",
            step_name,
            output,
            type(exc).__name__,
            exc,
        )
        return []
    result = []
    for uri, vtype in produced.items():
        try:
            result.append((str(uri), VisualizationType(vtype).value))
        except ValueError:
            log.warning(
                "zviz: %s.%s: unknown visualization type %r for %s; skipped",
                step_name,
                output,
                vtype,
                uri,
            )
    return result


class Pipeline:
    """A pipeline: calling it runs its steps in this process and returns the recorded run."""

    def __init__(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        enable_artifact_visualization: bool | None = None,
        config: RunConfig | None = None,
    ) -> None:
        self.entrypoint = func
        self.name = check_path_name(name or func.__name__, "Pipeline name")
        self.enable_artifact_visualization = enable_artifact_visualization
        self.config = config or RunConfig()
        functools.update_wrapper(self, func)

    def with_options(self, config_path: str | Path | None = None, **options: Any) -> Pipeline:
        """A copy of this pipeline with a YAML file and/or options laid over its configuration.

        Options: enable_artifact_visualization, run_name, parameters, steps, enable_cache.
        Raises ConfigError for an unreadable file or an unknown setting.
        """
        config = self.config
        if config_path is not None:
            config = config.merged(load_config(config_path))
        if options:
            config = config.merged(from_options(**options))
        clone = copy.copy(self)
        clone.config = config
        return clone

    def _run_name(self, started: datetime) -> str | None:
        """The configured run name with {date} and {time} filled in; None leaves the store to
        name the run "<pipeline> #<n>"."""
        template = self.config.run_name
        if template:
            return template.replace("{date}", started.strftime("%Y_%m_%d")).replace(
                "{time}", started.strftime("%H_%M_%S_%f")
            )
        return None

    def __call__(self, *args: Any, **kwargs: Any) -> PipelineRunResponse:
        if current_run() is not None:
            raise InvalidInputError(
                f"Pipeline '{self.name}' was called inside another pipeline; call its steps instead."
            )
        client = active_client()
        kwargs = {**self.config.parameters, **kwargs}
        try:  # record positional arguments under their names too
            bound = inspect.signature(self.entrypoint).bind_partial(*args, **kwargs)
            bound.apply_defaults()
            arguments = bound.arguments
        except TypeError:
            arguments = kwargs
        project = client.active_project
        started = now()
        explicit = self._run_name(started)
        run_name = None if explicit is None else check_path_name(explicit, "Run name")
        snapshot_config = {
            "pipeline": self.name,
            "parameters": {
                k: v if isinstance(v, str | int | float | bool | None) else repr(v)
                for k, v in arguments.items()
            },
            "enable_artifact_visualization": self.config.enable_artifact_visualization
            if self.config.enable_artifact_visualization is not None
            else self.enable_artifact_visualization,
            "steps": {k: v.model_dump(exclude_unset=True) for k, v in self.config.steps.items()},
        }
        config_json = dumps(snapshot_config)
        run_id = uuid.uuid4()
        store = client.store
        run_name = store.start_run(
            client.policy,
            run_id=run_id,
            project_id=project.id,
            pipeline_name=self.name,
            run_name=run_name,
            config_json=config_json,
            config_hash=hashlib.sha256(config_json.encode()).hexdigest(),
            started=started,
        )
        context = _RunContext(client, self, self.config, run_id, run_name, project.id)
        token = _CURRENT.set(context)
        try:
            returned = self.entrypoint(*args, **kwargs)
            outputs = context.returned_outputs(returned)
            finished = store.finish_run(
                run_id, ExecutionStatus.COMPLETED, None, outputs, after_steps=True
            )
        except BaseException as exc:
            _CURRENT.reset(token)
            try:
                store.flush()
            except BaseException as earlier:
                log.error("zviz: a step of run %s could not be recorded: %s", run_name, earlier)
            if not context.failure_recorded:
                status = (
                    ExecutionStatus.FAILED
                    if isinstance(exc, Exception)
                    else ExecutionStatus.INTERRUPTED
                )
                store.finish_run(run_id, status, _error_text(exc))
            raise
        _CURRENT.reset(token)
        return client._bind(finished)

    def __repr__(self) -> str:
        return f"<zviz pipeline {self.name}>"


def log_metadata(
    metadata: dict[str, Any],
    step_id: UUID | str | None = None,
    step_name: str | None = None,
    run_id_name_or_prefix: UUID | str | None = None,
    **unsupported: Any,
) -> None:
    """ZenML's `log_metadata` for runs and steps: inside a step, with no target, attach
    `metadata` to the running step; else to the run or step named. Numbers become metrics.
    Acts through the running pipeline's client, else `active_client()`. Returns None; raises
    as `Client.log_metadata` does."""
    context = current_run()
    client = context.client if context is not None else active_client()
    client.log_metadata(
        metadata,
        step_id=step_id,
        step_name=step_name,
        run_id_name_or_prefix=run_id_name_or_prefix,
        **unsupported,
    )


def pipeline(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    enable_artifact_visualization: bool | None = None,
    enable_cache: bool | None = None,
) -> Any:
    """Turn a function into a Pipeline; usable as `@pipeline` or `@pipeline(...)`.

    `enable_cache` is accepted for ZenML code and ignored: zviz runs every step.
    """

    def wrap(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, name, enable_artifact_visualization)

    return wrap(func) if func is not None else wrap
