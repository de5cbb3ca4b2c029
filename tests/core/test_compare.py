"""Comparing runs: outputs aligned by step and output name, metrics with deltas and marks."""

from __future__ import annotations

import json
from typing import Annotated

import pytest

from zviz_core import Client, pipeline, step
from zviz_core.errors import InvalidInputError
from zviz_core.types import HTMLString, JSONString


@step
def evaluate(acc: float) -> Annotated[JSONString, "metrics"]:
    return JSONString(json.dumps({"accuracy": acc, "loss": round(1 - acc, 3), "epochs": 3}))


@step
def report(acc: float) -> Annotated[HTMLString, "report"]:
    return HTMLString(f"<p>{acc}</p>")


@step
def extra() -> Annotated[dict, "only_once"]:
    return {"x": "y"}


@pipeline
def training(acc: float = 0.5, more: bool = False) -> None:
    evaluate(acc)
    report(acc)
    if more:
        extra()


@pipeline
def other(acc: float = 0.5) -> None:
    evaluate(acc)


def test_outputs_align_by_step_and_output_with_one_column_per_run(client: Client) -> None:
    a, b, c = training(acc=0.8), training(acc=0.9, more=True), training(acc=0.7)
    result = client.compare_runs([a.id, b.id, str(c.id)])
    assert [r.id for r in result.runs] == [a.id, b.id, c.id]
    assert result.hidden == 0 and result.aligned_by == "step"
    # only_once is in one run only: no row.
    assert [row.label for row in result.rows] == ["evaluate.metrics", "report.report"]
    metrics_row = result.rows[0]
    assert [av.run_id for av in metrics_row.versions] == [a.id, b.id, c.id]
    # The versions are bound: a notebook can load them.
    assert json.loads(metrics_row.versions[1].load())["accuracy"] == 0.9
    by_name = {m.name: m for m in result.metrics}
    acc = by_name["evaluate.metrics.accuracy"]
    assert acc.values == pytest.approx([0.8, 0.9, 0.7])
    assert acc.deltas == pytest.approx([0.0, 0.1, -0.1])
    assert (acc.direction, acc.best, acc.worst) == ("max", [1], [2])
    loss = by_name["evaluate.metrics.loss"]
    assert (loss.direction, loss.best, loss.worst) == ("min", [1], [2])
    epochs = by_name["evaluate.metrics.epochs"]
    assert (epochs.direction, epochs.best, epochs.worst) == (None, [], [])
    # A per-key setting gives a direction where the name does not.
    result = client.compare_runs([a.id, b.id], directions={"epochs": "min"})
    assert {m.name: m.direction for m in result.metrics}["evaluate.metrics.epochs"] == "min"


def test_runs_of_different_pipelines_align_by_output_name(client: Client) -> None:
    a, b = training(acc=0.8), other(acc=0.6)
    result = client.compare_runs([a.name, b.name])  # names work too
    assert result.aligned_by == "output"
    assert [row.label for row in result.rows] == ["metrics"]
    assert [av.run_id for av in result.rows[0].versions] == [a.id, b.id]


def test_a_missing_run_is_counted_not_named_and_counts_are_bounded(client: Client) -> None:
    a, b = training(acc=0.8), training(acc=0.9)
    result = client.compare_runs([a.id, b.id, "00000000-0000-0000-0000-000000000000", "nope"])
    assert [r.id for r in result.runs] == [a.id, b.id] and result.hidden == 2
    with pytest.raises(InvalidInputError, match="2 to 6"):
        client.compare_runs([a.id])
    with pytest.raises(InvalidInputError, match="2 to 6"):
        client.compare_runs([a.id, a.id])  # repeats count once
    with pytest.raises(InvalidInputError, match="2 to 6"):
        client.compare_runs([a.id] + [f"r{i}" for i in range(6)])
    with pytest.raises(InvalidInputError, match="'max' or 'min'"):
        client.compare_runs([a.id, b.id], directions={"x": "up"})
