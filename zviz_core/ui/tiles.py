"""Curated dashboards: a resource's tiles on a grid, and the dialogs that add, edit, move and delete them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import streamlit as st

from zviz_core.client import Client
from zviz_core.enums import CuratedVisualizationSize, TileFollow, VisualizationResourceTypes
from zviz_core.errors import InvalidInputError, ZvizError
from zviz_core.models import (
    ArtifactVersionResponse,
    ArtifactVisualizationResponse,
    CuratedVisualizationResponse,
)
from zviz_core.settings import settings
from zviz_core.ui import fmt, nav, render
from zviz_core.ui.notices import contained, md_escape, show_error

GAP = 10
GRID_COLUMNS = 6
# Narrow enough that two half-width tiles share a row beside the sidebar at 1400 px, wide enough
# that a phone falls back to 3 columns (a half then fills the row and tiles stack).
MIN_COLUMN_WIDTH = 100
SPANS = {CuratedVisualizationSize.FULL_WIDTH: 6, CuratedVisualizationSize.HALF_WIDTH: 3}
WIDTH_LABELS = {
    CuratedVisualizationSize.FULL_WIDTH: "Full width",
    CuratedVisualizationSize.HALF_WIDTH: "Half width",
}
DIALOG_KEY = "zviz.tile_dialog"
FLASH_KEY = "zviz.tile_flash"
FORM = "zviz.tile_form."  # prefix of the dialogs' widget keys
EXPAND, EDIT, UP, DOWN, MOVE, DELETE = (
    "Expand",
    "Edit",
    "Move up",
    "Move down",
    "Move to position…",
    "Delete",
)
UNDO_KEY = "zviz.tile_undo"
UNDO_SECONDS = 8
WATCH_KEY = "zviz.tile_watch"
# Every session of this process shares one reading of the change token per interval.
TOKEN_TTL_S = 1.0
PIN, FOLLOW = "Pin this version", "Always show the latest"
HALF = CuratedVisualizationSize.HALF_WIDTH
_Tile = TypeVar("_Tile", bound=CuratedVisualizationResponse)
RESOURCE_LABELS = {
    VisualizationResourceTypes.PROJECT: "project",
    VisualizationResourceTypes.PIPELINE: "pipeline",
    VisualizationResourceTypes.PIPELINE_RUN: "run",
    VisualizationResourceTypes.PIPELINE_SNAPSHOT: "snapshot",
    VisualizationResourceTypes.MODEL: "model",
    VisualizationResourceTypes.DEPLOYMENT: "deployment",
}


# -- the grid -----------------------------------------------------------------------------------


def rows(tiles: Sequence[_Tile]) -> list[list[_Tile]]:
    """Return the grid's rows: a full-width tile alone, and each half-width tile together with
    the next half-width tile after it, so no row is left half empty while another half-width
    tile follows (it moves up beside the first)."""
    out: list[list[_Tile]] = []
    waiting: int | None = None
    for tile in tiles:
        if tile.layout_size is not HALF:
            out.append([tile])
        elif waiting is None:
            out.append([tile])
            waiting = len(out) - 1
        else:
            out[waiting].append(tile)
            waiting = None
    return out


def packed(tiles: Sequence[_Tile]) -> list[_Tile]:
    """Return the tiles in the order the grid shows them (row by row, see `rows`)."""
    return [tile for row in rows(tiles) for tile in row]


def moved(tiles: Sequence[_Tile], tile_id: UUID, position: int) -> list[UUID]:
    """Return the tile ids, in the order the grid shows them, after moving one tile to
    `position` (1 is first) of that order.

    A full-width tile never lands between two half-width tiles that share a row: it goes
    before the pair when it moves up, after it when it moves down. Raises ValueError when
    `tile_id` is not among `tiles`.
    """
    order = packed(tiles)
    ids = [t.id for t in order]
    old = ids.index(tile_id)
    target = max(0, min(position - 1, len(order) - 1))
    moving = order[old]
    rest = packed(order[:old] + order[old + 1 :])
    if moving.layout_size is not HALF:
        starts, at = [0], 0
        for row in rows(rest):
            at += len(row)
            starts.append(at)
        if target not in starts:
            earlier = [i for i in starts if i <= target]
            later = [i for i in starts if i >= target]
            target = earlier[-1] if target < old else later[0]
    return [t.id for t in packed([*rest[:target], moving, *rest[target:]])]


def refresh_seconds() -> float:
    """Return how often an open dashboard looks for changes: ZVIZ_REFRESH_SECONDS (default
    120; 0 turns it off; a value that is not a number is logged and the default used)."""
    return settings().REFRESH_SECONDS


_tokens: dict[int, tuple[float, str]] = {}
_tokens_lock = threading.Lock()


def change_token(client: Client) -> str:
    """Return the store's change token, read at most once a TOKEN_TTL_S per process (all
    sessions polling one store share the reading)."""
    key = id(client.store)
    now = time.monotonic()
    with _tokens_lock:
        seen = _tokens.get(key)
        if seen is not None and now - seen[0] < TOKEN_TTL_S:
            return seen[1]
    token = client.change_token()
    with _tokens_lock:
        _tokens[key] = (now, token)
    return token


def answer(tiles: Sequence[CuratedVisualizationResponse]) -> tuple:
    """What a dashboard shows, for telling whether it changed: each tile's place, name, width
    and the visualization (and run) it shows."""
    return tuple(
        (
            t.id,
            t.display_name,
            t.display_order,
            t.layout_size,
            t.artifact_visualization_id,
            t.run_id,
        )
        for t in tiles
    )


def tile_grid(
    client: Client,
    resource_type: VisualizationResourceTypes | str,
    resource_id: UUID,
    *,
    title: str = "Dashboard",
) -> None:
    """Draw a resource's tiles in display order and return nothing.

    Full-width tiles fill a row and two half-width tiles share one. Users who may write the
    resource also get "Add tile" and each tile's edit, move and delete actions. Every error
    stays inside the tile (or the dashboard) where it happened. While the page is open, a
    dashboard with a tile that follows the latest version looks for changes every
    refresh_seconds() and redraws when what it shows changed (a newer run completed, someone
    edited a tile).
    """
    rtype = VisualizationResourceTypes(resource_type)
    with contained(what="This dashboard"):
        token = change_token(client)
        tiles = packed(client.list_curated_visualizations(rtype, resource_id))
        writable = client.can_write(rtype, resource_id)
        head = st.container(horizontal=True, vertical_alignment="center", key=f"dash-{rtype}")
        head.header(title, anchor=False)
        if writable:
            head.button(
                "Add tile",
                icon=":material/add:",
                key=f"add-tile-{resource_id}",
                on_click=_open,
                args=("add", rtype, resource_id, None),
            )
        _show_flash()
        undo = st.session_state.get(UNDO_KEY)
        if undo and undo.get("rid") == str(resource_id) and writable:
            _undo_bar(client)
        if not tiles:
            _empty(rtype, writable)
        else:
            grid = st.grid(GRID_COLUMNS, min_column_width=MIN_COLUMN_WIDTH, gap="small")
            for index, tile in enumerate(tiles):
                with grid.cell(column_span=SPANS[tile.layout_size]):
                    _tile(client, tile, index, len(tiles), writable)
        _pending_dialog(client, rtype, resource_id, tiles, writable)
        every = refresh_seconds()
        # Only a following tile changes when a run completes: other dashboards never poll.
        if every > 0 and any(t.follow is not None for t in tiles):
            watch = st.session_state.setdefault(WATCH_KEY, {})
            watch[f"{rtype}:{resource_id}"] = (token, answer(tiles))
            _watch(client, str(rtype), str(resource_id), every)


def _watch(client: Client, rtype: str, resource_id: str, every: float) -> None:
    @st.fragment(run_every=every)
    def look() -> None:
        changed_since(client, rtype, resource_id, rerun=True)

    look()


def changed_since(client: Client, rtype: str, resource_id: str, rerun: bool = False) -> bool:
    """Return whether the dashboard of a resource, as this session last drew it, would now
    show something else; with `rerun`, redraw the page when it would.

    While nothing was written to the store this reads only its change token (shared by all
    sessions of the process); after a write, the tiles once, from the store's read cache
    when another session already read them.
    """
    watch = st.session_state.setdefault(WATCH_KEY, {})
    key = f"{rtype}:{resource_id}"
    seen = watch.get(key)
    token = change_token(client)
    if seen is None or seen[0] == token:
        return False
    tiles = packed(client.list_curated_visualizations(rtype, resource_id))
    now = answer(tiles)
    watch[key] = (token, seen[1])
    if now == seen[1]:
        return False
    if rerun:
        st.rerun()
    return True


def _empty(rtype: VisualizationResourceTypes, writable: bool) -> None:
    what = RESOURCE_LABELS[rtype]
    if writable:
        st.info(
            f"No tiles on this {what} yet. Click **Add tile**, find a visualization by artifact "
            "name or by run, step and output, then choose its name, position and width.",
            icon=":material/dashboard_customize:",
        )
    else:
        st.info(f"No tiles on this {what} yet.", icon=":material/dashboard_customize:")


def _tile(
    client: Client, tile: CuratedVisualizationResponse, index: int, count: int, writable: bool
) -> None:
    viz = tile.artifact_visualization
    with st.container(border=True, key=f"tile-{tile.id}"):
        head = st.container(horizontal=True, vertical_alignment="center", gap="small")
        head.markdown(f"**{md_escape(tile.title)}**", width="content")
        if viz is not None:
            head.badge(
                render.LABELS[viz.type], color=render.BADGE_COLORS[viz.type], width="content"
            )
        if tile.follow is not None:
            head.badge(
                "Latest",
                icon=":material/update:",
                color="blue",
                width="content",
                help="This tile always shows the newest version among completed runs.",
            )
        head.space("stretch")
        options = [EXPAND] if viz is not None else []
        if writable:
            options += [EDIT] + ([UP] if index > 0 else []) + ([DOWN] if index < count - 1 else [])
            options += [MOVE] if count > 1 else []
            options.append(DELETE)
        menu_key = f"tile-menu-{tile.id}"
        if options:
            head.menu_button(
                f"Actions for the tile {md_escape(tile.title)}",  # read aloud, hidden by a11y
                options,
                key=menu_key,
                icon=":material/more_vert:",
                type="tertiary",
                help="Tile actions",
                on_click=_on_action,
                args=(client, tile.id, menu_key),
            )
        if viz is None and tile.follow is not None:
            st.info(
                "Nothing to show yet: no completed run you may open has made this. The newest "
                "one will appear here by itself.",
                icon=":material/hourglass_empty:",
            )
            return
        if viz is None:
            st.warning("The visualization behind this tile no longer exists.")
            return
        with head:
            render.download_button(client, viz, key=f"tile-dl-{tile.id}", icon_only=True)
        if not tile.source_readable:
            # Pinned from a run this user may not read: the core left out its names and ids.
            st.caption(f"{render.LABELS[viz.type]} from a run you cannot open", width="content")
        elif tile.run_id is not None:
            nav.link(
                nav.RUNS,
                f"{tile.run_name} · {tile.artifact_name} v{tile.artifact_version}",
                icon=":material/link:",
                id=tile.run_id,
                artifact=tile.artifact_version_id,
                viz=viz.id,
            )
        else:
            nav.link(
                nav.ARTIFACTS,
                f"{tile.artifact_name} v{tile.artifact_version}",
                icon=":material/link:",
                id=tile.artifact_version_id,
                viz=viz.id,
            )
        if tile.follow is not None and tile.shown_created is not None:
            st.caption(f"Latest version, made {fmt.when(tile.shown_created)}")
        render.render_visualization(
            client, viz, key=f"tile-{tile.id}", in_tile=True, expandable=False
        )


# -- actions ------------------------------------------------------------------------------------


def _flash(kind: str, text: str) -> None:
    st.session_state[FLASH_KEY] = (kind, text)


def _show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash is None:
        return
    kind, text = flash
    if kind == "error":
        st.error(md_escape(text), icon=":material/error:")
    elif kind == "info":
        st.info(md_escape(text), icon=":material/info:")
    else:
        st.toast(text, icon=":material/check_circle:")


def _open(
    kind: str, rtype: Any, resource_id: Any, tile: CuratedVisualizationResponse | None
) -> None:
    """Open a dialog on the next run, its fields prefilled (a button/menu callback)."""
    for key in [k for k in st.session_state if str(k).startswith(FORM)]:
        del st.session_state[key]
    state: dict[str, Any] = {"kind": kind, "rtype": str(rtype), "rid": str(resource_id)}
    if tile is not None:
        state["tile"] = str(tile.id)
        # What the editor saw: the save sends only what they changed, and only if nobody else
        # changed the tile in between.
        state["seen"] = {
            "display_name": tile.display_name,
            "display_order": tile.display_order,
            "layout_size": tile.layout_size.value,
            "updated": tile.updated.isoformat(),
        }
        st.session_state[FORM + "name"] = tile.display_name or ""
        st.session_state[FORM + "order"] = tile.display_order
        st.session_state[FORM + "width"] = WIDTH_LABELS[tile.layout_size]
    else:
        st.session_state[FORM + "width"] = WIDTH_LABELS[CuratedVisualizationSize.FULL_WIDTH]
        st.session_state[FORM + "mode"] = "Search artifacts"
        st.session_state[FORM + "follow"] = PIN
    st.session_state[DIALOG_KEY] = state


def _close() -> None:
    st.session_state.pop(DIALOG_KEY, None)


def _on_action(client: Client, tile_id: UUID, menu_key: str) -> None:
    choice = st.session_state.get(menu_key)
    try:
        tile = client.get_curated_visualization(tile_id)
        if choice == EXPAND and tile.artifact_visualization is not None:
            render.request_expand(tile.artifact_visualization_id, tile.title)
        elif choice in (EDIT, MOVE):
            _open(choice.split()[0].lower(), tile.resource_type, tile.resource_id, tile)
        elif choice == DELETE:
            _delete(client, tile)
        elif choice in (UP, DOWN):
            tiles = packed(client.list_curated_visualizations(tile.resource_type, tile.resource_id))
            index = [t.id for t in tiles].index(tile.id)
            move_tile(client, tiles, tile.id, index + (0 if choice == UP else 2))
    except ZvizError as exc:
        _flash("error", str(exc))


def move_tile(
    client: Client, tiles: list[CuratedVisualizationResponse], tile_id: UUID, position: int
) -> bool:
    """Move a tile to `position` (1 is first) of the grid's order and renumber the resource's
    tiles 10, 20, 30... in one transaction; return False (and say why) when the grid's order
    would not change. Raises ZvizError as Client.reorder_curated_visualizations does."""
    order = moved(tiles, tile_id, position)
    if order == [t.id for t in packed(tiles)]:
        _flash(
            "info",
            "The tile stays where it is: two half-width tiles share a row, and a full-width "
            "tile goes before or after such a pair, never between.",
        )
        return False
    renumber(client, tiles, order)
    return True


def renumber(
    client: Client, tiles: list[CuratedVisualizationResponse], new_order: list[UUID]
) -> None:
    """Give the tiles display orders 10, 20, 30, ... in `new_order`, in one transaction."""
    if tiles:
        client.reorder_curated_visualizations(
            tiles[0].resource_type, tiles[0].resource_id, new_order
        )


def _delete(client: Client, tile: CuratedVisualizationResponse) -> None:
    """Delete a tile at once and keep what is needed to put it back for UNDO_SECONDS."""
    tiles = packed(client.list_curated_visualizations(tile.resource_type, tile.resource_id))
    index = next((i for i, t in enumerate(tiles) if t.id == tile.id), len(tiles))
    client.delete_curated_visualization(tile.id)
    st.session_state[UNDO_KEY] = {
        "rtype": tile.resource_type.value,
        "rid": str(tile.resource_id),
        "title": tile.title,
        "viz": None
        if tile.artifact_visualization_id is None
        else str(tile.artifact_visualization_id),
        "follow": None if tile.follow is None else tile.follow.value,
        "name": tile.display_name,
        "size": tile.layout_size.value,
        "position": index + 1,
        "at": time.time(),
    }


def undo_delete(client: Client, undo: dict[str, Any]) -> CuratedVisualizationResponse:
    """Put a deleted tile back where it was, with its name, width and what it showed or
    followed; returns the new tile. Raises ZvizError as create_curated_visualization does
    (a following tile that showed nothing cannot be put back: InvalidInputError)."""
    if undo.get("viz") is None:
        raise InvalidInputError(
            "This tile showed nothing yet, so it cannot be put back; add it again."
        )
    tile = client.create_curated_visualization(
        undo["viz"],
        undo["rid"],
        undo["rtype"],
        display_name=undo.get("name"),
        layout_size=undo["size"],
        follow=undo.get("follow"),
    )
    tiles = packed(client.list_curated_visualizations(undo["rtype"], undo["rid"]))
    order = moved(tiles, tile.id, int(undo["position"]))
    renumber(client, tiles, order)
    return tile


def _undo_bar(client: Client) -> None:
    @st.fragment(run_every=1.0)
    def bar() -> None:
        undo = st.session_state.get(UNDO_KEY)
        if not undo:
            return
        left = UNDO_SECONDS - (time.time() - float(undo["at"]))
        if left <= 0:
            st.session_state.pop(UNDO_KEY, None)
            st.rerun()  # the whole page, so this timer stops with the bar
        row = st.container(horizontal=True, vertical_alignment="center", border=True)
        row.markdown(f"Deleted the tile **{md_escape(undo['title'])}**.", width="content")
        row.space("stretch")
        row.caption(f"{left:.0f} s", width="content")
        if row.button("Undo", icon=":material/undo:", key="zviz-tile-undo", type="primary"):
            st.session_state.pop(UNDO_KEY, None)
            try:
                undo_delete(client, undo)
            except ZvizError as exc:
                _flash("error", str(exc))
            else:
                _flash("success", "Tile restored.")
            st.rerun()

    bar()


# -- dialogs ------------------------------------------------------------------------------------


def _pending_dialog(
    client: Client,
    rtype: VisualizationResourceTypes,
    resource_id: UUID,
    tiles: list[CuratedVisualizationResponse],
    writable: bool,
) -> None:
    state = st.session_state.get(DIALOG_KEY)
    if not state or state.get("rid") != str(resource_id) or state.get("rtype") != str(rtype):
        return
    if not writable:
        _close()
        return
    if state["kind"] == "add":
        _add_dialog(client, rtype, resource_id, tiles)
        return
    tile = next((t for t in tiles if str(t.id) == state.get("tile")), None)
    if tile is None:
        _close()
        _flash("error", "That tile no longer exists; someone may have deleted it.")
        return
    if state["kind"] == "edit":
        _edit_dialog(client, tile)
    elif state["kind"] == "move":
        _move_dialog(client, tile, tiles)


def _name_order_width(
    default_name: str, allow_unset_order: bool
) -> tuple[str | None, int | None, CuratedVisualizationSize]:
    name = st.text_input(
        "Name",
        key=FORM + "name",
        placeholder=default_name,
        help="Leave empty to use the artifact's name and version.",
        max_chars=200,
    )
    order = st.number_input(
        "Position (lower comes first)",
        key=FORM + "order",
        min_value=0,
        step=GAP,
        format="%d",
        help="Tiles are ordered by this number; gaps of 10 leave room to insert between them."
        + (" Leave empty to put the tile last." if allow_unset_order else ""),
    )
    width = st.segmented_control(
        "Width",
        list(WIDTH_LABELS.values()),
        key=FORM + "width",
        required=True,
        help="Two half-width tiles share a row.",
    )
    size = next((s for s, label in WIDTH_LABELS.items() if label == width), None)
    return (
        (name or "").strip() or None,
        None if order is None else int(order),
        size or CuratedVisualizationSize.FULL_WIDTH,
    )


def _finish(message: str) -> None:
    _close()
    for key in [k for k in st.session_state if str(k).startswith(FORM)]:
        del st.session_state[key]
    _flash("success", message)
    st.rerun()


@st.dialog("Add a tile", width="large", on_dismiss=_close)
def _add_dialog(
    client: Client,
    rtype: VisualizationResourceTypes,
    resource_id: UUID,
    tiles: list[CuratedVisualizationResponse],
) -> None:
    if FORM + "order" not in st.session_state:
        orders = [t.display_order for t in tiles if t.display_order is not None]
        st.session_state[FORM + "order"] = (max(orders) if orders else 0) + GAP
    with contained(what="The visualization picker"):
        viz = pick_visualization(client, {str(t.artifact_visualization_id) for t in tiles})
    follow: TileFollow | None = None
    if viz is None:
        st.caption("Pick a visualization to continue.")
    else:
        follow = _follow_choice(client, viz)
        with st.expander("Preview", expanded=True, icon=":material/visibility:"):
            render.render_visualization(
                client, viz, key=f"{FORM}preview-{viz.id}", in_tile=True, expandable=False
            )
    name, order, size = _name_order_width("the artifact's name and version", True)
    if st.button("Add tile", type="primary", disabled=viz is None, key=FORM + "submit"):
        try:
            client.create_curated_visualization(
                viz.id,  # type: ignore[union-attr]  (the button is disabled without one)
                resource_id,
                rtype,
                display_name=name,
                display_order=order,
                layout_size=size,
                follow=follow,
            )
        except ZvizError as exc:
            show_error(exc)
        else:
            _finish("Tile added.")


def _follow_choice(client: Client, viz: ArtifactVisualizationResponse) -> TileFollow | None:
    """Ask whether the tile pins this version or follows the latest one; return the choice."""
    choice = st.segmented_control(
        "This tile shows",
        [PIN, FOLLOW],
        key=FORM + "follow",
        required=True,
        help="A pinned tile always shows this version. A tile that shows the latest moves on "
        "by itself when a newer run completes.",
    )
    if choice != FOLLOW:
        return None
    av = client.get_artifact_version(viz.artifact_version_id)
    if av.step_name and av.pipeline_name and av.output_name:
        st.caption(
            f"The newest completed run's output **{md_escape(av.output_name)}** of step "
            f"**{md_escape(av.step_name)}** in pipeline **{md_escape(av.pipeline_name)}**, "
            "among the runs each viewer may open."
        )
        return TileFollow.OUTPUT
    st.caption(
        f"The newest version of the artifact **{md_escape(av.name)}**, among those each viewer "
        "may open."
    )
    return TileFollow.ARTIFACT


@st.dialog("Edit tile", on_dismiss=_close)
def _edit_dialog(client: Client, tile: CuratedVisualizationResponse) -> None:
    default = f"{tile.artifact_name} v{tile.artifact_version}" if tile.artifact_name else "Untitled"
    name, order, size = _name_order_width(default, False)
    if tile.display_name and not name:
        st.caption(f"An empty name keeps the current one, '{md_escape(tile.display_name)}'.")
    if st.button("Save", type="primary", key=FORM + "submit"):
        seen = st.session_state.get(DIALOG_KEY, {}).get("seen", {})
        wanted = {"display_name": name, "display_order": order, "layout_size": size.value}
        changes = {k: v for k, v in wanted.items() if v is not None and v != seen.get(k)}
        try:
            if changes:
                client.update_curated_visualization(
                    tile.id,
                    **changes,
                    expected_updated=datetime.fromisoformat(seen["updated"])
                    if seen.get("updated")
                    else None,
                )
        except ZvizError as exc:
            show_error(exc)
        else:
            _finish("Tile saved." if changes else "Nothing changed.")


@st.dialog("Move tile", on_dismiss=_close)
def _move_dialog(
    client: Client, tile: CuratedVisualizationResponse, tiles: list[CuratedVisualizationResponse]
) -> None:
    current = [t.id for t in tiles].index(tile.id) + 1
    if FORM + "position" not in st.session_state:
        st.session_state[FORM + "position"] = current
    st.markdown(f"Move **{md_escape(tile.title)}**, now at position {current} of {len(tiles)}.")
    position = st.number_input(
        "New position",
        key=FORM + "position",
        min_value=1,
        max_value=len(tiles),
        step=1,
        format="%d",
        help="1 is the first tile. Two half-width tiles share a row; a full-width tile goes "
        "before or after such a pair, never between.",
    )
    st.caption(
        "Now: " + " · ".join(f"{i}. {md_escape(t.title)}" for i, t in enumerate(tiles, start=1))
    )
    if st.button("Move", type="primary", key=FORM + "submit", icon=":material/swap_vert:"):
        try:
            done = move_tile(client, tiles, tile.id, int(position or current))
        except ZvizError as exc:
            show_error(exc)
        else:
            if done:
                _finish("Tile moved.")
            else:
                _close()
                st.rerun()


# -- picking a visualization --------------------------------------------------------------------


def _version_label(av: ArtifactVersionResponse) -> str:
    where = f" · {av.run_name}" if av.run_name else ""
    return f"{av.name} v{av.version}{where}"


def _viz_label(viz: ArtifactVisualizationResponse) -> str:
    file = viz.uri.rstrip("/").rsplit("/", 1)[-1]
    return f"{render.LABELS[viz.type]} · {file}"


def pick_visualization(
    client: Client, pinned: set[str] | frozenset[str] = frozenset()
) -> ArtifactVisualizationResponse | None:
    """Draw the visualization picker (artifact search, or run -> step -> output) and return the
    chosen visualization, or None while nothing is chosen. Visualizations whose ids are in
    `pinned` are marked as already on the dashboard."""
    mode = st.segmented_control(
        "Find it by",
        ["Search artifacts", "Browse runs"],
        key=FORM + "mode",
        required=True,
    )
    version: ArtifactVersionResponse | None = None
    if mode == "Browse runs":
        version = _pick_from_runs(client)
    else:
        needle = st.text_input("Artifact name contains", key=FORM + "q", placeholder="e.g. report")
        found = client.list_artifact_versions(name_contains=needle.strip() or None, size=50)
        choices = {str(av.id): av for av in found.items if av.visualizations}
        if not choices:
            st.caption("No artifact with visualizations matches.")
            return None
        chosen = st.selectbox(
            f"Artifact version ({found.total:,} match; newest first)",
            list(choices),
            format_func=lambda key: _version_label(choices[key]),
            index=None,
            key=FORM + "av",
            placeholder="Choose an artifact version",
        )
        version = choices.get(chosen) if chosen else None
    if version is None:
        return None
    vizs = {str(v.id): v for v in version.visualizations}
    if not vizs:
        st.caption("This output has no visualizations.")
        return None
    chosen_viz = st.selectbox(
        "Visualization",
        list(vizs),
        format_func=lambda key: (
            _viz_label(vizs[key]) + (" (already on this dashboard)" if key in pinned else "")
        ),
        key=FORM + f"viz-{version.id}",
    )
    return vizs.get(chosen_viz) if chosen_viz else None


def _pick_from_runs(client: Client) -> ArtifactVersionResponse | None:
    needle = st.text_input("Run name contains", key=FORM + "run_q", placeholder="e.g. training")
    runs = client.list_pipeline_runs(name_contains=needle.strip() or None, size=50)
    choices = {str(r.id): r for r in runs.items}
    if not choices:
        st.caption("No run matches.")
        return None
    run_key = st.selectbox(
        f"Run ({runs.total:,} match; newest first)",
        list(choices),
        format_func=lambda key: f"{choices[key].name} · {choices[key].status.value}",
        index=None,
        key=FORM + "run",
        placeholder="Choose a run",
    )
    if not run_key:
        return None
    steps = client.get_pipeline_run(run_key).steps
    with_outputs = [name for name, s in steps.items() if s.outputs]
    if not with_outputs:
        st.caption("This run's steps produced no outputs.")
        return None
    step_name = st.selectbox("Step", with_outputs, key=FORM + f"step-{run_key}")
    outputs = steps[step_name].outputs if step_name else {}
    versions = {f"{name}|{i}": av for name, avs in outputs.items() for i, av in enumerate(avs)}
    if not versions:
        return None
    output_key = st.selectbox(
        "Output",
        list(versions),
        format_func=lambda key: key.split("|")[0],
        key=FORM + f"output-{run_key}-{step_name}",
    )
    return versions.get(output_key) if output_key else None
