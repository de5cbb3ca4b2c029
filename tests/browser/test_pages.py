"""Every page of the demo, as its users meet it in Chromium: no exception shown anywhere."""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    Server,
    log_in,
    login_form_shown,
    main_text,
    no_exception_shown,
    open_url,
    settle,
)
from zviz_core.demo import DEMO_AUTH_CONFIG, DEMO_USERS

pytestmark = pytest.mark.browser
BATCH = 7


def test_the_demo_login_page_lists_its_users(demo_app: Server, new_context) -> None:
    page = new_context().new_page()
    open_url(page, demo_app.url)
    assert login_form_shown(page)
    text = main_text(page)
    for username, password, sees in DEMO_USERS:
        assert username in text and password in text and sees[:40] in text
    assert not no_exception_shown(page)


@pytest.mark.parametrize("username", ["admin", "viewer"])
def test_every_demo_page_loads_without_an_exception(
    demo_app: Server, new_context, username: str
) -> None:
    page = new_context().new_page()
    open_url(page, demo_app.url)
    password = next(p for u, p, _ in DEMO_USERS if u == username)
    name = DEMO_AUTH_CONFIG["credentials"]["usernames"][username]["name"]
    log_in(page, username, password, name)
    failures = {}
    paths = demo_app.info["paths"]
    if username != "admin":  # the admin opens everything; the viewer each list, as they see it
        paths = [path for path in paths if "?" not in path]
    # Tabs of one context: each is its own session, logged in by the cookie.
    for start in range(0, len(paths), BATCH):
        tabs = []
        for path in paths[start : start + BATCH]:
            tab = page.context.new_page()
            tab.goto(demo_app.url + path, wait_until="commit")
            tabs.append((path, tab))
        for path, tab in tabs:
            settle(tab)
            if login_form_shown(tab):
                failures[path] = "login form shown to a logged-in user"
            elif shown := no_exception_shown(tab):
                failures[path] = shown
            tab.close()
    assert not failures, failures
