"""A failed run on screen: the failed step opens first, with its whole traceback and its log
(search, download); the graph lists every step and the step list names its status (issue 14)."""

from __future__ import annotations

import json

import pytest

from tests.ui.conftest import no_exception, plain, texts
from zviz_core import Client, pipeline, step


@step
def prepare() -> int:
    for i in range(3000):
        print(f"row {i} ok")
    print("row 1234 has a <b>bold</b> [link](https://evil.example) name")
    return 3


@step
def fit(rows: int) -> int:
    print(f"fitting {rows} rows")
    raise ZeroDivisionError("learning rate became 0")


@pipeline
def doomed() -> None:
    fit(prepare())


@pytest.fixture
def failed_run(client: Client):
    with pytest.raises(ZeroDivisionError):
        doomed()
    return client.get_pipeline_run(client.list_pipeline_runs().items[0].id)


def _code_blocks(at) -> list[str]:
    """The page's plain-text code blocks (tracebacks, logs), not its JSON visualizations."""
    return [str(c.value) for c in at.code if c.language != "json"]


def test_the_failed_step_opens_first_with_its_traceback(open_page, failed_run) -> None:
    at = open_page("runs", id=failed_run.id)
    no_exception(at)
    steps = at.get("button_group")[0]
    assert steps.value == "fit"
    assert "ZeroDivisionError: learning rate became 0" in [plain(t) for t in texts(at, "error")]
    traceback = next(c for c in _code_blocks(at) if c.startswith("Traceback"))
    assert "in fit" in traceback and traceback.endswith("learning rate became 0")
    assert "This step returned nothing." not in texts(at, "caption")
    # The log is open for a failed step, and ends with the traceback.
    log = _code_blocks(at)[-1]
    assert "fitting 3 rows" in log and log.endswith("ZeroDivisionError: learning rate became 0")


def test_a_step_log_can_be_searched_and_downloaded(open_page, failed_run) -> None:
    at = open_page("runs", id=failed_run.id, step="prepare")
    no_exception(at)
    log = _code_blocks(at)[-1]
    # A long log shows its last lines, and says so.
    assert any("last 2,000 of 3,001 lines" in c for c in texts(at, "caption"))
    assert "row 2999 ok" in log and "row 5 ok" not in log
    # Log lines are shown as they are: nothing in them becomes markup or a link.
    assert "<b>bold</b> [link](https://evil.example)" in log
    search = at.text_input(key=f"log-q-{failed_run.steps['prepare'].id}")
    search.input("ROW 1234").run()
    no_exception(at)
    found = _code_blocks(at)[-1].splitlines()
    assert any("2 of 3,001 lines contain it" in c for c in texts(at, "caption"))
    # Matches keep their line numbers, whatever their case.
    assert [line.split(None, 1) for line in found] == [
        ["1235", "row 1234 ok"],
        ["3001", "row 1234 has a <b>bold</b> [link](https://evil.example) name"],
    ]
    search.input("no such text").run()
    assert "No line of the log contains this text." in texts(at, "info")
    download = at.get("download_button")
    assert any("Download the log" in str(d.proto.label) for d in download)


def test_the_graph_draws_every_step_and_the_list_names_the_failure(open_page, failed_run) -> None:
    at = open_page("runs", id=failed_run.id)
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    boxes = next(layer for layer in spec["layer"] if "rect" in str(layer["mark"]))
    nodes = {n["label"]: n for n in boxes["data"]["values"] if n["kind"] == "step"}
    assert set(nodes) == {"prepare", "fit"}
    assert nodes["fit"]["status"] == "failed" and nodes["fit"]["selected"]
    assert nodes["prepare"]["x"] < nodes["fit"]["x"]
    assert nodes["fit"]["description"] == "Step fit, failed; opens the step"
    # The keyboard's way in: each node, by its accessible name, opens its step.
    keys = json.loads(at.get("bidi_component")[0].proto.json)
    assert keys["targets"]["Step fit, failed; opens the step"] == "fit"
    assert set(keys["targets"].values()) == {"prepare", "fit"}
    steps = at.get("button_group")[0]
    labels = [plain(o) for o in steps.options]
    assert labels == ["prepare", "fit (failed)"]


def test_a_step_that_printed_nothing_says_so(open_page, client: Client) -> None:
    @step
    def silent() -> int:
        return 1

    @pipeline
    def hushed() -> None:
        silent()

    run = hushed()
    at = open_page("runs", id=run.id)
    no_exception(at)
    assert "This step printed and logged nothing." in texts(at, "caption")
