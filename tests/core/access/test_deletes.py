"""Deletes respect the access rules: deleting what you may write never changes what you may not.

zviz's rule: a delete needs write access on everything it changes. When it would also remove a
tile on a page the user may not change, detach a deployment they may not change, or cut the
inputs of a run they may not change, it is refused as a whole, naming only how many such
resources there are, and nothing is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.access.conftest import p0, p1, write_config
from zviz_core import Client, pipeline, step
from zviz_core.access import AccessConfig
from zviz_core.enums import VisualizationResourceTypes as R
from zviz_core.errors import AccessDeniedError
from zviz_core.types import HTMLString


@step
def consume(page: HTMLString) -> int:
    return len(page)


@step
def emit() -> HTMLString:
    return HTMLString("<p>shared</p>")


@pipeline
def producer() -> None:
    emit()


def _config(tmp_path: Path) -> AccessConfig:
    path = write_config(
        tmp_path / "auth.yaml",
        users={"erin": ["editor"], "root": ["admin"]},
        roles={
            "editor": {"read": ["pipeline:p0"], "write": ["pipeline:p0"]},
            "admin": {"read": ["*"], "write": ["*"]},
        },
    )
    return AccessConfig.from_path(path)


def test_deleting_a_pipeline_refuses_to_touch_a_hidden_model_tile(tmp_path: Path) -> None:
    owner = Client()
    run = p0(k=1)
    viz = run.steps["page"].output.visualizations[0]
    model = owner.create_model("secret-model")
    hidden_tile = owner.create_curated_visualization(viz.id, model.id, R.MODEL)
    erin = Client(user="erin", access=_config(tmp_path))
    with pytest.raises(AccessDeniedError) as refused:
        erin.delete_pipeline(run.pipeline.id)
    message = str(refused.value)
    assert "1 other resource" in message and "Nothing was deleted" in message
    assert "secret-model" not in message and str(model.id) not in message
    # Nothing changed: the pipeline, its run and the hidden tile are all still there.
    assert owner.get_pipeline_run(run.id).id == run.id
    assert owner.get_curated_visualization(hidden_tile.id).id == hidden_tile.id
    # Once the tile is gone (by someone who may), erin's delete goes through.
    owner.delete_curated_visualization(hidden_tile.id)
    erin.delete_pipeline(run.pipeline.id)
    assert owner.list_pipelines().total == 0


def test_deleting_a_snapshot_refuses_to_detach_a_hidden_deployment(tmp_path: Path) -> None:
    owner = Client()
    run = p0(k=1)
    deployment = owner.create_deployment("serving", snapshot_id=run.snapshot_id)
    erin = Client(user="erin", access=_config(tmp_path))
    for delete in (
        lambda: erin.delete_snapshot(run.snapshot_id),
        lambda: erin.delete_pipeline(run.pipeline.id),
    ):
        with pytest.raises(AccessDeniedError):
            delete()
        assert owner.get_deployment(deployment.id).snapshot_id == run.snapshot_id
    # Someone who may write the deployment too deletes it all; the deployment stays, detached.
    Client(user="root", access=_config(tmp_path)).delete_pipeline(run.pipeline.id)
    assert owner.get_deployment(deployment.id).snapshot_id is None


def test_deleting_a_run_refuses_to_cut_inputs_of_a_hidden_run(tmp_path: Path) -> None:
    owner = Client()
    shared = p0(k=1)
    upstream = shared.steps["page"].output

    @pipeline
    def reader() -> None:
        consume(upstream.load())

    other = reader()
    assert other.steps["consume"].inputs == {}  # a loaded value is a parameter, not an edge

    # An input edge from a hidden run, as a pipeline that reads another run's artifact records.
    owner._db.write(
        lambda cur: cur.execute(
            "INSERT INTO step_inputs VALUES ($s, $name, $av)",
            {"s": other.steps["consume"].id, "name": "page", "av": upstream.id},
        )
    )
    erin = Client(user="erin", access=_config(tmp_path))
    with pytest.raises(AccessDeniedError) as refused:
        erin.delete_pipeline_run(shared.id)
    assert "1 other resource" in str(refused.value)
    assert owner.get_artifact_version(upstream.id).id == upstream.id


def test_deletes_within_what_the_user_may_write_go_through(tmp_path: Path) -> None:
    owner = Client()
    run = p0(k=1)
    p1(k=2)
    viz = run.steps["page"].output.visualizations[0]
    pipeline_tile = owner.create_curated_visualization(viz.id, run.pipeline.id, R.PIPELINE)
    run_tile = owner.create_curated_visualization(viz.id, run.id, R.PIPELINE_RUN)
    erin = Client(user="erin", access=_config(tmp_path))
    erin.delete_pipeline_run(run.id)
    assert owner.list_pipeline_runs().total == 1
    for tile in (pipeline_tile, run_tile):
        assert owner.list_curated_visualizations(tile.resource_type, tile.resource_id) == []


def test_the_owner_deletes_across_everything() -> None:
    owner = Client()
    run = p0(k=1)
    viz = run.steps["page"].output.visualizations[0]
    model = owner.create_model("m")
    owner.create_curated_visualization(viz.id, model.id, R.MODEL)
    owner.create_deployment("d", snapshot_id=run.snapshot_id)
    owner.delete_pipeline(run.pipeline.id)
    assert owner.list_curated_visualizations(R.MODEL, model.id) == []
    assert owner.get_deployment("d").snapshot_id is None
