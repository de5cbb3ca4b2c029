"""Run metrics: numeric leaves of JSON outputs, log_metadata, sorting and history, deletes."""

from __future__ import annotations

import json
from typing import Annotated

import pytest

from zviz_core import Client, log_metadata, pipeline, step
from zviz_core.errors import EntityNotFoundError, InvalidInputError
from zviz_core.metrics import best_and_worst, direction, flatten
from zviz_core.types import JSONString


@step
def train(lr: float) -> Annotated[dict, "model"]:
    log_metadata({"lr": lr, "optimizer": "adam", "sched": {"warmup": 3}})
    return {"weights": [1, 2, 3], "epochs": 4}


@step
def evaluate(model: dict, acc: float) -> Annotated[JSONString, "metrics"]:
    return JSONString(json.dumps({"accuracy": acc, "loss": 1 - acc, "ok": True, "name": "x"}))


@pipeline
def training(lr: float = 0.1, acc: float = 0.5) -> None:
    model = train(lr)
    evaluate(model, acc)


@step
def broken_step() -> None:
    log_metadata({"before_failure": 7})
    raise RuntimeError("boom")


@pipeline
def fails() -> None:
    broken_step()


def _metrics(client: Client, run_id) -> dict:
    return {e.name: e for e in client.get_run_metadata(run_id)}


def test_numeric_leaves_of_json_outputs_become_metrics_named_by_path(client: Client) -> None:
    run = training(lr=0.01, acc=0.9)
    found = _metrics(client, run.id)
    assert found["evaluate.metrics.accuracy"].number == pytest.approx(0.9)
    assert found["evaluate.metrics.loss"].number == pytest.approx(0.1)
    assert found["evaluate.metrics.accuracy"].source == "output"
    assert found["train.model.epochs"].number == 4
    # Booleans, strings and lists are no metrics.
    assert "evaluate.metrics.ok" not in found and "evaluate.metrics.name" not in found
    assert "train.model.weights" not in found


def test_log_metadata_inside_a_step_goes_to_that_step_numbers_included(client: Client) -> None:
    run = training(lr=0.25)
    found = _metrics(client, run.id)
    assert found["train.lr"].number == 0.25 and found["train.lr"].source == "log"
    assert found["train.lr"].step_name == "train"
    assert found["train.optimizer"].number is None and found["train.optimizer"].value == "adam"
    assert found["train.sched.warmup"].number == 3
    assert client.get_run_metrics([run.id], ["train.lr"]) == {run.id: {"train.lr": 0.25}}


def test_log_metadata_after_the_run_on_the_run_and_on_a_step(client: Client) -> None:
    run = training()
    log_metadata({"reviewed": True, "score": 3}, run_id_name_or_prefix=run.name)
    client.log_metadata({"note": 1.5}, step_name="evaluate", run_id_name_or_prefix=run.id)
    step_id = run.steps["train"].id
    client.log_metadata({"lr": 0.5}, step_id=step_id)  # logged again: the later value wins
    found = _metrics(client, run.id)
    assert found["score"].number == 3 and found["score"].step_name is None
    assert found["reviewed"].value is True and found["reviewed"].number is None
    assert found["evaluate.note"].number == 1.5
    assert found["train.lr"].number == 0.5


def test_log_metadata_refuses_bad_targets_clearly(client: Client) -> None:
    run = training()
    with pytest.raises(InvalidInputError, match="needs a target"):
        log_metadata({"x": 1})
    with pytest.raises(InvalidInputError, match="not supported"):
        log_metadata({"x": 1}, artifact_version_id=run.id)
    with pytest.raises(EntityNotFoundError):
        log_metadata({"x": 1}, run_id_name_or_prefix="no-such-run")
    with pytest.raises(EntityNotFoundError):
        log_metadata({"x": 1}, run_id_name_or_prefix=run.id, step_name="nope")
    with pytest.raises(InvalidInputError, match="non-empty"):
        log_metadata({}, run_id_name_or_prefix=run.id)


def test_metadata_logged_before_a_step_failed_is_kept(client: Client) -> None:
    with pytest.raises(RuntimeError):
        fails()
    run = client.list_pipeline_runs().items[0]
    assert _metrics(client, run.id)["broken_step.before_failure"].number == 7


def test_runs_sort_by_a_metric_best_first_and_runs_without_it_last(client: Client) -> None:
    runs = {acc: training(acc=acc) for acc in (0.7, 0.9, 0.8)}

    @pipeline(name="training")
    def no_eval() -> None:
        train(0.1)

    bare = no_eval()
    pid = runs[0.7].pipeline.id
    page = client.list_pipeline_runs(pipeline_id=pid, sort_by_metric="evaluate.metrics.accuracy")
    assert [r.id for r in page.items] == [runs[0.9].id, runs[0.8].id, runs[0.7].id, bare.id]
    assert page.total == 4
    # A page that reaches past the runs with the metric continues with the others.
    for size, number, expected in ((2, 2, [runs[0.7].id, bare.id]), (3, 2, [bare.id])):
        paged = client.list_pipeline_runs(
            pipeline_id=pid, sort_by_metric="evaluate.metrics.accuracy", size=size, page=number
        )
        assert [r.id for r in paged.items] == expected
    # loss: lower is better, so lowest first by default; descending=True reverses.
    page = client.list_pipeline_runs(pipeline_id=pid, sort_by_metric="evaluate.metrics.loss")
    assert [r.id for r in page.items][:3] == [runs[0.9].id, runs[0.8].id, runs[0.7].id]
    page = client.list_pipeline_runs(
        pipeline_id=pid, sort_by_metric="evaluate.metrics.loss", descending=True, size=1, page=2
    )
    assert [r.id for r in page.items] == [runs[0.8].id]
    assert "evaluate.metrics.accuracy" in client.list_metric_names(pid)
    history = client.metric_history(pid, "evaluate.metrics.accuracy")
    assert [p.run_id for p in history] == [runs[a].id for a in (0.7, 0.9, 0.8)]
    assert [p.value for p in history] == pytest.approx([0.7, 0.9, 0.8])


def test_deleting_a_run_deletes_its_metrics(client: Client) -> None:
    keep, gone = training(acc=0.6), training(acc=0.7)
    client.delete_pipeline_run(gone.id)
    history = client.metric_history(keep.pipeline.id, "evaluate.metrics.accuracy")
    assert [p.run_id for p in history] == [keep.id]
    with client.store.engine.unit() as cur:
        left = cur.value("SELECT count(*) FROM run_metadata WHERE run_id = $r", {"r": gone.id})
    assert left == 0


def test_flatten_direction_and_marks() -> None:
    assert list(flatten({"a": {"b": 1, "c": {"d": 2}}, "e": [1]}, "s.o")) == [
        ("s.o.a.b", 1),
        ("s.o.a.c.d", 2),
        ("s.o.e", [1]),
    ]
    assert len(list(flatten({str(i): i for i in range(5000)}, "x"))) == 500
    assert direction("evaluate.metrics.accuracy") == "max"
    assert direction("evaluate.metrics.val_loss") == "min"
    assert direction("train.valLoss") == "min"
    assert direction("evaluate.metrics.f1") == "max"
    assert direction("evaluate.metrics.epochs") is None
    assert direction("x.epochs", {"epochs": "min"}) == "min"
    assert best_and_worst([0.5, 0.9, None, 0.9], "max") == ({1, 3}, {0})
    assert best_and_worst([0.5, 0.9], "min") == ({0}, {1})
    assert best_and_worst([0.5, 0.9], None) == (set(), set())
    assert best_and_worst([0.5, 0.5], "max") == (set(), set())
