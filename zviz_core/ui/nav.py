"""The app's pages and URLs: page files, their paths, query parameters and links between them."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from zviz_core.ui.notices import md_escape

OVERVIEW = "app_pages/overview.py"
RUNS = "app_pages/runs.py"
PIPELINES = "app_pages/pipelines.py"
SNAPSHOTS = "app_pages/snapshots.py"
MODELS = "app_pages/models.py"
DEPLOYMENTS = "app_pages/deployments.py"
ARTIFACTS = "app_pages/artifacts.py"
COMPARE = "app_pages/compare.py"


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    url_path: str


# URL paths are a contract: people share links to them.
PAGES: tuple[PageSpec, ...] = (
    PageSpec(OVERVIEW, "Overview", ":material/dashboard:", ""),
    PageSpec(RUNS, "Runs", ":material/play_circle:", "runs"),
    PageSpec(PIPELINES, "Pipelines", ":material/account_tree:", "pipelines"),
    PageSpec(SNAPSHOTS, "Snapshots", ":material/photo_camera:", "snapshots"),
    PageSpec(MODELS, "Models", ":material/model_training:", "models"),
    PageSpec(DEPLOYMENTS, "Deployments", ":material/rocket_launch:", "deployments"),
    PageSpec(ARTIFACTS, "Artifacts", ":material/inventory_2:", "artifacts"),
    PageSpec(COMPARE, "Compare", ":material/compare_arrows:", "compare"),
)


def pages() -> list[st.Page]:
    """Return the st.Page objects of every screen, the overview being the default (`/`)."""
    result = []
    for spec in PAGES:
        if spec.url_path:
            result.append(
                st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path)
            )
        else:
            result.append(st.Page(spec.path, title=spec.title, icon=spec.icon, default=True))
    return result


def param(name: str) -> str | None:
    """Return a query parameter's value, or None when it is absent or empty."""
    value = st.query_params.get(name)
    return value or None


def set_params(**values: object) -> None:
    """Set query parameters (str() of each value); None removes one. Keeps the others."""
    for name, value in values.items():
        if value is None or value == "":
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != str(value):
            st.query_params[name] = str(value)


def sync_url() -> None:
    """Send the query string the script received back to the browser's address bar.

    A page link to the page already open reruns it with the link's query parameters but, in
    Streamlit 1.67, leaves them out of the address bar; re-sending keeps the URL shareable.
    """
    st.query_params.from_dict({name: st.query_params.get_all(name) for name in st.query_params})


def link(page: str, label: str, icon: str | None = None, **params: object) -> None:
    """Draw an in-app link to `page` with the given query parameters (None ones left out).

    The label is shown literally, whatever Markdown or HTML it contains.
    """
    query = {k: str(v) for k, v in params.items() if v is not None}
    st.page_link(page, label=md_escape(label), icon=icon, query_params=query)
