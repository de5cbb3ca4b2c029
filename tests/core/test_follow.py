"""Tiles that follow the latest version: of an artifact, or of a step's output in a pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from uuid import UUID

import pytest

from tests.core.access.conftest import write_config
from tests.core.store.test_schema import raw_cursor
from zviz_core import Client, pipeline, step
from zviz_core.access import AccessConfig
from zviz_core.enums import TileFollow, VisualizationResourceTypes
from zviz_core.errors import EntityExistsError, InvalidInputError
from zviz_core.models import ArtifactVisualizationResponse, PipelineRunResponse
from zviz_core.store import forget_engines, schema
from zviz_core.types import HTMLString

T = VisualizationResourceTypes


@step
def evaluate(k: int) -> Annotated[HTMLString, "evaluation_report"]:
    return HTMLString(f"<p>evaluation {k}</p>")


@step
def broken(k: int) -> None:
    raise RuntimeError("boom")


@pipeline
def training(k: int = 0) -> None:
    evaluate(k)


@pipeline
def other(k: int = 0) -> None:
    evaluate(k)


@pipeline
def failing(k: int = 0) -> None:
    evaluate(k)
    broken(k)


def _viz(run: PipelineRunResponse) -> ArtifactVisualizationResponse:
    return run.steps["evaluate"].output.visualizations[0]


def _shown(client: Client, model_id: UUID) -> str | None:
    [tile] = client.list_curated_visualizations(T.MODEL, model_id)
    if tile.artifact_visualization is None:
        return None
    return str(client.load_visualization(tile.artifact_visualization.id).value)


def test_an_output_tile_shows_the_newest_completed_run_and_a_pinned_one_stays(
    client: Client,
) -> None:
    first = training.with_options(parameters={"k": 1})()
    model = client.create_model("m")
    pinned = client.create_curated_visualization(
        _viz(first).id, model.id, T.MODEL, display_order=10
    )
    following = client.create_curated_visualization(
        _viz(first).id, model.id, T.MODEL, display_order=20, follow="output"
    )
    assert following.follow is TileFollow.OUTPUT
    assert following.run_id == first.id and following.shown_created is not None

    second = training.with_options(parameters={"k": 2})()
    other.with_options(parameters={"k": 3})()  # same step and output name, another pipeline
    with pytest.raises(RuntimeError):
        failing.with_options(parameters={"k": 4})()
    tiles = client.list_curated_visualizations(T.MODEL, model.id)
    assert [t.id for t in tiles] == [pinned.id, following.id], "same positions as before"
    assert tiles[0].artifact_visualization_id == _viz(first).id, "a pinned tile never moves on"
    assert tiles[1].run_id == second.id and tiles[1].run_name == second.name
    assert tiles[1].artifact_version == 2, "the other pipeline's v3 is another output"
    assert "evaluation 2" in str(
        client.load_visualization(tiles[1].artifact_visualization.id).value
    )
    assert client.get_curated_visualization(following.id).run_id == second.id


def test_an_artifact_tile_follows_the_artifact_across_pipelines(client: Client) -> None:
    first = training.with_options(parameters={"k": 1})()
    model = client.create_model("m")
    client.create_curated_visualization(_viz(first).id, model.id, T.MODEL, follow="artifact")
    newest = other.with_options(parameters={"k": 5})()
    [tile] = client.list_curated_visualizations(T.MODEL, model.id)
    assert (tile.run_id, tile.artifact_name, tile.artifact_version) == (
        newest.id,
        "evaluation_report",
        2,
    )
    assert tile.title == "Latest evaluation_report"


def test_deleting_the_followed_versions_leaves_nothing_to_show(client: Client) -> None:
    first = training.with_options(parameters={"k": 1})()
    second = training.with_options(parameters={"k": 2})()
    model = client.create_model("m")
    tile = client.create_curated_visualization(_viz(first).id, model.id, T.MODEL, follow="output")
    assert tile.run_id == second.id
    client.delete_pipeline_run(second.id)
    assert _shown(client, model.id) == "<p>evaluation 1</p>"
    client.delete_pipeline_run(first.id)
    [left] = client.list_curated_visualizations(T.MODEL, model.id)
    assert left.id == tile.id and left.artifact_visualization is None
    assert left.artifact_visualization_id is None and left.run_id is None
    assert left.title == "Latest version"
    third = training.with_options(parameters={"k": 3})()
    assert client.get_curated_visualization(tile.id).run_id == third.id
    assert _shown(client, model.id) == "<p>evaluation 3</p>"


def test_following_needs_a_step_output_and_is_not_doubled(client: Client) -> None:
    run = training.with_options(parameters={"k": 1})()
    model = client.create_model("m")
    client.create_curated_visualization(_viz(run).id, model.id, T.MODEL, follow="output")
    with pytest.raises(EntityExistsError, match="already follows"):
        client.create_curated_visualization(_viz(run).id, model.id, T.MODEL, follow="output")
    # The same version may still be pinned beside the tile that follows it.
    client.create_curated_visualization(_viz(run).id, model.id, T.MODEL)
    with pytest.raises(InvalidInputError, match="follow"):
        client.create_curated_visualization(_viz(run).id, model.id, T.MODEL, follow="newest")


def test_a_viewer_follows_only_versions_they_may_read(client: Client, tmp_path: Path) -> None:
    readable = training.with_options(parameters={"k": 1})()
    model = client.create_model("m")
    tile = client.create_curated_visualization(
        _viz(readable).id, model.id, T.MODEL, follow="artifact"
    )
    hidden = other.with_options(parameters={"k": 9})()  # the same artifact, another pipeline
    config = write_config(
        tmp_path / "auth.yaml",
        {"bob": ["viewer"]},
        {"viewer": {"read": ["pipeline:training", "model:*"], "write": []}},
    )
    bob = client.as_user("bob", AccessConfig.from_path(config))
    [seen] = bob.list_curated_visualizations(T.MODEL, model.id)
    assert seen.run_id == readable.id, "bob may not read the other pipeline's run"
    assert client.get_curated_visualization(tile.id).run_id == hidden.id
    client.delete_pipeline_run(readable.id)
    [seen] = bob.list_curated_visualizations(T.MODEL, model.id)
    assert seen.artifact_visualization is None and seen.run_name is None


def test_tiles_read_the_same_after_migration_14_rebuilds_what_they_show(
    client: Client, engine: str, zviz_home: Path
) -> None:
    """Migration 14 writes `shown` with the engine's JSON function; inserts write it from
    Python. A store upgraded to 14 must read every tile as it was read before."""
    first = training(1)
    model = client.create_model("m")
    client.create_curated_visualization(
        _viz(first).id, model.id, T.MODEL, display_name="pinned", display_order=10
    )
    client.create_curated_visualization(_viz(first).id, model.id, T.MODEL, follow="output")
    client.create_curated_visualization(_viz(first).id, model.id, T.MODEL, follow="artifact")
    training(2)
    before = client.list_curated_visualizations(T.MODEL, model.id)
    assert [t.follow for t in before] == [None, TileFollow.OUTPUT, TileFollow.ARTIFACT]
    forget_engines(close=True)
    with raw_cursor(engine, zviz_home) as cur:
        cur.execute("UPDATE curated_visualizations SET shown = NULL")
        cur.execute(schema.REBUILD_TILE_SHOWN[engine])
    again = Client()
    after = again.list_curated_visualizations(T.MODEL, model.id)
    assert after == before
    assert [again.get_curated_visualization(t.id) for t in before] == before

    # Times whose fraction the engines' JSON shortens ("05.12", "05"), read first from the
    # columns (shown is then older than the row), then from the rebuilt shown.
    forget_engines(close=True)
    with raw_cursor(engine, zviz_home) as cur:
        cur.execute(
            "UPDATE curated_visualizations SET created = TIMESTAMP '2026-01-02 03:04:05.12', "
            "updated = TIMESTAMP '2026-01-02 03:04:05'"
        )
    from_columns = Client().list_curated_visualizations(T.MODEL, model.id)
    assert [(t.created.microsecond, t.updated.second) for t in from_columns] == [(120000, 5)] * 3
    forget_engines(close=True)
    with raw_cursor(engine, zviz_home) as cur:
        cur.execute(schema.REBUILD_TILE_SHOWN[engine])
    assert Client().list_curated_visualizations(T.MODEL, model.id) == from_columns
