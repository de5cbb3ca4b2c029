"""Hostile and broken artifacts, each pinned as a tile on one dashboard: every one is contained
in its tile (notice or error), the rest of the page renders, and nothing stored is lost."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.ui.conftest import no_exception
from tests.ui.test_render import in_tile, kinds, markdown_shown
from zviz_core import Client, pipeline, step
from zviz_core.enums import VisualizationType as V
from zviz_core.errors import InvalidInputError
from zviz_core.materializers import BaseMaterializer


class Files:
    """A step output that is just a set of visualization files with chosen types."""

    def __init__(self, files: dict[str, tuple[Callable[[Path], None], V]]) -> None:
        self.files = files


class FilesMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (Files,)

    def save(self, data: Files) -> None:
        with self.artifact_store.open(self.path("names.json"), "w") as fh:
            json.dump(sorted(data.files), fh)

    def load(self, data_type: type) -> Any:
        with self.artifact_store.open(self.path("names.json"), "r") as fh:
            return json.load(fh)

    def save_visualizations(self, data: Files) -> dict[str, V]:
        out = {}
        for name, (write, vtype) in data.files.items():
            path = self.path(name)
            write(Path(path))
            out[path] = vtype
        return out


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def bomb(path: Path) -> None:
    """A 100-byte PNG that claims 50,000 x 50,000 pixels."""
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def truncated(path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 200, 30)).effect_spread(5).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def html_as_png(path: Path) -> None:
    path.write_text("<html><script>parent.document.title='owned'</script></html>")


def ragged_latin1(path: Path) -> None:
    path.write_bytes("name,city\nJosé,Zürich\nRenée,Besançon,extra\nsolo\n".encode("latin-1"))


def deep_json(path: Path) -> None:
    path.write_text("[" * 10_000 + "]" * 10_000)


def huge_json(path: Path) -> None:
    row = json.dumps({"id": 1, "values": list(range(50))})
    with open(path, "w") as fh:
        fh.write("[")
        for _ in range(100_000_000 // (len(row) + 1)):
            fh.write(row + ",")
        fh.write("{}]")


def script_markdown(path: Path) -> None:
    path.write_text("# Title\n\n<script>document.title='owned'</script><b>bold?</b>\n")


def good_markdown(path: Path) -> None:
    path.write_text("# Still here\n\nThe page renders around broken tiles.")


CASES = {
    "bomb.png": (bomb, V.IMAGE),
    "truncated.png": (truncated, V.IMAGE),
    "html.png": (html_as_png, V.IMAGE),
    "ragged.csv": (ragged_latin1, V.CSV),
    "deep.json": (deep_json, V.JSON),
    "huge.json": (huge_json, V.JSON),
    "script.md": (script_markdown, V.MARKDOWN),
    "deleted.md": (good_markdown, V.MARKDOWN),
    "good.md": (good_markdown, V.MARKDOWN),
}


@step
def hostile_files() -> Files:
    return Files(CASES)


@pipeline
def hostile_pipeline() -> None:
    hostile_files()


@pytest.fixture
def dashboard(client: Client) -> dict[str, Any]:
    run = hostile_pipeline()
    av = run.steps["hostile_files"].output
    project = client.active_project.id
    tiles = {}
    for viz in av.visualizations:
        name = viz.uri.rsplit("/", 1)[-1]
        tiles[name] = client.create_curated_visualization(
            viz.id, project, "project", display_name=name
        ).id
    Path(next(v.uri for v in av.visualizations if v.uri.endswith("deleted.md"))).unlink()
    return {"tiles": tiles, "artifact": av}


def _messages(at: Any, tile_id: Any) -> str:
    nodes = in_tile(at, tile_id)
    return " ".join(
        str(n.value)
        for n in nodes
        if getattr(n, "type", "") in ("error", "warning", "info", "caption")
    )


def test_every_hostile_artifact_is_contained_in_its_tile(open_page, dashboard) -> None:
    at = open_page("overview")
    no_exception(at)
    tiles = dashboard["tiles"]
    assert "pixels" in _messages(at, tiles["bomb.png"])
    assert "image" not in kinds(in_tile(at, tiles["bomb.png"]))
    for name in ("truncated.png", "html.png"):
        assert "image" not in kinds(in_tile(at, tiles[name])), name
        assert _messages(at, tiles[name]), name
    ragged = in_tile(at, tiles["ragged.csv"])
    frames = [n for n in ragged if getattr(n, "type", "") == "dataframe"]
    assert frames and "Zürich" in frames[0].value.to_string()
    assert "deep" in _messages(at, tiles["deep.json"]).lower()
    huge = _messages(at, tiles["huge.json"])
    assert "MB" in huge and "download" in huge.lower()
    script = markdown_shown(in_tile(at, tiles["script.md"]))
    assert any("&lt;script&gt;" in text and "document.title" in text for text in script)
    assert "missing" in _messages(at, tiles["deleted.md"])
    good = markdown_shown(in_tile(at, tiles["good.md"]))
    assert any("Still here" in text for text in good)


def test_markdown_html_is_shown_as_text(open_page, dashboard) -> None:
    at = open_page("overview")
    shown = markdown_shown(in_tile(at, dashboard["tiles"]["script.md"]))
    assert shown and not [text for text in shown if "<script" in text or "<b>" in text]


def test_a_ten_thousand_character_name_is_refused_and_nothing_changes(
    client: Client, dashboard
) -> None:
    viz = dashboard["artifact"].visualizations[-1]
    before = client.list_curated_visualizations("project", client.active_project.id)
    with pytest.raises(InvalidInputError, match="at most 200"):
        client.create_curated_visualization(
            viz.id, client.active_project.id, "pipeline", display_name="x" * 10_000
        )
    tile = before[0]
    with pytest.raises(InvalidInputError, match="at most 200"):
        client.update_curated_visualization(tile.id, display_name="y" * 10_000)
    after = client.list_curated_visualizations("project", client.active_project.id)
    assert [(t.id, t.display_name) for t in after] == [(t.id, t.display_name) for t in before]
