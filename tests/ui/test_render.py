"""Each renderer, and each way an artifact can be broken, shown inside its own tile or tab."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from typing import Any

import fsspec
import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import no_exception, texts, visualizations
from zviz_core import Client, pipeline, step
from zviz_core.enums import VisualizationType
from zviz_core.types import HTMLString, JSONString
from zviz_core.ui import render

HOSTILE = (
    '<h1 id="x">Report</h1>"\'><script>parent.document.title="owned";'
    "document.cookie='a=b'</script></iframe><img src=x onerror=alert(1)>&amp;"
)


@step
def hostile() -> HTMLString:
    return HTMLString(HOSTILE)


@step
def big_json() -> JSONString:
    return JSONString(json.dumps({f"k{i}": {"nested": list(range(20))} for i in range(400)}))


@pipeline
def odd() -> None:
    hostile()
    big_json()


def _subtree(node: Any) -> list[Any]:
    found = [node]
    for child in getattr(node, "children", {}).values():
        found += _subtree(child)
    return found


def in_tile(at: AppTest, tile_id: Any) -> list[Any]:
    """Every element drawn inside one tile's container."""
    for node in _subtree(at._tree):
        if getattr(node, "type", "") == "flex_container" and str(node.proto.id).endswith(
            f"-tile-{tile_id}"
        ):
            return _subtree(node)
    raise AssertionError(f"tile {tile_id} is not on the page")


def kinds(nodes: list[Any]) -> set[str]:
    return {getattr(n, "type", "") for n in nodes}


def markdown_shown(nodes: list[Any]) -> list[str]:
    """The HTML of every Markdown visualization among `nodes` (zviz renders Markdown artifacts
    itself and shows the HTML with st.html), starting at the artifact's own first element."""
    bodies = [n.proto.body for n in nodes if getattr(n, "type", "") == "html"]
    return [body.split('<div class="zviz-md">', 1)[-1] for body in bodies]


def pin_all(client: Client, run) -> dict[str, Any]:
    """Put one tile per step's first visualization on the project; returns tile ids by step."""
    project = client.active_project
    tiles = {}
    for name, viz in visualizations(run).items():
        if ":" not in name:
            tiles[name] = client.create_curated_visualization(viz.id, project.id, "project").id
    return tiles


class _Frames(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_renders_in_a_nested_sandbox_with_its_content_escaped(open_page, client) -> None:
    run = client.get_pipeline_run(odd().id)
    at = open_page("runs", id=run.id, step="hostile")
    no_exception(at)
    srcdoc = at.get("iframe")[0].proto.srcdoc
    parser = _Frames()
    parser.feed(srcdoc)
    frames = [attrs for tag, attrs in parser.tags if tag == "iframe"]
    assert len(frames) == 1, "the artifact cannot break out of the srcdoc attribute"
    assert frames[0]["sandbox"] == "allow-scripts"
    assert "allow-same-origin" not in srcdoc
    assert frames[0]["srcdoc"] == HOSTILE + render._HEIGHT_REPORTER, "only a height reporter added"
    assert not [tag for tag, _ in parser.tags if tag in ("img", "h1")]
    # The outer document's one script is zviz's own: it takes a height from the frame, no more.
    assert [tag for tag, _ in parser.tags].count("script") == 1
    assert srcdoc.count("<script>") == 1 and "e.source!==f.contentWindow" in srcdoc
    assert [b.label for b in at.button if b.label == "Expand"] == ["Expand"]


def test_html_expand_opens_a_larger_sandboxed_view(open_page, client) -> None:
    run = client.get_pipeline_run(odd().id)
    at = open_page("runs", id=run.id, step="hostile")
    next(b for b in at.button if b.label == "Expand").click().run()
    no_exception(at)
    frames = at.get("iframe")
    assert len(frames) == 2
    assert all('sandbox="allow-scripts"' in f.proto.srcdoc for f in frames)
    next(b for b in at.button if b.label == "Close").click().run()
    assert len(at.get("iframe")) == 1


def test_every_type_renders_in_its_tile(open_page, client: Client, run) -> None:
    tiles = pin_all(client, run)
    at = open_page("overview")
    no_exception(at)
    assert not at.error and not at.warning
    assert "iframe" in kinds(in_tile(at, tiles["report"]))
    assert "dataframe" in kinds(in_tile(at, tiles["frame"]))
    assert "dataframe" in kinds(in_tile(at, tiles["table"]))
    assert "image" in kinds(in_tile(at, tiles["picture"]))
    assert "json" in kinds(in_tile(at, tiles["metrics"]))
    assert "vega_lite_chart" in kinds(in_tile(at, tiles["chart"]))
    card = markdown_shown(in_tile(at, tiles["card"]))
    assert any(text.startswith("<h1>Model card</h1>") for text in card), card


def test_markdown_with_html_is_not_rendered_as_html(open_page, client: Client) -> None:
    @step
    def md() -> Any:
        from zviz_core.types import MarkdownString

        return MarkdownString("# Card\n<script>alert(1)</script><b onclick=x>bold</b>")

    @pipeline
    def cards() -> None:
        md()

    run = client.get_pipeline_run(cards().id)
    at = open_page("runs", id=run.id)
    shown = [text for text in markdown_shown(_subtree(at._tree)) if "Card" in text]
    assert shown, "the Markdown is shown"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown[0]
    assert "<script" not in shown[0] and "onclick" not in shown[0].replace("&lt;b onclick", "")


@pytest.mark.parametrize("text", ["42", "-1.5e3", '"just a <b>string</b>"', "true", "null"])
def test_a_json_scalar_is_shown_as_json_text(open_page, client: Client, text: str) -> None:
    # Streamlit's JSON tree takes only objects and arrays: in the browser a scalar reads
    # "src property must be a valid json object".
    @step
    def scalar() -> JSONString:
        return JSONString(text)

    @pipeline
    def scalars() -> None:
        scalar()

    run = client.get_pipeline_run(scalars().id)
    at = open_page("runs", id=run.id, step="scalar")
    no_exception(at)
    assert not at.error
    assert json.loads(text) not in [json.loads(j.value) for j in at.json], (
        "handed to the JSON tree, which refuses it"
    )
    shown = json.dumps(json.loads(text))
    assert [(c.value, c.language) for c in at.code if c.value == shown] == [(shown, "json")]


def test_image_keeps_its_format_and_natural_size(open_page, run) -> None:
    at = open_page("runs", id=run.id, step="picture")
    no_exception(at)
    image = at.image[0].proto
    assert image.imgs[0].url.endswith(".png"), "a PNG is not re-encoded as JPEG"
    assert "64 x 48 px" in image.imgs[0].caption


def test_csv_table_and_small_json_fully_expanded(open_page, run) -> None:
    at = open_page("runs", id=run.id, step="table")
    assert at.dataframe[-1].value.to_dict("list") == {"x": [1, 3], "y": [2, 4]}
    at = open_page("runs", id=run.id, step="metrics")
    assert at.json[-1].proto.expanded is True


def test_big_json_is_collapsed_beyond_the_first_level(open_page, client) -> None:
    run = client.get_pipeline_run(odd().id)
    at = open_page("runs", id=run.id, step="big_json")
    no_exception(at)
    proto = at.json[-1].proto
    assert proto.max_expand_depth == 1


def test_vega_lite_chart_is_interactive(open_page, run) -> None:
    at = open_page("runs", id=run.id, step="chart")
    no_exception(at)
    # The first chart is the run's step graph; the artifact's chart comes after it.
    spec = json.loads(at.get("vega_lite_chart")[-1].proto.spec)
    assert spec["params"][0]["bind"] == "scales"


def test_broken_artifacts_show_an_error_in_their_tile_and_the_rest_renders(
    open_page, client: Client, run
) -> None:
    tiles = pin_all(client, run)
    viz = visualizations(run)
    os.remove(viz["report"].uri)
    with open(viz["metrics"].uri, "w") as fh:
        fh.write('{"accuracy": 0.93,')
    with open(viz["picture"].uri, "w") as fh:
        fh.write("<html><body>not a picture</body></html>")
    with open(viz["table"].uri, "w") as fh:
        fh.write("x,y\n")
        row = "12345678,87654321\n"
        fh.write(row * (6_000_000 // len(row)))
    at = open_page("overview")
    no_exception(at)

    def errors(step: str) -> list[str]:
        return [n.value for n in in_tile(at, tiles[step]) if getattr(n, "type", "") == "error"]

    assert "missing" in errors("report")[0]
    assert "not valid JSON" in errors("metrics")[0] and "line 1" in errors("metrics")[0]
    assert "not an image" in errors("picture")[0]
    assert not errors("table")
    table = in_tile(at, tiles["table"])
    captions = [n.value for n in table if getattr(n, "type", "") == "caption"]
    assert any("first 500 of 333,333 rows" in c for c in captions), captions
    frames = [n for n in table if getattr(n, "type", "") == "dataframe"]
    assert len(frames[0].value) == render.CSV_PREVIEW_ROWS
    # Everything else still renders.
    assert "vega_lite_chart" in kinds(in_tile(at, tiles["chart"]))
    assert "dataframe" in kinds(in_tile(at, tiles["frame"]))
    assert "image" not in kinds(in_tile(at, tiles["picture"]))
    assert len(texts(at, "error")) == 3


def test_oversize_file_gets_a_notice_and_a_download(open_page, client, run, monkeypatch) -> None:
    monkeypatch.setitem(render.INLINE_LIMITS, VisualizationType.MARKDOWN, 10)
    at = open_page("runs", id=run.id, step="card")
    no_exception(at)
    assert any("more than the" in w for w in texts(at, "warning"))
    assert any("Download" in b.label for b in at.get("download_button"))


def test_decompression_bomb_is_refused(monkeypatch) -> None:
    from PIL import Image

    monkeypatch.setattr(render, "MAX_PIXELS", 100)
    buffer = __import__("io").BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, format="PNG")
    with pytest.raises(render.ArtifactLoadError, match="million pixels"):
        render.checked_image(buffer.getvalue())


def _render_app(root: str, name: str, viz_type: str) -> None:
    """Render one visualization `name` of a version folder in the artifact store `root`."""
    import streamlit as st

    from zviz_core import Client as C
    from zviz_core.models import ArtifactVisualizationResponse as V
    from zviz_core.ui import render as r

    key = st.session_state["viz_id"]
    folder = f"{root}/{key}"
    viz = V(id=key, type=viz_type, uri=f"{folder}/{name}", artifact_version_id=key, position=0)
    viz._folder = folder  # as the store would have recorded it
    r.render_visualization(C(artifact_store=root), viz, key="one")
    st.markdown("after")


class _DownFileSystem(fsspec.AbstractFileSystem):
    """An artifact store that cannot be reached: every call fails like a dropped network."""

    protocol = "zvizdown"

    def info(self, path: str, **kwargs: Any) -> dict:
        raise ConnectionError("connection refused")

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        raise ConnectionError("connection refused")


fsspec.register_implementation("zvizdown", _DownFileSystem, clobber=True)


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("zvizdown://bucket", "cannot reach the artifact store"),
        ("zviznotaprotocol://bucket", "cannot reach the artifact store"),
        ("memory://zviz-tests", "missing"),
    ],
)
def test_unreachable_or_missing_remote_files_are_contained(root: str, message: str) -> None:
    import uuid

    at = AppTest.from_function(_render_app, args=(root, "a.csv", "csv"), default_timeout=30)
    at.session_state["viz_id"] = str(uuid.uuid4())
    at.run()
    no_exception(at)
    assert message in at.error[0].value
    assert at.markdown[-1].value == "after"


def test_large_remote_csv_gets_a_bounded_preview(monkeypatch) -> None:
    import uuid

    monkeypatch.setitem(render.INLINE_LIMITS, VisualizationType.CSV, 100)
    key = str(uuid.uuid4())
    with fsspec.open(f"memory://zviz-tests/{key}/big.csv", "w") as fh:
        fh.write("a,b\n" + "1,2\n" * 1000)
    at = AppTest.from_function(
        _render_app, args=("memory://zviz-tests", "big.csv", "csv"), default_timeout=30
    )
    at.session_state["viz_id"] = key
    at.run()
    no_exception(at)
    assert len(at.dataframe[0].value) == render.CSV_PREVIEW_ROWS
    assert any("unknown number of rows" in c for c in texts(at, "caption"))


def test_sandbox_document_escapes_quotes_and_ampersands() -> None:
    document = render.sandbox_document('"&<')
    assert 'srcdoc="&quot;&amp;&lt;&lt;script&gt;' in document
    assert "allow-same-origin" not in document


def test_interactive_leaves_layered_specs_alone() -> None:
    layered = {"layer": [{"mark": "point"}]}
    assert render.interactive(layered) is layered
    single = {"mark": "point", "encoding": {"x": {"field": "a"}}}
    assert render.interactive(single)["params"][0]["select"]["encodings"] == ["x"]
