"""What the demo's viewer, who may read one model and one deployment, meets in Chromium: a
sidebar of the pages they can fill, and tiles that do not link to runs they cannot open."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Server, log_in, main_text, open_url
from zviz_core.demo import DEMO_AUTH_CONFIG, DEMO_USERS

pytestmark = pytest.mark.browser


def test_the_viewer_is_offered_only_pages_with_something_to_see(
    demo_app: Server, new_context
) -> None:
    page = new_context().new_page()
    open_url(page, demo_app.url)
    password = next(p for u, p, _ in DEMO_USERS if u == "viewer")
    log_in(page, "viewer", password, DEMO_AUTH_CONFIG["credentials"]["usernames"]["viewer"]["name"])
    sidebar = page.locator("[data-testid=stSidebar]")
    links = sidebar.locator("[data-testid=stSidebarNav] a").all_inner_texts()
    offered = [str(text).split("\n")[-1].strip() for text in links]  # after the icon's name
    assert offered == ["Overview", "Models", "Deployments"]
    assert "No runs, pipelines, snapshots and artifacts in this menu" in sidebar.inner_text()

    sidebar.get_by_role("link", name="Models").click()
    page.locator("[data-testid=stMain] a[href*='models?id=']").first.click()
    page.get_by_text("from a run you cannot open").first.wait_for()
    links = page.locator("[data-testid=stMain] a[href]").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert not [href for href in links if "runs" in href or "artifacts" in href], links
    assert "exists" not in main_text(page)
