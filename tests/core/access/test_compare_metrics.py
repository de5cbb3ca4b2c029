"""Access rules in comparisons and metrics: unreadable runs are left out and never named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest

from tests.core.access.conftest import write_config
from zviz_core import Client, log_metadata, pipeline, step
from zviz_core.errors import AccessDeniedError, EntityNotFoundError
from zviz_core.types import JSONString


@step
def evaluate(acc: float) -> Annotated[JSONString, "metrics"]:
    return JSONString(json.dumps({"accuracy": acc}))


@pipeline
def open_pipe(acc: float = 0.5) -> None:
    evaluate(acc)


@pipeline
def secret_pipe(acc: float = 0.5) -> None:
    evaluate(acc)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    runs = {
        "open1": open_pipe(acc=0.7),
        "open2": open_pipe(acc=0.8),
        "secret": secret_pipe(acc=0.987654321),
    }
    config = write_config(
        tmp_path / "auth.yaml",
        users={"bob": ["viewer"], "eve": ["writer"]},
        roles={
            "viewer": {"read": ["pipeline:open_pipe"], "write": []},
            "writer": {"read": [], "write": ["pipeline:open_pipe"]},
        },
    )
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(config))
    return runs


def test_comparison_leaves_out_unreadable_runs_and_only_counts_them(world: dict) -> None:
    bob = Client(user="bob")
    ids = [world["open1"].id, world["secret"].id, world["open2"].id]
    result = bob.compare_runs(ids)
    assert [r.id for r in result.runs] == [world["open1"].id, world["open2"].id]
    assert result.hidden == 1
    dumped = result.model_dump_json()
    assert str(world["secret"].id) not in dumped and world["secret"].name not in dumped
    # Not even its metric (nine decimals: no timestamp or id holds them by chance).
    assert "0.987654321" not in dumped
    # An unreadable run by name is as missing as one that does not exist.
    by_name = bob.compare_runs([world["open1"].id, world["open2"].id, world["secret"].name])
    assert by_name.hidden == 1


def test_metrics_are_filtered_like_their_runs(world: dict) -> None:
    bob = Client(user="bob")
    all_ids = [r.id for r in world.values()]
    assert set(bob.get_run_metrics(all_ids)) == {world["open1"].id, world["open2"].id}
    with pytest.raises(EntityNotFoundError):
        bob.get_run_metadata(world["secret"].id)
    with pytest.raises(EntityNotFoundError):
        bob.list_metric_names(world["secret"].pipeline.id)
    with pytest.raises(EntityNotFoundError):
        bob.metric_history(world["secret"].pipeline.id, "evaluate.metrics.accuracy")
    page = bob.list_pipeline_runs(sort_by_metric="evaluate.metrics.accuracy")
    assert [r.id for r in page.items] == [world["open2"].id, world["open1"].id]
    assert page.total == 2


def test_logging_metadata_needs_write_access_to_the_run(world: dict) -> None:
    with pytest.raises(AccessDeniedError):
        Client(user="bob").log_metadata({"x": 1}, run_id_name_or_prefix=world["open1"].id)
    with pytest.raises(EntityNotFoundError):
        Client(user="eve").log_metadata({"x": 1}, run_id_name_or_prefix=world["secret"].id)
    Client(user="eve").log_metadata({"x": 1}, run_id_name_or_prefix=world["open1"].id)
    # The module function acts as the active client.
    with pytest.raises(EntityNotFoundError), Client(user="bob").activated():
        log_metadata({"x": 2}, run_id_name_or_prefix=world["secret"].name)
    assert Client().get_run_metrics([world["open1"].id], ["x"]) == {world["open1"].id: {"x": 1}}
