"""A run's step graph as an Altair chart: steps coloured by status, their outputs, and the
inputs between them, left to right; a click on a node opens its step, the wheel zooms and a
drag pans."""

from __future__ import annotations

from typing import Any

import altair as alt

from zviz_core.enums import ExecutionStatus
from zviz_core.models import StepRunResponse

STATUS_FILL = {
    ExecutionStatus.COMPLETED: "#d1fadf",
    ExecutionStatus.FAILED: "#fee4e2",
    ExecutionStatus.RUNNING: "#d1e9ff",
    ExecutionStatus.INTERRUPTED: "#fef0c7",
}
STATUS_STROKE = {
    ExecutionStatus.COMPLETED: "#039855",
    ExecutionStatus.FAILED: "#d92d20",
    ExecutionStatus.RUNNING: "#1570ef",
    ExecutionStatus.INTERRUPTED: "#dc6803",
}
ARTIFACT_FILL = "#f2f4f7"
ARTIFACT_STROKE = "#98a2b3"
SELECTION = "node"
LABEL_CHARS = 18
COLUMN_PX = 150
ROW_PX = 56
MAX_NATURAL_PX = 900


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def layout(steps: dict[str, StepRunResponse]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Nodes and edges of a run's graph with their positions.

    A step stands one column pair right of the latest step it reads from; its outputs stand in
    the column after it; inputs no step of this run produced stand in the first column. Each
    node names the step it opens (for an artifact, the step that produced or read it).
    """
    producer: dict[str, str] = {}
    for name, step in steps.items():
        for versions in step.outputs.values():
            for av in versions:
                producer[str(av.id)] = name
    depth: dict[str, int] = {}
    for name, step in steps.items():
        upstream = [
            depth[producer[str(av.id)]]
            for av in step.inputs.values()
            if producer.get(str(av.id)) in depth
        ]
        depth[name] = 1 + max(upstream) if upstream else 0
    columns: dict[int, int] = {}
    nodes: list[dict[str, Any]] = []
    at: dict[str, tuple[float, float]] = {}

    def place(key: str, column: int, **fields: Any) -> None:
        row = columns.get(column, 0)
        columns[column] = row + 1
        at[key] = (float(column), float(row))
        nodes.append({"key": key, "x": float(column), "row": row, **fields})

    for name, step in steps.items():
        for input_name, av in step.inputs.items():
            key = f"a{av.id}"
            if str(av.id) not in producer and key not in at:
                label = f"{av.name.rsplit('::', 1)[-1]} v{av.version}"
                place(
                    key,
                    0,
                    kind="input",
                    label=_short(label),
                    step=name,
                    status="",
                    fill="#ffffff",
                    stroke=ARTIFACT_STROKE,
                    description=f"Input {input_name}: artifact {av.name} version {av.version}, "
                    f"read by step {name}; opens step {name}",
                )
    for name, step in steps.items():
        column = 1 + 2 * depth[name]
        place(
            f"s{step.id}",
            column,
            kind="step",
            label=_short(name),
            step=name,
            status=step.status.value,
            fill=STATUS_FILL[step.status],
            stroke=STATUS_STROKE[step.status],
            description=f"Step {name}, {step.status.value}; opens the step",
        )
        for output, versions in step.outputs.items():
            for av in versions:
                place(
                    f"a{av.id}",
                    column + 1,
                    kind="output",
                    label=_short(output),
                    step=name,
                    status="",
                    fill=ARTIFACT_FILL,
                    stroke=ARTIFACT_STROKE,
                    description=f"Output {output} of step {name}, artifact {av.name} "
                    f"version {av.version}; opens step {name}",
                )
    # Centre each column on the tallest one.
    tallest = max(columns.values(), default=1)
    for node in nodes:
        node["y"] = node["row"] - (columns[int(node["x"])] - 1) / 2 + (tallest - 1) / 2
        at[node["key"]] = (node["x"], node["y"])
    edges: list[dict[str, Any]] = []
    for step in steps.values():
        source = at[f"s{step.id}"]
        for versions in step.outputs.values():
            for av in versions:
                edges.append(_edge(source, at[f"a{av.id}"]))
        for av in step.inputs.values():
            if f"a{av.id}" in at:
                edges.append(_edge(at[f"a{av.id}"], source))
    return nodes, edges


def targets(nodes: list[dict[str, Any]]) -> dict[str, str]:
    """The step each node of `layout` opens, by the node's accessible name (its description)."""
    return {node["description"]: node["step"] for node in nodes}


def _edge(start: tuple[float, float], end: tuple[float, float]) -> dict[str, float]:
    return {"x": start[0] + 0.42, "y": start[1], "x2": end[0] - 0.42, "y2": end[1]}


def chart(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], selected: str | None = None
) -> tuple[alt.LayerChart, int]:
    """The graph of a run, from its `layout`, as a layered chart with a point selection named
    `node` (fields `step`), and its natural width in pixels."""
    for node in nodes:
        node["selected"] = node["kind"] == "step" and node["step"] == selected
    first = min((int(n["x"]) for n in nodes), default=0)
    last = max((int(n["x"]) for n in nodes), default=0)
    columns = last - first + 1
    rows = max((n["y"] for n in nodes), default=0) + 1
    height = int(max(rows, 1) * ROW_PX + 20)
    width = max(columns * COLUMN_PX, 300)
    xs = alt.Scale(domain=[first - 0.5, last + 0.5], nice=False)
    ys = alt.Scale(domain=[rows - 0.5, -0.5], nice=False)
    x = alt.X("x:Q", axis=None, scale=xs)
    y = alt.Y("y:Q", axis=None, scale=ys)
    click = alt.selection_point(name=SELECTION, fields=["step"], on="click", clear=False)
    zoom = alt.selection_interval(bind="scales", name="zoom")
    node_data = alt.Data(values=nodes)
    boxes = (
        alt.Chart(node_data)
        .transform_calculate(
            x0="datum.x - 0.42", x1="datum.x + 0.42", y0="datum.y - 0.3", y1="datum.y + 0.3"
        )
        .mark_rect(cornerRadius=6, cursor="pointer")
        .encode(
            x=alt.X("x0:Q", axis=None, scale=xs),
            x2="x1:Q",
            y=alt.Y("y0:Q", axis=None, scale=ys),
            y2="y1:Q",
            fill=alt.Fill("fill:N", scale=None),
            stroke=alt.Stroke("stroke:N", scale=None),
            strokeWidth=alt.condition("datum.selected", alt.value(3), alt.value(1)),
            strokeDash=alt.condition("datum.kind == 'input'", alt.value([4, 3]), alt.value([1, 0])),
            tooltip=alt.Tooltip("description:N"),
            description="description:N",
        )
        .add_params(click, zoom)
    )
    labels = [
        alt.Chart(node_data)
        .transform_filter(test)
        .mark_text(fontSize=12, fontWeight=weight, limit=COLUMN_PX - 24, aria=False)
        .encode(x=x, y=y, text="label:N", tooltip=alt.Tooltip("description:N"))
        for test, weight in (("datum.kind == 'step'", "bold"), ("datum.kind != 'step'", "normal"))
    ]
    lines = (
        alt.Chart(alt.Data(values=edges or [{"x": 0, "y": 0, "x2": 0, "y2": 0}]))
        .mark_rule(color=ARTIFACT_STROKE, strokeWidth=1.2, aria=False)
        .encode(
            x=alt.X("x:Q", scale=xs, axis=None),
            y=alt.Y("y:Q", scale=ys, axis=None),
            x2="x2:Q",
            y2="y2:Q",
        )
    )
    layered = (
        alt.layer(lines, boxes, *labels)
        .properties(height=height, width=width)
        .configure_view(strokeWidth=0)
    )
    return layered, width
