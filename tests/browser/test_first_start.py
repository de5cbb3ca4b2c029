"""The first start in a real browser: the demo is seeded whole even when the page reruns while
it is written, and the login form that follows is on the page once, never twice."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import _app_cwd, env_vars, settle, start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Counts the login forms on the page at every change of the page, from its first paint.
MOST_FORMS = """
window.__mostForms = 0;
new MutationObserver(() => {
  const forms = document.querySelectorAll("input[type=password]").length;
  window.__mostForms = Math.max(window.__mostForms, forms);
}).observe(document, { childList: true, subtree: true });
"""


def test_a_rerun_while_the_demo_is_seeded_neither_cuts_it_short_nor_doubles_the_form(
    tmp_path: Path, new_context: Callable[[], Any]
) -> None:
    from zviz_core import Client
    from zviz_core.demo import DEPLOYMENT_NAME, MODEL_NAME, TRAINING_RUNS
    from zviz_core.store.db import Database

    home = tmp_path / "store"
    server = start_server(
        {"ZVIZ_HOME": str(home), "ZVIZ_DEMO": "1"}, tmp_path / "streamlit.log", _app_cwd(tmp_path)
    )
    try:
        page = new_context().new_page()
        page.add_init_script(MOST_FORMS)
        # The login cookie's component answers once loaded, and its answer reruns the page.
        # Held back until the demo's runs are being written, its rerun interrupts the script
        # run that shows the seeding, as a slow first load on Community Cloud can.
        held: list[Any] = []
        released = False

        def hold(route: Any) -> None:
            if released:
                route.continue_()
            else:
                held.append(route)

        page.route("**/component/**", hold)
        page.goto(server.url)
        page.get_by_text(re.compile(r"Training run \d of \d")).wait_for(timeout=120_000)
        assert held, "the cookie component was not loaded"
        released = True
        for route in held:
            route.continue_()
        page.get_by_label("Password", exact=True).first.wait_for(timeout=120_000)
        settle(page)
        page.wait_for_timeout(1500)  # the login cookie's reply reruns the page once more
        settle(page)
        assert page.get_by_label("Password", exact=True).count() == 1
        assert page.evaluate("window.__mostForms") == 1, "the login form was on the page twice"
    finally:
        stop_server(server)
    Database._forget_all()
    with env_vars(ZVIZ_HOME=str(home), ZVIZ_DEMO="0", ZVIZ_AUTH_CONFIG=None, ZVIZ_PROJECT=None):
        owner = Client()
        runs = owner.list_pipeline_runs().total
        assert runs == len(TRAINING_RUNS) + 1, f"the demo was left with {runs} runs"
        assert owner.get_model(MODEL_NAME).name == MODEL_NAME
        assert owner.get_deployment(DEPLOYMENT_NAME).name == DEPLOYMENT_NAME
    Database._forget_all()
