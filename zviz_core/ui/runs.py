"""The runs screens: a filterable list of runs, and one run with its steps, graph and outputs."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import streamlit as st

from zviz_core.client import Client
from zviz_core.compare import MAX_RUNS as MAX_COMPARED
from zviz_core.compare import MIN_RUNS as MIN_COMPARED
from zviz_core.enums import ExecutionStatus, VisualizationResourceTypes
from zviz_core.errors import EntityNotFoundError
from zviz_core.metrics import best_and_worst, direction
from zviz_core.models import PipelineRunResponse, StepRunResponse
from zviz_core.ui import empty, fmt, lists, nav, tiles
from zviz_core.ui.artifacts import artifact_version_view
from zviz_core.ui.compare import compare_query
from zviz_core.ui.notices import contained, md_escape

STATUS_FILL = {
    ExecutionStatus.COMPLETED: "#d1fadf",
    ExecutionStatus.FAILED: "#fee4e2",
    ExecutionStatus.RUNNING: "#d1e9ff",
    ExecutionStatus.INTERRUPTED: "#fef0c7",
}


def runs_page(client: Client) -> None:
    """Draw /runs: one run when the URL names it (`id`), else the list of runs."""
    run_key = nav.param("id")
    if run_key:
        run_detail(client, run_key)
    else:
        run_list(client)


# -- the list -----------------------------------------------------------------------------------


def _utc_naive(day: Any, end: bool = False) -> datetime:
    # The store keeps naive UTC; the day the user picked is a day in their browser's zone.
    local = datetime.combine(day, time.max if end else time.min, tzinfo=fmt.zone())
    return local.astimezone(UTC).replace(tzinfo=None)


COMPARE_KEY = "zviz.compare"
MAX_METRIC_COLUMNS = 6


def _chosen() -> list[str]:
    return list(st.session_state.get(COMPARE_KEY, []))


def _toggle(run_id: str, key: str) -> None:
    chosen = [r for r in _chosen() if r != run_id]
    if st.session_state.get(key):
        chosen.append(run_id)
    st.session_state[COMPARE_KEY] = chosen


def _clear_chosen() -> None:
    st.session_state[COMPARE_KEY] = []


def run_row(run: PipelineRunResponse, selectable: bool = False) -> None:
    """Draw one run as a row: (a box to choose it for a comparison,) status, a link to it, its
    pipeline, start and duration."""
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    with row:
        if selectable:
            key = f"cmp-{run.id}"
            st.session_state[key] = str(run.id) in _chosen()
            st.checkbox(
                "Compare",
                key=key,
                label_visibility="collapsed",
                help="Choose for a comparison",
                on_change=_toggle,
                args=(str(run.id), key),
                width="content",
            )
        fmt.status_badge(run.status)
        nav.link(nav.RUNS, run.name, id=run.id)
        st.caption(
            f"{md_escape(run.pipeline.name)} · started {fmt.when(run.start_time)} · "
            f"{fmt.duration(run.duration_s)}",
            width="content",
        )


def run_list(client: Client) -> None:
    """Draw the paginated run list with pipeline, status, date and name filters in the URL."""
    st.title("Runs", anchor=False)
    pipelines = client.list_pipelines(size=200)
    names = ["", *sorted(p.name for p in pipelines.items)]
    with st.container(horizontal=True, vertical_alignment="bottom", key="run-filters"):
        pipeline_name = lists.url_selectbox(
            "Pipeline",
            names,
            param="pipeline",
            key="runs-filter-pipeline",
            format_func=lambda v: v or "All pipelines",
        )
        status = lists.url_selectbox(
            "Status",
            ["", *(s.value for s in ExecutionStatus)],
            param="status",
            key="runs-filter-status",
            format_func=lambda v: v.capitalize() if v else "Any status",
        )
        since = lists.url_date_input("Created from", param="from", key="runs-filter-from")
        until = lists.url_date_input("Created until", param="to", key="runs-filter-to")
        needle = lists.url_text_input(
            "Name contains", param="q", key="runs-filter-q", placeholder="run name"
        )
    pipeline = next((p for p in pipelines.items if p.name == pipeline_name), None)
    filtered = any((pipeline, status, since, until, needle))
    columns, sort_metric, descending = [], None, None
    if pipeline is not None:
        with contained(what="The metric columns"):
            columns, sort_metric, descending = _metric_controls(client, pipeline.id)
    page = client.list_pipeline_runs(
        pipeline_id=pipeline.id if pipeline else None,
        status=status or None,
        created_after=_utc_naive(since) if since else None,
        created_before=_utc_naive(until, end=True) if until else None,
        name_contains=needle or None,
        page=lists.current_page(warn=True),
        size=lists.PAGE_SIZE,
        sort_by_metric=sort_metric,
        descending=descending,
    )
    if page.total == 0:
        if filtered:
            st.info("No run matches these filters.", icon=":material/filter_alt_off:")
        else:
            empty.no_runs(client.policy.read_grants.everything)
        return
    first = (page.page - 1) * page.size + 1
    order = f"by {sort_metric}, {'highest' if descending else 'lowest'} first"
    st.caption(
        f"Runs {first:,}-{first + len(page) - 1:,} of {page.total:,}, "
        f"{order if sort_metric else 'newest first'}"
    )
    if not page.items:
        st.info("This page is past the last run.")
    elif columns:
        _metric_table(client, page.items, columns)
    else:
        _compare_bar()
        lists.rows(page.items, lambda r: run_row(r, selectable=True), key="run-rows")
    lists.paginator(page.total, key="runs-page")


def _compare_bar() -> None:
    chosen = _chosen()
    with st.container(horizontal=True, vertical_alignment="center", key="compare-bar"):
        if not chosen:
            st.caption(
                "Tick 2 to 6 runs to compare them (runs of other pages and filters stay ticked).",
                width="content",
            )
            return
        st.caption(f"{len(chosen)} run(s) chosen", width="content")
        if MIN_COMPARED <= len(chosen) <= MAX_COMPARED:
            st.page_link(
                nav.COMPARE,
                label="Compare them",
                icon=":material/compare_arrows:",
                query_params=compare_query(chosen),
            )
        else:
            st.caption(f"(choose {MIN_COMPARED} to {MAX_COMPARED})", width="content")
        st.button("Clear", key="compare-clear", on_click=_clear_chosen, type="tertiary")


def _sort_label(value: str) -> str:
    if not value:
        return "Newest first"
    name, _, way = value.rpartition(":")
    return f"{name}, {'highest' if way == 'desc' else 'lowest'} first"


def _metric_controls(client: Client, pipeline_id: Any) -> tuple[list[str], str | None, bool | None]:
    """The metric columns and sort order from the URL (`metrics`, `sort`), with their widgets."""
    names = client.list_metric_names(pipeline_id)
    if not names:
        return [], None, None
    wanted = [m for m in (nav.param("metrics") or "").split(",") if m in names]
    wanted = list(dict.fromkeys(wanted))[:MAX_METRIC_COLUMNS]
    key = "runs-metric-columns"
    st.session_state[key] = wanted

    def changed() -> None:
        nav.set_params(metrics=",".join(st.session_state.get(key) or []) or None, page=None)

    with st.container(horizontal=True, vertical_alignment="bottom", key="run-metric-controls"):
        chosen = st.multiselect(
            "Metric columns",
            names,
            key=key,
            max_selections=MAX_METRIC_COLUMNS,
            on_change=changed,
            placeholder="Add metric columns",
        )
        sorts = ["", *[f"{m}:{w}" for m in chosen for w in (_best_way(m), _other(_best_way(m)))]]
        sort = lists.url_selectbox(
            "Sort by", sorts, param="sort", key="runs-sort", format_func=_sort_label
        )
    if not sort:
        return chosen, None, None
    name, _, way = sort.rpartition(":")
    return chosen, name, way == "desc"


def _best_way(metric: str) -> str:
    return "asc" if direction(metric) == "min" else "desc"


def _other(way: str) -> str:
    return "asc" if way == "desc" else "desc"


def metric_frame(
    runs: list[PipelineRunResponse], numbers: dict[Any, dict[str, float]], columns: list[str]
) -> Any:
    """A pandas Styler of runs with one column per metric, each metric's best value on the page
    green and its worst red where its name says which way is better."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "Run": [r.name for r in runs],
            "Open": [f"/runs?id={r.id}" for r in runs],
            "Status": [r.status.value for r in runs],
            "Started": [fmt.when(r.start_time) for r in runs],
            **{m: [numbers.get(r.id, {}).get(m) for r in runs] for m in columns},
        }
    )

    def fills(column: Any) -> list[str]:
        if column.name not in columns:
            return [""] * len(column)
        best, worst = best_and_worst(
            [None if pd.isna(v) else float(v) for v in column], direction(column.name)
        )
        return [
            "background-color: #d1fadf"
            if i in best
            else "background-color: #fee4e2"
            if i in worst
            else ""
            for i in range(len(column))
        ]

    return frame.style.apply(fills, axis=0).format(precision=4, subset=columns)


def _metric_table(client: Client, runs: list[PipelineRunResponse], columns: list[str]) -> None:
    numbers = client.get_run_metrics([r.id for r in runs], columns)
    event = st.dataframe(
        metric_frame(runs, numbers, columns),
        hide_index=True,
        key="runs-metric-table",
        on_select="rerun",
        selection_mode="multi-row",
        column_config={
            # Built from the run's id by the app, never from its name.
            "Open": st.column_config.LinkColumn("Open", display_text="Open"),
        },
    )
    st.caption("Green: best on this page, red: worst, where the metric's name tells which way.")
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    chosen = [runs[i].id for i in rows if 0 <= i < len(runs)]
    with st.container(horizontal=True, vertical_alignment="center", key="compare-bar"):
        if MIN_COMPARED <= len(chosen) <= MAX_COMPARED:
            st.page_link(
                nav.COMPARE,
                label=f"Compare the {len(chosen)} selected runs",
                icon=":material/compare_arrows:",
                query_params=compare_query(chosen),
            )
        else:
            st.caption(
                f"Select {MIN_COMPARED} to {MAX_COMPARED} rows to compare them.", width="content"
            )


# -- one run ------------------------------------------------------------------------------------


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def run_graph(steps: dict[str, StepRunResponse], selected: str | None = None) -> str:
    """Return a Graphviz DOT graph of a run: steps (boxes coloured by status), their outputs
    (notes) and the inputs that feed each step, left to right; an input's parameter name is
    its edge's tooltip, to keep the graph narrow."""
    lines = [
        "digraph run {",
        'rankdir=LR; bgcolor="transparent"; nodesep=0.15; ranksep=0.3;',
        'node [fontname="Helvetica", fontsize=11, margin="0.12,0.05"];',
        'edge [color="#98a2b3", arrowsize=0.6];',
    ]
    produced: set[str] = set()
    for name, step in steps.items():
        width = 2.5 if name == selected else 1
        lines.append(
            f'"s{step.id}" [label="{_dot_text(name)}", shape=box, style="rounded,filled", '
            f'fillcolor="{STATUS_FILL[step.status]}", penwidth={width}];'
        )
        for output, versions in step.outputs.items():
            for av in versions:
                produced.add(str(av.id))
                lines.append(
                    f'"a{av.id}" [label="{_dot_text(output)}", shape=note, style=filled, '
                    'fillcolor="#f2f4f7", color="#d0d5dd", fontsize=10];'
                )
                lines.append(f'"s{step.id}" -> "a{av.id}";')
    for step in steps.values():
        for input_name, av in step.inputs.items():
            if str(av.id) not in produced:
                produced.add(str(av.id))
                lines.append(
                    f'"a{av.id}" [label="{_dot_text(av.name)} v{av.version}", shape=note, '
                    'style="filled,dashed", fillcolor="#ffffff", color="#98a2b3", fontsize=10];'
                )
            lines.append(f'"a{av.id}" -> "s{step.id}" [tooltip="input {_dot_text(input_name)}"];')
    lines.append("}")
    return "\n".join(lines)


def _chosen_step(steps: dict[str, StepRunResponse]) -> str | None:
    wanted = nav.param("step")
    if wanted in steps:
        return wanted
    artifact = nav.param("artifact")
    if artifact:
        for name, step in steps.items():
            if any(str(av.id) == artifact for avs in step.outputs.values() for av in avs):
                return name
    return next((n for n, s in steps.items() if s.outputs), next(iter(steps), None))


def _step_changed(key: str) -> None:
    nav.set_params(step=st.session_state.get(key), artifact=None, viz=None)


def _compare_with(client: Client, run: PipelineRunResponse) -> None:
    with st.popover("Compare with…", icon=":material/compare_arrows:"):
        others = [
            r
            for r in client.list_pipeline_runs(pipeline_id=run.pipeline.id, size=50).items
            if r.id != run.id
        ]
        if not others:
            st.caption("This pipeline has no other run you may see.")
            return
        by_id = {str(r.id): r for r in others}
        picked = st.multiselect(
            f"Other runs of {md_escape(run.pipeline.name)} (newest first)",
            list(by_id),
            format_func=lambda key: by_id[key].name,
            max_selections=MAX_COMPARED - 1,
            key=f"compare-with-{run.id}",
        )
        if picked:
            st.page_link(
                nav.COMPARE,
                label=f"Compare {len(picked) + 1} runs",
                icon=":material/compare_arrows:",
                query_params=compare_query([run.id, *picked]),
            )
        else:
            st.caption("Pick up to five runs.")


def run_detail(client: Client, run_key: str) -> None:
    """Draw one run: facts, configuration, its dashboard, the step graph and the chosen step."""
    nav.link(nav.RUNS, "All runs", icon=":material/arrow_back:")
    try:
        run = client.get_pipeline_run(run_key)
    except EntityNotFoundError as exc:
        st.error(md_escape(str(exc)), icon=":material/search_off:")
        return
    st.title(md_escape(run.name), anchor=False)
    with st.container(horizontal=True, vertical_alignment="center", key="run-facts"):
        fmt.status_badge(run.status)
        nav.link(
            nav.PIPELINES, run.pipeline.name, icon=":material/account_tree:", id=run.pipeline.id
        )
        nav.link(nav.SNAPSHOTS, "Snapshot", icon=":material/photo_camera:", id=run.snapshot_id)
        st.caption(
            f"started {fmt.when(run.start_time)} · ended {fmt.when(run.end_time)} · "
            f"took {fmt.duration(run.duration_s)}",
            width="content",
        )
        with contained(what="Compare with"):
            _compare_with(client, run)
    if run.error:
        st.error(md_escape(run.error), icon=":material/error:")
    with st.expander("Configuration", icon=":material/tune:"), contained(what="The configuration"):
        st.json(run.snapshot().config, expanded=2)
    tiles.tile_grid(client, VisualizationResourceTypes.PIPELINE_RUN, run.id, title="Run dashboard")
    st.subheader("Steps", anchor=False)
    with contained(what="The steps"):
        steps = run.steps
        if not steps:
            st.info("This run has no steps recorded.")
            return
        chosen = _chosen_step(steps)
        with st.container(border=True, key="run-graph"):
            st.graphviz_chart(run_graph(steps, chosen))
        key = f"step-{run.id}"
        st.session_state[key] = chosen
        st.pills(
            "Step",
            list(steps),
            key=key,
            required=True,
            format_func=md_escape,  # pill labels are Markdown
            on_change=_step_changed,
            args=(key,),
        )
        if chosen is not None:
            step_detail(client, steps[chosen])


def step_detail(client: Client, step: StepRunResponse) -> None:
    """Draw one step: status, error, inputs, configuration, and every output with its
    visualizations (only the open tab of each is loaded)."""
    with st.container(horizontal=True, vertical_alignment="center", key="step-facts"):
        st.markdown(f"### {md_escape(step.name)}", width="content")
        fmt.status_badge(step.status)
        took = None if step.end_time is None else (step.end_time - step.start_time).total_seconds()
        st.caption(
            f"started {fmt.when(step.start_time)} · took {fmt.duration(took)}", width="content"
        )
    if step.error:
        st.error(md_escape(step.error), icon=":material/error:")
    if step.inputs:
        with st.container(horizontal=True, vertical_alignment="center", key="step-inputs"):
            st.caption("Inputs:", width="content")
            for name, av in step.inputs.items():
                nav.link(
                    nav.RUNS,
                    f"{name} ← {av.name} v{av.version}",
                    icon=":material/input:",
                    id=av.run_id,
                    step=av.step_name,
                    artifact=av.id,
                )
    if step.config:
        with st.expander("Step configuration", icon=":material/tune:"):
            st.json(step.config, expanded=2)
    if not step.outputs:
        st.caption("This step returned nothing.")
        return
    selected_viz = nav.param("viz")
    for versions in step.outputs.values():
        for av in versions:
            with contained(what="This output"):
                artifact_version_view(
                    client,
                    av,
                    selected_viz=selected_viz,
                    show_source=False,
                    extra_params={"artifact": str(av.id)},
                )
