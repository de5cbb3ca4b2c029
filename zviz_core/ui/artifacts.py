"""One artifact version on screen: facts, metadata, downloads and its visualizations in lazy tabs."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import streamlit as st

from zviz_core.artifacts.store import is_remote
from zviz_core.client import Client
from zviz_core.errors import ArtifactLoadError
from zviz_core.models import (
    ArtifactHistoryEntry,
    ArtifactVersionResponse,
    ArtifactVisualizationResponse,
)
from zviz_core.ui import fmt, lists, nav, render
from zviz_core.ui.notices import contained, md_escape


def _tab_labels(vizs: list[ArtifactVisualizationResponse]) -> list[str]:
    labels = []
    for viz in vizs:
        file = viz.uri.rstrip("/").rsplit("/", 1)[-1]
        label = f"{render.LABELS[viz.type]} · {md_escape(file)}"
        labels.append(label if label not in labels else f"{label} ({viz.position})")
    return labels


def _viz_changed(key: str, by_label: dict[str, str], extra: dict[str, str]) -> None:
    nav.set_params(viz=by_label.get(st.session_state.get(key, "")), **extra)


def visualization_tabs(
    client: Client,
    av: ArtifactVersionResponse,
    selected_viz: str | None = None,
    extra_params: dict[str, str] | None = None,
) -> None:
    """Draw the artifact version's visualizations as tabs and return nothing.

    Only the open tab is loaded and rendered; choosing a tab puts its id in the URL (`viz`),
    together with `extra_params`.
    """
    vizs = list(av.visualizations)
    if not vizs:
        st.caption("This output has no visualizations.")
        return
    labels = _tab_labels(vizs)
    by_id = {str(v.id): label for v, label in zip(vizs, labels, strict=True)}
    by_label = {label: viz_id for viz_id, label in by_id.items()}
    key = f"viz-tabs-{av.id}"
    # The URL decides the open tab, so that Back to an address without `viz` opens the first.
    st.session_state[key] = by_id.get(selected_viz or "", labels[0])
    tabs = st.tabs(
        labels, key=key, on_change=_viz_changed, args=(key, by_label, extra_params or {})
    )
    for viz, tab in zip(vizs, tabs, strict=True):
        if tab.open is False:
            continue
        with tab:
            render.render_visualization(client, viz, key=f"viz-{viz.id}")
            render.download_button(client, viz, key=f"viz-dl-{viz.id}")


def _local_files(uri: str) -> list[tuple[str, str, int]]:
    root = os.path.realpath(uri)
    found = []
    for folder, _, files in os.walk(uri):
        for name in files:
            path = os.path.join(folder, name)
            # A link could point anywhere on the server: only the folder's own files are zipped.
            if os.path.islink(path) or not os.path.realpath(path).startswith(root + os.sep):
                continue
            found.append((path, os.path.relpath(path, uri), os.lstat(path).st_size))
    return found


@st.cache_data(show_spinner=False, ttl=60, max_entries=256)
def _remote_files(uri: str, _client: Client) -> list[tuple[str, str, int]]:
    import fsspec

    from zviz_core.artifacts.store import translated_errors

    with translated_errors(uri):
        fs, root = fsspec.core.url_to_fs(uri, **_client.artifact_store.storage_options)
        protocol = uri.split("://", 1)[0]
        return [
            (f"{protocol}://{p}", p[len(root) :].lstrip("/"), int(info.get("size") or 0))
            for p, info in fs.find(root, detail=True).items()
        ]


def artifact_files(client: Client, uri: str) -> list[tuple[str, str, int]]:
    """(absolute path, path inside the artifact, size in bytes) of every file under an
    artifact's folder; remote listings are cached for a minute."""
    return _remote_files(uri, client) if is_remote(uri) else _local_files(uri)


def zipped_artifact(client: Client, av: ArtifactVersionResponse) -> bytes:
    """Return a zip of every file of an artifact version (its stored value and visualizations).

    Raises ArtifactLoadError when the folder is missing or its files add up to more than the
    download limit; the sizes are checked before any file is read.
    """
    files = artifact_files(client, client.checked_folder(av))
    if not files:
        raise ArtifactLoadError(f"The artifact's folder {av.uri} is missing or empty.")
    limit = render.download_limit()
    total = sum(size for _, _, size in files)
    if total > limit:
        raise ArtifactLoadError(render.too_large_to_download(total, limit))
    buffer = io.BytesIO()
    read = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name, _ in files:
            data = client.artifact_store.read_bytes(path, limit - read + 1)
            read += len(data)
            if read > limit:  # a file grew after it was listed
                raise ArtifactLoadError(render.too_large_to_download(read, limit))
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_button(client: Client, av: ArtifactVersionResponse) -> None:
    files = artifact_files(client, av.uri)
    total = sum(size for _, _, size in files)
    if not files:
        st.caption(":material/folder_off: The artifact's folder is missing or empty.")
    elif total > render.download_limit():
        st.caption(
            f":material/file_download_off: {render.too_large_to_download(total)}",
            help=f"Copy it from the artifact store: {md_escape(av.uri)}",
        )
    else:
        st.download_button(
            "Download artifact",
            data=lambda: zipped_artifact(client, av),
            file_name=f"{av.name}-v{av.version}.zip",
            mime="application/zip",
            key=f"artifact-zip-{av.id}",
            on_click="ignore",
            icon=":material/folder_zip:",
            help=f"All {len(files):,} files, {total / render.MB:,.1f} MB before compression",
        )


def _metadata(metadata: dict[str, Any]) -> None:
    if not metadata:
        st.caption("No metadata.")
        return
    flat = all(not isinstance(v, dict | list) for v in metadata.values())
    if flat and len(metadata) <= 30:
        rows = [{"key": str(k), "value": str(v)} for k, v in metadata.items()]
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.json(metadata, expanded=1)


def artifact_version_view(
    client: Client,
    av: ArtifactVersionResponse,
    *,
    selected_viz: str | None = None,
    show_source: bool = True,
    extra_params: dict[str, str] | None = None,
) -> None:
    """Draw one artifact version (facts, metadata, download, visualizations); returns nothing."""
    with st.container(border=True, key=f"artifact-{av.id}"):
        head = st.container(horizontal=True, vertical_alignment="center")
        label = av.output_name if av.output_name and av.output_name != av.name else av.name
        head.markdown(f"#### {md_escape(label)}", width="content")
        head.badge(f"{md_escape(av.name)} v{av.version}", color="gray", width="content")
        head.space("stretch")
        with head, contained(what="The artifact's download"):
            _zip_button(client, av)
        fmt.caption(f"{av.data_type} · created ", fmt.At(av.created))
        if show_source and av.run_id is not None:
            nav.link(
                nav.RUNS,
                f"{av.pipeline_name or 'run'} > {av.run_name} > {av.step_name}",
                icon=":material/play_circle:",
                id=av.run_id,
                step=av.step_name,
                artifact=av.id,
            )
        with st.expander("Metadata", icon=":material/info:"):
            _metadata(av.metadata)
        visualization_tabs(client, av, selected_viz, extra_params)


HISTORY_PAGE = 10


def _history_row(entry: ArtifactHistoryEntry, current: ArtifactVersionResponse) -> None:
    av = entry.version
    with st.container(border=True, key=f"history-{av.id}"):
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            if av.id == current.id:
                st.badge(f"v{av.version} · this version", color="blue", width="content")
            else:
                nav.link(nav.ARTIFACTS, f"v{av.version}", icon=":material/history:", id=av.id)
            if av.pipeline_name:
                st.badge(
                    md_escape(av.pipeline_name),
                    icon=":material/account_tree:",
                    color="violet",
                    width="content",
                )
            st.caption(f"created {fmt.when(av.created)}", width="content")
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.caption("Produced by", width="content")
            if av.run_id is None:
                st.caption("no run (saved outside a pipeline)", width="content")
            else:
                nav.link(
                    nav.RUNS,
                    f"{av.run_name} > {av.step_name}",
                    icon=":material/play_circle:",
                    id=av.run_id,
                    step=av.step_name,
                    artifact=av.id,
                )
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.caption("Used by", width="content")
            if not entry.used_by:
                st.caption("no step you can see", width="content")
            for use in entry.used_by:
                nav.link(
                    nav.RUNS,
                    f"{use.run_name} > {use.step_name} ({use.input_name})",
                    icon=":material/input:",
                    id=use.run_id,
                    step=use.step_name,
                )
            if entry.more_uses:
                st.caption(f"and {entry.more_uses:,} more", width="content")


def artifact_history(client: Client, av: ArtifactVersionResponse) -> None:
    """Draw every version of this version's artifact the user may read, newest first: the
    pipeline, run and step that produced each, and the steps that used it; filterable by
    pipeline (`vpipeline` in the URL) and paginated (`vpage`)."""
    st.header(f"Versions of {md_escape(av.name)}", anchor=False)
    pipelines = client.list_artifact_pipelines(av)
    chosen = None
    if len(pipelines) > 1:
        st.caption(
            f"This name is shared by {len(pipelines)} pipelines: each of their runs adds a "
            "version of the same artifact."
        )
        name = lists.url_selectbox(
            "Pipeline",
            ["", *(p.name for p in pipelines)],
            param="vpipeline",
            key=f"history-pipeline-{av.id}",
            format_func=lambda v: v or "All pipelines",
            reset=("vpage",),
        )
        chosen = next((p for p in pipelines if p.name == name), None)
    page = client.get_artifact_history(
        av,
        pipeline_id=chosen.id if chosen else None,
        page=lists.current_page("vpage"),
        size=HISTORY_PAGE,
    )
    if not page.items:
        st.info("No version on this page.", icon=":material/info:")
    else:
        first = (page.page - 1) * page.size + 1
        st.caption(f"Versions {first:,}-{first + len(page) - 1:,} of {page.total:,}, newest first")
        for entry in page.items:
            _history_row(entry, av)
    lists.paginator(page.total, HISTORY_PAGE, key=f"history-page-{av.id}", param="vpage")
