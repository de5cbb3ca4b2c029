"""Outside URLs in Markdown and Vega-Lite artifacts, in Chromium: the page asks no host but the
app's own, draws no link out of them, and the tile says what was blocked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import (
    Server,
    _app_cwd,
    env_vars,
    main_text,
    no_exception_shown,
    open_url,
    start_server,
    stop_server,
)
from tests.ui.test_hostile import Files
from zviz_core import Client, pipeline, step
from zviz_core.enums import VisualizationType as V

pytestmark = pytest.mark.browser
EVIL = "evil.example"
MARKDOWN = f"""# Outside card

A [link](https://{EVIL}/docs), an image ![pixel](https://{EVIL}/pixel.png), a protocol-relative
image ![rel](//{EVIL}/rel.png), an autolink <https://{EVIL}/auto>, a bare https://{EVIL}/bare and
www.{EVIL}, mail me@{EVIL}, a [data link](data:text/html;base64,PGgxPmhpPC9oMT4=).
"""
VEGA = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"url": f"https://{EVIL}/data.json"},
    "layer": [
        {
            "data": {"values": [{"a": 1, "b": 2, "img": f"https://{EVIL}/mark.png"}]},
            "mark": {"type": "image", "width": 20, "height": 20},
            "encoding": {
                "x": {"field": "a", "type": "quantitative"},
                "y": {"field": "b", "type": "quantitative"},
                "url": {"field": "img", "type": "nominal"},
                "href": {"field": "img", "type": "nominal"},
            },
        },
        {"mark": {"type": "point"}, "encoding": {"x": {"field": "a"}}},
    ],
}
NAME = f"Tile http://{EVIL}/name and www.{EVIL}"


def _write(text: str) -> Any:
    return lambda path: Path(path).write_text(text, encoding="utf-8")


@step
def outside_files() -> Files:
    return Files(
        {
            "card.md": (_write(MARKDOWN), V.MARKDOWN),
            "chart.json": (_write(json.dumps(VEGA)), V.VEGA_LITE),
        }
    )


@pipeline
def outside() -> None:
    outside_files()


@pytest.fixture(scope="module")
def outside_app(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app, without login, on a store whose project dashboard pins both artifacts."""
    from zviz_core.store.db import Database

    tmp = tmp_path_factory.mktemp("outside")
    home = tmp / "store"
    with env_vars(ZVIZ_HOME=str(home), ZVIZ_DEMO="0", ZVIZ_AUTH_CONFIG=None, ZVIZ_PROJECT=None):
        owner = Client()
        av = outside().steps["outside_files"].output
        for viz in av.visualizations:
            owner.create_curated_visualization(
                viz.id, owner.active_project.id, "project", display_name=NAME
            )
    Database._forget_all()
    env = {"ZVIZ_HOME": str(home), "ZVIZ_DEMO": "0"}
    server = start_server(env, tmp / "streamlit.log", _app_cwd(tmp))
    yield server
    stop_server(server)


def test_outside_urls_are_never_requested_nor_links(outside_app: Server, new_context) -> None:
    page = new_context().new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_url(page, outside_app.url)
    page.get_by_text("Outside card").wait_for()
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for()
    page.wait_for_timeout(1500)  # images and chart data load after the elements appear
    assert not no_exception_shown(page)
    app_host = urlsplit(outside_app.url).netloc
    # The entrypoint's material-icon favicon comes from Google's font CDN; that is the app's
    # own choice, not an artifact's, and the only other host allowed here.
    favicon = "fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/insights/"
    elsewhere = [
        url
        for url in requested
        if urlsplit(url).scheme in ("http", "https")
        and urlsplit(url).netloc != app_host
        and favicon not in url
    ]
    assert not elsewhere, elsewhere
    assert not [url for url in requested if EVIL in url]
    hrefs = [
        link.get_attribute("href") or "" for link in page.locator("[data-testid=stMain] a").all()
    ]
    assert not [h for h in hrefs if EVIL in h or h.startswith(("data:", "mailto:"))], hrefs
    text = main_text(page)
    assert "[image: pixel]" in text and f"www.{EVIL}" in text
    assert "outside link, image or data references blocked" in text
