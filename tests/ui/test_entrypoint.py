"""The entrypoint: first-start demo seeding, URL sync, and rules about where code may live."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from tests.ui.conftest import APP, link_labels, no_exception, plain, texts
from zviz_core import Client
from zviz_core import demo as real_demo
from zviz_core.errors import StoreError

ROOT = APP.parent


@pytest.fixture
def fake_demo(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """A stand-in for zviz_core.demo that records its calls and registers one model."""
    calls: list[tuple] = []

    def ensure_demo(client: Client, progress=None) -> bool:
        calls.append((client.user, progress is not None))
        if progress is not None:
            progress(0.5, "Halfway")
        client.create_model("demo-model")
        return True

    monkeypatch.setitem(sys.modules, "zviz_core.demo", _fake_demo_module(ensure_demo))
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    return calls


# With ZVIZ_DEMO on and no login config the app serves the demo's logins: log in as its admin.
DEMO_ADMIN = {"authentication_status": True, "username": "admin"}


def _fake_demo_module(ensure_demo) -> types.ModuleType:
    """zviz_core.demo with a stand-in ensure_demo and the real demo's logins."""
    module = types.ModuleType("zviz_core.demo")
    module.ensure_demo = ensure_demo  # type: ignore[attr-defined]
    for name in ("demo_auth_config", "DEMO_AUTH_CONFIG", "DEMO_USERS", "DEMO_COOKIE_KEY"):
        setattr(module, name, getattr(real_demo, name))
    return module


def test_first_start_seeds_the_demo_once_as_the_owner(open_page, fake_demo) -> None:
    at = open_page("models", session_state=DEMO_ADMIN)
    no_exception(at)
    assert fake_demo == [(None, True)]
    assert "demo-model" in link_labels(at)
    open_page("models", session_state=DEMO_ADMIN)
    assert len(fake_demo) == 1, "a process seeds (or checks) a store once"


def test_demo_off_when_zviz_demo_is_0(open_page, fake_demo, monkeypatch) -> None:
    monkeypatch.setenv("ZVIZ_DEMO", "0")
    at = open_page("models")
    assert fake_demo == []
    assert not link_labels(at)[1:]


def test_a_failing_demo_is_a_warning_and_the_app_still_works(open_page, monkeypatch) -> None:
    def ensure_demo(client: Client, progress=None) -> bool:
        raise StoreError("The disk holding the zviz store is full.")

    monkeypatch.setitem(sys.modules, "zviz_core.demo", _fake_demo_module(ensure_demo))
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    at = open_page("overview", session_state=DEMO_ADMIN)
    no_exception(at)
    assert any("disk holding the zviz store is full" in w for w in texts(at, "warning"))
    assert at.title[0].value == "default"


def test_an_unusable_store_is_one_readable_error(open_page, zviz_home, monkeypatch) -> None:
    zviz_home.parent.mkdir(parents=True, exist_ok=True)
    blocker = zviz_home.parent / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ZVIZ_HOME", str(blocker / "store"))
    at = open_page("runs")
    no_exception(at)
    assert any("ZVIZ_HOME" in plain(e) for e in texts(at, "error"))


def test_a_team_store_without_logins_refuses_to_start(open_page, monkeypatch) -> None:
    # Neither the demo's public passwords nor the no-login owner may open a shared store; the
    # gate refuses before anything connects (this URL reaches no server).
    monkeypatch.setenv("ZVIZ_STORE_URL", "postgresql://nobody@127.0.0.1:9/none")
    monkeypatch.delenv("ZVIZ_DEMO", raising=False)
    at = open_page("runs")
    no_exception(at)
    errors = [plain(e) for e in texts(at, "error")]
    assert any("team store" in e and "no login config" in e for e in errors), errors
    assert not at.text_input  # no login form: the demo's logins do not apply


def test_no_pages_folder_beside_the_entrypoint() -> None:
    # A pages/ folder switches Streamlit to its old multipage mode, in which a deep link runs
    # the page file without this entrypoint (and without any login gate in it).
    assert not (ROOT / "pages").exists()


def test_screens_do_not_touch_the_database_or_unsafe_html() -> None:
    screens = [APP, *sorted((ROOT / "app_pages").glob("*.py"))]
    for path in screens:
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+duckdb", text, re.M), path
    ui = sorted((ROOT / "zviz_core" / "ui").glob("*.py"))
    for path in [*screens, *ui]:
        text = path.read_text()
        assert "unsafe_allow_javascript=True" not in text, path
        assert "components.html(" not in text, path
        assert not re.search(r'sandbox="[^"]*allow-same-origin', text), path
        assert "unsafe_allow_html=True" not in text, path


def test_the_one_script_of_ours_in_the_app_page_writes_no_markup() -> None:
    # A components.v2 script runs in the app page, beside the login cookie: only our own,
    # and it handles names (untrusted) as data, never as markup or code.
    screens = [APP, *sorted((ROOT / "app_pages").glob("*.py"))]
    ui = sorted((ROOT / "zviz_core" / "ui").glob("*.py"))
    scripted = [path.name for path in [*screens, *ui] if "components.v2" in path.read_text()]
    assert scripted == ["graph_keys.py"]
    from zviz_core.ui import graph_keys

    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        "import(",
        "fetch(",
        "src",
    ):
        assert sink not in graph_keys.SCRIPT, sink


def test_every_page_is_reachable_by_its_url_path(open_page) -> None:
    from zviz_core.ui import nav

    paths = {spec.url_path for spec in nav.PAGES}
    assert paths == {
        "",
        "runs",
        "pipelines",
        "snapshots",
        "models",
        "deployments",
        "artifacts",
        "compare",
    }
    for spec in nav.PAGES:
        assert (ROOT / spec.path).exists()
    assert Path(nav.RUNS).name == "runs.py"
