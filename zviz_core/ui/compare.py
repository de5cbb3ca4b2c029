"""The compare screen (`/compare?runs=<id>,<id>`): runs side by side, metrics with deltas, charts
overlaid, DataFrame summaries differenced; each cell contained on its own."""

from __future__ import annotations

import io
import logging
import posixpath
from collections.abc import Sequence
from typing import Any

import streamlit as st

from zviz_core.client import Client
from zviz_core.compare import MAX_RUNS, MIN_RUNS
from zviz_core.enums import VisualizationType
from zviz_core.errors import InvalidInputError
from zviz_core.models import (
    ArtifactVersionResponse,
    ArtifactVisualizationResponse,
    ComparedRun,
    ComparisonRow,
    MetricRow,
    RunComparison,
)
from zviz_core.ui import fmt, nav, outside, render
from zviz_core.ui.notices import contained, md_escape

log = logging.getLogger("zviz.ui")
PARAM = "runs"
# More ids than this in a URL are not even looked at.
MAX_URL_IDS = 20
CELL_HEIGHT = 360
BEST_FILL = "background-color: #d1fadf"
WORST_FILL = "background-color: #fee4e2"


def compare_query(run_ids: Sequence[Any]) -> dict[str, str]:
    """The query parameters of the compare page for these runs (ids, never names)."""
    return {PARAM: ",".join(str(r) for r in run_ids)}


def wanted_ids() -> list[str]:
    """The run ids the URL asks to compare, repeats removed, at most MAX_URL_IDS."""
    raw = nav.param(PARAM) or ""
    return list(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))[:MAX_URL_IDS]


def _how_to_choose() -> None:
    st.info(
        f"Choose {MIN_RUNS} to {MAX_RUNS} runs to compare: tick them in the runs list, or use "
        "'Compare with…' on a run's page.",
        icon=":material/compare_arrows:",
    )
    nav.link(nav.RUNS, "Go to the runs list", icon=":material/list:")


def compare_page(client: Client) -> None:
    """Draw /compare: the runs of the URL side by side, or how to choose some."""
    st.title("Compare runs", anchor=False)
    ids = wanted_ids()
    if not MIN_RUNS <= len(ids) <= MAX_RUNS:
        if len(ids) > MAX_RUNS:
            st.warning(
                f"This link names {len(ids)} runs; at most {MAX_RUNS} can be compared at once.",
                icon=":material/warning:",
            )
        _how_to_choose()
        return
    try:
        result = client.compare_runs(ids)
    except InvalidInputError as exc:
        st.error(md_escape(str(exc)))
        _how_to_choose()
        return
    if result.hidden:
        text = (
            "1 run of this link was not found (or you may not see it)"
            if result.hidden == 1
            else f"{result.hidden} runs of this link were not found (or you may not see them)"
        )
        st.info(f"{text}; left out.", icon=":material/visibility_off:")
    if len(result.runs) < MIN_RUNS:
        st.info(
            "Fewer than two of the runs in this link can be shown, so there is nothing to compare.",
            icon=":material/info:",
        )
        for run in result.runs:
            nav.link(nav.RUNS, run.name, icon=":material/play_circle:", id=run.id)
        return
    _headers(result.runs)
    with contained(what="The metrics"):
        _metrics(result)
    if not result.rows:
        st.caption("These runs share no outputs.")
    for index, row in enumerate(result.rows):
        with contained(what="This output"):
            _row(client, result, row, index)


def _headers(runs: list[ComparedRun]) -> None:
    columns = st.columns(len(runs))
    for i, (column, run) in enumerate(zip(columns, runs, strict=True)):
        with column, st.container(border=True, key=f"compare-run-{i}"):
            nav.link(nav.RUNS, f"{i + 1}. {run.name}", icon=":material/play_circle:", id=run.id)
            with st.container(horizontal=True, vertical_alignment="center"):
                fmt.status_badge(run.status)
                st.caption(
                    f"{md_escape(run.pipeline_name)} · {fmt.when(run.created)}", width="content"
                )


def run_label(index: int, run: ComparedRun) -> str:
    """A run's column title in tables: its number on the page and its name."""
    return f"{index + 1}. {run.name}"


def _cell(value: float | None, delta: float | None, first: bool) -> str:
    if value is None:
        return "-"
    text = f"{value:.4g}"
    if not first and delta is not None:
        text += f" ({delta:+.3g})"
    return text


def metrics_table(result: RunComparison) -> Any:
    """A pandas Styler of the metric rows: one column per run with the value and its difference
    to the first run, best values green and worst red where the direction is known."""
    import pandas as pd

    labels = [run_label(i, r) for i, r in enumerate(result.runs)]
    frame = pd.DataFrame(
        [
            [m.name, _way(m)]
            + [_cell(v, d, i == 0) for i, (v, d) in enumerate(zip(m.values, m.deltas, strict=True))]
            for m in result.metrics
        ],
        columns=["Metric", "Better", *labels],
    )

    def fills(row: Any) -> list[str]:
        metric: MetricRow = result.metrics[row.name]
        out = ["", ""]
        for i in range(len(labels)):
            out.append(BEST_FILL if i in metric.best else WORST_FILL if i in metric.worst else "")
        return out

    return frame.style.apply(fills, axis=1)


def _way(metric: MetricRow) -> str:
    return {"max": "higher", "min": "lower"}.get(metric.direction or "", "")


def _metrics(result: RunComparison) -> None:
    st.header("Metrics", anchor=False)
    if not result.metrics:
        st.caption("None of these runs has numeric metrics.")
        return
    st.caption(
        "Each value with its difference to run 1. Green: best, red: worst, where the metric's "
        "name says which way is better."
    )
    height = min(35 * (len(result.metrics) + 1) + 3, 35 * 16)
    st.dataframe(metrics_table(result), hide_index=True, key="compare-metrics", height=height)


def _paired(
    row: ComparisonRow,
) -> list[tuple[VisualizationType, str, list[ArtifactVisualizationResponse | None]]]:
    """The row's visualizations matched across runs by type and file name (or position)."""
    first = next(av for av in row.versions if av is not None)
    pairs = []
    for viz in first.visualizations:
        name = posixpath.basename(viz.uri.rstrip("/"))
        cells: list[ArtifactVisualizationResponse | None] = []
        for av in row.versions:
            cells.append(None if av is None else _match(av, viz, name))
        pairs.append((viz.type, name, cells))
    return pairs


def _match(
    av: ArtifactVersionResponse, viz: ArtifactVisualizationResponse, name: str
) -> ArtifactVisualizationResponse | None:
    same_type = [v for v in av.visualizations if v.type == viz.type]
    by_name = [v for v in same_type if posixpath.basename(v.uri.rstrip("/")) == name]
    if by_name:
        return by_name[0]
    return next((v for v in same_type if v.position == viz.position), None)


def _row(client: Client, result: RunComparison, row: ComparisonRow, index: int) -> None:
    st.header(md_escape(row.label), anchor=False)
    pairs = _paired(row)
    if not pairs:
        st.caption("No visualizations to compare.")
        return
    for j, (vtype, name, cells) in enumerate(pairs):
        key = f"cmp-{index}-{j}"
        if len(pairs) > 1:
            st.caption(f"{render.LABELS[vtype]} · {md_escape(name)}")
        if vtype is VisualizationType.VEGA_LITE and _overlay(client, result, cells, key):
            continue
        _side_by_side(client, result, cells, key)
        if vtype is VisualizationType.CSV and name.startswith("describe"):
            with contained(what="The differences of the summaries"):
                _describe_differences(client, result, cells)


def _side_by_side(
    client: Client,
    result: RunComparison,
    cells: list[ArtifactVisualizationResponse | None],
    key: str,
) -> None:
    columns = st.columns(len(cells))
    for i, (column, viz) in enumerate(zip(columns, cells, strict=True)):
        with column:
            st.caption(md_escape(run_label(i, result.runs[i])))
            if viz is None:
                st.caption("This run has no such output.")
                continue
            with contained(what="This visualization"):
                render.render_visualization(
                    client, viz, key=f"{key}-{i}", height=CELL_HEIGHT, in_tile=True
                )


def _load_json(client: Client, viz: ArtifactVisualizationResponse) -> Any:
    text = client.load_visualization_content(viz, max_bytes=render.inline_limit(viz.type)).value
    spec, _ = render.parse_json(str(text), "chart")
    return spec


def _inline_values(spec: dict) -> list | None:
    data = spec.get("data")
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("values"), list):
        return data["values"]
    named = (spec.get("datasets") or {}).get(data.get("name"))
    return named if isinstance(named, list) else None


def _fields(spec: dict) -> tuple:
    encoding = spec.get("encoding") or {}
    mark = spec.get("mark")
    mark_type = mark.get("type") if isinstance(mark, dict) else mark
    return (
        mark_type,
        tuple(
            (channel, (encoding.get(channel) or {}).get("field"))
            for channel in ("x", "y")
            if isinstance(encoding.get(channel), dict)
        ),
    )


def overlaid_spec(specs: list[dict], labels: list[str]) -> dict | None:
    """One Vega-Lite spec drawing every spec's inline data, coloured by run, when all are single
    views of the same mark over the same x and y fields without a colour of their own; else
    None. Bars of a run sit beside each other's (an offset on the categorical axis)."""
    shapes = {_fields(s) for s in specs}
    if len(shapes) != 1:
        return None
    mark_type, axes = next(iter(shapes))
    if not mark_type or len(axes) != 2 or any(f is None for _, f in axes):
        return None
    values = []
    for spec, label in zip(specs, labels, strict=True):
        rows = _inline_values(spec)
        if rows is None or "color" in (spec.get("encoding") or {}):
            return None
        values += [{**r, "zviz_run": label} for r in rows if isinstance(r, dict)]
    first = specs[0]
    encoding = dict(first["encoding"])
    encoding["color"] = {"field": "zviz_run", "type": "nominal", "title": "Run"}
    if mark_type == "bar":
        for axis, offset in (("x", "xOffset"), ("y", "yOffset")):
            if (encoding.get(axis) or {}).get("type") in ("nominal", "ordinal"):
                encoding[offset] = {"field": "zviz_run"}
    tooltip = encoding.get("tooltip")
    if isinstance(tooltip, list):
        encoding["tooltip"] = [*tooltip, {"field": "zviz_run", "title": "Run"}]
    combined = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "mark": first["mark"],
        "encoding": encoding,
    }
    if isinstance(first.get("title"), str | dict):
        combined["title"] = first["title"]
    return combined


def _overlay(
    client: Client,
    result: RunComparison,
    cells: list[ArtifactVisualizationResponse | None],
    key: str,
) -> bool:
    """Draw the charts overlaid and return True, or return False for side by side: when they
    differ in shape, or one cannot be read (its own cell then says why)."""
    present = [(i, v) for i, v in enumerate(cells) if v is not None]
    specs, labels = [], []
    try:
        for i, viz in present:
            spec = _load_json(client, viz)
            if not isinstance(spec, dict):
                return False
            specs.append(spec)
            labels.append(run_label(i, result.runs[i]))
    except Exception:
        log.info("zviz: charts not overlaid; one could not be read", exc_info=True)
        return False
    combined = overlaid_spec(specs, labels)
    if combined is None:
        return False
    safe = outside.vega_lite_spec(combined)
    if safe.blocked:
        st.caption(outside.blocked_note(safe.blocked))
    st.caption("Drawn once, one colour per run.")
    st.vega_lite_chart(spec=render.interactive(safe.content), width="stretch", key=key)
    return True


def describe_differences(first: str, other: str) -> Any | None:
    """`other` minus `first` for two DataFrame summaries (describe() as CSV) over the numeric
    columns and statistics they share; None when they share none."""
    import pandas as pd

    a = pd.read_csv(io.StringIO(first), index_col=0)
    b = pd.read_csv(io.StringIO(other), index_col=0)
    columns = [c for c in a.columns if c in b.columns]
    rows = [r for r in a.index if r in b.index]
    if not columns or not rows:
        return None
    left = a.loc[rows, columns].apply(pd.to_numeric, errors="coerce")
    right = b.loc[rows, columns].apply(pd.to_numeric, errors="coerce")
    diff = right - left
    diff = diff.loc[:, diff.notna().any()]
    return None if diff.empty else diff


def _describe_differences(
    client: Client, result: RunComparison, cells: list[ArtifactVisualizationResponse | None]
) -> None:
    if cells[0] is None or sum(c is not None for c in cells) < 2:
        return
    base = str(client.load_visualization_content(cells[0], max_bytes=render.MB).value)
    shown = False
    with st.expander("Differences of the summaries", icon=":material/difference:"):
        for i, viz in enumerate(cells[1:], start=1):
            if viz is None:
                continue
            other = str(client.load_visualization_content(viz, max_bytes=render.MB).value)
            diff = describe_differences(base, other)
            if diff is None:
                continue
            shown = True
            st.caption(
                f"{md_escape(run_label(i, result.runs[i]))} minus "
                f"{md_escape(run_label(0, result.runs[0]))}"
            )
            st.dataframe(diff, key=f"describe-diff-{cells[0].id}-{i}")
        if not shown:
            st.caption("The summaries share no numeric columns.")
