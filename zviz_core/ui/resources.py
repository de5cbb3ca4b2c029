"""Resource screens: lists of pipelines, snapshots, models, deployments and artifacts, and each
one's dashboard with what belongs to it; plus the project overview."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from zviz_core.client import Client
from zviz_core.enums import VisualizationResourceTypes as R
from zviz_core.enums import VisualizationType
from zviz_core.errors import EntityNotFoundError
from zviz_core.metrics import direction
from zviz_core.models import (
    ArtifactVersionResponse,
    DeploymentResponse,
    MetricPoint,
    ModelResponse,
    Page,
    PipelineResponse,
    SnapshotResponse,
)
from zviz_core.ui import empty, fmt, lists, nav, render, runs, tiles
from zviz_core.ui.artifacts import artifact_history, artifact_version_view
from zviz_core.ui.compare import compare_query
from zviz_core.ui.notices import contained, md_escape

RECENT_RUNS = 5


# -- shared shapes ------------------------------------------------------------------------------


def _list_screen(
    title: str,
    fetch: Callable[[int, str | None], Page[Any]],
    draw: Callable[[Any], None],
    *,
    key: str,
    nothing: str,
    searchable: bool = True,
    sees_everything: bool = True,
) -> None:
    """A titled, searchable (name in the URL as `q`), paginated list of rows; `nothing` is what
    an empty list says to a user who sees everything."""
    st.title(title, anchor=False)
    needle = ""
    if searchable:
        needle = lists.url_text_input(
            "Name contains", param="q", key=f"{key}-q", placeholder="filter by name"
        )
    page = fetch(lists.current_page(warn=True), needle or None)
    if page.total == 0:
        if needle:
            st.info(f"No {title.lower()} match.", icon=":material/info:")
        elif sees_everything:
            st.info(nothing, icon=":material/info:")
        else:
            st.info(
                f"No {title.lower()} that you may see. An admin can grant you more in the "
                "access rules.",
                icon=":material/lock:",
            )
        return
    st.caption(f"{page.total:,} in all, newest first")
    if page.items:
        lists.rows(page.items, draw, key=f"{key}-rows")
    else:
        st.info("This page is past the last one.", icon=":material/info:")
    lists.paginator(page.total, key=f"{key}-page")


def _detail_screen(
    back: str,
    back_label: str,
    get: Callable[[str], Any],
    draw: Callable[[Any], None],
    key: str,
) -> None:
    nav.link(back, back_label, icon=":material/arrow_back:")
    try:
        resource = get(key)
    except EntityNotFoundError as exc:
        st.error(md_escape(str(exc)), icon=":material/search_off:")
        return
    draw(resource)


def _recent_runs(client: Client, title: str, **filters: Any) -> None:
    st.header(title, anchor=False)
    with contained(what="The runs"):
        page = client.list_pipeline_runs(size=RECENT_RUNS, **filters)
        if page.total == 0:
            st.caption("No runs yet.")
            return
        lists.rows(page.items, runs.run_row, key=f"recent-runs-{title}")
        if page.total > len(page):
            st.caption(f"{len(page)} most recent of {page.total:,}.")


def _resource_page(
    client: Client,
    back: str,
    title: str,
    get: Callable[[str], Any],
    draw_one: Callable[[Any], None],
    fetch: Callable[[int, str | None], Page[Any]],
    draw_row: Callable[[Any], None],
    nothing: str,
    searchable: bool = True,
) -> None:
    key = nav.param("id")
    if key:
        _detail_screen(back, f"All {title.lower()}", get, draw_one, key)
    else:
        _list_screen(
            title,
            fetch,
            draw_row,
            key=title.lower(),
            nothing=nothing,
            searchable=searchable,
            sees_everything=client.policy.read_grants.everything,
        )


def _row(page: str, label: str, icon: str, resource_id: Any, *caption: str | fmt.At) -> None:
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        nav.link(page, label, icon=icon, id=resource_id)
        fmt.caption(*caption, width="content")


# -- pipelines ----------------------------------------------------------------------------------


def pipelines_page(client: Client) -> None:
    """Draw /pipelines: the list, or one pipeline (`id`) with its dashboard, runs and snapshots."""

    def draw(pipeline: PipelineResponse) -> None:
        st.title(md_escape(pipeline.name), anchor=False)
        fmt.caption("Pipeline · created ", fmt.At(pipeline.created))
        tiles.tile_grid(client, R.PIPELINE, pipeline.id, title="Pipeline dashboard")
        with contained(what="The metrics"):
            metric_chart(client, pipeline)
        _recent_runs(client, "Recent runs", pipeline_id=pipeline.id)
        with st.container(horizontal=True, key="pipeline-run-links"):
            nav.link(
                nav.RUNS,
                "All runs of this pipeline",
                icon=":material/list:",
                pipeline=pipeline.name,
            )
            with contained(what="The comparison link"):
                latest = client.list_pipeline_runs(pipeline_id=pipeline.id, size=4).items
                if len(latest) >= 2:
                    st.page_link(
                        nav.COMPARE,
                        label=f"Compare the latest {len(latest)} runs",
                        icon=":material/compare_arrows:",
                        query_params=compare_query([r.id for r in latest]),
                    )
        st.header("Snapshots", anchor=False)
        with contained(what="The snapshots"):
            snaps = client.list_snapshots(pipeline_id=pipeline.id, size=20)
            if snaps.total == 0:
                st.caption("No snapshots.")
            else:
                lists.rows(snaps.items, _snapshot_row, key="pipeline-snapshots")

    _resource_page(
        client,
        nav.PIPELINES,
        "Pipelines",
        client.get_pipeline,
        draw,
        lambda page, needle: client.list_pipelines(page, lists.PAGE_SIZE, name_contains=needle),
        lambda p: _row(
            nav.PIPELINES,
            p.name,
            ":material/account_tree:",
            p.id,
            "created ",
            fmt.At(p.created),
        ),
        "No pipelines yet: running a pipeline registers it.",
    )


def _metric_changed(key: str) -> None:
    nav.set_params(metric=st.session_state.get(key))


def metric_chart(client: Client, pipeline: PipelineResponse) -> None:
    """Draw a chart of one metric (URL `metric`) over the pipeline's runs; each point opens its
    run. Draws nothing when its runs have no metrics."""
    names = client.list_metric_names(pipeline.id)
    if not names:
        return
    st.header("Metrics across runs", anchor=False)
    wanted = nav.param("metric")
    default = next((n for n in names if direction(n) is not None), names[0])
    key = f"metric-{pipeline.id}"
    st.session_state[key] = wanted if wanted in names else default
    with st.container(horizontal=True, vertical_alignment="bottom", key="metric-chart-controls"):
        name = st.selectbox(
            "Metric", names, key=key, on_change=_metric_changed, args=(key,), width=420
        )
        nav.link(
            nav.RUNS,
            "Runs with this metric as a column",
            icon=":material/table_rows:",
            pipeline=pipeline.name,
            metrics=name,
            sort=f"{name}:{'asc' if direction(name) == 'min' else 'desc'}",
        )
    points = client.metric_history(pipeline.id, name, limit=METRIC_POINTS)
    st.vega_lite_chart(
        metric_spec(points, name), width="stretch", key=f"metric-chart-{pipeline.id}"
    )
    st.caption(f"The latest {len(points):,} runs that have it; click a point to open its run.")


METRIC_POINTS = 1000


def metric_spec(points: list[MetricPoint], name: str) -> dict[str, Any]:
    """A Vega-Lite spec of a metric over runs; each point's link is built from its run's id."""
    values = [
        {
            "order": i + 1,
            "run": p.run_name,
            "created": p.created.isoformat(),
            "value": p.value,
            "status": p.status,
            "link": f"/runs?id={p.run_id}",
        }
        for i, p in enumerate(points)
    ]
    return {
        "data": {"values": values},
        "layer": [
            {"mark": {"type": "line", "color": "#98a2b3"}},
            {"mark": {"type": "point", "filled": True, "size": 70, "cursor": "pointer"}},
        ],
        "encoding": {
            "x": {
                "field": "order",
                "type": "quantitative",
                "title": "run, oldest to newest",
                "axis": {"format": "d", "tickMinStep": 1},
            },
            "y": {
                "field": "value",
                "type": "quantitative",
                "title": name,
                "scale": {"zero": False},
            },
            "href": {"field": "link"},
            "tooltip": [
                {"field": "run", "title": "run"},
                {"field": "value", "title": name, "format": ".4g"},
                {"field": "created", "type": "temporal", "title": "created"},
                {"field": "status"},
            ],
        },
    }


# -- snapshots ----------------------------------------------------------------------------------


def _snapshot_row(snapshot: SnapshotResponse) -> None:
    _row(
        nav.SNAPSHOTS,
        snapshot.name,
        ":material/photo_camera:",
        snapshot.id,
        f"{snapshot.pipeline_name} · created ",
        fmt.At(snapshot.created),
    )


def snapshots_page(client: Client) -> None:
    """Draw /snapshots: the list, or one snapshot (`id`) with its dashboard, configuration and
    runs."""

    def draw(snapshot: SnapshotResponse) -> None:
        st.title(md_escape(snapshot.name), anchor=False)
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption("Snapshot of", width="content")
            nav.link(
                nav.PIPELINES,
                snapshot.pipeline_name,
                icon=":material/account_tree:",
                id=snapshot.pipeline_id,
            )
            fmt.caption("created ", fmt.At(snapshot.created), width="content")
        tiles.tile_grid(client, R.PIPELINE_SNAPSHOT, snapshot.id, title="Snapshot dashboard")
        st.header("Configuration", anchor=False)
        st.json(snapshot.config, expanded=2)
        _recent_runs(client, "Runs of this snapshot", snapshot_id=snapshot.id)

    _resource_page(
        client,
        nav.SNAPSHOTS,
        "Snapshots",
        client.get_snapshot,
        draw,
        lambda page, needle: client.list_snapshots(page=page, size=lists.PAGE_SIZE),
        _snapshot_row,
        "No snapshots yet: every run records the configuration it ran with as a snapshot.",
        searchable=False,
    )


# -- models -------------------------------------------------------------------------------------


def models_page(client: Client) -> None:
    """Draw /models: the list, or one model (`id`) with its dashboard."""

    def draw(model: ModelResponse) -> None:
        st.title(md_escape(model.name), anchor=False)
        fmt.caption("Model · created ", fmt.At(model.created))
        if model.description:
            st.markdown(md_escape(model.description))
        tiles.tile_grid(client, R.MODEL, model.id, title="Model dashboard")

    _resource_page(
        client,
        nav.MODELS,
        "Models",
        client.get_model,
        draw,
        lambda page, needle: client.list_models(page, lists.PAGE_SIZE, name_contains=needle),
        lambda m: _row(
            nav.MODELS,
            m.name,
            ":material/model_training:",
            m.id,
            *([m.description[:80]] if m.description else ["created ", fmt.At(m.created)]),
        ),
        'No models yet: register one with `Client().create_model("name")`.',
    )


# -- deployments --------------------------------------------------------------------------------


def deployments_page(client: Client) -> None:
    """Draw /deployments: the list, or one deployment (`id`) with its dashboard and snapshot."""

    def draw(deployment: DeploymentResponse) -> None:
        st.title(md_escape(deployment.name), anchor=False)
        fmt.caption("Deployment · created ", fmt.At(deployment.created))
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption("Serves", width="content")
            if deployment.snapshot_id is None:
                st.caption("no snapshot (it was deleted, or none was given)", width="content")
            else:
                with contained(what="The snapshot"):
                    try:
                        snapshot = client.get_snapshot(deployment.snapshot_id)
                    except EntityNotFoundError:  # a deleted snapshot detaches: this one is hidden
                        st.caption("a snapshot you cannot open", width="content")
                    else:
                        nav.link(
                            nav.SNAPSHOTS,
                            snapshot.name,
                            icon=":material/photo_camera:",
                            id=snapshot.id,
                        )
        tiles.tile_grid(client, R.DEPLOYMENT, deployment.id, title="Deployment dashboard")

    _resource_page(
        client,
        nav.DEPLOYMENTS,
        "Deployments",
        client.get_deployment,
        draw,
        lambda page, needle: client.list_deployments(page, lists.PAGE_SIZE, name_contains=needle),
        lambda d: _row(
            nav.DEPLOYMENTS,
            d.name,
            ":material/rocket_launch:",
            d.id,
            "created ",
            fmt.At(d.created),
        ),
        'No deployments yet: register one with `Client().create_deployment("name", snapshot_id)`.',
    )


# -- artifacts ----------------------------------------------------------------------------------


def _artifact_row(av: ArtifactVersionResponse) -> None:
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        nav.link(nav.ARTIFACTS, f"{av.name} v{av.version}", icon=":material/inventory_2:", id=av.id)
        for viz in av.visualizations[:4]:
            st.badge(render.LABELS[viz.type], color=render.BADGE_COLORS[viz.type], width="content")
        source = f"{av.run_name} > {av.step_name}" if av.run_name else "no run"
        fmt.caption(f"{source} · ", fmt.At(av.created), width="content")


def artifacts_page(client: Client) -> None:
    """Draw /artifacts: artifact versions across runs searchable by name, or one (`id`) with
    its visualizations."""

    def draw(av: ArtifactVersionResponse) -> None:
        st.title(md_escape(f"{av.name} v{av.version}"), anchor=False)
        artifact_version_view(client, av, selected_viz=nav.param("viz"))
        with contained(what="The artifact's versions"):
            artifact_history(client, av)

    key = nav.param("id")
    if key:
        _detail_screen(nav.ARTIFACTS, "All artifacts", client.get_artifact_version, draw, key)
        return
    st.title("Artifacts", anchor=False)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        needle = lists.url_text_input(
            "Search",
            param="q",
            key="artifacts-q",
            placeholder="words in artifact, run, pipeline or step names",
        )
        pipelines = ["", *sorted(p.name for p in client.list_pipelines(size=500).items)]
        pipeline = lists.url_selectbox(
            "Pipeline",
            pipelines,
            param="pipeline",
            key="artifacts-pipeline",
            format_func=lambda name: name or "Any pipeline",
        )
        kinds = ["", *(t.value for t in render.LABELS)]
        kind = lists.url_selectbox(
            "Visualization",
            kinds,
            param="type",
            key="artifacts-type",
            format_func=lambda value: render.LABELS[VisualizationType(value)] if value else "Any",
        )
    page = client.list_artifact_versions(
        search=needle or None,
        pipeline_name=pipeline or None,
        visualization_type=kind or None,
        page=lists.current_page(warn=True),
        size=lists.PAGE_SIZE,
    )
    if page.total == 0:
        filtered = needle or pipeline or kind
        nothing = "No artifacts yet: every value a step returns is stored as an artifact version."
        st.info("No artifacts match." if filtered else nothing, icon=":material/info:")
        return
    more = "+" if page.total_capped else ""
    st.caption(f"{page.total:,}{more} {'match' if needle else 'in all'}, newest first")
    if page.items:
        lists.rows(page.items, _artifact_row, key="artifacts-rows")
    else:
        st.info("This page is past the last one.", icon=":material/info:")
    lists.paginator(page.total, key="artifacts-page")


# -- the project overview -----------------------------------------------------------------------


def overview_page(client: Client) -> None:
    """Draw `/`: the active project's counts, its dashboard and its latest runs."""
    project = client.active_project
    st.title(md_escape(project.name), anchor=False)
    st.caption("Project overview")
    hidden = {spec.path for spec in nav.out_of_reach(client.policy)}
    counters = {
        "Runs": (nav.RUNS, client.list_pipeline_runs),
        "Pipelines": (nav.PIPELINES, client.list_pipelines),
        "Models": (nav.MODELS, client.list_models),
        "Deployments": (nav.DEPLOYMENTS, client.list_deployments),
        "Artifacts": (nav.ARTIFACTS, client.list_artifact_versions),
    }
    counts = {
        label: count(size=1).total
        for label, (path, count) in counters.items()
        if path not in hidden
    }
    with st.container(horizontal=True, key="overview-counts"):
        for label, total in counts.items():
            st.metric(label, f"{total:,}", border=True)
    runs = counts.get("Runs", 0)
    if runs == 0 and nav.RUNS not in hidden:
        empty.no_runs(client.policy.read_grants.everything)
    try:
        client.get_project(project.id)  # the dashboard needs read access to the project itself
    except EntityNotFoundError:
        st.caption("The project dashboard is not among what you may see.")
    else:
        tiles.tile_grid(client, R.PROJECT, project.id, title="Project dashboard")
    if runs:
        _recent_runs(client, "Latest runs")
        nav.link(nav.RUNS, "All runs", icon=":material/list:")
