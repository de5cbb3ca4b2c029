"""The app's pages and URLs: page files, their paths, query parameters and links between them."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from zviz_core.access import AccessPolicy
from zviz_core.ui.notices import md_escape

OVERVIEW = "app_pages/overview.py"
RUNS = "app_pages/runs.py"
PIPELINES = "app_pages/pipelines.py"
SNAPSHOTS = "app_pages/snapshots.py"
MODELS = "app_pages/models.py"
DEPLOYMENTS = "app_pages/deployments.py"
ARTIFACTS = "app_pages/artifacts.py"
COMPARE = "app_pages/compare.py"
_LAST_PAGE = "zviz.nav.page"  # the url_path of the page this session ran last


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    url_path: str
    kind: str | None  # what the page lists, in the access rules' terms; None: always offered


# URL paths are a contract: people share links to them.
PAGES: tuple[PageSpec, ...] = (
    PageSpec(OVERVIEW, "Overview", ":material/dashboard:", "", None),
    PageSpec(RUNS, "Runs", ":material/play_circle:", "runs", "pipeline_run"),
    PageSpec(PIPELINES, "Pipelines", ":material/account_tree:", "pipelines", "pipeline"),
    PageSpec(SNAPSHOTS, "Snapshots", ":material/photo_camera:", "snapshots", "pipeline_snapshot"),
    PageSpec(MODELS, "Models", ":material/model_training:", "models", "model"),
    PageSpec(DEPLOYMENTS, "Deployments", ":material/rocket_launch:", "deployments", "deployment"),
    PageSpec(ARTIFACTS, "Artifacts", ":material/inventory_2:", "artifacts", "artifact_version"),
    PageSpec(COMPARE, "Compare", ":material/compare_arrows:", "compare", "pipeline_run"),
)


def out_of_reach(policy: AccessPolicy | None) -> list[PageSpec]:
    """Return the pages whose kind the user's read grants reach nowhere (none for the owner)."""
    if policy is None:
        return []
    return [spec for spec in PAGES if spec.kind and not policy.may_read_some(spec.kind)]


def pages(policy: AccessPolicy | None = None) -> list[st.Page]:
    """Return the st.Page objects of every screen, the overview being the default (`/`).

    Pages that `policy` can never fill stay out of the sidebar but keep their URL, so a shared
    link still opens and says why it shows nothing.
    """
    hidden = {spec.path for spec in out_of_reach(policy)}
    result = []
    for spec in PAGES:
        visibility = "hidden" if spec.path in hidden else "visible"
        if spec.url_path:
            result.append(
                st.Page(
                    spec.path,
                    title=spec.title,
                    icon=spec.icon,
                    url_path=spec.url_path,
                    visibility=visibility,
                )
            )
        else:
            result.append(st.Page(spec.path, title=spec.title, icon=spec.icon, default=True))
    return result


def explain_hidden(policy: AccessPolicy | None) -> None:
    """Say in the sidebar which pages are left out, and why."""
    # One name per kind: Compare is left out with Runs, and said once, as "runs".
    kinds: dict[str | None, str] = {}
    for spec in out_of_reach(policy):
        kinds.setdefault(spec.kind, spec.title.lower())
    missing = list(kinds.values())
    if not missing:
        return
    listed = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
    st.sidebar.caption(
        f"No {listed} in this menu: your access covers none. An admin can grant you more in "
        "the access rules."
    )


def param(name: str) -> str | None:
    """Return a query parameter's value, or None when it is absent or empty."""
    value = st.query_params.get(name)
    return value or None


def set_params(**values: object) -> None:
    """Set query parameters (str() of each value); None removes one. Keeps the others.

    All changes reach the browser as one address, so they make one history entry (each single
    write to st.query_params would push one of its own).
    """
    wanted = {name: st.query_params.get_all(name) for name in st.query_params}
    for name, value in values.items():
        if value is None or value == "":
            wanted.pop(name, None)
        else:
            wanted[name] = [str(value)]
    if wanted != {name: st.query_params.get_all(name) for name in st.query_params}:
        st.query_params.from_dict(wanted)


def sync_url(page: st.Page) -> None:
    """Send the query string the script received back to the browser's address bar, when the
    run stays on the page the session showed before.

    A page link to the page already open reruns it with the link's query parameters but, in
    Streamlit 1.67, leaves them out of the address bar; re-sending keeps the URL shareable. On a
    change of page the browser sets the new page's address itself, after this run's messages
    arrive; a query string sent in the same run would be pushed onto the old page's path (the
    new page's parameters under the old path, which Back then opens: "No model <run id>").
    """
    previous = st.session_state.get(_LAST_PAGE)
    st.session_state[_LAST_PAGE] = page.url_path
    if previous != page.url_path:
        return
    st.query_params.from_dict({name: st.query_params.get_all(name) for name in st.query_params})


def link(page: str, label: str, icon: str | None = None, **params: object) -> None:
    """Draw an in-app link to `page` with the given query parameters (None ones left out).

    The label is shown literally, whatever Markdown or HTML it contains.
    """
    query = {k: str(v) for k, v in params.items() if v is not None}
    st.page_link(page, label=md_escape(label), icon=icon, query_params=query)
