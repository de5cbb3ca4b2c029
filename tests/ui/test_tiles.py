"""Curated dashboards driven through the UI: add, edit, move, delete, refusals and read-only users."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hyp
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import no_exception, plain, texts, visualizations
from zviz_core import Client
from zviz_core.enums import CuratedVisualizationSize
from zviz_core.models import CuratedVisualizationResponse
from zviz_core.ui.tiles import DIALOG_KEY, FORM, UNDO_KEY, UNDO_SECONDS, moved, packed, rows
from zviz_testing.factories import run_everything

HALF = CuratedVisualizationSize.HALF_WIDTH
FULL = CuratedVisualizationSize.FULL_WIDTH


def _tiles(client: Client) -> list[Any]:
    return client.list_curated_visualizations("project", client.active_project.id)


def _grid_spans(at: AppTest) -> list[int]:
    def find(node: Any) -> Any:
        if getattr(node, "type", "") == "grid_container":
            return node
        for child in getattr(node, "children", {}).values():
            found = find(child)
            if found is not None:
                return found
        return None

    grid = find(at._tree)
    return [cell.proto.grid_cell.column_span for cell in grid.children.values()]


def _open_add(at: AppTest, client: Client) -> AppTest:
    return at.button(key=f"add-tile-{client.active_project.id}").click().run()


def test_add_a_tile_by_searching_artifacts(open_page, client: Client, run) -> None:
    report = visualizations(run)["report"]
    at = _open_add(open_page("overview"), client)
    no_exception(at)
    at.text_input(key=FORM + "q").input("rep").run()
    at.selectbox(key=FORM + "av").select(str(report.artifact_version_id)).run()
    at.text_input(key=FORM + "name").input("Quality report").run()
    at.number_input(key=FORM + "order").set_value(30).run()
    at.segmented_control(key=FORM + "width").set_value("Half width").run()
    at.button(key=FORM + "submit").click().run()
    no_exception(at)
    [tile] = _tiles(client)
    assert (tile.display_name, tile.display_order, tile.layout_size) == ("Quality report", 30, HALF)
    assert tile.artifact_visualization_id == report.id
    assert DIALOG_KEY not in at.session_state, "the dialog closed"
    assert "Quality report" in [plain(m.value).strip("*") for m in at.markdown]
    assert "sandbox" in at.get("iframe")[0].proto.srcdoc


def test_add_a_tile_by_run_step_and_output(open_page, client: Client, run) -> None:
    at = _open_add(open_page("overview"), client)
    at.segmented_control(key=FORM + "mode").set_value("Browse runs").run()
    at.selectbox(key=FORM + "run").select(str(run.id)).run()
    at.selectbox(key=FORM + f"step-{run.id}").select("frame").run()
    viz_box = next(s for s in at.selectbox if str(s.key).startswith(FORM + "viz-"))
    sample = visualizations(run)["frame:sample.csv"]
    viz_box.select(str(sample.id)).run()
    at.button(key=FORM + "submit").click().run()
    no_exception(at)
    [tile] = _tiles(client)
    assert tile.artifact_visualization_id == sample.id
    assert tile.display_order == 10, "the first tile gets the first free multiple of 10"


def test_a_refused_tile_keeps_what_the_user_typed(open_page, client: Client, run) -> None:
    vizs = visualizations(run)
    project = client.active_project.id
    client.create_curated_visualization(vizs["card"].id, project, "project", display_order=10)
    at = _open_add(open_page("overview"), client)
    at.text_input(key=FORM + "q").input("metrics").run()
    at.selectbox(key=FORM + "av").select(str(vizs["metrics"].artifact_version_id)).run()
    at.text_input(key=FORM + "name").input("Scores").run()
    at.number_input(key=FORM + "order").set_value(10).run()
    at.button(key=FORM + "submit").click().run()
    no_exception(at)
    assert any("display_order 10 is already used" in plain(e) for e in texts(at, "error"))
    assert at.text_input(key=FORM + "name").value == "Scores"
    assert at.number_input(key=FORM + "order").value == 10
    assert len(_tiles(client)) == 1
    at.number_input(key=FORM + "order").set_value(20).run()
    at.button(key=FORM + "submit").click().run()
    assert [t.display_name for t in _tiles(client)] == [None, "Scores"]


def test_the_same_visualization_twice_is_refused_readably(open_page, client: Client, run) -> None:
    card = visualizations(run)["card"]
    client.create_curated_visualization(card.id, client.active_project.id, "project")
    at = _open_add(open_page("overview"), client)
    at.text_input(key=FORM + "q").input("card").run()
    at.selectbox(key=FORM + "av").select(str(card.artifact_version_id)).run()
    at.button(key=FORM + "submit").click().run()
    assert any("already a tile" in e for e in texts(at, "error"))


def test_edit_name_order_and_width(open_page, client: Client, run) -> None:
    card = visualizations(run)["card"]
    tile = client.create_curated_visualization(
        card.id, client.active_project.id, "project", display_name="Card", display_order=10
    )
    at = open_page("overview")
    at.menu_button(key=f"tile-menu-{tile.id}").click("Edit").run()
    assert at.text_input(key=FORM + "name").value == "Card"
    assert at.number_input(key=FORM + "order").value == 10
    at.text_input(key=FORM + "name").input("Model card").run()
    at.number_input(key=FORM + "order").set_value(40).run()
    at.segmented_control(key=FORM + "width").set_value("Half width").run()
    at.button(key=FORM + "submit").click().run()
    no_exception(at)
    [saved] = _tiles(client)
    assert (saved.display_name, saved.display_order, saved.layout_size) == ("Model card", 40, HALF)


def test_an_edit_never_reverts_what_someone_else_changed_meanwhile(
    open_page, client: Client, run
) -> None:
    card = visualizations(run)["card"]
    tile = client.create_curated_visualization(
        card.id, client.active_project.id, "project", display_name="Card", display_order=10
    )
    at = open_page("overview")
    at.menu_button(key=f"tile-menu-{tile.id}").click("Edit").run()
    # Someone else makes the tile half width and moves it while this dialog is open.
    client.update_curated_visualization(tile.id, layout_size=HALF, display_order=30)
    at.text_input(key=FORM + "name").input("Model card").run()
    at.button(key=FORM + "submit").click().run()
    no_exception(at)
    assert any("changed by someone else" in plain(e) for e in texts(at, "error"))
    [kept] = _tiles(client)
    assert (kept.display_name, kept.display_order, kept.layout_size) == ("Card", 30, HALF)


def test_an_edit_sends_only_what_was_changed(open_page, client: Client, run) -> None:
    card = visualizations(run)["card"]
    tile = client.create_curated_visualization(
        card.id, client.active_project.id, "project", display_name="Card", display_order=10
    )
    at = open_page("overview")
    at.menu_button(key=f"tile-menu-{tile.id}").click("Edit").run()
    at.text_input(key=FORM + "name").input("Model card").run()
    at.button(key=FORM + "submit").click().run()
    no_exception(at)
    [saved] = _tiles(client)
    assert (saved.display_name, saved.display_order, saved.layout_size.value) == (
        "Model card",
        10,
        "full_width",
    )


def test_move_up_and_down_renumber_with_gaps_of_ten(open_page, client: Client, run) -> None:
    vizs = visualizations(run)
    project = client.active_project.id
    ids = [
        client.create_curated_visualization(vizs[name].id, project, "project", display_order=o).id
        for name, o in (("card", 5), ("metrics", 7), ("table", None))
    ]
    at = open_page("overview")
    options = at.menu_button(key=f"tile-menu-{ids[0]}").options
    assert "Move up" not in options and "Move down" in options
    at.menu_button(key=f"tile-menu-{ids[2]}").click("Move up").run()
    no_exception(at)
    assert [(t.id, t.display_order) for t in _tiles(client)] == [
        (ids[0], 10),
        (ids[2], 20),
        (ids[1], 30),
    ]
    at.menu_button(key=f"tile-menu-{ids[0]}").click("Move down").run()
    assert [(t.id, t.display_order) for t in _tiles(client)] == [
        (ids[2], 10),
        (ids[0], 20),
        (ids[1], 30),
    ]


def test_delete_offers_undo_for_a_few_seconds(open_page, client: Client, run) -> None:
    vizs = visualizations(run)
    project = client.active_project.id
    first = client.create_curated_visualization(vizs["metrics"].id, project, "project")
    tile = client.create_curated_visualization(
        vizs["card"].id, project, "project", display_name="The card", layout_size=HALF
    )
    last = client.create_curated_visualization(vizs["table"].id, project, "project")
    at = open_page("overview")
    at.menu_button(key=f"tile-menu-{tile.id}").click("Delete").run()
    no_exception(at)
    assert [t.id for t in _tiles(client)] == [first.id, last.id], "deleted at once"
    assert any("Deleted the tile" in m.value and "The card" in m.value for m in at.markdown)
    at.button(key="zviz-tile-undo").click().run()
    no_exception(at)
    back = _tiles(client)
    assert (back[0].id, back[2].id) == (first.id, last.id), "back in its place"
    assert (back[1].display_name, back[1].layout_size, back[1].artifact_visualization_id) == (
        "The card",
        HALF,
        vizs["card"].id,
    )
    assert not any("Deleted the tile" in m.value for m in at.markdown)

    at.menu_button(key=f"tile-menu-{back[1].id}").click("Delete").run()
    at.session_state[UNDO_KEY] = {**at.session_state[UNDO_KEY], "at": time.time() - UNDO_SECONDS}
    at.run()
    no_exception(at)
    assert not any("Deleted the tile" in m.value for m in at.markdown), "the offer expired"
    assert [t.id for t in _tiles(client)] == [first.id, last.id]


def test_move_to_position_never_leaves_a_hole(open_page, client: Client, run) -> None:
    vizs = visualizations(run)
    project = client.active_project.id
    left, right, wide = (
        client.create_curated_visualization(vizs[name].id, project, "project", layout_size=size)
        for name, size in (("card", HALF), ("picture", HALF), ("metrics", FULL))
    )
    at = open_page("overview")
    assert _grid_spans(at) == [3, 3, 6]
    at.menu_button(key=f"tile-menu-{wide.id}").click("Move to position…").run()
    at.number_input(key=FORM + "position").set_value(2).run()
    at.button(key=FORM + "submit").click().run()
    no_exception(at)
    assert [t.id for t in _tiles(client)] == [wide.id, left.id, right.id], "before the pair"
    assert _grid_spans(at) == [6, 3, 3]
    at.menu_button(key=f"tile-menu-{wide.id}").click("Move to position…").run()
    at.number_input(key=FORM + "position").set_value(2).run()
    at.button(key=FORM + "submit").click().run()
    assert [t.id for t in _tiles(client)] == [left.id, right.id, wide.id], "after the pair"
    at.menu_button(key=f"tile-menu-{wide.id}").click("Move up").run()
    assert [t.id for t in _tiles(client)] == [wide.id, left.id, right.id], "up past the pair"
    assert [t.display_order for t in _tiles(client)] == [10, 20, 30]


def test_a_lone_half_tile_pairs_with_the_next_half_tile(open_page, client: Client, run) -> None:
    vizs = visualizations(run)
    project = client.active_project.id
    for name, size, order in (
        ("card", HALF, 10),
        ("metrics", FULL, 20),
        ("picture", HALF, 30),
    ):
        client.create_curated_visualization(
            vizs[name].id, project, "project", layout_size=size, display_order=order
        )
    assert _grid_spans(open_page("overview")) == [3, 3, 6]


def _stub(i: int, half: bool) -> CuratedVisualizationResponse:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return CuratedVisualizationResponse(
        id=uuid.UUID(int=i + 1),
        project_id=uuid.UUID(int=0),
        artifact_visualization_id=None,
        artifact_version_id=None,
        display_name=None,
        display_order=i,
        layout_size=HALF if half else FULL,
        resource_type="project",
        resource_id=uuid.UUID(int=0),
        created=when,
        updated=when,
    )


@settings(max_examples=300, deadline=None)
@given(
    hyp.lists(hyp.booleans(), min_size=1, max_size=9),
    hyp.integers(min_value=0, max_value=8),
    hyp.integers(min_value=-2, max_value=12),
)
def test_any_move_keeps_every_tile_and_leaves_at_most_one_lone_half_at_the_end(
    halves: list[bool], which: int, position: int
) -> None:
    tiles = [_stub(i, half) for i, half in enumerate(halves)]
    which %= len(tiles)
    order = moved(tiles, tiles[which].id, position)
    assert sorted(order) == sorted(t.id for t in tiles)
    by_id = {t.id: t for t in tiles}
    grid = rows([by_id[i] for i in order])
    lone = [n for n, row in enumerate(grid) if len(row) == 1 and row[0].layout_size is HALF]
    assert len(lone) <= 1
    if lone:  # only when no half-width tile comes after it
        assert all(r[0].layout_size is FULL for r in grid[lone[0] + 1 :])
    assert packed([by_id[i] for i in order]) == [by_id[i] for i in order], "saved as shown"


def test_expand_shows_the_tile_in_a_dialog(open_page, client: Client, run) -> None:
    tile = client.create_curated_visualization(
        visualizations(run)["report"].id, client.active_project.id, "project"
    )
    at = open_page("overview")
    at.menu_button(key=f"tile-menu-{tile.id}").click("Expand").run()
    no_exception(at)
    assert len(at.get("iframe")) == 2


def test_two_half_width_tiles_share_a_row(open_page, client: Client, run) -> None:
    vizs = visualizations(run)
    project = client.active_project.id
    for name, size in (("report", "full_width"), ("card", "half_width"), ("picture", "half_width")):
        client.create_curated_visualization(vizs[name].id, project, "project", layout_size=size)
    at = open_page("overview")
    assert _grid_spans(at) == [6, 3, 3]


def test_tiles_on_every_kind_of_resource(open_page, client: Client, run) -> None:
    card = visualizations(run)["card"]
    model = client.create_model("classifier")
    deployment = client.create_deployment("serving", run.snapshot_id)
    targets = {
        "runs": ("pipeline_run", run.id),
        "pipelines": ("pipeline", run.pipeline.id),
        "snapshots": ("pipeline_snapshot", run.snapshot_id),
        "models": ("model", model.id),
        "deployments": ("deployment", deployment.id),
    }
    for page, (rtype, rid) in targets.items():
        client.create_curated_visualization(card.id, rid, rtype, display_name=f"on {page}")
        at = open_page(page, id=rid)
        no_exception(at)
        assert f"**on {page}**" in [plain(m.value) for m in at.markdown], page


@pytest.fixture
def viewer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "auth.yaml"
    config.write_text(
        "credentials:\n  usernames:\n    vera: {name: Vera, email: v@example.com, "
        "password: x, roles: [viewer]}\n"
        "access:\n  roles:\n    viewer: {read: ['*'], write: []}\n"
    )
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(config))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", "test-only-cookie-key-0123456789")
    return "vera"


def test_a_reader_sees_tiles_without_edit_controls(open_page, client: Client, run, viewer) -> None:
    tile = client.create_curated_visualization(
        visualizations(run)["card"].id, client.active_project.id, "project"
    )
    at = open_page("overview", session_state={"username": viewer, "authentication_status": True})
    no_exception(at)
    assert not [b for b in at.button if b.label == "Add tile"]
    assert at.menu_button(key=f"tile-menu-{tile.id}").options == ["Expand"]
    at = open_page(
        "runs", session_state={"username": viewer, "authentication_status": True}, id=run.id
    )
    no_exception(at)
    assert not [b for b in at.button if b.label == "Add tile"]
    assert not any("Click **Add tile**" in i for i in texts(at, "info"))


def test_the_add_dialog_previews_and_can_follow_the_latest(open_page, client: Client, run) -> None:
    report = visualizations(run)["report"]
    at = _open_add(open_page("overview"), client)
    assert not at.get("iframe"), "no preview before a pick"
    at.text_input(key=FORM + "q").input("rep").run()
    at.selectbox(key=FORM + "av").select(str(report.artifact_version_id)).run()
    no_exception(at)
    [preview] = at.get("iframe")
    assert "Report" in preview.proto.srcdoc and 'sandbox="allow-scripts"' in preview.proto.srcdoc
    at.segmented_control(key=FORM + "follow").set_value("Always show the latest").run()
    assert any("output **report** of step **report**" in c for c in texts(at, "caption"))
    at.button(key=FORM + "submit").click().run()
    no_exception(at)
    [tile] = _tiles(client)
    assert tile.follow == "output" and tile.run_id == run.id

    newer = run_everything()
    at.run()
    no_exception(at)
    links = [plain(str(b.proto.label)) for b in at.get("page_link")]
    assert any(newer.name in link for link in links), links
    assert any("Latest version, made" in c for c in texts(at, "caption"))
