"""Issue 8: downloads and previews are bounded, nothing from a URL, a name or an artifact becomes
a link, and bad input gets its own message while the rest of the page renders."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from tests.ui.conftest import no_exception, texts
from tests.ui.test_hostile import Files
from tests.ui.test_render import in_tile, kinds, markdown_shown
from zviz_core import Client, pipeline, step
from zviz_core.enums import VisualizationType as V
from zviz_core.ui import render

MB = 1_000_000
INJECTION = "x** [Session expired, log in again](https://evil.example/login) www.evil.example"


# -- which files the app opens ----------------------------------------------------------------

_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | bytes | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only inside opened_files()


@contextmanager
def opened_files() -> Iterator[list[str]]:
    """Every path this process opens (Python's `open` audit event) inside the block."""
    global _opened
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None


# -- artifacts --------------------------------------------------------------------------------


def _write(text: str) -> Any:
    return lambda path: Path(path).write_text(text, encoding="utf-8")


def _pin(client: Client, files: dict[str, tuple[Any, V]]) -> dict[str, Any]:
    """Run a step returning `files` and pin each as a project tile; returns {name: (tile, viz)}."""

    @step
    def produce() -> Files:
        return Files(files)

    @pipeline
    def bounded() -> None:
        produce()

    av = bounded().steps["produce"].output
    project = client.active_project.id
    pinned = {}
    for viz in av.visualizations:
        name = viz.uri.rsplit("/", 1)[-1]
        tile = client.create_curated_visualization(viz.id, project, "project", display_name=name)
        pinned[name] = (tile.id, viz)
    return pinned


def _texts_in(nodes: list[Any], kind: str) -> list[str]:
    return [str(n.value) for n in nodes if getattr(n, "type", "") == kind]


# -- 4. downloads and previews are bounded ----------------------------------------------------


@pytest.fixture
def two_megabytes(client: Client) -> dict[str, Any]:
    return _pin(client, {"big.md": (_write("# Big\n\n" + "word " * (2 * MB // 5)), V.MARKDOWN)})


def test_a_file_over_the_download_limit_is_never_read(
    open_page, two_megabytes, monkeypatch
) -> None:
    monkeypatch.setenv("ZVIZ_DOWNLOAD_LIMIT_MB", "1")
    tile, viz = two_megabytes["big.md"]
    with opened_files() as opened:
        at = open_page("overview")
    no_exception(at)
    nodes = in_tile(at, tile)
    assert "download_button" not in kinds(nodes)
    assert any("Too large to download" in c for c in _texts_in(nodes, "caption"))
    assert any("more than the 1.0 MB shown" in w for w in _texts_in(nodes, "warning"))
    assert not markdown_shown(nodes), "nothing of the file reached the renderer"
    assert viz.uri not in opened


def test_the_tab_and_the_zip_say_too_large_too(open_page, two_megabytes, monkeypatch) -> None:
    monkeypatch.setenv("ZVIZ_DOWNLOAD_LIMIT_MB", "1")
    _, viz = two_megabytes["big.md"]
    with opened_files() as opened:
        at = open_page("artifacts", id=viz.artifact_version_id)
    no_exception(at)
    assert not at.get("download_button")
    captions = texts(at, "caption")
    assert sum("Too large to download" in c for c in captions) == 2, captions  # tab and zip
    assert not [path for path in opened if path.startswith(viz.uri.rsplit("/", 1)[0])]


def test_under_the_limit_the_same_file_can_be_downloaded(
    open_page, two_megabytes, monkeypatch
) -> None:
    monkeypatch.setenv("ZVIZ_DOWNLOAD_LIMIT_MB", "3")
    tile, viz = two_megabytes["big.md"]
    at = open_page("overview")
    assert "download_button" in kinds(in_tile(at, tile))
    at = open_page("artifacts", id=viz.artifact_version_id)
    labels = [b.label for b in at.get("download_button")]
    assert "Download artifact" in labels and "Download" in labels


@pytest.mark.parametrize("value", ["", "abc", "-5", "0"])
def test_a_bad_limit_setting_means_the_default(monkeypatch, value: str) -> None:
    monkeypatch.setenv("ZVIZ_DOWNLOAD_LIMIT_MB", value)
    assert render.download_limit() == 200 * MB


def test_a_wide_csv_shows_its_first_columns_and_says_so(open_page, client: Client) -> None:
    header = ",".join(f"c{i}" for i in range(50_000))
    row = ",".join("1" for _ in range(50_000))
    one_line = ",".join(f"column_{i}" for i in range(400_000))  # 5 MB, a header without end
    pinned = _pin(
        client,
        {
            "wide.csv": (_write(f"{header}\n{row}\n{row}\n"), V.CSV),
            "line.csv": (_write(one_line), V.CSV),
        },
    )
    at = open_page("overview")
    no_exception(at)
    wide = in_tile(at, pinned["wide.csv"][0])
    frame = next(n.value for n in wide if getattr(n, "type", "") == "dataframe")
    assert list(frame.columns) == [f"c{i}" for i in range(render.CSV_PREVIEW_COLUMNS)]
    assert len(frame) == 2
    caption = " ".join(_texts_in(wide, "caption"))
    assert "the first 100 of 50,000 columns" in caption and "the first 2 of 2 rows" in caption
    line = in_tile(at, pinned["line.csv"][0])
    frame = next(n.value for n in line if getattr(n, "type", "") == "dataframe")
    assert len(frame.columns) == render.CSV_PREVIEW_COLUMNS
    caption = " ".join(_texts_in(line, "caption"))
    assert "of more than" in caption and "first line" in caption, caption


def test_a_failed_preview_is_not_read_again_on_the_next_run(open_page, client: Client) -> None:
    pinned = _pin(client, {"broken.json": (_write('{"accuracy": 0.93,'), V.JSON)})
    tile, viz = pinned["broken.json"]
    with opened_files() as opened:
        at = open_page("overview")
    assert "not valid JSON" in " ".join(_texts_in(in_tile(at, tile), "error"))
    assert viz.uri in opened
    with opened_files() as opened:
        at.run()
    no_exception(at)
    assert "not valid JSON" in " ".join(_texts_in(in_tile(at, tile), "error"))
    assert viz.uri not in opened


# -- 5. nothing from a URL, a name or an artifact becomes a link -------------------------------

_GFM_AUTOLINK = re.compile(r"(?i)\b(?:https?://|www\.)|[\w.+-]@[\w-]+\.")


def links_in(markdown: str) -> list[str]:
    """What Streamlit's Markdown would draw as links: Markdown links and images, and the bare
    URLs and e-mail addresses that GitHub-flavoured Markdown turns into links."""
    found = []
    for token in MarkdownIt("commonmark").parse(markdown):
        for child in token.children or []:
            if child.type in ("link_open", "image"):
                found.append(child.attrGet("href") or child.attrGet("src") or "")
    text = re.sub(r"\\(.)", r"\1", markdown)
    return found + _GFM_AUTOLINK.findall(text)


@pytest.mark.parametrize("page", ["runs", "pipelines", "snapshots", "models", "deployments"])
def test_an_id_from_the_url_never_becomes_a_link(open_page, run, page: str) -> None:
    at = open_page(page, id=INJECTION)
    no_exception(at)
    errors = texts(at, "error")
    assert errors and any("Session expired" in e for e in errors)
    assert not [e for e in errors if links_in(e)], errors


def test_names_with_urls_never_become_links(open_page, client: Client) -> None:
    model = client.create_model("see http://evil.example or www.evil.example", "x@evil.example")
    at = open_page("models", id=model.id)
    no_exception(at)
    shown = [*texts(at, "title"), *texts(at, "markdown"), *texts(at, "caption")]
    assert any("evil" in s for s in shown)
    assert not [s for s in shown if links_in(s)], shown


def test_markdown_artifacts_lose_outside_links_and_images(open_page, client: Client) -> None:
    text = (
        "# Card\n\n[docs](https://evil.example/docs) ![pixel](https://evil.example/p.png) "
        "<https://evil.example/auto> www.evil.example [x](data:text/html,hi) [in](#card) "
        "![dot](data:image/png;base64,iVBORw0KGgo=)\n"
    )
    tile, _ = _pin(client, {"card.md": (_write(text), V.MARKDOWN)})["card.md"]
    at = open_page("overview")
    no_exception(at)
    nodes = in_tile(at, tile)
    (shown,) = markdown_shown(nodes)
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', shown)
    assert hrefs == ["#card", "data:image/png;base64,iVBORw0KGgo="], hrefs
    assert "docs" in shown and "[image: pixel]" in shown and "www.evil.example" in shown
    assert any("3 outside" in c and "blocked" in c for c in _texts_in(nodes, "caption"))


def test_vega_lite_loses_outside_urls(open_page, client: Client) -> None:
    spec = {
        "data": {"url": "https://evil.example/data.json"},
        "layer": [
            {"mark": {"type": "image", "url": "//evil.example/i.png"}},
            {
                "data": {"values": [{"a": 1, "u": "https://evil.example/x.png"}]},
                "mark": "point",
                "encoding": {"x": {"field": "a"}, "href": {"field": "u"}},
            },
        ],
        "usermeta": {"embedOptions": {"loader": {"baseURL": "https://evil.example/"}}},
    }
    tile, _ = _pin(client, {"chart.json": (_write(json.dumps(spec)), V.VEGA_LITE)})["chart.json"]
    at = open_page("overview")
    no_exception(at)
    nodes = in_tile(at, tile)
    (chart,) = [n for n in nodes if getattr(n, "type", "") == "vega_lite_chart"]
    sent = chart.proto.spec
    assert "evil.example/data" not in sent and "i.png" not in sent and "usermeta" not in sent
    assert '"href"' not in sent
    assert any("4 outside" in c for c in _texts_in(nodes, "caption"))


# -- 7. bad input gets its own message ---------------------------------------------------------


@pytest.mark.parametrize("value", ["9" * 5000, str(10**30), "-3", "1e9", "\uff12"])
@pytest.mark.parametrize("page", ["runs", "pipelines", "artifacts"])
def test_a_page_number_that_is_no_page_says_so(open_page, run, page: str, value: str) -> None:
    at = open_page(page, page=value)
    no_exception(at)
    assert any("not a page of this list" in w for w in texts(at, "warning"))
    assert not at.error
    assert at.get("page_link"), "the list still renders"


def test_a_page_past_the_end_says_so(open_page, run) -> None:
    at = open_page("pipelines", page=50)
    no_exception(at)
    assert any("past the last" in i for i in texts(at, "info"))


def test_a_json_number_with_five_thousand_digits(open_page, client: Client) -> None:
    text = '{"n": ' + "7" * 5000 + ', "ok": 1}'  # what int() refuses past 4,300 digits
    tile, _ = _pin(client, {"digits.json": (_write(text), V.JSON)})["digits.json"]
    at = open_page("overview")
    no_exception(at)
    nodes = in_tile(at, tile)
    assert not _texts_in(nodes, "error")
    assert any("more than 4,300 digits" in c for c in _texts_in(nodes, "caption"))
    (shown,) = [n for n in nodes if getattr(n, "type", "") == "json"]
    assert json.loads(shown.proto.body) == {"n": "7" * 5000, "ok": 1}
