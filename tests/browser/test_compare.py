"""A comparison link, opened in Chromium by users who may read all or only some of its runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import (
    Server,
    log_in,
    login_form_shown,
    main_text,
    no_exception_shown,
    open_url,
)
from zviz_testing.world import USERS

pytestmark = pytest.mark.browser


def _login(page: Any, username: str) -> None:
    user = USERS[username]
    log_in(page, user.username, user.password, user.name)


def test_a_comparison_link_shows_only_the_runs_a_user_may_read(
    secured_app: Server, new_context
) -> None:
    world = secured_app.info["world"]
    hidden, visible = world.everything_run, world.side_run
    link = f"{secured_app.url}/compare?runs={hidden.id},{visible.id}"

    # bob may read side_job only: the link survives his login, his run shows, the other is
    # counted without its name or anything of it.
    page = new_context().new_page()
    open_url(page, link)
    assert login_form_shown(page)
    _login(page, "bob")
    assert "/compare" in page.url and str(hidden.id) in page.url
    text = main_text(page)
    assert "Compare runs" in text
    assert "1 run of this link was not found (or you may not see it)" in text
    assert visible.name in text
    assert hidden.name not in text and hidden.pipeline.name not in text
    assert no_exception_shown(page) == []

    # The admin, on the same link, gets both runs as columns.
    page = new_context().new_page()
    open_url(page, link)
    _login(page, "admin")
    text = main_text(page)
    assert f"1. {hidden.name}" in text and f"2. {visible.name}" in text
    assert "not found" not in text
    assert no_exception_shown(page) == []
