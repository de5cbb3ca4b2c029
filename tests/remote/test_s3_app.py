"""The app shows every visualization type from an S3 bucket, and an unreachable store fails
each tile quickly and readably while the rest of the page renders (AppTest, server side)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import APP
from tests.ui.test_render import in_tile
from zviz_core import Client
from zviz_core.enums import VisualizationType as V
from zviz_testing.factories import run_everything

EXPECTED_ELEMENT = {
    V.HTML: "iframe",
    V.IMAGE: "image",
    V.CSV: "dataframe",
    V.JSON: "json",
    V.VEGA_LITE: "vega_lite_chart",
}


@pytest.fixture
def bucket_dashboard(s3_store: str) -> dict:
    client = Client()
    run = run_everything()
    project = client.active_project.id
    tiles = {}
    for step in run.steps.values():
        viz = step.output.visualizations[0]
        assert viz.uri.startswith("s3://")
        tile = client.create_curated_visualization(
            viz.id, project, "project", display_name=f"{step.name} tile"
        )
        tiles[tile.id] = viz.type
    return tiles


def _overview() -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.switch_page("app_pages/overview.py")
    return at.run()


def _kinds(at: AppTest, tile_id) -> set[str]:
    return {getattr(node, "type", "") for node in in_tile(at, tile_id)}


def test_every_type_renders_from_the_bucket(bucket_dashboard: dict) -> None:
    at = _overview()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert set(bucket_dashboard.values()) == set(V)
    for tile_id, vtype in bucket_dashboard.items():
        if vtype is V.MARKDOWN:
            # Markdown artifacts are rendered by zviz (HTML escaped, outside links blocked) into
            # an html element.
            bodies = [
                n.proto.body for n in in_tile(at, tile_id) if getattr(n, "type", "") == "html"
            ]
            assert any("Model card" in b for b in bodies), bodies
        else:
            assert EXPECTED_ELEMENT[vtype] in _kinds(at, tile_id), vtype


def test_an_unreachable_bucket_fails_each_tile_fast_and_nothing_else(
    bucket_dashboard: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    s3fs.S3FileSystem.clear_instance_cache()
    started = time.monotonic()
    at = _overview()
    elapsed = time.monotonic() - started
    assert not at.exception, [e.value for e in at.exception]
    for tile_id in bucket_dashboard:
        messages = [str(n.value) for n in in_tile(at, tile_id) if getattr(n, "type", "") == "error"]
        assert messages and "cannot reach the artifact store" in messages[0], messages
        assert "README" in messages[0]
    page_text = " ".join(str(m.value) for m in [*at.markdown, *at.header, *at.subheader, *at.title])
    assert "Project dashboard" in page_text
    assert elapsed < 60, f"the page took {elapsed:.0f} s"
