"""Fixtures for screen tests: AppTest through the real entrypoint, fresh Streamlit caches, data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from zviz_core import Client
from zviz_core.models import ArtifactVisualizationResponse, PipelineRunResponse
from zviz_core.ui import session
from zviz_core.ui.notices import WORD_JOINER
from zviz_testing.factories import run_everything

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
TIMEOUT = 30


@pytest.fixture(autouse=True)
def fresh_streamlit_caches() -> Iterator[None]:
    """Streamlit caches are process-wide: each test starts (and leaves) them empty."""
    st.cache_data.clear()
    st.cache_resource.clear()
    session._demo_checked.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """`open_page("runs", id=...)`: run the entrypoint on a page with query parameters."""

    def run(page: str, /, session_state: dict[str, Any] | None = None, **params: Any) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        for name, value in params.items():
            at.query_params[name] = str(value)
        for name, value in (session_state or {}).items():
            at.session_state[name] = value
        at.switch_page(f"app_pages/{page}.py")
        return at.run()

    return run


@pytest.fixture
def run(client: Client) -> PipelineRunResponse:
    """One run of the pipeline that returns every kind of artifact."""
    return client.get_pipeline_run(run_everything().id)


def visualizations(run: PipelineRunResponse) -> dict[str, ArtifactVisualizationResponse]:
    """The run's visualizations by '<step>' (first one) and '<step>:<file name>'."""
    found: dict[str, ArtifactVisualizationResponse] = {}
    for name, step in run.steps.items():
        for versions in step.outputs.values():
            for av in versions:
                for viz in av.visualizations:
                    found.setdefault(name, viz)
                    found[f"{name}:{viz.uri.rsplit('/', 1)[-1]}"] = viz
    return found


def no_exception(at: AppTest) -> None:
    """Fail with the app's own exception text if the script raised."""
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest, kind: str) -> list[str]:
    """The text values of every element of a kind ("markdown", "error", "caption", ...)."""
    return [str(e.value) for e in getattr(at, kind)]


def plain(text: str) -> str:
    """Markdown-escaped text as the user reads it (backslash escapes and the invisible word
    joiners that keep URLs from becoming links removed)."""
    return re.sub(r"\\(.)", r"\1", text).replace(WORD_JOINER, "")


def link_labels(at: AppTest) -> list[str]:
    """What every in-app link on the page reads."""
    return [plain(link.label) for link in at.get("page_link")]
