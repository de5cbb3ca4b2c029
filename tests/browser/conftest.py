"""Browser fixtures: `streamlit run` on prepared stores, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from zviz_testing import streamlit_server as server_process
from zviz_testing.streamlit_server import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
IDLE = (
    "[data-testid=stApp][data-test-script-state=notRunning][data-test-connection-state=CONNECTED]"
)
START_TIMEOUT_S = 60.0
UI_TIMEOUT_MS = 30_000


def _require_or_skip(reason: str) -> None:
    if os.environ.get("ZVIZ_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and ZVIZ_REQUIRE_BROWSER=1 forbids skipping the browser tests.")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Debian Chromium binary; skips (or fails under ZVIZ_REQUIRE_BROWSER=1) without it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _require_or_skip("Chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _require_or_skip("playwright is not installed (pip install playwright)")
    return str(path)


@contextmanager
def env_vars(**values: str | None) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the body, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


AXE_VERSION = "4.14.1"
AXE_PREFIX = ROOT / ".cache" / f"axe-core-{AXE_VERSION}"


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The text of axe-core's axe.min.js, installed from npm into .cache/ on first use (.ci/run
    installs it beforehand); skips (or fails under ZVIZ_REQUIRE_BROWSER=1) without npm."""
    script = AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            _require_or_skip("npm is not installed (apt-get install npm), so axe-core cannot be")
        subprocess.run(
            [str(npm), "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
             str(AXE_PREFIX), f"axe-core@{AXE_VERSION}"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    return script.read_text(encoding="utf-8")


@dataclass
class Server:
    """One `streamlit run streamlit_app.py` process on 127.0.0.1."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    info: dict[str, Any] = field(default_factory=dict)


def start_server(env: dict[str, str], log: Path, cwd: Path) -> Server:
    """Start the app in `cwd` with `env` added to the environment minus every ZVIZ_ variable;
    return once it answers its health check (raises RuntimeError with the log if it does not)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(ROOT)
    process, url = server_process.launch(full_env, cwd, log)
    try:
        server_process.wait_healthy(process, url, log, START_TIMEOUT_S)
    except RuntimeError:
        server_process.stop(process)
        raise
    return Server(url, process, log)


def stop_server(server: Server) -> None:
    """Stop the server process (by its pid) and wait for it."""
    server_process.stop(server.process)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """One Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def new_context(browser: Any) -> Iterator[Callable[[], Any]]:
    """`new_context()`: a fresh browser profile (own cookies and storage), closed after the test."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


# -- helpers for tests ---------------------------------------------------------------------------


def settle(page: Any, pause_ms: int = 600) -> None:
    """Wait until Streamlit finished the current run and any rerun it triggered."""
    page.wait_for_selector(IDLE, timeout=UI_TIMEOUT_MS)
    page.wait_for_timeout(pause_ms)
    page.wait_for_selector(IDLE, timeout=UI_TIMEOUT_MS)


def open_url(page: Any, url: str) -> None:
    """Load `url` and wait for the app to settle."""
    page.goto(url)
    settle(page)


def login_form_shown(page: Any) -> bool:
    """Whether the page shows the login form."""
    return page.get_by_label("Password", exact=True).count() > 0


def log_in(page: Any, username: str, password: str, display_name: str) -> None:
    """Fill and submit the login form, then wait for the logged-in sidebar."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.locator("[data-testid=stSidebar]").get_by_text(display_name).wait_for()
    settle(page)


def log_out(page: Any) -> None:
    """Click the sidebar's logout button and wait for the login form."""
    page.get_by_role("button", name="Log out").click()
    # `.first`: the page being replaced may still show its copy of the form for a moment.
    page.get_by_label("Password", exact=True).first.wait_for()
    settle(page)


def main_text(page: Any) -> str:
    """The visible text of the page's main area."""
    return str(page.inner_text("[data-testid=stMain]"))


def no_exception_shown(page: Any) -> list[str]:
    """Texts of any exception elements on the page (empty when there are none)."""
    return [str(e.inner_text()) for e in page.locator("[data-testid=stException]").all()]


# -- the apps under test -------------------------------------------------------------------------


def _app_cwd(tmp: Path) -> Path:
    """A working directory with the repo's Streamlit config but no local auth.yaml or secrets,
    so a developer's own files cannot change what the tests see."""
    cwd = tmp / "cwd"
    (cwd / ".streamlit").mkdir(parents=True)
    shutil.copy(ROOT / ".streamlit" / "config.toml", cwd / ".streamlit" / "config.toml")
    return cwd


@pytest.fixture(scope="session")
def secured_app(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app on the team store of zviz_testing/world.py, behind its four users' logins."""
    from zviz_core.store.db import Database
    from zviz_testing.world import COOKIE_KEY, build_world, hash_passwords, write_auth_config

    tmp = tmp_path_factory.mktemp("secured")
    home = tmp / "store"
    with env_vars(ZVIZ_HOME=str(home), ZVIZ_DEMO="0", ZVIZ_AUTH_CONFIG=None, ZVIZ_PROJECT=None):
        world = build_world()
    Database._forget_all()
    config = write_auth_config(tmp / "auth.yaml", hash_passwords())
    env = {
        "ZVIZ_HOME": str(home),
        "ZVIZ_DEMO": "0",
        "ZVIZ_AUTH_CONFIG": str(config),
        "ZVIZ_COOKIE_KEY": COOKIE_KEY,
    }
    server = start_server(env, tmp / "streamlit.log", _app_cwd(tmp))
    server.info["world"] = world
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def demo_app(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app as a Community Cloud visitor meets it: the seeded demo behind the demo logins."""
    from zviz_core import Client
    from zviz_core.demo import ensure_demo
    from zviz_core.store.db import Database

    tmp = tmp_path_factory.mktemp("demo")
    home = tmp / "store"
    with env_vars(ZVIZ_HOME=str(home), ZVIZ_DEMO="1", ZVIZ_AUTH_CONFIG=None, ZVIZ_PROJECT=None):
        owner = Client()
        ensure_demo(owner)  # seeded here, so the test does not wait for the first-start seed
        paths = _demo_paths(owner)
    Database._forget_all()
    env = {"ZVIZ_HOME": str(home), "ZVIZ_DEMO": "1"}
    server = start_server(env, tmp / "streamlit.log", _app_cwd(tmp))
    server.info["paths"] = paths
    yield server
    stop_server(server)


def _demo_paths(owner: Any) -> list[str]:
    """Every page of the demo: each list, and one resource of each kind opened by id (a run
    opened on a step, an artifact version and one of its visualizations)."""
    run = owner.list_pipeline_runs(size=1).items[0]
    run = owner.get_pipeline_run(run.id)
    step_name, step_run = next((n, s) for n, s in run.steps.items() if s.outputs)
    version = next(iter(step_run.outputs.values()))[0]
    artifact = owner.list_artifact_versions(size=1).items[0]
    return [
        "/",
        "/runs",
        f"/runs?id={run.id}",
        f"/runs?id={run.id}&step={step_name}&artifact={version.id}"
        f"&viz={version.visualizations[0].id}",
        "/pipelines",
        f"/pipelines?id={owner.list_pipelines(size=1).items[0].id}",
        "/snapshots",
        f"/snapshots?id={owner.list_snapshots(size=1).items[0].id}",
        "/models",
        f"/models?id={owner.list_models(size=1).items[0].id}",
        "/deployments",
        f"/deployments?id={owner.list_deployments(size=1).items[0].id}",
        "/artifacts",
        f"/artifacts?id={artifact.id}",
    ]
