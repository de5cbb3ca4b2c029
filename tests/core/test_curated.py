"""Curated visualizations (tiles): create, get, update, delete, list order, validation, cascades."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zviz_core import Client, pipeline, step
from zviz_core.enums import CuratedVisualizationSize, VisualizationResourceTypes
from zviz_core.errors import EntityExistsError, ZvizError
from zviz_core.models import ArtifactVisualizationResponse, PipelineRunResponse
from zviz_core.types import HTMLString

T = VisualizationResourceTypes
ALL_TYPES = list(VisualizationResourceTypes)


@step
def reports() -> tuple[HTMLString, HTMLString, HTMLString, HTMLString, HTMLString]:
    return tuple(HTMLString(f"<h1>report {i}</h1>") for i in range(5))  # type: ignore[return-value]


@step
def extra() -> HTMLString:
    return HTMLString("<p>extra</p>")


@pipeline
def reporting() -> None:
    reports()
    extra()


@dataclass
class World:
    """One run of `reporting` and one of every kind of resource, in the active project."""

    run: PipelineRunResponse
    vizs: list[ArtifactVisualizationResponse]
    extra: ArtifactVisualizationResponse
    targets: dict[VisualizationResourceTypes, UUID]


def build_world(client: Client, suffix: str = "") -> World:
    run = reporting()
    outputs = run.steps["reports"].outputs
    vizs = [outputs[f"output_{i}"][0].visualizations[0] for i in range(5)]
    model = client.create_model(name=f"model{suffix}")
    deployment = client.create_deployment(name=f"deploy{suffix}", snapshot_id=run.snapshot_id)
    return World(
        run=run,
        vizs=vizs,
        extra=run.steps["extra"].output.visualizations[0],
        targets={
            T.PROJECT: client.active_project.id,
            T.PIPELINE: run.pipeline.id,
            T.PIPELINE_RUN: run.id,
            T.PIPELINE_SNAPSHOT: run.snapshot_id,
            T.MODEL: model.id,
            T.DEPLOYMENT: deployment.id,
        },
    )


@pytest.fixture
def world(client: Client) -> World:
    return build_world(client)


def tile_ids(client: Client, rtype: VisualizationResourceTypes, rid: UUID) -> list[UUID]:
    return [t.id for t in client.list_curated_visualizations(rtype, rid)]


# -- create / get ------------------------------------------------------------------------------


@pytest.mark.parametrize("rtype", ALL_TYPES, ids=[t.value for t in ALL_TYPES])
def test_create_and_get_on_every_resource_type(
    rtype: VisualizationResourceTypes, client: Client, world: World
) -> None:
    rid = world.targets[rtype]
    viz = world.vizs[0]
    tile = client.create_curated_visualization(
        artifact_visualization_id=viz.id,
        resource_id=rid,
        resource_type=rtype,
        project_id=client.active_project.id,
        display_name="Latest evaluation",
        display_order=10,
        layout_size=CuratedVisualizationSize.HALF_WIDTH,
    )
    assert tile.display_name == "Latest evaluation"
    assert tile.display_order == 10
    assert tile.layout_size == CuratedVisualizationSize.HALF_WIDTH
    assert tile.project_id == client.active_project.id
    assert tile.artifact_visualization_id == viz.id
    assert tile.artifact_version_id == viz.artifact_version_id
    assert tile.created <= tile.updated

    got = client.get_curated_visualization(tile.id, hydrate=True)
    assert got.id == tile.id
    assert got.resource.id == rid and got.resource.type == rtype
    assert got.artifact_visualization is not None
    assert got.artifact_visualization.id == viz.id
    assert got.artifact_visualization.uri == viz.uri
    assert client.list_curated_visualizations(rtype, rid)[0].id == tile.id
    assert client.load_visualization(got.artifact_visualization.id).value == "<h1>report 0</h1>"


def test_defaults_and_unhydrated_get(client: Client, world: World) -> None:
    tile = client.create_curated_visualization(world.vizs[1].id, world.targets[T.MODEL], T.MODEL)
    assert tile.display_name is None and tile.display_order is None
    assert tile.layout_size == CuratedVisualizationSize.FULL_WIDTH
    plain = client.get_curated_visualization(tile.id, hydrate=False)
    assert plain.artifact_visualization is None
    assert plain.resource.type == T.MODEL and plain.resource.id == world.targets[T.MODEL]
    assert client.get_curated_visualization(str(tile.id)).id == tile.id


def test_string_enum_values_are_accepted(client: Client, world: World) -> None:
    tile = client.create_curated_visualization(
        str(world.vizs[0].id), str(world.targets[T.PIPELINE]), "pipeline", layout_size="half_width"
    )
    assert tile.resource_type == T.PIPELINE
    assert tile.layout_size == CuratedVisualizationSize.HALF_WIDTH


def test_same_visualization_on_several_resources(client: Client, world: World) -> None:
    for rtype in ALL_TYPES:
        client.create_curated_visualization(world.vizs[0].id, world.targets[rtype], rtype)
    for rtype in ALL_TYPES:
        assert len(client.list_curated_visualizations(rtype, world.targets[rtype])) == 1


# -- update ------------------------------------------------------------------------------------


def test_update_changes_only_the_given_fields(client: Client, world: World) -> None:
    rid = world.targets[T.PIPELINE_RUN]
    tile = client.create_curated_visualization(
        world.vizs[0].id,
        rid,
        T.PIPELINE_RUN,
        display_name="Original",
        display_order=5,
        layout_size=CuratedVisualizationSize.HALF_WIDTH,
    )

    sized = client.update_curated_visualization(
        tile.id, layout_size=CuratedVisualizationSize.FULL_WIDTH
    )
    assert (sized.display_name, sized.display_order, sized.layout_size) == (
        "Original",
        5,
        CuratedVisualizationSize.FULL_WIDTH,
    )
    assert sized.updated >= tile.updated

    renamed = client.update_curated_visualization(visualization_id=tile.id, display_name="Renamed")
    assert (renamed.display_name, renamed.display_order, renamed.layout_size) == (
        "Renamed",
        5,
        CuratedVisualizationSize.FULL_WIDTH,
    )

    moved = client.update_curated_visualization(tile.id, display_order=0)
    assert (moved.display_name, moved.display_order, moved.layout_size) == (
        "Renamed",
        0,
        CuratedVisualizationSize.FULL_WIDTH,
    )

    same = client.update_curated_visualization(tile.id)
    assert (same.display_name, same.display_order, same.layout_size) == (
        "Renamed",
        0,
        CuratedVisualizationSize.FULL_WIDTH,
    )

    stored = client.get_curated_visualization(tile.id)
    assert (stored.display_name, stored.display_order, stored.layout_size) == (
        "Renamed",
        0,
        CuratedVisualizationSize.FULL_WIDTH,
    )
    # What a tile shows and where it is pinned never change.
    assert stored.artifact_visualization_id == tile.artifact_visualization_id
    assert stored.resource == tile.resource


def test_tiles_an_older_zviz_writes_are_read_from_their_columns(
    client: Client, world: World
) -> None:
    """A zviz from before schema 14, still running when the store was upgraded, writes tiles
    without `shown`, and updates their columns only: reads take those rows from the columns."""
    rid = world.targets[T.MODEL]
    kept = client.create_curated_visualization(world.vizs[0].id, rid, T.MODEL, display_order=10)
    moved = client.create_curated_visualization(world.vizs[1].id, rid, T.MODEL, display_order=20)
    old = uuid.uuid4()
    av = world.vizs[2].artifact_version_id

    def write_as_before_14(cur) -> None:
        cur.execute(
            "INSERT INTO curated_visualizations (id, project_id, artifact_visualization_id, "
            "artifact_version_id, resource_type, resource_id, display_name, display_order, "
            "layout_size, created, updated, viz_type, viz_uri, viz_position, viz_folder, "
            "artifact_name, artifact_version, run_id, run_name) "
            "SELECT $id, av.project_id, v.id, av.id, 'model', $rid, 'old', 30, 'full_width', "
            "av.created, av.created, v.type, v.uri, v.position, av.uri, a.name, av.version, "
            "av.run_id, av.run_name FROM artifact_visualizations v "
            "JOIN artifact_versions av ON av.id = v.artifact_version_id "
            "JOIN artifacts a ON a.id = av.artifact_id WHERE v.id = $v",
            {"id": old, "rid": rid, "v": world.vizs[2].id},
        )
        cur.execute(
            "UPDATE curated_visualizations SET display_order = 5, display_name = 'moved', "
            "updated = $t WHERE id = $id",
            {"t": moved.updated.replace(tzinfo=None) + timedelta(seconds=1), "id": moved.id},
        )

    client._db.write(write_as_before_14)
    tiles = client.list_curated_visualizations(T.MODEL, rid)
    assert [(t.id, t.display_name, t.display_order) for t in tiles] == [
        (moved.id, "moved", 5),
        (kept.id, None, 10),
        (old, "old", 30),
    ]
    older = client.get_curated_visualization(old)
    name = client.get_artifact_version(av).name
    assert (older.artifact_version_id, older.artifact_name, tiles[2].artifact_name) == (
        av,
        name,
        name,
    )
    shown = client.load_visualization_content(older.artifact_visualization).value
    assert shown == "<h1>report 2</h1>"
    assert client.get_curated_visualization(moved.id).display_order == 5
    # An update by this zviz writes `shown` again.
    client.update_curated_visualization(old, display_name="renamed")
    assert client.get_curated_visualization(old).display_name == "renamed"


def test_update_to_a_used_order_is_refused_and_changes_nothing(
    client: Client, world: World
) -> None:
    rid = world.targets[T.MODEL]
    first = client.create_curated_visualization(world.vizs[0].id, rid, T.MODEL, display_order=1)
    second = client.create_curated_visualization(world.vizs[1].id, rid, T.MODEL, display_order=2)
    with pytest.raises(EntityExistsError):
        client.update_curated_visualization(second.id, display_order=1, display_name="New")
    assert client.get_curated_visualization(second.id).display_order == 2
    assert client.get_curated_visualization(second.id).display_name is None
    # Keeping its own order is fine.
    assert client.update_curated_visualization(first.id, display_order=1).display_order == 1


def test_concurrent_moves_to_one_free_order_let_exactly_one_win(
    client: Client, world: World
) -> None:
    """Writers that overlap (PostgreSQL) check a free display order and take it in turns."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    rid = world.targets[T.MODEL]
    tiles = [
        client.create_curated_visualization(viz.id, rid, T.MODEL, display_order=i)
        for i, viz in enumerate(world.vizs)
    ]
    for target in (100, 200, 300):
        start = threading.Barrier(len(tiles))

        def move(tile_id: UUID, target: int = target, start: threading.Barrier = start) -> str:
            start.wait()
            try:
                client.update_curated_visualization(tile_id, display_order=target)
            except EntityExistsError:
                return "refused"
            return "moved"

        with ThreadPoolExecutor(len(tiles)) as pool:
            outcomes = sorted(pool.map(move, [t.id for t in tiles]))
        assert outcomes == ["moved"] + ["refused"] * (len(tiles) - 1)
        orders = [t.display_order for t in client.list_curated_visualizations(T.MODEL, rid)]
        assert orders.count(target) == 1 and len(orders) == len(tiles)


def test_concurrent_creates_at_one_order_let_exactly_one_win(client: Client, world: World) -> None:
    """The free-order check is part of the insert: creates that overlap (PostgreSQL) at one
    display order on one resource leave exactly one tile there."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    rid = world.targets[T.PIPELINE]
    start = threading.Barrier(len(world.vizs))

    def create(viz_id: UUID) -> str:
        start.wait()
        try:
            client.create_curated_visualization(viz_id, rid, T.PIPELINE, display_order=7)
        except EntityExistsError:
            return "refused"
        return "created"

    with ThreadPoolExecutor(len(world.vizs)) as pool:
        outcomes = sorted(pool.map(create, [v.id for v in world.vizs]))
    assert outcomes == ["created"] + ["refused"] * (len(world.vizs) - 1)
    assert [t.display_order for t in client.list_curated_visualizations(T.PIPELINE, rid)] == [7]


@pytest.mark.parametrize(
    "change",
    [
        {"display_order": -1},
        {"layout_size": "quarter_width"},
        {"display_name": ""},
        {"display_name": "   "},
        {"display_name": "x" * 201},
    ],
    ids=["negative-order", "unknown-size", "empty-name", "blank-name", "long-name"],
)
def test_bad_update_values_are_value_errors_and_change_nothing(
    change: dict, client: Client, world: World
) -> None:
    tile = client.create_curated_visualization(
        world.vizs[0].id, world.targets[T.MODEL], T.MODEL, display_name="Keep", display_order=3
    )
    with pytest.raises(ValueError) as info:
        client.update_curated_visualization(tile.id, **change)
    assert isinstance(info.value, ZvizError)
    stored = client.get_curated_visualization(tile.id)
    assert (stored.display_name, stored.display_order, stored.layout_size) == (
        "Keep",
        3,
        CuratedVisualizationSize.FULL_WIDTH,
    )
    assert stored.updated == tile.updated


# -- delete and missing ids --------------------------------------------------------------------


def test_delete_and_missing_ids_are_keyerrors(client: Client, world: World) -> None:
    rid = world.targets[T.DEPLOYMENT]
    tile = client.create_curated_visualization(world.vizs[0].id, rid, T.DEPLOYMENT)
    client.delete_curated_visualization(visualization_id=tile.id)
    assert client.list_curated_visualizations(T.DEPLOYMENT, rid) == []
    for call in (
        lambda: client.get_curated_visualization(tile.id),
        lambda: client.update_curated_visualization(tile.id, display_name="x"),
        lambda: client.delete_curated_visualization(tile.id),
        lambda: client.get_curated_visualization(uuid.uuid4()),
        lambda: client.get_curated_visualization("not-an-id"),
        lambda: client.update_curated_visualization("not-an-id", display_order=1),
        lambda: client.delete_curated_visualization("not-an-id"),
    ):
        with pytest.raises(KeyError) as info:
            call()
        assert isinstance(info.value, ZvizError)
        assert "curated visualization" in str(info.value)


def test_create_with_missing_visualization_or_resource_is_a_keyerror(
    client: Client, world: World
) -> None:
    with pytest.raises(KeyError, match="artifact visualization"):
        client.create_curated_visualization(uuid.uuid4(), world.targets[T.MODEL], T.MODEL)
    for rtype in ALL_TYPES:
        with pytest.raises(KeyError):
            client.create_curated_visualization(world.vizs[0].id, uuid.uuid4(), rtype)
    for rtype in ALL_TYPES:
        assert client.list_curated_visualizations(rtype, world.targets[rtype]) == []


# -- list ordering -----------------------------------------------------------------------------


def test_list_order_lower_first_then_unset_in_creation_order(client: Client, world: World) -> None:
    rid = world.targets[T.PIPELINE]
    orders = [20, None, 10, None, 0, None]
    candidates = [*world.vizs, world.extra]
    created = [
        client.create_curated_visualization(v.id, rid, T.PIPELINE, display_order=o)
        for v, o in zip(candidates, orders, strict=True)
    ]
    listed = client.list_curated_visualizations(T.PIPELINE, rid)
    assert [t.display_order for t in listed] == [0, 10, 20, None, None, None]
    unset = [t.id for t in created if t.display_order is None]
    assert [t.id for t in listed[3:]] == unset
    assert isinstance(listed, list)
    # Moving the last unset one to the front reorders the list.
    client.update_curated_visualization(unset[-1], display_order=5)
    assert [t.display_order for t in client.list_curated_visualizations(T.PIPELINE, rid)] == [
        0,
        5,
        10,
        20,
        None,
        None,
    ]


def test_list_is_per_resource_and_validates_its_arguments(client: Client, world: World) -> None:
    client.create_curated_visualization(world.vizs[0].id, world.targets[T.MODEL], T.MODEL)
    assert client.list_curated_visualizations(T.DEPLOYMENT, world.targets[T.DEPLOYMENT]) == []
    assert client.list_curated_visualizations("model", str(world.targets[T.MODEL]))
    assert client.list_curated_visualizations(T.MODEL, uuid.uuid4()) == []
    with pytest.raises(ValueError):
        client.list_curated_visualizations("dashboard", world.targets[T.MODEL])


# -- uniqueness ----------------------------------------------------------------------------------


def test_duplicates_are_entity_exists_errors(client: Client, world: World) -> None:
    rid = world.targets[T.PIPELINE_RUN]
    client.create_curated_visualization(world.vizs[0].id, rid, T.PIPELINE_RUN, display_order=1)
    with pytest.raises(EntityExistsError):
        client.create_curated_visualization(world.vizs[0].id, rid, T.PIPELINE_RUN)
    with pytest.raises(EntityExistsError, match="display_order 1"):
        client.create_curated_visualization(world.vizs[1].id, rid, T.PIPELINE_RUN, display_order=1)
    assert len(client.list_curated_visualizations(T.PIPELINE_RUN, rid)) == 1
    # Several unset orders are fine, and an order is only unique per resource.
    client.create_curated_visualization(world.vizs[1].id, rid, T.PIPELINE_RUN)
    client.create_curated_visualization(world.vizs[2].id, rid, T.PIPELINE_RUN)
    client.create_curated_visualization(
        world.vizs[0].id, world.targets[T.MODEL], T.MODEL, display_order=1
    )
    assert len(client.list_curated_visualizations(T.PIPELINE_RUN, rid)) == 3


# -- bad values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"display_order": -1},
        {"layout_size": "quarter_width"},
        {"resource_type": "dashboard"},
        {"display_name": ""},
        {"display_name": "  "},
        {"display_name": "n" * 201},
        {"artifact_visualization_id": "not-a-uuid"},
    ],
    ids=["negative-order", "unknown-size", "unknown-type", "empty", "blank", "too-long", "bad-id"],
)
def test_bad_values_are_value_errors_before_anything_is_written(
    bad: dict, client: Client, world: World
) -> None:
    kwargs = {
        "artifact_visualization_id": world.vizs[0].id,
        "resource_id": world.targets[T.MODEL],
        "resource_type": T.MODEL,
        **bad,
    }
    with pytest.raises(ValueError) as info:
        client.create_curated_visualization(**kwargs)
    assert isinstance(info.value, ZvizError)
    field = next(iter(bad))
    assert field in str(info.value)
    assert client.list_curated_visualizations(T.MODEL, world.targets[T.MODEL]) == []


def test_names_up_to_200_characters_are_fine(client: Client, world: World) -> None:
    name = "n" * 200
    tile = client.create_curated_visualization(
        world.vizs[0].id, world.targets[T.MODEL], T.MODEL, display_name=name, display_order=0
    )
    assert tile.display_name == name and tile.display_order == 0


# -- projects ------------------------------------------------------------------------------------


@pytest.fixture
def two_worlds(client: Client, monkeypatch: pytest.MonkeyPatch) -> tuple[World, World]:
    """The same resources in the default project and in a second project, 'other'."""
    home = build_world(client)
    client.create_project("other")
    monkeypatch.setenv("ZVIZ_PROJECT", "other")
    away = build_world(Client(), suffix="-other")
    monkeypatch.delenv("ZVIZ_PROJECT")
    assert away.run.project_id != home.run.project_id
    return home, away


@pytest.mark.parametrize("rtype", ALL_TYPES, ids=[t.value for t in ALL_TYPES])
def test_cross_project_tiles_are_refused_for_every_type(
    rtype: VisualizationResourceTypes, client: Client, two_worlds: tuple[World, World]
) -> None:
    home, away = two_worlds
    for viz, target in ((home.vizs[0], away.targets[rtype]), (away.vizs[0], home.targets[rtype])):
        with pytest.raises(ValueError, match="different projects") as info:
            client.create_curated_visualization(viz.id, target, rtype)
        assert isinstance(info.value, ZvizError)
        assert client.list_curated_visualizations(rtype, target) == []
    # Within a project it works, whichever project is active.
    client.create_curated_visualization(away.vizs[0].id, away.targets[rtype], rtype)
    assert len(client.list_curated_visualizations(rtype, away.targets[rtype])) == 1


def test_project_id_must_match_the_visualization(
    client: Client, two_worlds: tuple[World, World]
) -> None:
    home, away = two_worlds
    with pytest.raises(ValueError):
        client.create_curated_visualization(
            home.vizs[0].id,
            home.targets[T.MODEL],
            T.MODEL,
            project_id=away.targets[T.PROJECT],
        )
    assert client.list_curated_visualizations(T.MODEL, home.targets[T.MODEL]) == []


# -- cascades ------------------------------------------------------------------------------------


def pin_everywhere(client: Client, world: World) -> dict[VisualizationResourceTypes, UUID]:
    """One tile of `world.extra` on each of the six resources; returns the tile ids by type."""
    return {
        rtype: client.create_curated_visualization(
            world.extra.id, world.targets[rtype], rtype, display_name=rtype.value
        ).id
        for rtype in ALL_TYPES
    }


def surviving(client: Client, tiles: dict[VisualizationResourceTypes, UUID]) -> set:
    alive = set()
    for rtype, tile_id in tiles.items():
        try:
            client.get_curated_visualization(tile_id)
        except KeyError:
            continue
        alive.add(rtype)
    return alive


@pytest.mark.parametrize(
    ("deleted", "delete"),
    [
        (T.MODEL, lambda c, w: c.delete_model(w.targets[T.MODEL])),
        (T.DEPLOYMENT, lambda c, w: c.delete_deployment(w.targets[T.DEPLOYMENT])),
    ],
    ids=["model", "deployment"],
)
def test_deleting_a_model_or_deployment_deletes_its_tiles_only(
    deleted, delete, client: Client, world: World
) -> None:
    own = client.create_curated_visualization(
        world.vizs[0].id, world.targets[deleted], deleted, display_order=1
    )
    tiles = pin_everywhere(client, world)
    delete(client, world)
    assert surviving(client, tiles) == set(ALL_TYPES) - {deleted}
    with pytest.raises(KeyError):
        client.get_curated_visualization(own.id)
    assert client.list_curated_visualizations(deleted, world.targets[deleted]) == []


def test_deleting_a_run_deletes_its_tiles_and_tiles_of_its_artifacts(
    client: Client, world: World
) -> None:
    other = build_world(client, suffix="-2")
    # Tiles of the other run's visualization on the first run's resources survive...
    keep = client.create_curated_visualization(other.vizs[0].id, world.targets[T.MODEL], T.MODEL).id
    tiles = pin_everywhere(client, world)
    on_other_run = client.create_curated_visualization(
        other.vizs[0].id, other.targets[T.PIPELINE_RUN], T.PIPELINE_RUN
    ).id
    client.delete_pipeline_run(world.run.id)
    # ...while every tile showing the deleted run's artifacts goes with them.
    assert surviving(client, tiles) == set()
    assert client.get_curated_visualization(keep).id == keep
    assert client.get_curated_visualization(on_other_run).id == on_other_run
    with pytest.raises(KeyError):
        client.get_pipeline_run(world.run.id)
    with pytest.raises(KeyError):
        client.get_artifact_version(world.extra.artifact_version_id)


def test_deleting_the_run_target_deletes_the_tile(client: Client, world: World) -> None:
    other = build_world(client, suffix="-2")
    tile = client.create_curated_visualization(
        world.vizs[0].id, world.targets[T.PIPELINE_RUN], T.PIPELINE_RUN
    ).id
    # Pin the first run's visualization on the second run is cross-run but same project: fine.
    cross = client.create_curated_visualization(
        world.vizs[1].id, other.targets[T.PIPELINE_RUN], T.PIPELINE_RUN
    ).id
    client.delete_pipeline_run(other.run.id)
    assert client.get_curated_visualization(tile).id == tile
    with pytest.raises(KeyError):
        client.get_curated_visualization(cross)


def test_deleting_a_snapshot_deletes_its_tiles_and_detaches_deployments(
    client: Client, world: World
) -> None:
    tile = client.create_curated_visualization(
        world.vizs[0].id, world.targets[T.PIPELINE_SNAPSHOT], T.PIPELINE_SNAPSHOT
    ).id
    on_model = client.create_curated_visualization(
        world.vizs[1].id, world.targets[T.MODEL], T.MODEL
    ).id
    client.delete_snapshot(world.targets[T.PIPELINE_SNAPSHOT])
    with pytest.raises(KeyError):
        client.get_curated_visualization(tile)
    with pytest.raises(KeyError):
        client.get_snapshot(world.targets[T.PIPELINE_SNAPSHOT])
    # The runs that executed the snapshot went too, and with them their artifacts' tiles.
    with pytest.raises(KeyError):
        client.get_pipeline_run(world.run.id)
    with pytest.raises(KeyError):
        client.get_curated_visualization(on_model)
    deployment = client.list_deployments().items[0]
    assert deployment.id == world.targets[T.DEPLOYMENT] and deployment.snapshot_id is None


def test_deleting_a_pipeline_deletes_tiles_on_it_its_runs_and_snapshots(
    client: Client, world: World
) -> None:
    @step
    def unrelated() -> HTMLString:
        return HTMLString("<p>kept</p>")

    @pipeline
    def survivor() -> None:
        unrelated()

    kept_run = survivor()
    kept_viz = kept_run.steps["unrelated"].output.visualizations[0]
    kept = client.create_curated_visualization(kept_viz.id, world.targets[T.PROJECT], T.PROJECT).id
    tiles = pin_everywhere(client, world)
    direct = {
        rtype: client.create_curated_visualization(kept_viz.id, world.targets[rtype], rtype).id
        for rtype in (T.PIPELINE, T.PIPELINE_RUN, T.PIPELINE_SNAPSHOT, T.MODEL)
    }
    client.delete_pipeline(world.targets[T.PIPELINE])
    assert surviving(client, tiles) == set()
    assert surviving(client, direct) == {T.MODEL}
    assert client.get_curated_visualization(kept).id == kept
    assert [p.name for p in client.list_pipelines().items] == ["survivor"]
    assert client.list_pipeline_runs().total == 1


def test_deleting_an_artifact_version_deletes_the_tiles_showing_it(
    client: Client, world: World
) -> None:
    tiles = pin_everywhere(client, world)
    other = client.create_curated_visualization(
        world.vizs[0].id, world.targets[T.MODEL], T.MODEL
    ).id
    client.delete_artifact_version(world.extra.artifact_version_id)
    assert surviving(client, tiles) == set()
    assert client.get_curated_visualization(other).id == other
    with pytest.raises(KeyError):
        client.get_artifact_version(world.extra.artifact_version_id)
    with pytest.raises(KeyError):
        client.load_visualization(world.extra.id)
    # The run itself stays.
    assert client.get_pipeline_run(world.run.id).id == world.run.id


# -- properties over many sequences ----------------------------------------------------------

_counter = iter(range(10**6))
FAST = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FAST
@given(
    orders=st.lists(
        st.one_of(st.none(), st.integers(min_value=0, max_value=50)), min_size=1, max_size=6
    )
)
def test_list_order_holds_for_any_orders(orders, client: Client, world: World) -> None:
    model = client.create_model(name=f"ordered-{next(_counter)}")
    created = []
    for viz, order in zip([*world.vizs, world.extra], orders, strict=False):
        try:
            created.append(
                client.create_curated_visualization(viz.id, model.id, T.MODEL, display_order=order)
            )
        except EntityExistsError:
            assert order is not None and order in [t.display_order for t in created]
    listed = client.list_curated_visualizations(T.MODEL, model.id)
    ordered = sorted(
        (t for t in created if t.display_order is not None), key=lambda t: t.display_order
    )
    unset = [t for t in created if t.display_order is None]
    assert [t.id for t in listed] == [t.id for t in ordered + unset]


_field_changes = st.fixed_dictionaries(
    {},
    optional={
        "display_name": st.text(
            alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=30
        ),
        "display_order": st.integers(min_value=0, max_value=1000),
        "layout_size": st.sampled_from(list(CuratedVisualizationSize)),
    },
)


@FAST
@given(changes=st.lists(_field_changes, min_size=1, max_size=4))
def test_updates_change_exactly_the_given_fields(changes, client: Client, world: World) -> None:
    model = client.create_model(name=f"updated-{next(_counter)}")
    tile = client.create_curated_visualization(
        world.vizs[0].id, model.id, T.MODEL, display_name="Start", display_order=7
    )
    expected = {
        "display_name": "Start",
        "display_order": 7,
        "layout_size": CuratedVisualizationSize.FULL_WIDTH,
    }
    for change in changes:
        client.update_curated_visualization(tile.id, **change)
        expected.update(change)
        stored = client.get_curated_visualization(tile.id)
        assert {k: getattr(stored, k) for k in expected} == expected
