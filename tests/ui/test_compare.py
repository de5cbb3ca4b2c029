"""The compare page, the runs list's metric columns and compare choice, and the metric chart."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import altair as alt
import pandas as pd

from tests.ui.conftest import link_labels, no_exception, plain, texts
from zviz_core import Client, pipeline, step
from zviz_core.types import HTMLString, JSONString
from zviz_core.ui.compare import describe_differences, overlaid_spec
from zviz_core.ui.resources import metric_spec


@step
def data(shift: float) -> Annotated[pd.DataFrame, "data"]:
    return pd.DataFrame({"a": [1.0, 2.0, 3.0 + shift], "b": [4.0, 5.0, 6.0]})


@step
def evaluate(acc: float) -> Annotated[JSONString, "metrics"]:
    return JSONString(json.dumps({"accuracy": acc, "loss": round(1 - acc, 4)}))


@step
def report(acc: float) -> Annotated[HTMLString, "report"]:
    return HTMLString(f"<script>parent.document.title='pwned'</script><p>{acc}</p>")


@step
def curve(acc: float) -> Annotated[Any, "curve"]:
    frame = pd.DataFrame({"epoch": [1, 2, 3], "score": [acc - 0.2, acc - 0.1, acc]})
    return alt.Chart(frame).mark_line().encode(x="epoch:Q", y="score:Q")


@pipeline
def trained(acc: float = 0.5, shift: float = 0.0) -> None:
    data(shift)
    evaluate(acc)
    report(acc)
    curve(acc)


def _table(at: Any, column: str) -> pd.DataFrame:
    """The first table on the page with this column, as its frame (Styler or not)."""
    for element in at.dataframe:
        value = element.value
        frame = getattr(value, "data", value)
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with a {column!r} column")


def _charts(at: Any) -> list[dict]:
    """The Vega-Lite specs of every chart on the page."""
    found, stack = [], [at._tree]
    while stack:
        node = stack.pop()
        if getattr(node, "type", "") == "vega_lite_chart":
            found.append(json.loads(node.proto.spec))
        stack += list(getattr(node, "children", {}).values())
    return found


def _runs(client: Client) -> list:
    return [trained(acc=0.8, shift=0.0), trained(acc=0.9, shift=1.0)]


def test_compare_page_shows_runs_side_by_side(client: Client, open_page) -> None:
    a, b = _runs(client)
    at = open_page("compare", runs=f"{a.id},{b.id}")
    no_exception(at)
    labels = link_labels(at)
    assert f"1. {a.name}" in labels and f"2. {b.name}" in labels
    headers = [plain(s.value) for s in at.header]
    assert headers[:1] == ["Metrics"]
    assert {"data.data", "evaluate.metrics", "report.report", "curve.curve"} <= set(headers)
    # Metric table: values, deltas against run 1, best marked.
    table = _table(at, "Metric")
    accuracy = table[table["Metric"] == "evaluate.metrics.accuracy"].iloc[0]
    assert accuracy[f"1. {a.name}"] == "0.8" and accuracy[f"2. {b.name}"] == "0.9 (+0.1)"
    assert accuracy["Better"] == "higher"
    # Each HTML cell sits in its own inner sandbox, never the app's origin.
    frames = at.get("iframe")
    assert len(frames) == 2
    for frame in frames:
        assert 'sandbox="allow-scripts"' in frame.proto.srcdoc
        assert "allow-same-origin" not in frame.proto.srcdoc
    # The two curves share their fields: drawn once, one colour per run.
    assert "Drawn once, one colour per run." in texts(at, "caption")
    charts = [c for c in _charts(at) if "zviz_run" in json.dumps(c)]
    assert len(charts) == 1
    assert charts[0]["encoding"]["color"]["field"] == "zviz_run"
    # The describe() summaries share columns: a differences view.
    assert any("Differences of the summaries" in e.label for e in at.expander)


def test_one_broken_cell_does_not_break_the_page(client: Client, open_page) -> None:
    a, b = _runs(client)
    viz = b.steps["report"].output.visualizations[0]
    os.remove(viz.uri)
    at = open_page("compare", runs=f"{a.id},{b.id}")
    no_exception(at)
    assert len(at.get("iframe")) == 1  # run 1's report still shows
    assert any("is missing from the artifact store" in e for e in texts(at, "error"))
    assert _table(at, "Metric") is not None


def test_bad_links_say_what_to_do(client: Client, open_page) -> None:
    a, _ = _runs(client)
    at = open_page("compare", runs=str(a.id))
    no_exception(at)
    assert any("Choose 2 to 6 runs" in t for t in texts(at, "info"))
    at = open_page("compare", runs=f"{a.id},not-a-run,00000000-0000-0000-0000-000000000000")
    no_exception(at)
    infos = texts(at, "info")
    assert any("2 runs of this link were not found" in t for t in infos), infos
    assert any("Fewer than two" in t for t in infos)
    at = open_page("compare", runs=",".join([str(a.id)] * 3 + [f"x{i}" for i in range(6)]))
    no_exception(at)
    assert any("at most 6" in t for t in texts(at, "warning"))


def test_runs_list_metric_columns_sorted_and_compare_choice(client: Client, open_page) -> None:
    a, b = _runs(client)
    at = open_page(
        "runs",
        pipeline="trained",
        metrics="evaluate.metrics.loss,evaluate.metrics.accuracy,bogus",
        sort="evaluate.metrics.accuracy:asc",
    )
    no_exception(at)
    frame = _table(at, "Run")
    assert list(frame["Run"]) == [a.name, b.name]  # lowest accuracy first, as asked
    assert list(frame.columns[-2:]) == ["evaluate.metrics.loss", "evaluate.metrics.accuracy"]
    assert list(frame["Open"]) == [f"/runs?id={a.id}", f"/runs?id={b.id}"]
    # Without metric columns: rows with boxes; ticking two offers the comparison link.
    at = open_page("runs")
    at.checkbox(key=f"cmp-{a.id}").check().run()
    at.checkbox(key=f"cmp-{b.id}").check().run()
    no_exception(at)
    links = [link for link in at.get("page_link") if plain(link.label) == "Compare them"]
    assert len(links) == 1
    assert "compare" in links[0].proto.page


def test_pipeline_page_charts_a_metric_with_links_built_from_ids(client: Client, open_page) -> None:
    a, b = _runs(client)
    at = open_page("pipelines", id=a.pipeline.id)
    no_exception(at)
    assert at.selectbox(key=f"metric-{a.pipeline.id}").value == "evaluate.metrics.accuracy"
    ours = [s for s in _charts(at) if s.get("encoding", {}).get("href")]
    assert len(ours) == 1
    assert ours[0]["encoding"]["href"] == {"field": "link"}
    name = "evaluate.metrics.accuracy"
    values = metric_spec(client.metric_history(a.pipeline.id, name), name)["data"]["values"]
    assert [v["link"] for v in values] == [f"/runs?id={a.id}", f"/runs?id={b.id}"]
    assert "Compare the latest 2 runs" in link_labels(at)


def test_charts_overlay_only_when_their_fields_match() -> None:
    def bars(values: list[dict], y: str = "name") -> dict:
        return {
            "data": {"values": values},
            "mark": "bar",
            "encoding": {
                "x": {"field": "v", "type": "quantitative"},
                "y": {"field": y, "type": "nominal"},
            },
        }

    one, two = bars([{"name": "a", "v": 1}]), bars([{"name": "a", "v": 2}])
    spec = overlaid_spec([one, two], ["1. r1", "2. r2"])
    assert spec is not None
    assert [v["zviz_run"] for v in spec["data"]["values"]] == ["1. r1", "2. r2"]
    assert spec["encoding"]["color"]["field"] == "zviz_run"
    assert spec["encoding"]["yOffset"] == {"field": "zviz_run"}  # bars beside each other
    assert overlaid_spec([one, bars([{"other": "a", "v": 2}], y="other")], ["1", "2"]) is None
    no_inline = {**two, "data": {"url": "https://example.com/x.json"}}
    assert overlaid_spec([one, no_inline], ["1", "2"]) is None


def test_describe_differences_cover_shared_columns_only() -> None:
    first = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 1.0, 1.0]}).describe().to_csv()
    other = pd.DataFrame({"a": [2.0, 3.0, 4.0], "c": [5.0, 5.0, 5.0]}).describe().to_csv()
    diff = describe_differences(first, other)
    assert list(diff.columns) == ["a"]
    assert diff.loc["mean", "a"] == 1.0 and diff.loc["count", "a"] == 0.0
    assert describe_differences(first, pd.DataFrame({"z": [1.0]}).describe().to_csv()) is None
