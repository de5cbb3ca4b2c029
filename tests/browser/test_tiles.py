"""Dashboards in Chromium: a following tile moves on by itself, HTML reports fit their content."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest

from tests.browser.conftest import (
    ROOT,
    Server,
    _app_cwd,
    env_vars,
    log_in,
    main_text,
    no_exception_shown,
    open_url,
    settle,
    start_server,
    stop_server,
)
from zviz_core import Client, pipeline, step
from zviz_core.types import HTMLString
from zviz_core.ui import render
from zviz_testing.world import COOKIE_KEY, USERS, build_world, hash_passwords, write_auth_config

pytestmark = pytest.mark.browser
REFRESH_S = 2


@step
def long_report() -> Annotated[HTMLString, "long_report"]:
    rows = "".join(f"<tr><td>row {i}</td><td>{i * i}</td></tr>" for i in range(300))
    return HTMLString(f"<h1>Long report</h1><table>{rows}</table><p id='end'>the end</p>")


@step
def short_report() -> Annotated[HTMLString, "short_report"]:
    return HTMLString("<h1>Short report</h1><p>One line.</p>")


@pipeline
def reports() -> None:
    long_report()
    short_report()


@pytest.fixture(scope="module")
def tile_app(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The team store of world.py, plus a model page with a following tile and two HTML
    reports, served with a short refresh interval."""
    from zviz_core.store.db import Database

    tmp = tmp_path_factory.mktemp("tiles")
    home = tmp / "store"
    with env_vars(ZVIZ_HOME=str(home), ZVIZ_DEMO="0", ZVIZ_AUTH_CONFIG=None, ZVIZ_PROJECT=None):
        world = build_world()
        owner = Client()
        run = owner.get_pipeline_run(reports().id)
        report = world.everything_run.steps["report"].outputs["report"][0].visualizations[0]
        owner.create_curated_visualization(
            report.id, world.model_id, "model", display_name="Latest report", follow="output"
        )
        for name in ("long_report", "short_report"):
            viz = run.steps[name].outputs[name][0].visualizations[0]
            owner.create_curated_visualization(
                viz.id, world.model_id, "model", display_name=name, layout_size="half_width"
            )
    Database._forget_all()
    config = write_auth_config(tmp / "auth.yaml", hash_passwords())
    env = {
        "ZVIZ_HOME": str(home),
        "ZVIZ_DEMO": "0",
        "ZVIZ_AUTH_CONFIG": str(config),
        "ZVIZ_COOKIE_KEY": COOKIE_KEY,
        "ZVIZ_REFRESH_SECONDS": str(REFRESH_S),
    }
    server = start_server(env, tmp / "streamlit.log", _app_cwd(tmp))
    server.info.update(world=world, home=home)
    yield server
    stop_server(server)


def _open_model(server: Server, new_context: Any, username: str) -> Any:
    page = new_context().new_page()
    open_url(page, server.url)
    user = USERS[username]
    log_in(page, user.username, user.password, user.name)
    open_url(page, f"{server.url}/models?id={server.info['world'].model_id}")
    return page


def _run_in_another_process(home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env.update(ZVIZ_HOME=str(home), ZVIZ_DEMO="0", PYTHONPATH=str(ROOT))
    code = "from zviz_testing.factories import run_everything; print(run_everything().name)"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_a_following_tile_shows_a_new_run_without_a_reload(tile_app: Server, new_context) -> None:
    world = tile_app.info["world"]
    page = _open_model(tile_app, new_context, "admin")
    assert world.everything_run.name in main_text(page)
    page.evaluate("() => { window.__zviz_same_page = true; }")

    newest = _run_in_another_process(tile_app.info["home"])
    deadline = time.monotonic() + 10 * REFRESH_S + 20
    while newest not in main_text(page) and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert newest in main_text(page), "the dashboard redrew by itself"
    assert page.evaluate("() => window.__zviz_same_page === true"), "no reload happened"
    settle(page)
    assert not no_exception_shown(page)

    # A viewer who may open no run of that pipeline sees the tile, with nothing to show yet.
    viewer = _open_model(tile_app, new_context, "bob")
    text = main_text(viewer)
    assert "Nothing to show yet" in text and newest not in text


def test_html_reports_fit_their_content_and_stay_sandboxed(
    tile_app: Server, new_context, tmp_path: Path
) -> None:
    page = _open_model(tile_app, new_context, "admin")
    page.wait_for_timeout(1500)  # the reports post their heights once loaded
    heights = {}
    for frame in page.locator("iframe").all():
        doc = str(frame.get_attribute("srcdoc") or "")
        for name in ("Long report", "Short report"):
            if name in doc:
                box = frame.bounding_box()
                assert box is not None
                heights[name] = box["height"]
    assert set(heights) == {"Long report", "Short report"}, heights
    assert heights["Long report"] >= render.HTML_TILE_MAX_HEIGHT - 2, "fills up to the maximum"
    assert heights["Long report"] <= render.HTML_TILE_MAX_HEIGHT + 40, "then scrolls inside"
    assert heights["Short report"] < render.TILE_HEIGHT / 2, "a short report stays short"
    # The inner frames keep their sandbox: scripts, but no access to the app's origin.
    inner = page.evaluate(
        "() => [...document.querySelectorAll('iframe')].flatMap((f) => {"
        " try { return [...f.contentDocument.querySelectorAll('#zviz-report')]"
        ".map((i) => i.getAttribute('sandbox')); } catch (e) { return []; } })"
    )
    assert inner and set(inner) == {"allow-scripts"}, inner
    full = page.frame_locator("iframe[srcdoc*='Long report']").get_by_role(
        "button", name="Show this report full screen"
    )
    assert full.count() == 1
    page.screenshot(path=str(tmp_path / "model-page.png"), full_page=True)
