"""Random query parameters on every page, as a restricted user: no exception is shown, no
"unexpected error", and nothing the user may not read is sent to the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import text_format
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.ui.conftest import no_exception, texts
from tests.ui.test_login import app, login_form, submit_login
from zviz_core.ui import nav
from zviz_core.ui.notices import WORD_JOINER
from zviz_testing.world import COOKIE_KEY, USERS, build_world, hash_passwords, write_auth_config

USER = "bob"  # reads the side_job pipeline and the classifier model, nothing else


def _sent(at: Any) -> str:
    """Everything the run sent to the browser, as readable text."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts).replace("\\", "").replace(WORD_JOINER, "")


def _params(world: Any) -> st.SearchStrategy[dict[str, str]]:
    everything, side = world.everything_run, world.side_run
    av_hidden = everything.steps["card"].outputs["card"][0]
    av_seen = side.steps["hostile_notes"].outputs["notes"][0]
    known = [
        str(everything.id),
        str(side.id),
        everything.name,
        side.name,
        str(world.everything_id),
        str(world.side_id),
        str(world.model_id),
        str(world.deployment_id),
        "everything",
        "side_job",
        "classifier",
        "serving",
        str(av_hidden.id),
        str(av_seen.id),
        str(av_hidden.visualizations[0].id),
        str(av_seen.visualizations[0].id),
        str(everything.snapshot_id),
        str(side.snapshot_id),
    ]
    odd = [
        "",
        "x** [Session expired](https://evil.example) www.evil.example",
        "9" * 5000,
        str(10**30),
        "-1",
        "0",
        "%",
        "_",
        "'; DROP TABLE runs; --",
        "\x00",
        "\u202e\U0001f600",
        "9999-12-31",
        "0001-01-01",
        "2024-02-30",
        "card",
        "hostile_notes",
        "COMPLETED",
        "failed",
    ]
    value = st.one_of(st.sampled_from(known + odd), st.text(max_size=40))
    keys = st.sampled_from(
        ["id", "step", "artifact", "viz", "page", "pipeline", "status", "from", "to", "q"]
    )
    return st.dictionaries(keys, value, max_size=5)


@pytest.fixture
def world_as_bob(zviz_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)  # no developer's .streamlit/auth.yaml or secrets.toml
    world = build_world()
    config = write_auth_config(tmp_path / "auth.yaml", hash_passwords())
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(config))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    return world


def test_random_query_parameters_on_every_page(world_as_bob: Any) -> None:
    world = world_as_bob
    hidden = [
        world.everything_run.name,
        str(world.everything_run.id),
        str(world.everything_id),
        str(world.deployment_id),
        str(world.everything_run.snapshot_id),
        "Project report",
        "Everything card",
        "Serving metrics",
        "serving",
    ]
    at = app(nav.OVERVIEW).run()
    assert login_form(at)
    submit_login(at, USER, USERS[USER].password)
    at.run()
    assert not login_form(at)

    # One logged-in session wanders from URL to URL, as a user editing the address bar would.
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(page=st.sampled_from([spec.path for spec in nav.PAGES]), params=_params(world))
    # What bob may open, tried every time: a leak there would hide among the misses.
    @example(page=nav.MODELS, params={"id": str(world.model_id)})
    @example(page=nav.PIPELINES, params={"id": str(world.side_id), "page": "9" * 5000})
    @example(page=nav.RUNS, params={"id": str(world.side_run.id), "step": "hostile_notes"})
    @example(page=nav.RUNS, params={"pipeline": "side_job", "page": str(10**30)})
    @example(page=nav.ARTIFACTS, params={"id": str(world.everything_run.id)})
    def visit(page: str, params: dict[str, str]) -> None:
        at.query_params.clear()
        for name, value in params.items():
            at.query_params[name] = value
        at.switch_page(page)
        at.run()
        no_exception(at)
        assert not login_form(at)
        shown = texts(at, "error") + texts(at, "warning")
        assert not [t for t in shown if "unexpected error" in t], shown
        sent = _sent(at)
        # A value the user typed may come back (in a filter box or a "not found" message).
        checked = [h for h in hidden if not any(h in v for v in params.values())]
        assert not [h for h in checked if h in sent], (page, params)

    visit()
