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
from zviz_core.models import ArtifactVersionResponse, ArtifactVisualizationResponse
from zviz_core.ui import fmt, nav, render
from zviz_core.ui.notices import md_escape


def _tab_labels(vizs: list[ArtifactVisualizationResponse]) -> list[str]:
    labels = []
    for viz in vizs:
        file = viz.uri.rstrip("/").rsplit("/", 1)[-1]
        label = f"{render.LABELS[viz.type]} · {file}"
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
    wanted = by_id.get(selected_viz or "")
    if wanted is not None:
        st.session_state[key] = wanted
    tabs = st.tabs(
        labels, key=key, on_change=_viz_changed, args=(key, by_label, extra_params or {})
    )
    for viz, tab in zip(vizs, tabs, strict=True):
        if tab.open is False:
            continue
        with tab:
            render.render_visualization(client, viz, key=f"viz-{viz.id}")
            render.download_button(client, viz, key=f"viz-dl-{viz.id}")


def _artifact_files(client: Client, uri: str) -> list[tuple[str, str]]:
    """(absolute path, path inside the artifact) of every file under an artifact's folder."""
    if not is_remote(uri):
        found = []
        for folder, _, files in os.walk(uri):
            for name in files:
                path = os.path.join(folder, name)
                found.append((path, os.path.relpath(path, uri)))
        return found
    import fsspec

    fs, root = fsspec.core.url_to_fs(uri, **client.artifact_store.storage_options)
    protocol = uri.split("://", 1)[0]
    return [(f"{protocol}://{p}", p[len(root) :].lstrip("/")) for p in fs.find(root)]


def zipped_artifact(client: Client, av: ArtifactVersionResponse) -> bytes:
    """Return a zip of every file of an artifact version (its stored value and visualizations).

    Raises ArtifactLoadError when the folder is missing or larger than the download limit.
    """
    files = _artifact_files(client, av.uri)
    if not files:
        raise ArtifactLoadError(f"The artifact's folder {av.uri} is missing or empty.")
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in files:
            data = client.artifact_store.read_bytes(path)
            total += len(data)
            if total > render.DOWNLOAD_LIMIT:
                raise ArtifactLoadError(
                    f"This artifact is larger than {render.DOWNLOAD_LIMIT // render.MB} MB; "
                    f"copy it from {av.uri} instead."
                )
            archive.writestr(name, data)
    return buffer.getvalue()


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
        with head:
            st.download_button(
                "Download artifact",
                data=lambda: zipped_artifact(client, av),
                file_name=f"{av.name}-v{av.version}.zip",
                mime="application/zip",
                key=f"artifact-zip-{av.id}",
                on_click="ignore",
                icon=":material/folder_zip:",
            )
        facts = f"`{av.data_type.replace('`', '')}` · created {fmt.when(av.created)}"
        st.caption(facts)
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
