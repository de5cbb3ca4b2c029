"""The runs screens: a filterable list of runs, and one run with its steps, graph and outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable
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
from zviz_core.ui import empty, fmt, graph, graph_keys, lists, nav, tiles
from zviz_core.ui.artifacts import artifact_version_view
from zviz_core.ui.compare import compare_query
from zviz_core.ui.notices import contained, md_escape


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
        fmt.caption(
            f"{run.pipeline.name} · started ",
            fmt.At(run.start_time),
            f" · {fmt.duration(run.duration_s)}",
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
                f"Pick {MIN_COMPARED} to {MAX_COMPARED} rows to compare them.", width="content"
            )


# -- one run ------------------------------------------------------------------------------------


def _chosen_step(steps: dict[str, StepRunResponse], run_id: Any = None) -> str | None:
    wanted = nav.param("step")
    if wanted in steps:
        return wanted
    artifact = nav.param("artifact")
    if artifact:
        for name, step in steps.items():
            if any(str(av.id) == artifact for avs in step.outputs.values() for av in avs):
                return name
    failed = next((n for n, s in steps.items() if s.status is ExecutionStatus.FAILED), None)
    if failed is not None:
        return failed
    # While the run goes on, the running step is open; once it ended, it stays open.
    followed = f"followed-step-{run_id}"
    running = next((n for n, s in steps.items() if s.status is ExecutionStatus.RUNNING), None)
    if running is not None:
        st.session_state[followed] = running
        return running
    if st.session_state.get(followed) in steps:
        return st.session_state[followed]
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


def _readable(get: Callable[[Any], Any], key: Any) -> bool:
    try:
        get(key)
    except EntityNotFoundError:
        return False
    return True


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
        # A run the user may open can belong to a pipeline or snapshot they may not: no link
        # then, only what it is (no dead end).
        if _readable(client.get_pipeline, run.pipeline.id):
            nav.link(
                nav.PIPELINES, run.pipeline.name, icon=":material/account_tree:", id=run.pipeline.id
            )
        else:
            st.caption(
                f"{md_escape(run.pipeline.name)} (a pipeline you cannot open)", width="content"
            )
        if _readable(client.get_snapshot, run.snapshot_id):
            nav.link(nav.SNAPSHOTS, "Snapshot", icon=":material/photo_camera:", id=run.snapshot_id)
        else:
            st.caption("a snapshot you cannot open", width="content")
        fmt.caption(
            "started ",
            fmt.At(run.start_time),
            " · ended ",
            fmt.At(run.end_time),
            f" · took {fmt.duration(run.duration_s)}",
            width="content",
        )
        with contained(what="Compare with"):
            _compare_with(client, run)
    if run.error:
        st.error(md_escape(run.error), icon=":material/error:")
    with st.expander("Configuration", icon=":material/tune:"), contained(what="The configuration"):
        st.json(run.snapshot().config, expanded=2)
    tiles.tile_grid(client, VisualizationResourceTypes.PIPELINE_RUN, run.id, title="Run dashboard")
    running = run.status is ExecutionStatus.RUNNING
    # While the run goes on, its steps (and their colours in the graph) follow it.
    st.fragment(run_every=LIVE_EVERY_S if running else None)(steps_section)(client, run.id, running)


LIVE_EVERY_S = 2.0
PHONE_PX = 640


def _graph_clicked(key: str) -> None:
    chosen = st.session_state.get(key)
    points = (chosen or {}).get("selection", {}).get(graph.SELECTION) or []
    step_name = points[0].get("step") if points else None
    if step_name:
        _open_step(step_name)


def _open_step(step_name: str) -> None:
    nav.set_params(step=step_name, artifact=None, viz=None)


def steps_section(client: Client, run_id: Any, was_running: bool) -> None:
    """Draw a run's steps: the graph (a click, or Enter on a focused node, opens its step), the
    step list (small screens' way to the same steps) and the chosen step."""
    st.header("Steps", anchor=False)
    with contained(what="The steps"):
        run = client.get_pipeline_run(run_id)
        if was_running and run.status is not ExecutionStatus.RUNNING:
            st.rerun()  # the run ended: its facts and error above change too
        steps = run.steps
        if not steps:
            st.info(
                "No step has finished yet; they appear here as they do."
                if run.status is ExecutionStatus.RUNNING
                else "This run has no steps recorded."
            )
            return
        chosen = _chosen_step(steps, run.id)
        # On a phone the graph's labels would overlap: there the step list below replaces it.
        st.html(
            f"<style>@media (max-width: {PHONE_PX}px) {{ .{graph_keys.CONTAINER_CLASS} "
            f"{{ display: none }} }}{graph_keys.FOCUS_STYLE}</style>"
        )
        with st.container(border=True, key=graph_keys.CONTAINER_KEY):
            nodes, edges = graph.layout(steps)
            chart, natural_px = graph.chart(nodes, edges, chosen)
            key = f"graph-{run.id}"
            st.altair_chart(
                chart,
                on_select=functools.partial(_graph_clicked, key),
                selection_mode=[graph.SELECTION],
                key=key,
                # A small graph keeps its own size; a wide one fits the page (zoom to read).
                width="content" if natural_px <= graph.MAX_NATURAL_PX else "stretch",
                alt=f"Graph of the {len(steps)} steps of run {run.name}, with their inputs "
                "and outputs; Tab or the arrow keys move between its nodes, Enter opens one.",
            )
            graph_keys.keyboard_access(str(run.id), graph.targets(nodes), _open_step)
            st.caption(
                "Click a step, or Tab to it and press Enter, to open it; scroll to zoom, drag to "
                "pan, double-click to reset.",
            )
        key = f"step-{run.id}"
        st.session_state[key] = chosen
        st.pills(
            "Step",
            list(steps),
            key=key,
            required=True,
            format_func=lambda name: _step_label(name, steps[name]),
            on_change=_step_changed,
            args=(key,),
        )
        if chosen is not None:
            step_detail(client, steps[chosen])


def _step_label(name: str, step: StepRunResponse) -> str:
    # Pill labels are Markdown; the status is said in words, not only in a colour.
    label = md_escape(name)
    return label if step.status is ExecutionStatus.COMPLETED else f"{label} ({step.status.value})"


def step_detail(client: Client, step: StepRunResponse) -> None:
    """Draw one step: status, error, inputs, configuration, and every output with its
    visualizations (only the open tab of each is loaded)."""
    with st.container(horizontal=True, vertical_alignment="center", key="step-facts"):
        st.markdown(f"### {md_escape(step.name)}", width="content")
        fmt.status_badge(step.status)
        took = None if step.end_time is None else (step.end_time - step.start_time).total_seconds()
        fmt.caption(
            "started ", fmt.At(step.start_time), f" · took {fmt.duration(took)}", width="content"
        )
    if step.error:
        st.error(md_escape(error_summary(step.error)), icon=":material/error:")
        with st.expander("Traceback", icon=":material/bug_report:", expanded=True):
            st.code(step.error, language=None, wrap_lines=True)
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
    step_log_view(client, step)
    if not step.outputs:
        if step.status is ExecutionStatus.COMPLETED:
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


def error_summary(error: str) -> str:
    """The last non-empty line of a traceback: the exception and its message."""
    lines = [line for line in error.splitlines() if line.strip()]
    return lines[-1].strip() if lines else error


LOG_LINES_SHOWN = 2_000
# A long log scrolls inside its own box instead of stretching the page.
LOG_BOX_LINES = 30
LOG_BOX_PX = 520


def step_log_view(client: Client, step: StepRunResponse) -> None:
    """Draw a step's captured log in an expander (open when the step failed or runs): its last
    lines, or the lines matching a search, and a download of the whole log. A running step's
    log is what it has written so far (saved every second or so)."""
    with (
        st.expander(
            "Logs",
            icon=":material/terminal:",
            expanded=step.status in (ExecutionStatus.FAILED, ExecutionStatus.RUNNING),
        ),
        contained(what="The step's log"),
    ):
        text = client.get_step_log(step)
        if text is None:
            st.caption(
                "This step has printed and logged nothing yet."
                if step.status is ExecutionStatus.RUNNING
                else "This step printed and logged nothing."
            )
            return
        lines = text.splitlines()
        with st.container(horizontal=True, vertical_alignment="bottom"):
            needle = st.text_input(
                "Search the log",
                key=f"log-q-{step.id}",
                placeholder="word or phrase",
                icon=":material/search:",
            )
            st.download_button(
                "Download the log",
                data=text.encode("utf-8"),
                file_name=f"{step.name}.log.txt",
                mime="text/plain",
                icon=":material/download:",
                on_click="ignore",
                key=f"log-dl-{step.id}",
            )
        numbered = [(i + 1, line) for i, line in enumerate(lines)]
        if needle:
            numbered = [(n, line) for n, line in numbered if needle.lower() in line.lower()]
            if not numbered:
                st.info("No line of the log contains this text.", icon=":material/search_off:")
                return
            st.caption(f"{len(numbered):,} of {len(lines):,} lines contain it.")
        if len(numbered) > LOG_LINES_SHOWN:
            st.caption(
                f"The last {LOG_LINES_SHOWN:,} of {len(numbered):,} lines; download the log for "
                "all of them."
            )
            numbered = numbered[-LOG_LINES_SHOWN:]
        width = len(str(numbered[-1][0]))
        st.code(
            "\n".join(f"{n:>{width}}  {line}" for n, line in numbered),
            language=None,
            wrap_lines=True,
            height=LOG_BOX_PX if len(numbered) > LOG_BOX_LINES else "content",
        )
