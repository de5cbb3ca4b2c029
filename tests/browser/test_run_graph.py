"""The run graph in Chromium: a click on a step node opens that step, the wheel zooms, every
node has an accessible name, and on a phone the step list stands in for the graph (issue 14)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    Server,
    _app_cwd,
    env_vars,
    no_exception_shown,
    open_url,
    settle,
    start_server,
    stop_server,
)
from tests.core.helpers import start_python
from zviz_core import Client, pipeline, step

pytestmark = pytest.mark.browser
CHART = "[data-testid=stVegaLiteChart]"


@step
def load() -> list[int]:
    print("loaded 3 numbers")
    return [1, 2, 3]


@step
def double(numbers: list[int]) -> list[int]:
    return [n * 2 for n in numbers]


@step
def total(numbers: list[int]) -> int:
    raise ArithmeticError("the total overflowed")


@pipeline
def arithmetic() -> None:
    total(double(load()))


@pytest.fixture(scope="module")
def graph_app(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app, without login, on a store holding one failed three-step run."""
    from zviz_core.store.db import Database

    tmp = tmp_path_factory.mktemp("graph")
    home = tmp / "store"
    with env_vars(ZVIZ_HOME=str(home), ZVIZ_DEMO="0", ZVIZ_AUTH_CONFIG=None, ZVIZ_PROJECT=None):
        with pytest.raises(ArithmeticError):
            arithmetic()
        run = Client().list_pipeline_runs().items[0]
    Database._forget_all()
    server = start_server(
        {"ZVIZ_HOME": str(home), "ZVIZ_DEMO": "0"}, tmp / "streamlit.log", _app_cwd(tmp)
    )
    server.info["run"] = run
    yield server
    stop_server(server)


def _node_positions(page: Any) -> dict[str, tuple[float, float]]:
    """Where each node's centre is on screen, by its accessible name."""
    found = {}
    for node in page.locator(f"{CHART} [role=button][aria-label]").all():
        box = node.bounding_box()
        if box:
            found[node.get_attribute("aria-label")] = (
                box["x"] + box["width"] / 2,
                box["y"] + box["height"] / 2,
            )
    return found


def _open_step_heading(page: Any) -> str:
    return page.locator("[data-testid=stMain] h3").last.inner_text().strip()


def test_clicking_a_step_node_opens_that_step(graph_app: Server, new_context) -> None:
    run = graph_app.info["run"]
    page = new_context().new_page()
    open_url(page, f"{graph_app.url}/runs?id={run.id}")
    page.locator(CHART).wait_for()
    settle(page)
    # The failed step is open first.
    assert _open_step_heading(page) == "total"
    nodes = _node_positions(page)
    names = {
        "Step load, completed; opens the step",
        "Step double, completed; opens the step",
        "Step total, failed; opens the step",
        "Output output of step load, artifact arithmetic::load::output version 1; opens step load",
    }
    assert names <= set(nodes), nodes
    chart = page.locator(CHART)
    assert "Graph of the 3 steps" in (chart.get_attribute("aria-label") or "")

    page.mouse.click(*nodes["Step double, completed; opens the step"])
    settle(page)
    assert "step=double" in page.url
    assert _open_step_heading(page) == "double"
    # A click on an output node opens the step that produced it.
    nodes = _node_positions(page)
    page.mouse.click(
        *nodes[
            "Output output of step load, artifact arithmetic::load::output "
            "version 1; opens step load"
        ]
    )
    settle(page)
    assert _step_is_open(page, "load")
    assert not no_exception_shown(page)


def _step_is_open(page: Any, name: str) -> bool:
    """Whether the URL and the step heading both name step `name`."""
    return f"step={name}" in page.url and _open_step_heading(page) == name


def _focused_label(page: Any) -> str | None:
    return page.evaluate(
        "() => document.activeElement && document.activeElement.closest"
        f"('{CHART}') ? document.activeElement.getAttribute('aria-label') : null"
    )


def test_the_keyboard_reaches_every_node_and_enter_or_space_opens_its_step(
    graph_app: Server, new_context
) -> None:
    from playwright.sync_api import expect

    run = graph_app.info["run"]
    page = new_context().new_page()
    open_url(page, f"{graph_app.url}/runs?id={run.id}")
    page.locator(CHART).wait_for()
    settle(page)
    assert _open_step_heading(page) == "total"
    for _ in range(80):
        page.keyboard.press("Tab")
        if _focused_label(page):
            break
    load = page.get_by_role("button", name="Step load, completed; opens the step", exact=True)
    expect(load).to_be_focused()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    # The graph is one Tab stop: Tab goes on past it, Shift+Tab comes back to the same node.
    stops = page.locator(f"{CHART} [role=button][tabindex='0']")
    expect(stops).to_have_count(1)
    page.keyboard.press("Tab")
    assert not _focused_label(page)
    page.keyboard.press("Shift+Tab")
    expect(load).to_be_focused()
    # The arrow keys walk the nodes in order: a step, then its outputs.
    page.keyboard.press("ArrowRight")
    output = page.get_by_role(
        "button",
        name="Output output of step load, artifact arithmetic::load::output version 1; "
        "opens step load",
        exact=True,
    )
    expect(output).to_be_focused()
    expect(stops).to_have_count(1)
    expect(output).to_have_attribute("tabindex", "0")
    page.keyboard.press("ArrowRight")
    double = page.get_by_role("button", name="Step double, completed; opens the step", exact=True)
    expect(double).to_be_focused()
    page.keyboard.press("Enter")
    settle(page)
    assert _step_is_open(page, "double")
    # The node keeps the focus through the rerun, so the walk goes on from there.
    expect(double).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    total = page.get_by_role("button", name="Step total, failed; opens the step", exact=True)
    expect(total).to_be_focused()
    page.keyboard.press(" ")
    settle(page)
    assert _step_is_open(page, "total")
    # Each opening is a history entry, as a click's is.
    page.go_back()
    settle(page)
    assert _step_is_open(page, "double")
    assert not no_exception_shown(page)


def test_the_wheel_zooms_and_a_drag_pans(graph_app: Server, new_context) -> None:
    run = graph_app.info["run"]
    page = new_context().new_page()
    open_url(page, f"{graph_app.url}/runs?id={run.id}")
    page.locator(CHART).wait_for()
    settle(page)
    name = "Step double, completed; opens the step"
    before = page.locator(f"{CHART} [aria-label='{name}']").bounding_box()
    page.mouse.move(before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(300)
    zoomed = page.locator(f"{CHART} [aria-label='{name}']").bounding_box()
    assert zoomed["width"] > before["width"] * 1.2
    nodes = _node_positions(page)
    left, right = nodes[name], nodes["Step total, failed; opens the step"]
    # The gap between two nodes: the drag starts on the chart, not on a node.
    start = ((left[0] + zoomed["width"] / 2 + 8), left[1])
    assert start[0] < right[0]
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 150, start[1], steps=8)
    page.mouse.up()
    page.wait_for_timeout(300)
    panned = page.locator(f"{CHART} [aria-label='{name}']").bounding_box()
    assert panned["x"] > zoomed["x"] + 100


def test_on_a_phone_the_step_list_replaces_the_graph(graph_app: Server, browser) -> None:
    run = graph_app.info["run"]
    context = browser.new_context(viewport={"width": 390, "height": 1400})
    try:
        page = context.new_page()
        open_url(page, f"{graph_app.url}/runs?id={run.id}")
        assert not page.locator(CHART).is_visible()
        steps = page.get_by_role("radio", name="double", exact=True)
        assert steps.is_visible()
        # The list is reachable with the keyboard.
        steps.focus()
        page.keyboard.press("Enter")
        settle(page)
        assert "step=double" in page.url
        assert _open_step_heading(page) == "double"
    finally:
        context.close()


def test_a_running_run_follows_its_steps_and_log_live(
    chromium_path: str, tmp_path: Path, new_context
) -> None:
    from zviz_core.store.db import Database

    home = tmp_path / "store"
    release = tmp_path / "release"
    child = start_python(
        f"""
        import time
        from pathlib import Path
        from zviz_core import pipeline, step

        @step
        def warm_up() -> int:
            return 1

        @step
        def slow(x: int) -> int:
            print("epoch 1 of 2", flush=True)
            while not Path({str(release)!r}).exists():
                time.sleep(0.1)
            print("epoch 2 of 2")
            return x

        @pipeline
        def live() -> None:
            slow(warm_up())

        live()
        """,
        home,
    )
    server = None
    try:
        with env_vars(ZVIZ_HOME=str(home), ZVIZ_DEMO="0", ZVIZ_AUTH_CONFIG=None):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                runs = Client().list_pipeline_runs().items if home.exists() else []
                if runs:
                    break
                time.sleep(0.2)
            assert runs, "the pipeline never started"
            run = runs[0]
        Database._forget_all()
        server = start_server(
            {"ZVIZ_HOME": str(home), "ZVIZ_DEMO": "0"}, tmp_path / "streamlit.log", tmp_path
        )
        page = new_context().new_page()
        open_url(page, f"{server.url}/runs?id={run.id}")
        running = page.locator(f"{CHART} [aria-label='Step slow, running; opens the step']")
        running.wait_for(timeout=30_000)
        # The running step is open, with what it has printed so far.
        page.get_by_text("epoch 1 of 2").wait_for(timeout=30_000)
        assert _open_step_heading(page) == "slow"
        release.write_text("go")
        done = page.locator(f"{CHART} [aria-label='Step slow, completed; opens the step']")
        done.wait_for(timeout=30_000)
        settle(page)
        # The step followed stays open once it ended; its whole log is there.
        assert _open_step_heading(page) == "slow"
        if not page.get_by_text("epoch 2 of 2").is_visible():
            page.get_by_text("Logs", exact=True).click()
        page.get_by_text("epoch 2 of 2").wait_for(timeout=30_000)
        assert child.wait(60) == 0
        assert not no_exception_shown(page)
    finally:
        release.write_text("go")
        if child.poll() is None:
            child.kill()
        child.wait(30)
        if server is not None:
            stop_server(server)
