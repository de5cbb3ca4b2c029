"""Aligning runs for a comparison: outputs by step and output name, metrics by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from zviz_core.metrics import best_and_worst, direction
from zviz_core.models import (
    ArtifactVersionResponse,
    ComparedRun,
    ComparisonRow,
    MetricRow,
    PipelineRunResponse,
    RunComparison,
    StepRunResponse,
)

MIN_RUNS = 2
MAX_RUNS = 6


def _outputs(
    steps: Mapping[str, StepRunResponse], by_step: bool
) -> dict[str, tuple[str | None, str, ArtifactVersionResponse]]:
    """A run's outputs by alignment key: `step.output`, or the output name alone when runs of
    different pipelines are compared (then `step.output` only where one run has the name twice)."""
    found: list[tuple[str, str, ArtifactVersionResponse]] = [
        (step_name, output, versions[0])
        for step_name, step in steps.items()
        for output, versions in step.outputs.items()
        if versions
    ]
    counts: dict[str, int] = {}
    for _, output, _ in found:
        counts[output] = counts.get(output, 0) + 1
    result: dict[str, tuple[str | None, str, ArtifactVersionResponse]] = {}
    for step_name, output, av in found:
        if by_step or counts[output] > 1:
            result[f"{step_name}.{output}"] = (step_name, output, av)
        else:
            result[output] = (None, output, av)
    return result


def align(
    runs: Sequence[PipelineRunResponse],
    steps: Sequence[Mapping[str, StepRunResponse]],
    numbers: Mapping[UUID, Mapping[str, float]],
    hidden: int,
    directions: Mapping[str, str] | None = None,
) -> RunComparison:
    """Build the comparison of `runs` (readable, in the order asked) from their steps and
    numeric metrics. An output gets a row when at least two runs have it; rows keep the order
    of the first run that has them. Every metric any run has gets a row."""
    by_step = len({r.pipeline.id for r in runs}) <= 1
    per_run = [_outputs(s, by_step) for s in steps]
    order: list[str] = []
    for outputs in per_run:
        order += [k for k in outputs if k not in order]
    rows = []
    for key in order:
        present = [outputs.get(key) for outputs in per_run]
        if sum(p is not None for p in present) < 2:
            continue
        first = next(p for p in present if p is not None)
        rows.append(
            ComparisonRow(
                label=key,
                step_name=first[0],
                output_name=first[1],
                versions=[p[2] if p is not None else None for p in present],
            )
        )
    names: list[str] = sorted({n for r in runs for n in numbers.get(r.id, {})})
    metrics = []
    for name in names:
        values = [numbers.get(r.id, {}).get(name) for r in runs]
        base = values[0]
        deltas = [None if v is None or base is None else v - base for v in values]
        way = direction(name, directions)
        best, worst = best_and_worst(values, way)
        metrics.append(
            MetricRow(
                name=name,
                values=values,
                deltas=deltas,
                direction=way,
                best=sorted(best),
                worst=sorted(worst),
            )
        )
    return RunComparison(
        runs=[
            ComparedRun(
                id=r.id,
                name=r.name,
                pipeline_id=r.pipeline.id,
                pipeline_name=r.pipeline.name,
                status=r.status,
                created=r.created,
            )
            for r in runs
        ],
        hidden=hidden,
        aligned_by="step" if by_step else "output",
        rows=rows,
        metrics=metrics,
    )
